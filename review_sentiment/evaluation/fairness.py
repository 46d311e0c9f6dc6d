"""Counterfactual fairness: sentences that differ only in a person or group term, and how far P(positive) moves.

Two ways of reading the same sentences. Group gaps in the way of the Equity Evaluation Corpus (Kiritchenko &
Mohammad 2018): the mean P(positive) per group, the largest gap between two groups with a paired t-test over the
templates (Bonferroni-corrected for every pair of groups, since the largest gap is chosen after looking) and a
bootstrap 95% interval. Perturbation sensitivity in the way of Prabhakaran et al. 2019: for each template, every
term of the axis against the template's neutral wording (ScoreSens: mean |change|), their spread (ScoreDev: standard
deviation; ScoreRange: highest minus lowest) and how often the verdict is not the same for every term (label flips).
The templates are this project's own movie-review sentences, of mixed sentiment so that probabilities have room to
move; the terms are in data/groups.py.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats

from ..data.groups import COUNTRIES, GENDER_PHRASES, NAMES, RELIGIONS

Scorer = Callable[[list[str]], np.ndarray]
BOOTSTRAP = 2000
ALPHA = 0.05

PERSON_TEMPLATES = [
    "{x} said this film was worth watching.", "{x} thought the ending was a letdown.",
    "{x} recommended this movie to me.", "I watched it with {x}.", "{x} fell asleep before the end.",
    "{x} laughed all the way through.", "{x} wrote the screenplay.", "{x} played the lead role.",
    "{x} chose this film for our movie night.", "{x} did not like the soundtrack.",
]
COUNTRY_TEMPLATES = [
    "This film was made in {country}.", "The director grew up in {country}.",
    "A {nationality} director made this film.", "The cast is mostly {nationality}.",
    "It was filmed in {country} last year.", "I saw it at a festival in {country}.", "This is a {nationality} film.",
    "The story is set in {country}.",
]
RELIGION_TEMPLATES = [
    "The film follows {x} family over one summer.", "The main character is {x} teacher.",
    "It is a story about {x} family in a small town.", "The hero is {x} doctor.",
    "The director made a film about {x} community.", "The villain is {x} banker.",
    "{x} family runs the hotel in the film.", "The book it is based on was written by {x} author.",
]


@dataclass
class Axis:
    name: str
    templates: list[str]
    groups: dict[str, list[dict]]  # group -> its fillers; a filler maps each slot of the templates to its words
    neutral: list[dict]  # the neutral filler for each filler position (one, or one per pair for gender)
    paired: bool = False  # fillers at the same position across groups are pairs (gender: my brother / my sister)


def fill(template: str, filler: dict) -> str:
    text = template.format(**filler)
    return text[:1].upper() + text[1:]


def axes() -> list[Axis]:
    return [
        Axis("gender", PERSON_TEMPLATES, {"male": [{"x": m} for m, _, _ in GENDER_PHRASES],
                                          "female": [{"x": f} for _, f, _ in GENDER_PHRASES]},
             [{"x": n} for _, _, n in GENDER_PHRASES], paired=True),
        Axis("first names", PERSON_TEMPLATES, {g: [{"x": n} for n in names] for g, names in NAMES.items()},
             [{"x": "someone"}]),
        Axis("countries", COUNTRY_TEMPLATES, {c: [{"country": c, "nationality": a}] for c, a in COUNTRIES.items()},
             [{"country": "a country", "nationality": "foreign"}]),
        Axis("religions", RELIGION_TEMPLATES, {r: [{"x": phrase}] for r, phrase in RELIGIONS.items()},
             [{"x": "a"}]),
    ]


def sentences(axis: Axis) -> list[str]:
    fillers = [f for group in axis.groups.values() for f in group] + axis.neutral
    return [fill(t, f) for t in axis.templates for f in fillers]


def bootstrap_interval(differences: np.ndarray, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    means = rng.choice(differences, size=(BOOTSTRAP, len(differences))).mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def measure(axis: Axis, score: dict[str, float], seed: int = 0) -> dict:
    """Group means, the largest gap with its test and interval, and the sensitivity measures, for one axis."""
    names = list(axis.groups)
    # p[g, t, k]: group g, template t, filler k; groups may hold different numbers of fillers, so keep lists.
    per = {g: np.array([[score[fill(t, f)] for f in axis.groups[g]] for t in axis.templates]) for g in names}
    means = {g: float(per[g].mean()) for g in names}
    high, low = max(names, key=means.get), min(names, key=means.get)
    if axis.paired:  # one unit per template and pair: "my brother" against "my sister" in the same sentence
        differences = (per[high] - per[low]).ravel()
        unit = f"{len(differences)} sentence pairs"
    else:
        differences = per[high].mean(axis=1) - per[low].mean(axis=1)
        unit = f"{len(differences)} templates"
    pairs = len(names) * (len(names) - 1) // 2
    if np.allclose(differences, 0):
        p_raw = 1.0
    elif np.ptp(differences) < 1e-9:  # one and the same gap in every sentence: no variance to test against
        p_raw = 0.0
    else:
        with warnings.catch_warnings():  # scipy warns on nearly equal differences; the p-value is still right
            warnings.simplefilter("ignore", RuntimeWarning)
            p_raw = float(stats.ttest_1samp(differences, 0.0).pvalue)
    p_value = min(1.0, p_raw * pairs)
    interval = bootstrap_interval(differences, seed)
    omnibus = None
    if len(names) >= 3:
        blocks = np.stack([per[g].mean(axis=1) for g in names], axis=1)  # templates x groups
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            omnibus = float(stats.friedmanchisquare(*blocks.T).pvalue) if np.ptp(blocks) > 0 else 1.0
        omnibus = None if np.isnan(omnibus) else omnibus  # every template ties its groups alike: no ranking
    # Perturbation sensitivity: every term of the axis in each template (x: template, or template and pair).
    sens, devs, ranges, flips = [], [], [], []
    positions = len(axis.neutral)
    for t, template in enumerate(axis.templates):
        for k in range(positions):
            terms = [per[g][t, k] for g in names] if axis.paired else [v for g in names for v in per[g][t]]
            neutral = score[fill(template, axis.neutral[k])]
            values = np.array(terms)
            sens.append(float(np.abs(values - neutral).mean()))
            devs.append(float(values.std()))
            ranges.append(float(np.ptp(values)))
            flips.append(len({bool(v > 0.5) for v in values}) > 1)
    return {
        "axis": axis.name, "groups": {g: round(means[g], 4) for g in sorted(names, key=means.get, reverse=True)},
        "largest_gap": {"high": high, "low": low, "gap": round(means[high] - means[low], 4),
                        "ci95": [round(v, 4) for v in interval], "p_value": p_value, "p_uncorrected": p_raw,
                        "test": f"paired t-test over {unit}" + (f", Bonferroni over {pairs} pairs of groups"
                                                                if pairs > 1 else "")},
        "omnibus_p": omnibus, "significant": bool(p_value < ALPHA and interval[0] > 0),
        "score_sens": round(float(np.mean(sens)), 4), "score_dev": round(float(np.mean(devs)), 4),
        "score_range": round(float(np.mean(ranges)), 4), "label_flips": round(float(np.mean(flips)), 4),
        "sentences": len(sentences(axis)),
    }


def run(p_positive: Scorer, seed: int = 0) -> list[dict]:
    """Every axis, in one scoring call over all its sentences."""
    every = axes()
    texts = sorted({s for axis in every for s in sentences(axis)})
    score = dict(zip(texts, map(float, p_positive(texts))))
    return [measure(axis, score, seed) for axis in every]
