"""Serving a model: the one Predictor, the files it reads, the runtimes that run it, and how calls are planned.

- `predictor`: the one inference path, shared by the Space, evaluation, training's test scoring and bulk scoring: it
  loads a model and scores reviews on whichever runtime it was given.
- `modeling`, `model_files`, `settings`: building and loading models, which files a model is read from (local or
  Hub), and how a model reads reviews (window, long-review rule, temperature), stored in its config.json.
- `runtimes/`: torch, ONNX Runtime and OpenVINO behind one table; `runtime_choice`: which of them serves on this
  machine (every allowed file timed once at start).
- `padding`, `call_plan`, `batching`: padded shapes, which reviews share a call, one queue per model.

Imports: the shared top modules, `data` and `export` (the files a runtime reads, an export made at first start where
a model ships none); never evaluation, training, space or bulk.
"""
