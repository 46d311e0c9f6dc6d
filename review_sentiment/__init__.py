"""review-sentiment: fine-tune, publish and serve a movie-review sentiment classifier.

The package's parts, each a folder (or one module) whose name says what it holds; imports run one way, down this list
(tests/test_layout.py reads them):

- shared modules, here at the top: `defaults`, `errors`, `cli` (command-line plumbing), `hub` (Hub access), `cpu`
  (the CPU's facts) and `model_report` (what a trained model folder says about itself: its files and the typed
  records of metrics.json and training_config.json, which train.py writes and everything else reads). They import
  no part.
- `data`: datasets, text clean-up, labels, input checks, languages.
- `export`: what a trained model gets beside its weights: ONNX and OpenVINO files, int8 quantisation and the bar it
  must meet, the int8 files publishing checks, the softmax temperature.
- `inference`: the Predictor, model files, runtimes and the choice between them, call plans, batching.
- `evaluation`: metrics, plots, the evaluation command, explanations.
- `training`, `space` and `bulk` (the bulk scoring command): the three products, built on the parts above and never on
  each other.

`from review_sentiment import Predictor` is the one public entry for code that loads a model.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy, so `--help` and the command lines start without importing torch first.
    if name == "Predictor":
        from .inference.predictor import Predictor

        return Predictor
    raise AttributeError(name)
