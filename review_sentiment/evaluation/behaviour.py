"""Behaviour tests in the way of CheckList (Ribeiro et al., ACL 2020), written for movie reviews: what a sentiment
model gets wrong by capability, each test with its failure rate and n.

Three kinds of test, as CheckList names them: MFT (minimum functionality: short sentences with a known answer), INV
(invariance: a perturbation that must not flip the verdict) and DIR (directional: a change that must not move the
probability the wrong way by more than DIR_TOLERANCE). Capabilities: vocabulary, negation, robustness, named
entities, temporal. The sentences are this project's own; CheckList's released suite is not used (it ships as a
pickle). A model is reached only through `p_positive(texts) -> P(positive)`, so any label set mapped by polarity
(the 1-5 star baseline too) runs the same tests.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..data.perturb import add_irrelevant, add_typos, change_punctuation, toggle_contractions

Scorer = Callable[[list[str]], np.ndarray]

POSITIVE = ["good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "beautiful", "fun", "moving",
            "clever", "funny", "charming"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor", "horrible", "disappointing", "weak", "stupid",
            "tedious", "annoying"]
THINGS = ["movie", "film", "plot", "acting", "story", "script", "ending", "cast", "soundtrack", "direction"]
INTENSIFIERS = ["very", "really", "incredibly", "extremely"]
REDUCERS = ["somewhat", "a little", "slightly", "kind of"]
# Statements without sentiment, negated: the verdict should stay neutral.
NEUTRAL_NEGATED = ["The film is not in colour.", "This movie is not a sequel.", "The film was not shot in Canada.",
                   "It is not longer than two hours.", "The movie was not released in the summer.",
                   "The story is not set in the present day.", "The film is not based on a book.",
                   "It was not shown on television.", "The director is not an actor.",
                   "The soundtrack is not on vinyl."]
# Negation without "not": negative quantifiers and adverbs, "anything but", hedges. The project's own frames (none of
# benchmarks/feedback_loop.py's, whose sentences visitors send), filled with the audit's own words in both directions:
# a negated praise is negative, a negated complaint is not.
NEGATION_FRAMES = ["Hardly anyone would find the {t} {a}.", "Few viewers will think the {t} is {a}.",
                   "No one I asked found the {t} {a}.", "At no point was the {t} {a}.",
                   "Never once did the {t} seem {a}.", "The {t} was anything but {a}.",
                   "It is hard to call the {t} {a}.", "In no way was the {t} {a}."]
# Short reviews for the robustness tests where no real ones are given (train.py and the CLI's --dataset add them).
REVIEWS = [
    "It's a film that doesn't waste a minute, and I was moved by it.", "I didn't expect much, but it is a joy.",
    "The plot isn't clever and the jokes don't land.", "There is nothing here you haven't seen before.",
    "What a waste of a fine cast; I couldn't wait for it to end.", "It is the best thing the director has made.",
    "I wasn't bored for a second.", "They are trying too hard and it shows.", "You're in for a treat.",
    "That is how a thriller should be made.", "I have seen worse, but I would not watch it again.",
    "We are lucky to have a film this warm.", "It's loud, long and it doesn't know when to stop.",
    "I am still thinking about the last scene.", "The actors are wonderful, though the script is thin.",
    "Don't bother: it's dull from start to finish.",
]
CITIES = ["Paris", "Chicago", "Lagos", "Mumbai", "Osaka", "Lima", "Cairo", "Toronto"]
PEOPLE = ["Anna", "Tom", "Sofia", "David", "Hana", "Peter", "Ines", "Carlos"]
# (past verb, present verb): "I used to hate his films, but now I love them" is positive.
LIKES, DISLIKES = ["love", "enjoy", "adore", "like"], ["hate", "dislike", "despise", "avoid"]
OBJECTS = ["his films", "this director's work", "her movies", "these actors", "this series"]

# A verdict is neutral when P(positive) is within a third of the middle, CheckList's rule for binary models.
NEUTRAL_BAND = (1 / 3, 2 / 3)
DIR_TOLERANCE = 0.1


@dataclass
class Test:
    capability: str
    name: str
    kind: str  # MFT, INV or DIR
    description: str
    texts: list[str] = field(default_factory=list)  # MFT: the sentences; INV/DIR: the originals
    expect: list[str] = field(default_factory=list)  # MFT: positive, negative, neutral, not negative
    variants: list[list[str]] = field(default_factory=list)  # INV/DIR: the perturbed copies of each original
    direction: list[int] = field(default_factory=list)  # DIR: +1 the expected label's probability must not fall


def expected_ok(p: float, expect: str) -> bool:
    low, high = NEUTRAL_BAND
    return {"positive": p > 0.5, "negative": p < 0.5, "neutral": low <= p <= high,
            "not negative": p >= low, "not positive": p <= high}[expect]


def mft(capability, name, description, pairs) -> Test:
    texts, expect = zip(*pairs)
    return Test(capability, name, "MFT", description, list(texts), list(expect))


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def vocabulary_tests() -> list[Test]:
    sentences = [(f"The {thing} was {adj}.", label) for thing in THINGS
                 for label, words in (("positive", POSITIVE), ("negative", NEGATIVE)) for adj in words]
    tests = [mft("Vocabulary", "single sentiment words", "\"The plot was dull.\": the word decides", sentences)]
    for name, words, sign in (("intensifiers", INTENSIFIERS, +1), ("reducers", REDUCERS, -1)):
        originals, variants, direction = [], [], []
        for thing, (label, adjs) in itertools.product(THINGS[:5], (("positive", POSITIVE), ("negative", NEGATIVE))):
            for adj in adjs[:6]:
                originals.append(f"The {thing} was {adj}.")
                variants.append([f"The {thing} was {w} {adj}." for w in words])
                direction.append(sign if label == "positive" else -sign)
        what = "must not make it less sure" if sign > 0 else "must not make it surer"
        tests.append(Test("Vocabulary", name, "DIR", f"\"very good\" against \"good\": {name} {what}",
                          originals, variants=variants, direction=direction))
    return tests


def negation_tests() -> list[Test]:
    return [
        mft("Negation", "negated positive", "\"The acting was not good.\" is negative",
            [(f"The {t} was not {a}.", "negative") for t in THINGS for a in POSITIVE[:6]]
            + [(f"I did not find the {t} {a}.", "negative") for t in THINGS[:5] for a in POSITIVE[6:]]),
        mft("Negation", "negated negative", "\"The plot was not bad.\" is not negative",
            [(f"The {t} was not {a}.", "not negative") for t in THINGS for a in NEGATIVE[:6]]
            + [(f"I did not find the {t} {a}.", "not negative") for t in THINGS[:5] for a in NEGATIVE[6:]]),
        mft("Negation", "negated negative at the end",
            "\"I thought the script would be dull, but it was not.\" is not negative",
            [(f"I thought the {t} would be {a}, but it was not.", "not negative") for t in THINGS
             for a in NEGATIVE[:6]]),
        mft("Negation", "negated neutral", "\"This movie is not a sequel.\" is neutral",
            [(s, "neutral") for s in NEUTRAL_NEGATED]),
        mft("Negation", "negated positive beyond not",
            "\"The acting was anything but clever.\", \"Hardly anyone would find the plot good.\" are negative",
            [(f.format(t=t, a=a), "negative") for f in NEGATION_FRAMES for t in THINGS[:5] for a in POSITIVE[:6]]),
        mft("Negation", "negated negative beyond not",
            "\"At no point was the plot boring.\", \"It is hard to call the cast weak.\" are not negative",
            [(f.format(t=t, a=a), "not negative") for f in NEGATION_FRAMES for t in THINGS[:5]
             for a in NEGATIVE[:6]]),
    ]


def invariance(capability, name, description, originals, perturb) -> Test:
    kept, variants = [], []
    for text in originals:
        copies = [c for c in perturb(text) if c and c != text]
        if copies:
            kept.append(text)
            variants.append(copies)
    return Test(capability, name, "INV", description, kept, variants=variants)


def robustness_tests(reviews: list[str], seed: int) -> list[Test]:
    rng = random.Random(seed)
    return [
        invariance("Robustness", "typos", "two adjacent letters swapped, twice", reviews,
                   lambda t: [add_typos(t, rng), add_typos(t, rng)]),
        invariance("Robustness", "contractions", "\"is not\" <-> \"isn't\"", reviews,
                   lambda t: [toggle_contractions(t)]),
        invariance("Robustness", "punctuation", "final punctuation dropped or added", reviews,
                   lambda t: [change_punctuation(t)]),
        invariance("Robustness", "irrelevant sentence", "\"We had popcorn.\" appended", reviews,
                   lambda t: [add_irrelevant(t, rng)]),
    ]


def entity_tests() -> list[Test]:
    said = [f"{p} said the {t} was {a}." for p in PEOPLE[:2] for t in THINGS[:5] for a in POSITIVE[:3] + NEGATIVE[:3]]
    seen = [f"I saw it in {c} and the {t} was {a}." for c in CITIES[:2] for t in THINGS[:5]
            for a in POSITIVE[3:6] + NEGATIVE[3:6]]
    times = [f"I have seen it {n} times and the {t} is {a}." for n in ("two", "3") for t in THINGS[:5]
             for a in POSITIVE[6:9] + NEGATIVE[6:9]]
    return [
        invariance("Named entities", "names", "one first name for another", said,
                   lambda t: [t.replace(t.split()[0], p, 1) for p in PEOPLE if p != t.split()[0]][:4]),
        invariance("Named entities", "locations", "one city for another", seen,
                   lambda t: [t.replace(t.split()[4], c, 1) for c in CITIES if c != t.split()[4]][:4]),
        invariance("Named entities", "numbers", "one count for another", times,
                   lambda t: [t.replace(f" {t.split()[4]} ", f" {n} ", 1) for n in ("four", "5", "ten", "12")]),
    ]


def temporal_tests() -> list[Test]:
    return [mft("Temporal", "used to, but now", "\"I used to hate his films, but now I love them.\": now decides",
                [(f"I used to {past} {obj}, but now I {now} them.", label) for obj in OBJECTS
                 for label, pasts, nows in (("positive", DISLIKES, LIKES), ("negative", LIKES, DISLIKES))
                 for past, now in zip(pasts, nows)])]


def suite(reviews: list[str] | None = None, seed: int = 0) -> list[Test]:
    """Every test; robustness runs on `reviews` (real ones where given) plus the vocabulary sentences."""
    vocabulary = vocabulary_tests()
    sources = list(reviews or []) + REVIEWS + [capitalised(t) for t in vocabulary[0].texts[::4]]
    return vocabulary + negation_tests() + robustness_tests(sources, seed) + entity_tests() + temporal_tests()


def run(tests: list[Test], p_positive: Scorer) -> list[dict]:
    """Each test's failure rate, n and a failing example, in one scoring call over every sentence."""
    texts = sorted({t for test in tests for t in test.texts + [v for vs in test.variants for v in vs]})
    score = dict(zip(texts, map(float, p_positive(texts))))
    results = []
    for test in tests:
        failures, failed_at = [], []
        for i, text in enumerate(test.texts):
            p = score[text]
            if test.kind == "MFT":
                failed = not expected_ok(p, test.expect[i])
                example = {"text": text, "p_positive": round(p, 3), "expected": test.expect[i]}
            elif test.kind == "INV":
                moved = [v for v in test.variants[i] if (score[v] > 0.5) != (p > 0.5)]
                failed = bool(moved)
                example = {"text": text, "p_positive": round(p, 3), "variant": moved[0] if moved else None,
                           "variant_p_positive": round(score[moved[0]], 3) if moved else None}
            else:  # DIR: the expected label's probability may not move the wrong way by more than the tolerance
                worst = min(test.variants[i], key=lambda v: test.direction[i] * (score[v] - p))
                failed = test.direction[i] * (score[worst] - p) < -DIR_TOLERANCE
                example = {"text": text, "p_positive": round(p, 3), "variant": worst,
                           "variant_p_positive": round(score[worst], 3)}
            if failed:
                failures.append(example)
                failed_at.append(i)
        results.append({"capability": test.capability, "test": test.name, "kind": test.kind,
                        "description": test.description, "n": len(test.texts),
                        "failure_rate": len(failures) / len(test.texts) if test.texts else 0.0,
                        "failures": len(failures), "example": failures[0] if failures else None,
                        "failed": failed_at})  # which sentences: the gate compares two models sentence by sentence
    return results
