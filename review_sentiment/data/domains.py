"""Scores on other review domains (`--eval-dataset NAME=PATH`, repeatable, on train.py and the evaluate CLI): the
first question a user of a public sentiment model asks is how it does outside its training domain. Scoring
itself is `evaluate.score_sets`.

A set whose classes differ from the model's is mapped by polarity (SST-5's "very negative" and "negative" count as
negative; classes the model does not have, such as neutral, are dropped and counted), then scored with the same
metrics as the test split, ECE with a bootstrap 95% interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import UserError
from ..hub import REPO_ID
from .splits import labelled_split, resolve_dataset
from .stars import label_polarity


@dataclass
class EvalSet:
    name: str
    spec: str


def parse_eval_datasets(items: list[str] | None) -> list[EvalSet]:
    """NAME=PATH items, checked before any work: the '=', a name, a path that exists or a Hub id, unique names."""
    sets = []
    for item in items or []:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise UserError(f"--eval-dataset takes NAME=PATH (e.g. sst2=../data/sst2), not {item!r}")
        name, spec = name.strip(), spec.strip()
        if not Path(spec).expanduser().exists() and not REPO_ID.match(spec):
            raise UserError(f"--eval-dataset {name}: {spec} is neither a local file or directory nor a Hub "
                            "dataset id")
        if any(s.name == name for s in sets):
            raise UserError(f"--eval-dataset: the name {name!r} is used twice")
        sets.append(EvalSet(name, spec))
    return sets


def load_eval_set(spec: str, text_column: str, label_column: str) -> tuple[pd.DataFrame, list[str]]:
    """The set's test split (or its only file), with integer labels and class names."""
    root = resolve_dataset(spec)
    # A single file is the set itself (read_split hands a file over as its "train" split).
    frame, names = labelled_split(root, "test" if root.is_dir() else "train", text_column=text_column,
                                  label_column=label_column)
    if frame is None:
        raise UserError(f"{spec} has no test split (test.parquet/csv/jsonl) to score.")
    return frame, names


def align(frame: pd.DataFrame, set_names: list[str], model_names: list[str]) -> tuple[pd.DataFrame, int, str]:
    """(rows in the model's label ids, rows dropped, how the classes were mapped)."""
    if set_names == model_names:
        return frame, 0, "direct"
    target = {label_polarity(n): i for i, n in enumerate(model_names)}
    mapped = [target.get(label_polarity(set_names[y])) for y in frame["label"]]
    keep = np.array([m is not None for m in mapped])
    if not keep.any():
        raise UserError(f"None of the classes {set_names} maps onto the model's {model_names}.")
    dropped = sorted({set_names[y] for y, k in zip(frame["label"], keep) if not k})
    rule = ", ".join(f"{n} -> {model_names[target[label_polarity(n)]]}" for n in set_names
                     if label_polarity(n) in target)
    note = f"by polarity ({rule}" + (f"; {', '.join(dropped)} dropped)" if dropped else ")")
    aligned = frame[keep].copy()
    aligned["label"] = [m for m in mapped if m is not None]
    return aligned.reset_index(drop=True), int((~keep).sum()), note


def domains_table(results: dict[str, dict]) -> str:
    lines = ["| dataset | reviews | accuracy | macro F1 | ECE (95% interval) | classes |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['reviews']:,} | {r['accuracy']:.4f} | {r['f1_macro']:.4f} | {r['ece']:.4f} "
                     f"({r['ece_95'][0]:.4f}-{r['ece_95'][1]:.4f}) | {r['mapping']} |")
    return "\n".join(lines)
