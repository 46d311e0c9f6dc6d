"""Fine-tuning: train.py's options, the Trainer run, hyper-parameter search, tracking and the model card.

- `config`: every train.py option, typed, documented and validated; `run`: the run from checks to the Hub.
- `hp_search`: Optuna search through the Trainer; `tracking`: the Trainer's report_to integrations.
- `loss`: class-weighted cross-entropy (`--class-weights balanced`).
- `card`: the model card rendered from model_card.md.

Imports: the shared top modules, `data`, `inference` and `evaluation`; never space or bulk.
"""
