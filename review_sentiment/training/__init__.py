"""Fine-tuning: train.py's options, the Trainer run, hyper-parameter search, tracking and the model card.

- `config`: every train.py option, typed, documented and validated; `run`: the run from checks to the Hub, the
  steps after training each adding a section to metrics.json (`--resume-after-training` runs the missing ones).
- `hp_search`: Optuna search through the Trainer; `tracking`: the Trainer's report_to integrations.
- `loss`: class-weighted cross-entropy (`--class-weights balanced`).
- `precision`: the precision a run trains in (bf16 autocast on a CPU only where a timed step shows it faster).
- `card`: the model card rendered from model_card.md.

Imports: the shared top modules, `data`, `inference` and `evaluation`; never space or bulk.
"""
