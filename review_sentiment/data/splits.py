"""Labelled review datasets: a Hub id or a local path, resolved to local files and read by one code path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..defaults import DEFAULT_LABEL_NAMES
from ..errors import UserError
from ..hub import REPO_ID, explain_hub_error

DATA_SUFFIXES = (".parquet", ".csv", ".jsonl", ".json")


@dataclass
class Splits:
    """Train/validation/test frames with columns `text` (str) and `label` (int id into `label_names`)."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    label_names: list[str]
    source: Path
    validation_carved: bool


def resolve_dataset(spec: str) -> Path:
    """A local file/directory as is; a Hub dataset id downloaded (data files only) to the local cache."""
    path = Path(spec).expanduser()
    if path.exists():
        return path.resolve()
    if not REPO_ID.match(spec):
        raise UserError(f"Dataset {spec!r} not found: it is neither an existing path nor a Hub id like "
                        "'stanfordnlp/imdb'.")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(spec, repo_type="dataset", allow_patterns=[f"*{s}" for s in DATA_SUFFIXES]))
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one clear line
        raise UserError(f"Could not download dataset {spec!r}: {explain_hub_error(exc)}. "
                        "Pass a local directory holding train.* and test.* files instead.") from exc


def split_files(root: Path, split: str) -> list[Path]:
    """Files of one split under `root`: `train.parquet`, `train-00000-of-00002.parquet`, `plain_text/test.csv`..."""
    pattern = re.compile(rf"^{re.escape(split)}([-_.].*)?$")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES
                  and pattern.match(p.name.removesuffix(p.suffix)))


def read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_json(path, lines=path.suffix == ".jsonl")
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"Could not read {path}: {exc}") from exc


def read_split(root: Path, split: str) -> pd.DataFrame | None:
    files = [root] if root.is_file() and split == "train" else split_files(root, split) if root.is_dir() else []
    if not files:
        return None
    return pd.concat([read_table(f) for f in files], ignore_index=True)


def clean_columns(df: pd.DataFrame, text_column: str, label_column: str | None, where: str) -> pd.DataFrame:
    """Keep the two columns under canonical names; refuse missing columns and empty texts."""
    wanted = [text_column] + ([label_column] if label_column else [])
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise UserError(f"{where}: no column {missing[0]!r}; the columns are {list(df.columns)} "
                        "(choose with --text-column / --label-column).")
    out = pd.DataFrame({"text": df[text_column]})
    if label_column:
        if df[label_column].isna().any():
            raise UserError(f"{where}: {int(df[label_column].isna().sum())} rows have no label.")
        out["label"] = df[label_column].to_numpy()
    blank = out["text"].isna() | out["text"].astype(str).str.strip().eq("")
    if blank.any():
        first = int(np.flatnonzero(blank.to_numpy())[0])
        raise UserError(f"{where}: {int(blank.sum())} rows have an empty text (first at row {first}); remove them.")
    out["text"] = out["text"].astype(str)
    return out


def label_names_for(values: pd.Series, label_names: list[str] | None) -> list[str]:
    """Class names in id order. String labels name themselves; integer labels take --label-names or the defaults."""
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        found = sorted(set(values.astype(str)))
        if label_names:
            unknown = sorted(set(found) - set(label_names))
            if unknown:
                raise UserError(f"Labels {unknown} are not among --label-names {label_names}.")
            return list(label_names)
        return found
    if not pd.api.types.is_integer_dtype(values):
        raise UserError(f"Labels must be integers or strings, got {values.dtype}.")
    found = sorted(set(int(v) for v in values))
    if found[0] < 0:
        raise UserError(f"Integer labels must be 0..K-1, got {found[:10]}.")
    k = found[-1] + 1
    names = label_names or DEFAULT_LABEL_NAMES.get(k)
    if names is None:
        raise UserError(f"{k} integer classes and no names for them: pass --label-names name0,name1,...")
    if len(names) != k:
        raise UserError(f"--label-names gives {len(names)} names but the labels go up to {k - 1}.")
    return list(names)


def encode_labels(values: pd.Series, names: list[str], where: str) -> np.ndarray:
    if pd.api.types.is_integer_dtype(values):
        ids = values.to_numpy().astype(int)
        bad = (ids < 0) | (ids >= len(names))
    else:
        index = {n: i for i, n in enumerate(names)}
        ids = np.array([index.get(str(v), -1) for v in values])
        bad = ids < 0
    if bad.any():
        raise UserError(f"{where}: label {values.iloc[int(np.flatnonzero(bad)[0])]!r} is not one of {names}.")
    return ids


def labelled_split(root: Path, split: str, *, text_column: str = "text", label_column: str = "label",
                   label_names: list[str] | None = None, names: list[str] | None = None
                   ) -> tuple[pd.DataFrame | None, list[str] | None]:
    """One split of a resolved dataset with columns `text` and integer `label`, and the class names: `names` when
    another split already fixed them, else found in this split's labels (with `label_names` for integer labels).
    (None, names) when the dataset has no such split. Training, evaluation and other domains all read through it."""
    frame = read_split(root, split)
    if frame is None:
        return None, names
    where = f"{root} {split}"
    frame = clean_columns(frame, text_column, label_column, where)
    names = names or label_names_for(frame["label"], label_names)
    frame["label"] = encode_labels(frame["label"], names, where)
    return frame, names


def merge_map(merge: list, label_names: list[str] | None) -> list[int]:
    """--merge-labels checked: integers, each new class 0..M-1 used, and as many --label-names as new classes."""
    try:
        targets = [int(v) for v in merge]
    except ValueError:
        raise UserError(f"--merge-labels takes the new class id of each label, e.g. 0,0,1,2,2; got {merge}.") from None
    if len(targets) < 2 or sorted(set(targets)) != list(range(max(targets) + 1)) or max(targets) < 1:
        raise UserError(f"--merge-labels {','.join(map(str, targets))}: the new classes must be 0..M-1, each used, "
                        "at least two.")
    if label_names is not None and len(label_names) != max(targets) + 1:
        raise UserError(f"--merge-labels makes {max(targets) + 1} classes but --label-names gives {len(label_names)}.")
    return targets


def check_mergeable(root: Path, label_column: str, merge: list[int]) -> None:
    """--merge-labels maps integer ids: refuse string labels, and ids past the map, in one clear line."""
    frame = read_split(root, "train")
    if frame is None or label_column not in frame.columns:
        return  # labelled_split says what is missing
    values = frame[label_column].dropna()
    if not pd.api.types.is_integer_dtype(values):
        raise UserError(f"--merge-labels maps integer label ids; {root} train has {values.dtype} labels.")
    if len(values) and (values.min() < 0 or values.max() >= len(merge)):
        raise UserError(f"{root} train has labels up to {values.max()}, but --merge-labels maps ids "
                        f"0..{len(merge) - 1}.")


def merged(frame: pd.DataFrame, merge: list[int]) -> pd.DataFrame:
    """A split's label ids mapped onto the merged classes (id i becomes merge[i])."""
    return frame.assign(label=np.asarray(merge)[frame["label"].to_numpy().astype(int)])


def stratified_subset(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most `n` rows with the class proportions of `df` (the data may be sorted by label, so never head(n))."""
    if n is None or n >= len(df):
        return df.reset_index(drop=True)
    counts = df["label"].value_counts()
    if n < len(counts) or counts.min() < 2:
        return df.sample(n=n, random_state=seed).reset_index(drop=True)
    part, _ = train_test_split(df, train_size=n, stratify=df["label"], random_state=seed)
    return part.reset_index(drop=True)


def load_splits(dataset: str, *, text_column: str = "text", label_column: str = "label",
                label_names: list[str] | None = None, val_size: float = 0.1, test_size: float = 0.2,
                max_train_samples: int | None = None, max_eval_samples: int | None = None,
                merge_labels: list[int] | None = None, seed: int = 42) -> Splits:
    """Read train/test (and validation, if the dataset has one), check them, and carve what is missing from train.
    With `merge_labels`, integer labels are merged first (label i becomes class merge_labels[i]).

    Model selection happens on the validation split only; the test split is scored once, at the end.
    """
    root = resolve_dataset(dataset)
    columns = {"text_column": text_column, "label_column": label_column}
    if merge_labels:
        check_mergeable(root, label_column, merge_labels)
    # Merging reads the original integer ids under placeholder names, then maps them onto the merged classes.
    read_as = [str(i) for i in range(len(merge_labels))] if merge_labels else label_names
    train, names = labelled_split(root, "train", **columns, label_names=read_as)
    if merge_labels and train is not None:
        train = merged(train, merge_labels)
    if train is None:
        raise UserError(f"{root} holds no train split (expected train.parquet, train.csv or train.jsonl).")
    if train["label"].nunique() < 2:
        raise UserError(f"{root} train has a single class ({names[int(train['label'].iloc[0])]!r}); "
                        "a classifier needs at least two.")

    def other(split: str) -> pd.DataFrame | None:
        frame = labelled_split(root, split, **columns, names=read_as or names)[0] if root.is_dir() else None
        return merged(frame, merge_labels) if merge_labels and frame is not None else frame

    def carve(df: pd.DataFrame, size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        stratify = df["label"] if df["label"].value_counts().min() >= 2 else None
        a, b = train_test_split(df, test_size=size, stratify=stratify, random_state=seed)
        return a.reset_index(drop=True), b.reset_index(drop=True)

    test = other("test")
    if test is None:
        train, test = carve(train, test_size)
    train = stratified_subset(train, max_train_samples, seed)
    validation = other("validation")
    carved = validation is None
    if carved:
        train, validation = carve(train, val_size)
    validation = stratified_subset(validation, max_eval_samples, seed)
    test = stratified_subset(test, max_eval_samples, seed)
    if merge_labels:
        k = max(merge_labels) + 1
        names = list(label_names or DEFAULT_LABEL_NAMES.get(k) or [f"class {i}" for i in range(k)])
    return Splits(train=train, validation=validation, test=test, label_names=names, source=root,
                  validation_carved=carved)


def shared_texts(splits: Splits) -> dict[str, int]:
    """Exact texts a split repeats or shares with another: a known property of IMDb (the official split has 123
    reviews in both train and test, 96 repeated within train, 199 within test), counted so that the card can say it
    and every later step can keep the splits apart. Counts are distinct texts."""
    train, validation, test = (set(f["text"]) for f in (splits.train, splits.validation, splits.test))
    repeats = {name: int(frame["text"].duplicated().sum())
               for name, frame in (("within_train", splits.train), ("within_validation", splits.validation),
                                   ("within_test", splits.test))}
    return {"train_test": len(train & test), "train_validation": len(train & validation),
            "validation_test": len(validation & test), **repeats}
