"""How a model's class probabilities read as an answer: one reading for the page, REST, the Batch tab and the bulk
CLI, so a verdict never means two things.

A table's columns for one model (`columns`; the Batch tab prefixes them `finetuned_` and `baseline_`, the bulk CLI
leaves the fine-tuned model's bare and prefixes the baseline's `baseline_`):

    label           the top class
    verdict         negative, neutral or positive; for stars or ordered classes the polarity with the most mass,
                    "undecided" when 1-2 and 4-5 stars (or the negative and positive classes) weigh the same
    confidence      the verdict's probability (for stars or ordered classes, the mass of the verdict's classes)
    expected_stars  a star model: the probability-weighted stars (expected_class for ordered classes, 1..K)
    class           stars or ordered classes: the top class's point (1..K, 1-5 stars)
    p_<class>       every class's probability, in the model's order
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .scale import expected_point, points, top_point
from .stars import label_polarity, polarity_summary, star_values


def answer(labels: list[str], probs: np.ndarray) -> dict:
    """One review's answer from one model: {probabilities, label, confidence, verdict} and, for stars or ordered
    classes, p_positive (without the neutral mass), the expected point and the top class's point."""
    probs = np.asarray(probs, dtype=float)
    top = int(probs.argmax())
    out = {"probabilities": dict(zip(labels, map(float, probs))), "label": labels[top],
           "confidence": float(probs[top]), "verdict": label_polarity(labels[top])}
    if points(labels):
        summary = polarity_summary(labels, probs)
        expected = "expected_stars" if star_values(labels) else "expected_class"
        out |= {"verdict": summary["verdict"], "confidence": summary["confidence"],
                "p_positive": summary["p_positive"], expected: expected_point(labels, probs),
                "point": top_point(labels, probs)}
    return out


def columns(labels: list[str], probs: np.ndarray, prefix: str = "") -> dict[str, pd.Series]:
    """The table columns (module doc) of scored reviews, one row per row of `probs`."""
    probs = np.asarray(probs, dtype=float).reshape(-1, len(labels))
    top = probs.argmax(axis=1)
    names = np.array(labels, dtype=object)
    verdicts = np.array([label_polarity(label) for label in labels], dtype=object)
    out = {f"{prefix}label": pd.Series(names[top], dtype="string"),
           f"{prefix}verdict": pd.Series(verdicts[top], dtype="string"),
           f"{prefix}confidence": pd.Series(probs.max(axis=1) if len(probs) else [], dtype=float)}
    if points(labels):  # decided by the labels, so every chunk of a bulk run has the same columns
        # Stars and ordered classes read the polarity mass row by row (answer); plain classes stay vectorised, since
        # the bulk CLI reads millions of rows through here.
        answers = [answer(labels, row) for row in probs]
        expected = "expected_stars" if star_values(labels) else "expected_class"
        out[f"{prefix}verdict"] = pd.Series([a["verdict"] for a in answers], dtype="string")
        out[f"{prefix}confidence"] = pd.Series([a["confidence"] for a in answers], dtype=float)
        out[f"{prefix}{expected}"] = pd.Series([a[expected] for a in answers], dtype=float)
        out[f"{prefix}class"] = pd.Series([a["point"] for a in answers], dtype="Int64")
    for j, label in enumerate(labels):
        out[f"{prefix}p_{label}"] = pd.Series(probs[:, j])
    return out
