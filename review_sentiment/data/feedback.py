"""Visitors' corrections ("Was this right?" in the Space): what a record holds, how personal details are taken out
before anything is written, and how train.py reads them back (`--feedback-dataset`).

A record is one JSON line: the review (redacted), the label the visitor chose, which model it corrects (its id, its
commit and its classes), both models' answers as the Space gave them, and the time. No IP, no account, no cookie.

Training adds corrections to the training split only. A correction whose text equals (after clean-up, case and spaces
ignored) a review the run evaluates on is dropped and counted, so a visitor pasting a test review cannot leak it into
training; corrections for another label set (the baseline's stars, a five-class model's) are refused and counted; the
same text corrected twice keeps its latest label.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import UserError
from ..hub import REPO_ID, explain_hub_error
from .contrasts import contrast_rows
from .mixing import normalised

RECORDS_GLOB = "*.jsonl"
# What a record's fields mean, once: the Space writes them, the dataset card lists them, train.py reads them.
FIELDS = {
    "id": "a random id of the record",
    "time": "when it was sent (UTC, ISO 8601)",
    "text": "the review, with e-mail addresses, URLs, phone numbers and @handles replaced by <email>, <url>, <phone>, "
            "<handle>",
    "label": "the class the visitor says is right",
    "model": "which side of the page it corrects: finetuned or baseline",
    "model_id": "that model's Hub id or local folder name",
    "model_revision": "the commit of that model's weights (null for a local folder)",
    "labels": "that model's classes, in order",
    "answers": "what each model answered on the page: label and per-class probabilities",
    "redacted": "how many details of each kind were replaced",
    "app_version": "the review-sentiment version that wrote it",
}

# Order matters: a URL may hold an @, an e-mail address holds one.
_PATTERNS = [
    ("url", re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    # Candidates: 7 to 15 digits with phone separators; a list of years ("1999 2000 2001") is not a phone.
    ("phone", re.compile(r"(?<![\w/])\+?\(?\d[\d\s().-]{5,}\d(?![\w/])")),
    ("handle", re.compile(r"(?<![\w.@<])@\w{2,}")),
]


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not 7 <= len(digits) <= 15:
        return False
    return (candidate.startswith("+") or bool(re.search(r"[-.()]", candidate)) or re.search(r"\d{7,}", candidate)
            is not None or re.fullmatch(r"\d{3} \d{3} \d{4}", candidate.strip()) is not None)


def redact(text: str) -> tuple[str, dict[str, int]]:
    """The text with personal details replaced by placeholders, and how many of each kind."""
    counts: dict[str, int] = {}
    for kind, pattern in _PATTERNS:
        def replace(match: re.Match, kind=kind) -> str:
            if kind == "phone" and not _is_phone(match.group(0)):
                return match.group(0)
            counts[kind] = counts.get(kind, 0) + 1
            return f"<{kind}>"
        text = pattern.sub(replace, text)
    return text, counts


def read_records(root: Path) -> tuple[pd.DataFrame, int]:
    """Every record under `root` (the JSONL files, any depth), and the count of lines that are not one: a line cut
    short by a crash has no newline at its end and is skipped, as is anything that does not parse."""
    rows, bad = [], 0
    for path in sorted(Path(root).rglob(RECORDS_GLOB)):
        content = path.read_bytes()
        lines = content.split(b"\n")
        if lines and lines[-1]:  # the last write did not finish: no newline after it
            bad += 1
        for line in lines[:-1]:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(record, dict) and isinstance(record.get("text"), str) and "label" in record:
                rows.append(record)
            else:
                bad += 1
    return pd.DataFrame(rows), bad


@dataclass
class FeedbackSpec:
    spec: str  # a local folder or a Hub dataset id
    revision: str | None = None  # for a Hub id: a branch, tag or commit


def parse_feedback(item: str | None) -> FeedbackSpec | None:
    """PATH_OR_ID[@revision], checked before any work."""
    if item is None:
        return None
    if Path(item).expanduser().exists():
        return FeedbackSpec(item)
    spec, _, revision = item.partition("@")
    if not REPO_ID.match(spec):
        raise UserError(f"--feedback-dataset {item}: neither a local folder nor a Hub dataset id (owner/name, "
                        "optionally @revision)")
    return FeedbackSpec(spec, revision or None)


def resolve(spec: FeedbackSpec) -> tuple[Path, str | None]:
    """(the folder holding the records, the commit they were read at: None for a local folder)."""
    path = Path(spec.spec).expanduser()
    if path.exists():
        return path, None
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(spec.spec, repo_type="dataset", revision=spec.revision,
                                        allow_patterns=[RECORDS_GLOB, f"**/{RECORDS_GLOB}"]))
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one clear line
        raise UserError(f"--feedback-dataset: could not download {spec.spec}: {explain_hub_error(exc)}") from exc
    return folder, folder.name  # the snapshot's folder is named by the commit it holds


def text_key(text: str) -> str:
    """A text's name in the owner's review: the same for every record of it however spaced or cased."""
    return hashlib.sha256(normalised(text).encode()).hexdigest()[:12]


def read_decisions(path: Path) -> dict[str, dict]:
    """The owner's review (review_corrections.py): the latest decision on each text key."""
    found = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            found[record["key"]] = record
    return found


def agreement(frame: pd.DataFrame, keys: pd.Series, min_visitors: int) -> tuple[pd.Series, dict]:
    """Which records' texts enough distinct visitors sent with one class and nobody with another (records from
    before visitors were told apart count as one unknown visitor together)."""
    who = frame["visitor"].fillna("unknown") if "visitor" in frame else pd.Series("unknown", index=frame.index)
    grouped = pd.DataFrame({"key": keys, "label": frame["label"], "who": who}).groupby("key")
    disputed = grouped["label"].nunique() > 1
    visitors = grouped["who"].nunique()
    agreed = (~disputed) & (visitors >= min_visitors)
    return keys.isin(agreed[agreed].index), {
        "min_visitors": min_visitors, "texts": int(len(agreed)), "agreed": int(agreed.sum()),
        "disputed": int(disputed.sum()), "too_few_visitors": int((~disputed & (visitors < min_visitors)).sum())}


def feedback_rows(spec: FeedbackSpec, label_names: list[str], *, held_out: list[pd.Series],
                  weight: int = 1, with_contrasts: bool = False, min_visitors: int = 1,
                  decisions: Path | None = None) -> tuple[pd.DataFrame, dict]:
    """(rows to add to the training split, labels as the model's ids, each repeated `weight` times; what was kept
    and dropped, for metrics.json and the card). `held_out`: every text the run evaluates on. `with_contrasts`:
    each correction also trains beside its contrasts (contrasts.py's "train" half), read the other way.
    `min_visitors`: a text trains only when that many distinct visitors sent it with one class and none with another.
    `decisions`: the owner's review; only texts accepted there, with the class accepted, train."""
    folder, revision = resolve(spec)
    frame, unreadable = read_records(folder)
    if frame.empty:
        raise UserError(f"--feedback-dataset {spec.spec}: no correction found (JSONL records under {folder}).")
    records = len(frame)
    same_classes = frame["labels"].map(lambda labels: list(labels or []) == list(label_names)) \
        if "labels" in frame else pd.Series(False, index=frame.index)
    refused = frame[~same_classes]
    frame = frame[same_classes & frame["label"].isin(label_names)]
    evaluated = {normalised(t) for texts in held_out for t in texts}
    keys = frame["text"].map(normalised)
    overlap = keys.isin(evaluated)
    frame, keys = frame[~overlap], keys[~overlap]
    checks = {}
    if min_visitors > 1:
        agreed, checks["agreement"] = agreement(frame, keys, min_visitors)
        frame, keys = frame[agreed], keys[agreed]
    if decisions is not None:
        decided = read_decisions(decisions)
        by_key = keys.map(text_key)
        verdict = by_key.map(lambda k: decided.get(k, {}).get("decision"))
        accepted = (verdict == "accepted") & (frame["label"] == by_key.map(lambda k: decided.get(k, {}).get("label")))
        checks["review"] = {"decisions": str(decisions), "accepted": int(accepted.sum()),
                            "rejected": int((verdict == "rejected").sum()), "not_reviewed": int(verdict.isna().sum()),
                            "other_class_than_accepted": int(((verdict == "accepted") & ~accepted).sum())}
        frame, keys = frame[accepted], keys[accepted]
    # The same review corrected twice (or by two visitors): the latest label stands.
    order = frame["time"].astype(str).argsort(kind="stable") if "time" in frame else range(len(frame))
    frame, keys = frame.iloc[order], keys.iloc[order]
    latest = ~keys.duplicated(keep="last")
    kept = frame[latest.to_numpy()]
    if kept.empty:
        raise UserError(f"--feedback-dataset {spec.spec}: none of its {records:,} records can train this model "
                        f"({len(refused):,} for other classes, {int(overlap.sum()):,} equal to a review the run "
                        "evaluates on" + "".join(f"; {name}: {json.dumps(found)}" for name, found in checks.items())
                        + ").")
    rows = pd.DataFrame({"text": kept["text"].tolist(),
                         "label": [label_names.index(label) for label in kept["label"]]})
    counts = rows["label"].value_counts()
    other = sorted({", ".join(map(str, labels or [])) for labels in refused.get("labels", [])})
    digest = hashlib.sha256("\n".join(sorted(kept["text"] + "\t" + kept["label"])).encode()).hexdigest()[:16]
    report = {"dataset": spec.spec, "revision": revision, "records": records, "unreadable_lines": unreadable,
              "refused_other_classes": len(refused), "other_classes": other,
              "dropped_evaluation_overlap": int(overlap.sum()), "dropped_superseded": int((~latest).sum()),
              "kept": len(kept), "weight": weight, "added": len(kept) * weight, "sha256_16": digest,
              "per_class": {label_names[i]: int(counts.get(i, 0)) for i in range(len(label_names))}, **checks}
    if with_contrasts:
        pairs, report["contrasts"] = contrast_rows(rows, label_names, "train")
        pairs = pairs[~pairs["text"].map(normalised).isin(evaluated)]
        report["contrasts"]["added"] = len(pairs) * weight
        rows = pd.concat([rows, pairs], ignore_index=True)
    return pd.concat([rows] * weight, ignore_index=True), report


def describe(report: dict) -> str:
    """One line for the log and the card."""
    at = f" at {report['revision'][:12]}" if report.get("revision") else ""
    per_class = ", ".join(f"{n:,} {name}" for name, n in report["per_class"].items())
    line = (f"{report['kept']:,} visitor corrections of {report['dataset']}{at} ({per_class}) added to training"
            + (f" x{report['weight']}" if report["weight"] > 1 else "")
            + f"; dropped: {report['dropped_evaluation_overlap']:,} equal to a review the run evaluates on, "
            f"{report['dropped_superseded']:,} superseded by a later correction of the same text")
    if report["refused_other_classes"]:
        line += (f"; refused: {report['refused_other_classes']:,} for other classes "
                 f"({'; '.join(report['other_classes'])})")
    if report["unreadable_lines"]:
        line += f"; {report['unreadable_lines']:,} unreadable lines skipped"
    if agreed := report.get("agreement"):
        line += (f"; {agreed['agreed']:,} of {agreed['texts']:,} texts sent by at least {agreed['min_visitors']} "
                 f"visitors who agreed ({agreed['disputed']:,} disputed, {agreed['too_few_visitors']:,} with fewer "
                 "visitors left out)")
    if review := report.get("review"):
        line += (f"; the owner's review: {review['accepted']:,} records accepted, {review['rejected']:,} rejected, "
                 f"{review['not_reviewed']:,} not reviewed (only accepted ones train)")
    if contrasted := report.get("contrasts"):
        line += (f"; beside them {contrasted['added']:,} contrast sentences (the sentiment word swapped, read the other"
                 f" way) of the {contrasted['with_contrasts']:,} corrections that carry one lexicon word")
    return line
