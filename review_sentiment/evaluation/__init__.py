"""Measuring a model: metrics, plots, the evaluation command and its report, word-level explanations.

- `evaluate`: `python -m review_sentiment.evaluation.evaluate`, any model on any labelled dataset, and the scoring
  train.py runs on its test split.
- `readings`: the ways one model reads a review (as the Space serves it, as a plain pipeline, through its training
  window), which train.py and evaluate score side by side.
- `metrics`: classification metrics and calibration error; `plots`: confusion matrix, reliability diagram, curves.
- `explain`: integrated gradients summed onto whole words (the Space's explanations).
- `audit`: `python -m review_sentiment.evaluation.audit`, the behaviour (`behaviour`: CheckList-style capability
  tests) and fairness (`fairness`: counterfactual group gaps) audit of any model, which train.py runs too.
- `check_int8`: `python -m review_sentiment.evaluation.check_int8`, the int8 bar for a model train.py did not make (a
  Hub model at publishing, the fine-tuned one and the baseline; or a local folder, which keeps the files that pass).
- `gate`: a re-trained model against the one it would replace, on the same test reviews and audit
  (`train.py --gate-against`), and whether it may be published; `names`: the names the corrections repeat, each read
  by both models in neutral sentences (what a campaign against a person or a title moves).

Imports: the shared top modules, `data`, `export` (McNemar's test, the int8 bar) and `inference`; never training,
space or bulk.
"""
