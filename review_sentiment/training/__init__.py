"""Fine-tuning: train.py's options, the Trainer run, hyper-parameter search, tracking and the model card.

- `config`: every train.py option, typed, documented and validated; `run`: the run from checks to the Hub.
- `steps`: the steps after training (test scoring, other domains, audit, ONNX and int8 bar, baseline), each returning
  its section of metrics.json; run.py keeps what they measured when one fails (`--resume-after-training`).
- `hp_search`: Optuna search through the Trainer; `tracking`: the Trainer's report_to integrations.
- `loss`: class-weighted cross-entropy (`--class-weights balanced`).
- `precision`: the precision a run trains in (bf16 autocast on a CPU only where a timed step shows it faster).
- `card`: the model card rendered from model_card.md.

Imports: the shared top modules, `data`, `inference` and `evaluation`; never space or bulk.
"""
