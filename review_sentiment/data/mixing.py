"""Another labelled set mixed into the training split (`train.py --mix-dataset NAME=PATH`): phrase-level supervision
for what whole reviews teach poorly. SST's phrases are the case it was built for: the treebank labels every phrase of
"it 's not a bad film", so a model sees "bad film" negative and "not a bad film" positive, which 25,000 IMDb reviews
rarely spell out (README's MiniLM-L6 read every negated negative of the audit as negative).

Only the mixed set's *train* split is read. Its classes are mapped onto the model's by polarity (as other domains
are: very negative/negative -> negative; neutral and anything else without a match dropped and counted). A mixed text
equal (after clean-up, case and spaces ignored) to any review the run evaluates on (the main validation and test
splits, the mixed set's own validation and test splits, every --eval-dataset) is dropped and counted: SST keeps a
few validation and test sentences among its train phrases, and a model may not have seen what scores it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..hub import REPO_ID
from .domains import align
from .splits import labelled_split, resolve_dataset
from .text import clean_text

# What --mix-select keeps. "negation+multi-word": every phrase with a negation word first, the rest of --mix-size
# filled with other phrases of two words or more (single words teach vocabulary, which reviews already do).
SELECTIONS = ("all", "multi-word", "negation", "negation+multi-word")
# SST splits "don't" into "do n't"; reviews write it whole. Both count.
NEGATION = re.compile(r"\b(not|no|never|nothing|nobody|none|neither|nor|nowhere|without|cannot|hardly|barely|"
                      r"scarcely)\b|n't\b", re.IGNORECASE)


@dataclass
class MixSpec:
    name: str
    spec: str


def parse_mix(item: str | None) -> MixSpec | None:
    """NAME=PATH, checked before any work (PATH a local file or directory, or a Hub dataset id)."""
    if item is None:
        return None
    name, sep, spec = item.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise UserError(f"--mix-dataset takes NAME=PATH (e.g. sst_phrases=../data/sst5_phrases), not {item!r}")
    if not Path(spec).expanduser().exists() and not REPO_ID.match(spec):
        raise UserError(f"--mix-dataset {name}: {spec} is neither a local file or directory nor a Hub dataset id")
    return MixSpec(name, spec)


def parse_size(text: str | float | None) -> float | None:
    """--mix-size: a count of texts (a whole number above 1) or a share of the selected ones in (0, 1]."""
    if text is None:
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UserError(f"--mix-size takes a count above 1 (e.g. 8000) or a share in (0, 1], not {text!r}") from None
    if value <= 0 or (value > 1 and value != int(value)):
        raise UserError(f"--mix-size {text}: a share must be in (0, 1] and a count a whole number above 1")
    return value


def normalised(text: str) -> str:
    """The form two texts are compared in: clean-up as in training, case and spaces ignored."""
    return " ".join(clean_text(str(text)).lower().split())


def has_negation(text: str) -> bool:
    return NEGATION.search(text) is not None


def selected(frame: pd.DataFrame, select: str, size: float | None, seed: int) -> pd.DataFrame:
    """The texts --mix-select and --mix-size ask for, in a seeded random order."""
    words = frame["text"].str.split().str.len()
    negation = frame["text"].map(has_negation)
    rng = np.random.default_rng(seed)

    def take(pool: pd.DataFrame, n: int | None) -> pd.DataFrame:
        order = rng.permutation(len(pool))
        return pool.iloc[order[:n] if n is not None else order]

    def count(available: int) -> int | None:  # a count as given (at most what there is), a share of what there is
        return None if size is None else min(int(size), available) if size > 1 else round(size * available)

    pools = {"all": frame, "multi-word": frame[words >= 2], "negation": frame[negation]}
    if select in pools:
        return take(pools[select], count(len(pools[select])))
    first = take(frame[negation], None)
    rest = frame[~negation & (words >= 2)]
    total = count(len(first) + len(rest))
    if total is not None and total <= len(first):
        return first.iloc[:total]
    return pd.concat([first, take(rest, None if total is None else total - len(first))])


def mix(spec: MixSpec, label_names: list[str], *, select: str, size: float | None, held_out: list[pd.Series],
        text_column: str, label_column: str, seed: int) -> tuple[pd.DataFrame, dict]:
    """(rows to add to the training split, with labels in the model's ids; what was kept and dropped, for
    metrics.json and the card). `held_out`: every text the run evaluates on."""
    root = resolve_dataset(spec.spec)
    frame, names = labelled_split(root, "train", text_column=text_column, label_column=label_column)
    if frame is None:
        raise UserError(f"--mix-dataset {spec.name}: {spec.spec} has no train split (train.parquet/csv/jsonl).")
    rows = len(frame)
    try:
        frame, dropped_classes, mapping = align(frame, names, label_names)
    except UserError as exc:
        raise UserError(f"--mix-dataset {spec.name}: {exc}") from None
    own = [labelled_split(root, s, text_column=text_column, label_column=label_column, names=names)[0]
           for s in ("validation", "test")] if root.is_dir() else []
    evaluated = {normalised(t) for texts in [*held_out, *(f["text"] for f in own if f is not None)] for t in texts}
    keys = frame["text"].map(normalised)
    overlap = keys.isin(evaluated)
    duplicate = keys.duplicated() & ~overlap  # the same text twice in the mixed set: the first one is kept
    frame = frame[~overlap & ~duplicate].reset_index(drop=True)
    chosen = selected(frame, select, size, seed)
    if chosen.empty:
        raise UserError(f"--mix-dataset {spec.name}: --mix-select {select} keeps no text of {spec.spec}.")
    counts = chosen["label"].value_counts()
    report = {"name": spec.name, "dataset": spec.spec, "split": "train", "select": select,
              "size": size, "rows": rows, "mapping": mapping, "dropped_classes": dropped_classes,
              "dropped_evaluation_overlap": int(overlap.sum()), "dropped_duplicates": int(duplicate.sum()),
              "eligible": len(frame), "added": len(chosen),
              "with_negation": int(chosen["text"].map(has_negation).sum()),
              "per_class": {label_names[i]: int(counts.get(i, 0)) for i in range(len(label_names))}}
    return chosen[["text", "label"]].reset_index(drop=True), report


def describe(report: dict) -> str:
    """One line for the log and the card."""
    per_class = ", ".join(f"{n:,} {name}" for name, n in report["per_class"].items())
    return (f"{report['added']:,} texts of {report['name']} ({report['dataset']}, train split, --mix-select "
            f"{report['select']}; {report['with_negation']:,} with a negation word; {per_class}) mixed into training; "
            f"classes {report['mapping']}; dropped: {report['dropped_classes']:,} without a matching class, "
            f"{report['dropped_evaluation_overlap']:,} equal to a review the run evaluates on, "
            f"{report['dropped_duplicates']:,} repeats")
