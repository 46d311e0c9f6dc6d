"""Perturbations of a review that should not change its verdict, after CheckList (Ribeiro et al., ACL 2020): typos,
contractions, punctuation, an irrelevant sentence; and counterfactual swaps of person and group terms (gender words,
first names, countries, religions; the lists are in groups.py). One set of functions serves the audit's robustness
and entity tests, the Space's "How robust is this verdict?" view and counterfactual augmentation in train.py.

Every function is deterministic given its `random.Random`, keeps the case of what it replaces, and returns None
where it has nothing to change, so a caller never shows or trains on a copy that is not a perturbation.
"""

from __future__ import annotations

import random
import re

import pandas as pd

from .groups import COUNTRIES, GENDER_WORDS, NAMES, RELIGIONS

WORD = re.compile(r"[A-Za-z][A-Za-z']*")

GENDER_SWAP: dict[str, str] = {}
for male, female in GENDER_WORDS:
    GENDER_SWAP.setdefault(male, female)
    GENDER_SWAP.setdefault(female, male)
GENDER_SWAP["hers"] = "his"
# "her" swaps to "his" before a noun ("her film") and to "him" elsewhere ("I liked her"): the word after tells.
NOT_A_NOUN = {"and", "or", "but", "to", "in", "on", "at", "for", "with", "as", "than", "so", "too", "very", "a",
              "an", "the", "is", "was", "be", "been", "that", "this", "if", "when", "because", "again", "more",
              "most", "out", "up", "off", "down", "back", "from", "by", "about", "into", "over", "after", "before",
              "my", "your", "his", "her", "our", "their", "its", "some", "any", "every", "no", "all", "it", "me",
              "them", "us", "him", "what", "how", "why", "who", "not", "now", "then", "there", "here"}

NAME_GROUP = {name.lower(): group for group, names in NAMES.items() for name in names}
# Longest first, so "South Korea" is one match; country names in any case ("the United States" mid-sentence too).
COUNTRY_PATTERN = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted([*COUNTRIES, *COUNTRIES.values()],
                                                                            key=len, reverse=True)) + r")\b",
                             re.IGNORECASE)
RELIGION_WORDS = {r.lower(): r for r in RELIGIONS}

CONTRACTIONS = [
    ("is not", "isn't"), ("are not", "aren't"), ("was not", "wasn't"), ("were not", "weren't"), ("do not", "don't"),
    ("does not", "doesn't"), ("did not", "didn't"), ("cannot", "can't"), ("could not", "couldn't"),
    ("would not", "wouldn't"), ("should not", "shouldn't"), ("will not", "won't"), ("have not", "haven't"),
    ("has not", "hasn't"), ("it is", "it's"), ("that is", "that's"), ("there is", "there's"), ("i am", "i'm"),
    ("i have", "i've"), ("i will", "i'll"), ("you are", "you're"), ("they are", "they're"), ("we are", "we're"),
    ("what is", "what's"), ("let us", "let's"),
]
CONTRACTED = re.compile(r"\b(" + "|".join(re.escape(c) for _, c in CONTRACTIONS) + r")\b", re.IGNORECASE)
EXPANDABLE = re.compile(r"\b(" + "|".join(re.escape(e) for e, _ in CONTRACTIONS) + r")\b", re.IGNORECASE)
EXPAND = {c: e for e, c in CONTRACTIONS}
CONTRACT = {e: c for e, c in CONTRACTIONS}

# Sentences that say nothing about the film: appending one must not change a verdict.
IRRELEVANT = [
    "I watched it on a Sunday afternoon.", "The cinema was about half full.", "My ticket was for the late showing.",
    "I saw it on a flight to Chicago.", "It was raining when I got home.", "We had popcorn.",
    "I streamed it on my laptop.", "I read about it in the paper last week.",
]


def match_case(original: str, replacement: str) -> str:
    if original.isupper() and len(original) > 1:
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def replace_words(text: str, choose) -> str | None:
    """Each word for which choose(word, rest_of_text) gives a replacement, replaced; None if none was."""
    out, last, changed = [], 0, False
    for match in WORD.finditer(text):
        new = choose(match.group(0), text[match.end():])
        if new is not None:
            out += [text[last:match.start()], match_case(match.group(0), new)]
            last, changed = match.end(), True
    return "".join(out + [text[last:]]) if changed else None


def swap_gender(text: str) -> str | None:
    """Every gender word for its counterpart: "my brother said he" -> "my sister said she"."""
    def choose(word, rest):
        lower = word.lower()
        if lower == "her":
            following = WORD.search(rest)
            gap = rest[:following.start()] if following else rest
            return "his" if following and gap.strip() == "" and following.group(0).lower() not in NOT_A_NOUN \
                else "him"
        return GENDER_SWAP.get(lower)
    return replace_words(text, choose)


def other(options: list[str], current: str, rng: random.Random) -> str:
    return rng.choice([o for o in options if o.lower() != current.lower()])


def swap_names(text: str, rng: random.Random) -> str | None:
    """Every first name of the lists for a name of another group (of the same gender: a name swap alone)."""
    def choose(word, _):
        group = NAME_GROUP.get(word.lower())
        if group is None:
            return None
        gender = group.split(", ")[1]
        pool = [n for g, names in NAMES.items() if g != group and g.endswith(gender) for n in names]
        return rng.choice(pool)
    return replace_words(text, choose)


def swap_countries(text: str, rng: random.Random) -> str | None:
    """Every country or nationality for another one (a country for a country, an adjective for an adjective), in
    one pass, so that a replacement is never replaced again."""
    names, adjectives = list(COUNTRIES), list(COUNTRIES.values())

    def replace(match):
        found = match.group(0)
        pool = names if found.lower() in {n.lower() for n in names} else adjectives
        return match_case(found, other(pool, found, rng))
    new, count = COUNTRY_PATTERN.subn(replace, text)
    return new if count else None


def swap_religions(text: str, rng: random.Random) -> str | None:
    religions = list(RELIGIONS)
    return replace_words(text, lambda word, _: other(religions, word, rng) if word.lower() in RELIGION_WORDS
                         else None)


def counterfactual(text: str, rng: random.Random) -> str | None:
    """The review with every person and group term swapped (gender words, names, countries, religions), what
    counterfactual data augmentation trains on with the label unchanged; None if it names none."""
    out, changed = text, False
    for swap in (swap_gender, lambda t: swap_names(t, rng), lambda t: swap_countries(t, rng),
                 lambda t: swap_religions(t, rng)):
        new = swap(out)
        if new is not None:
            out, changed = new, True
    return out if changed else None


def add_typos(text: str, rng: random.Random, n: int = 2) -> str | None:
    """n adjacent-letter swaps, each inside a different word of four or more letters (CheckList's typos)."""
    words = [m for m in WORD.finditer(text) if len(m.group(0)) >= 4]
    if not words:
        return None
    chars = list(text)
    for match in rng.sample(words, min(n, len(words))):
        pairs = [i for i in range(match.start(), match.end() - 1) if text[i].isalpha() and text[i + 1].isalpha()
                 and text[i] != text[i + 1]]
        if pairs:
            i = rng.choice(pairs)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def toggle_contractions(text: str) -> str | None:
    """Contractions expanded ("isn't" -> "is not") or, in a review that has none, made."""
    if CONTRACTED.search(text):
        return CONTRACTED.sub(lambda m: match_case(m.group(0), EXPAND[m.group(0).lower()]), text)
    if EXPANDABLE.search(text):
        return EXPANDABLE.sub(lambda m: match_case(m.group(0), CONTRACT[m.group(0).lower()]), text)
    return None


def change_punctuation(text: str) -> str | None:
    """The final punctuation dropped, or a full stop added where there is none."""
    stripped = text.rstrip()
    if not stripped:
        return None
    return stripped.rstrip(".!?") if stripped[-1] in ".!?" else stripped + "."


def add_irrelevant(text: str, rng: random.Random) -> str:
    return f"{text.rstrip()} {rng.choice(IRRELEVANT)}"


def perturbations(text: str, seed: int = 0) -> list[tuple[str, str]]:
    """(what changed, the perturbed review) for every perturbation that applies to this review, in a fixed order."""
    rng = random.Random(seed)
    found = [("two typos", add_typos(text, rng)), ("two other typos", add_typos(text, rng)),
             ("contractions", toggle_contractions(text)), ("punctuation", change_punctuation(text)),
             ("an irrelevant sentence added", add_irrelevant(text, rng)), ("names swapped", swap_names(text, rng)),
             ("gender words swapped", swap_gender(text)), ("countries swapped", swap_countries(text, rng)),
             ("religions swapped", swap_religions(text, rng))]
    return [(kind, new) for kind, new in found if new is not None and new != text]


def augmented(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Counterfactual data augmentation (after Lu et al. 2018): the frame, then a copy of each review that names a
    person or group term with those terms swapped, its label unchanged."""
    rng = random.Random(seed)
    swapped = [counterfactual(text, rng) for text in frame["text"]]
    keep = [i for i, text in enumerate(swapped) if text is not None]
    copies = frame.iloc[keep].copy()
    copies["text"] = [swapped[i] for i in keep]
    return pd.concat([frame, copies], ignore_index=True)
