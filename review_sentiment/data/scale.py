"""Classes as points on one ordered scale, so a five-class model and the 1-5 star baseline compare star to star.

A model's classes form a scale when they run from negative to positive: "1 star" .. "5 stars" (points 1-5 by their
stars), "very negative" .. "very positive" or negative / neutral / positive (points 1..K in id order). Two models
compare on the scale only when they have the same number of points; otherwise only by polarity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .stars import label_polarity, star_values

RANK = {"negative": 0, "neutral": 1, "positive": 2}


def ordered(label_names: list[str]) -> bool:
    """Whether the classes run from negative to positive (very negative .. very positive, 1 .. 5 stars), so that how
    far off a prediction is means something."""
    polarities = [label_polarity(name) for name in label_names]
    return len(label_names) >= 3 and all(p in RANK for p in polarities) and \
        [RANK[p] for p in polarities] == sorted(RANK[p] for p in polarities)


def points(labels: list[str]) -> list[int] | None:
    """Each class's point on the scale (its stars for a star model, 1..K in order otherwise); None off a scale."""
    stars = star_values(labels)
    if stars:
        return stars
    return list(range(1, len(labels) + 1)) if ordered(labels) else None


def expected_point(labels: list[str], probs: np.ndarray) -> float | None:
    """The probability-weighted point: expected stars for a star model, the expected class (1..K) for others."""
    where = points(labels)
    return float(np.dot(where, np.asarray(probs, dtype=float))) if where else None


def top_point(labels: list[str], probs: np.ndarray) -> int | None:
    where = points(labels)
    return where[int(np.argmax(probs))] if where else None


def same_scale(a: list[str], b: list[str]) -> bool:
    """Whether two models' classes are the same points (five classes and five stars), so classes compare one to one."""
    pa, pb = points(a), points(b)
    return bool(pa and pb and sorted(pa) == sorted(pb))


def agreement(a: int, b: int) -> dict:
    """How two predicted points agree: the same point, or at most one apart."""
    return {"exact": a == b, "within_one": abs(a - b) <= 1}


def agreement_table(finetuned: pd.Series, baseline: pd.Series, finetuned_labels: list[str],
                    baseline_labels: list[str]) -> pd.DataFrame:
    """Counts of reviews by the fine-tuned model's class (rows) and the baseline's (columns), both in scale order:
    the diagonal is exact agreement, the band beside it within one."""
    rows = dict(zip(points(finetuned_labels), finetuned_labels))
    cols = dict(zip(points(baseline_labels), baseline_labels))
    counts = pd.crosstab(finetuned.astype(int), baseline.astype(int)).reindex(
        index=sorted(rows), columns=sorted(cols), fill_value=0)
    counts.index = [rows[p] for p in counts.index]
    counts.columns = [cols[p] for p in counts.columns]
    return counts
