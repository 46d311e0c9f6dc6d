"""Reviews and labels, before any model: datasets, text clean-up, label meanings, input checks, languages.

- `splits`: a labelled dataset (Hub id or local path) read into train/validation/test, stratified subsets.
- `text`: text -> token ids, and how a review longer than the window is cut; training and serving both call it.
- `answers`: how class probabilities read as an answer (label, verdict, confidence, points), and the table
  columns the Batch tab and the bulk CLI write.
- `stars`: star-rating labels ("1 star" .. "5 stars") and sentiment labels mapped onto polarity.
- `scale`: ordered classes as points on one scale (five classes against five stars), and how two models agree on it.
- `reviews`: what counts as a review the models can read (empty, binary, too long), checked once for every entry.
- `domains`: other review domains scored beside the main test split (`--eval-dataset`).
- `mixing`: another labelled set's train split mixed into training (`--mix-dataset`: SST phrases for negation), never
  a text the run evaluates on.
- `feedback`: visitors' corrections: what a record holds, personal details taken out, and reading them back for
  training (`--feedback-dataset`), never a text the run evaluates on; `contrasts`: each correction with its sentiment
  word swapped for the other polarity's, read the other way (the gate's checks, `--feedback-contrasts`);
  `review_corrections`: `python -m review_sentiment.data.review_corrections`, the owner's review of the corrections
  (most-sent first; accepted or rejected into a decisions file train.py reads).
- `language`: the language a review is written in, identified offline.
- `groups`: person and group terms (gender words, first names, countries, religions); `perturb`: perturbations
  that should not change a verdict (typos, contractions, punctuation, an irrelevant sentence, swapped terms), for
  the audit, the Space's robustness view and counterfactual augmentation.

Imports: the shared modules at the top of the package (defaults, errors, cli, hub) only; nothing from the other
parts, so every part can read data the same way.
"""
