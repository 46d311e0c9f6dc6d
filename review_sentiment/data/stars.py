"""Star-rating models (the nlptown baseline: "1 star" .. "5 stars") mapped onto positive/negative verdicts.

The documented mapping: 1-2 stars negative, 3 neutral, 4-5 positive. For binary scoring, P(positive) is
P(4) + P(5) re-normalised without the 3-star mass.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import UserError

STAR_LABEL = re.compile(r"^\s*(\d+)\s*stars?\s*$", re.IGNORECASE)
# Negative and positive masses closer than this are a tie: the model has no verdict between them, and calling it
# "negative" (the first of a tie) would flag a disagreement it never expressed.
UNDECIDED_MARGIN = 0.02


def star_values(labels: list[str]) -> list[int] | None:
    """[1, 2, 3, 4, 5] for a star-rating model's labels; None for any other model."""
    matches = [STAR_LABEL.match(str(label)) for label in labels]
    return [int(m.group(1)) for m in matches] if all(matches) else None


def star_polarity(stars: int, top: int = 5) -> str:
    middle = (top + 1) / 2
    return "neutral" if stars == middle else "positive" if stars > middle else "negative"


def label_polarity(label: str) -> str:
    """negative / neutral / positive for any sentiment label name ("very negative", "POSITIVE", "4 stars")."""
    stars = star_values([label])
    if stars:
        return star_polarity(stars[0])
    lowered = label.lower()
    for word in ("negative", "neutral", "positive"):
        if word in lowered:
            return word
    return lowered


def polarities(labels: list[str]) -> list[str]:
    """negative / neutral / positive of each class: a star model's by its stars, any other by its name."""
    stars = star_values(labels)
    return [star_polarity(s, max(stars)) for s in stars] if stars else [label_polarity(label) for label in labels]


def polarity_summary(labels: list[str], probs: np.ndarray) -> dict:
    """The verdict with its probability mass (very negative and negative count together), and binary P(positive)
    without the neutral mass. The verdict is "undecided" when negative and positive carry (nearly) the same mass and
    neutral less."""
    probs = np.asarray(probs, dtype=float)
    kinds = polarities(labels)
    groups = {p: float(probs[[k == p for k in kinds]].sum()) for p in ("negative", "neutral", "positive")}
    verdict = max(groups, key=groups.get)
    if verdict != "neutral" and abs(groups["negative"] - groups["positive"]) < UNDECIDED_MARGIN:
        verdict = "undecided"
    polar = groups["negative"] + groups["positive"]
    confidence = groups.get(verdict, groups["positive"])  # undecided: the mass on either side
    return {"verdict": verdict, "confidence": confidence, "groups": groups,
            "p_positive": groups["positive"] / polar if polar > 0 else 0.5}


def star_summary(labels: list[str], probs: np.ndarray) -> dict:
    """A star model's polarity summary and its expected stars."""
    stars = np.array(star_values(labels), dtype=float)
    return {"expected_stars": float((stars * np.asarray(probs, dtype=float)).sum()),
            **polarity_summary(labels, probs)}


def positive_probability(labels: list[str], probs: np.ndarray) -> np.ndarray:
    """P(positive) per row for any label set: a star model's P(4-5 stars) without the 3-star mass, else the positive
    classes' mass over the positive and negative classes' (neutral left out), as the evaluation's binary mapping."""
    probs = np.atleast_2d(np.asarray(probs, dtype=float))
    if star_values(labels):
        return np.array([star_summary(labels, row)["p_positive"] for row in probs])
    polarity = np.array([label_polarity(label) for label in labels])
    positive = probs[:, polarity == "positive"].sum(axis=1)
    negative = probs[:, polarity == "negative"].sum(axis=1)
    if not (polarity == "positive").any() or not (polarity == "negative").any():
        raise UserError(f"The labels {labels} name no positive and negative class to read a verdict from.")
    polar = positive + negative
    return np.where(polar > 0, positive / np.where(polar > 0, polar, 1), 0.5)
