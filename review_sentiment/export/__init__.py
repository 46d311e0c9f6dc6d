"""What a trained model gets beside its weights, made at training and publishing time (and, for a model that ships
no ONNX file, at the Space's first start): the files other runtimes read, and the temperature its scores use.

- `onnx`, `openvino_ir`: ONNX and OpenVINO files (export, int8 quantisation, calibration); `files`: which files one
  served model is made of, named once.
- `int8_bar`: the accuracy bar an int8 file must meet, and the check that holds it (given a Predictor to score
  with: this part sits below inference); `checked_onnx`: int8 files checked at publishing for a Hub model that
  ships none, and the bar's figures for a served file.
- `temperature`: temperature scaling, fitted on validation logits (the served probabilities are softmax(logits / T)).

Imports: the shared top modules only; a Predictor is passed in where files are scored.
"""
