"""Serving a model: the one Predictor, the files it reads, the runtimes that run it, and how calls are planned.

- `predictor`: the one inference path, shared by the Space, evaluation, training's test scoring and bulk scoring.
- `modeling`, `model_files`, `settings`: building and loading models, which files a model is read from (local or
  Hub), and how a model reads reviews (window, long-review rule, temperature), stored in its config.json.
- `runtimes/`: torch, ONNX Runtime and OpenVINO behind one table; `onnx`, `openvino_ir`: their files (export,
  quantisation, calibration); `int8_bar`: the accuracy bar an int8 file must meet, and the check that holds it;
  `checked_onnx`: int8 files checked at publishing for a Hub model that ships none.
- `padding`, `call_plan`, `batching`: padded shapes, which reviews share a call, one queue per model.
- `calibration`: temperature scaling (the served probabilities are softmax(logits / T)); `cpu`: the CPU's facts.

Imports: the shared top modules and `data`; never evaluation, training, space or bulk.
"""
