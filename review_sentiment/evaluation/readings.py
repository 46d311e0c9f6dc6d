"""The ways one model reads a review, each a figure of its own: a model is only as accurate as the way it is read.

- `served`: as the Space, REST, MCP and bulk scoring read it by default (`LONG_TEXT=chunks`): the whole review in
  overlapping windows of the model's own window, window logits averaged, markup removed, its temperature applied.
- `pipeline`: as a Hub user's `pipeline("text-classification", model=..., truncation=True)` and the Hub widget read
  it: the raw text (markup and all) cut to the tokenizer's `model_max_length` first tokens, no temperature (a
  pipeline never reads config.json's). Checked against a real pipeline in the tests.
- `window`: train.py's training window (its `--max-length` and `--truncation`), markup removed: what the model saw
  while it learned, and what the project reported before it scored what is served.

A review that fits every window reads the same three ways. Each reading is one pass over the same reviews (never a
search among readings on test data); `paired` gives McNemar's exact p for each pair on those reviews.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from ..defaults import DEFAULT_LONG_TEXT
from ..export.int8_bar import mcnemar_p
from ..inference.predictor import Predictor

READINGS = ("served", "pipeline", "window")


def pipeline_length(predictor: Predictor) -> int:
    """Tokens a plain pipeline reads: the tokenizer's model_max_length, which a model's position embeddings cap
    (a tokenizer that states none would make the pipeline fail past them rather than cut)."""
    positions = getattr(predictor.model.config, "max_position_embeddings", 512)
    stated = getattr(predictor.tokenizer, "model_max_length", None) or positions
    return int(min(stated, positions))


def readers(predictor: Predictor) -> dict[str, Predictor]:
    """The model behind `predictor` read each way (siblings: one model in memory)."""
    trained = predictor.settings
    return {
        "served": predictor.reading(long_text=DEFAULT_LONG_TEXT),
        "pipeline": predictor.reading(long_text="head", max_length=pipeline_length(predictor), temperature=1.0,
                                      clean=False),
        # truncation as trained: reading(long_text=head+tail) is the training window (settings.py)
        "window": predictor.reading(long_text=trained.truncation),
    }


def describe(predictor: Predictor) -> dict[str, str]:
    """One sentence each: how this model's figure under that reading was read (for the card and reports)."""
    read = readers(predictor)
    served, window = read["served"].settings, read["window"].settings
    stride = served.chunk_stride if served.chunk_stride is not None else served.window(predictor.tokenizer) // 4
    return {
        "served": f"as the Space serves it: the whole review in {served.max_length}-token windows overlapping by "
                  f"{stride} tokens, logits averaged, markup removed",
        "pipeline": f"as a plain `transformers.pipeline(..., truncation=True)` and the Hub widget read it: the first "
                    f"{read['pipeline'].settings.max_length} tokens of the raw text, markup kept, no temperature",
        "window": f"through the training window: {window.max_length} tokens, {window.truncation}, markup removed",
    }


def paired(labels, predictions: dict[str, np.ndarray]) -> list[dict]:
    """McNemar's exact p for each pair of readings on the same reviews, with the accuracy difference in points."""
    labels = np.asarray(labels)
    rows = []
    for a, b in combinations(predictions, 2):
        pa, pb = np.asarray(predictions[a]), np.asarray(predictions[b])
        rows.append({"a": a, "b": b, "points": float(((pb == labels).mean() - (pa == labels).mean()) * 100),
                     "disagree": int((pa != pb).sum()), "mcnemar_p": mcnemar_p(labels, pa, pb)})
    return rows


def table(readings: dict[str, dict], pairs: list[dict]) -> str:
    """Markdown: a row per reading (accuracy, ECE, how it was read), then the pairs' McNemar p."""
    lines = ["| reading | accuracy | ECE | how the review was read |", "| --- | ---: | ---: | --- |"]
    lines += [f"| {name} | {r['accuracy']:.4f} | {r['ece']:.4f} | "
              f"{r['how']} |" for name, r in readings.items()]
    lines += ["", "| pair | difference (points) | reviews read differently | McNemar p |",
              "| --- | ---: | ---: | ---: |"]
    lines += [f"| {p['b']} vs {p['a']} | {p['points']:+.2f} | {p['disagree']} | {p['mcnemar_p']:.2g} |" for p in pairs]
    return "\n".join(lines)
