"""The names the corrections lean on, and whether re-training moved how the model reads them (issue 39).

A campaign within every limit of the Space (many addresses, each under its caps) can send ordinary sentences naming a
person or a title, marked negative; the re-trained model then reads any sentence with that name as worse, while
IMDb accuracy, the audit and the contrasts stay where they were, because none of them names it. So the gate looks at
what the corrections themselves name: every capitalised name that three or more distinct corrections mention is
read in this module's own neutral sentences (none of them a correction, none of them the campaign benchmark's), by
both models, beside control names from the audit's lists. The shift that is the name's own is, per sentence,

    (new - old) P(positive) with the name  -  the mean (new - old) P(positive) with the control names

(what re-training moved for every name is not the name's). The gate refuses where its mean is larger, in either
direction, than MAX_SHIFT (0.05, the issue's bar) and than any control name's own shift (re-training moves single
names by chance too), and a two-sided t-test over the sentences says so at ALPHA: a name the model learned to read as
bad (or good) news is refused whoever sent it, honest visitors included.

Names are found by shape: a run of capitalised words ("Corwin Hale", "The Last Harbour"), or one capitalised word
not at the start of a sentence ("because of Corwin"); "I" and a lone capitalised word opening a sentence are not
names. A campaign that names its target in lower case ("corwin hale") is not found; the limits and the owner's
review are what stand there (README's corrections section).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import numpy as np
from scipy.stats import ttest_1samp

from ..data.groups import NAMES

MIN_TEXTS = 3  # distinct corrections that name it before a name is probed
MOST_NAMES = 20  # the most often named, at most, so the gate's time stays bounded
MAX_SHIFT = 0.05  # P(positive), the name's own shift
ALPHA = 0.05

# Neutral sentences about a film and a person in it: facts, no judgement. Never a correction's text, and not the
# campaign benchmark's sentences (benchmarks/campaign.py), which measure what a gate like this one lets through.
TEMPLATES = ["{n} is in the cast.", "The film features {n}.", "{n} was interviewed about the film.",
             "I saw {n} in a clip last week.", "{n} has a role in this movie.", "The article mentions {n}.",
             "{n} plays a teacher.", "We talked about {n} after the screening.", "{n} is seen in the first scene.",
             "The cast list includes {n}.", "This is a film with {n} in it.", "{n} was cast last spring.",
             "A photo of {n} is on the cover.", "{n} has a few lines in the middle.", "The story is told by {n}.",
             "The second part brings back {n}."]
# One first name from each of the audit's groups: what re-training moved for any name.
CONTROLS = [names[0] for names in NAMES.values()]

_WORD = r"(?:(?:Mr|Mrs|Ms|Dr|St|Jr)\.|[A-Z][\w'’-]*)"  # a full stop ends a name except after a title
_RUN = re.compile(rf"{_WORD}(?:\s+{_WORD})*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|[\"“(]\s*)$")


def names_in(text: str) -> set[str]:
    """The names in one text, by shape (see the module's note)."""
    found = set()
    for match in _RUN.finditer(text):
        words = match.group().split()
        at_start = bool(_SENTENCE_START.search(text[:match.start()]))
        if words[0] == "I" or (len(words) == 1 and at_start):
            continue
        found.add(re.sub(r"['’]s?$", "", " ".join(words)))  # Hale's -> Hale
    return found


def repeated_names(texts: Iterable[str], min_texts: int = MIN_TEXTS, most: int = MOST_NAMES) -> dict[str, int]:
    """Names that `min_texts` or more distinct texts mention, most often named first: name -> texts."""
    counts = Counter(name for text in set(texts) for name in names_in(text))
    return dict(sorted(((n, c) for n, c in counts.items() if c >= min_texts), key=lambda item: -item[1])[:most])


def p_positive(predictor, texts: list[str]) -> np.ndarray:
    return predictor.predict_proba(texts)[:, predictor.labels.index("positive")]


def shift(old_name, new_name, old_controls, new_controls) -> dict:
    """The name's own shift from P(positive) per template (old_/new_name: one per template; *_controls: template x
    control), its t-test, and whether the gate holds it against the model.

    Re-training moves single names too, nobody's doing: on the quick recipe a control name moved up to 0.30 beyond
    the others (benchmarks/README.md's campaign table). So the bar is 0.05 or the most any control name moved of its
    own (against the other controls), whichever is larger: a name must move further than names nobody sent moved."""
    moved = np.asarray(new_controls) - np.asarray(old_controls)
    own = (np.asarray(new_name) - np.asarray(old_name)) - moved.mean(axis=1)
    mean = float(own.mean())
    p = float(ttest_1samp(own, 0.0).pvalue) if own.std() > 0 else (0.0 if mean else 1.0)
    columns = range(moved.shape[1])
    drift = max((abs(float((moved[:, j] - np.delete(moved, j, axis=1).mean(axis=1)).mean())) for j in columns
                 if moved.shape[1] > 1), default=0.0)
    bar = max(MAX_SHIFT, drift)
    return {"before": float(np.mean(old_name)), "after": float(np.mean(new_name)),
            "controls_before": float(np.mean(old_controls)), "controls_after": float(np.mean(new_controls)),
            "shift": mean, "p": p, "sentences": int(len(own)), "controls_most_moved": drift, "bar": bar,
            "harmed": bool(abs(mean) > bar and p < ALPHA)}


def check(corrections: Iterable[str], old, new) -> dict:
    """Every name the corrections repeat, read by the served (`old`) and the re-trained (`new`) Predictor: name ->
    shift(...) with how many corrections named it. Empty where a model has no "positive" class."""
    if "positive" not in old.labels or "positive" not in new.labels:
        return {}
    found = repeated_names(corrections)
    controls = [t.format(n=c) for t in TEMPLATES for c in CONTROLS]
    old_controls, new_controls = (p_positive(m, controls).reshape(len(TEMPLATES), len(CONTROLS)) for m in (old, new))
    checked = {}
    for name, count in found.items():
        sentences = [t.format(n=name) for t in TEMPLATES]
        checked[name] = {"corrections": count, **shift(p_positive(old, sentences), p_positive(new, sentences),
                                                       old_controls, new_controls)}
    return checked
