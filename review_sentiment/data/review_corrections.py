"""The owner's review of visitors' corrections before they train: a command and a file, not a service.

    python -m review_sentiment.data.review_corrections --feedback you/review-feedback            # list, most-sent first
    python -m review_sentiment.data.review_corrections --feedback DIR --accept 3f2a9c1b0d4e 77aa01... --reject 9c...
    python train.py ... --feedback-dataset you/review-feedback@<commit> --feedback-decisions corrections-decisions.jsonl

The list groups the records by text (a key that ignores case and spacing), most-sent first: how many records and
distinct visitors sent it, with which classes, what each model answered when it was sent, and the decision so far.
A campaign shows up here as one name or title sent the same way many times. `--accept`/`--reject` append one line per
key to the decisions file (the latest line for a key stands); an acceptance records the class then sent, and
train.py's `--feedback-decisions` trains only accepted texts with that class.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from ..cli import option, parse, run
from ..errors import UserError
from .feedback import parse_feedback, read_decisions, read_records, resolve, text_key


def summary(records: pd.DataFrame, decided: dict[str, dict]) -> pd.DataFrame:
    """A row per text: key, text, records, visitors, classes sent, the models' answers, decision; most-sent first."""
    records = records.assign(key=records["text"].map(text_key),
                             who=records["visitor"].fillna("unknown") if "visitor" in records else "unknown")
    rows = []
    for key, group in records.groupby("key"):
        latest = group.sort_values("time").iloc[-1] if "time" in group else group.iloc[-1]
        answers = latest.get("answers") if isinstance(latest.get("answers"), dict) else {}
        rows.append({"key": key, "text": latest["text"], "records": len(group), "visitors": group["who"].nunique(),
                     "classes": ", ".join(f"{label} x{n}" for label, n in group["label"].value_counts().items()),
                     "models said": "; ".join(f"{side}: {a.get('label')}" for side, a in answers.items()),
                     "decision": decided.get(key, {}).get("decision", "pending")})
    return pd.DataFrame(rows).sort_values(["records", "visitors"], ascending=False, kind="stable")


def markdown(table: pd.DataFrame) -> str:
    cells = [[str(v).replace("|", "/").replace("\n", " ")[:120] for v in row] for row in table.itertuples(index=False)]
    return "\n".join(["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
                     + ["| " + " | ".join(row) + " |" for row in cells])


@dataclass
class ReviewConfig:
    feedback: str = option("The corrections: a local folder of the Space's JSONL files or a Hub dataset id "
                           "(@revision to pin it).")
    decisions: str = option("The decisions file this review appends to and train.py's --feedback-decisions reads.",
                            "corrections-decisions.jsonl")
    accept: Optional[list] = option("Keys to accept (with the class they were sent with), comma-separated.")
    reject: Optional[list] = option("Keys to reject, comma-separated.")
    show: int = option("How many texts the list shows (most-sent first).", 50)
    pending_only: bool = option("List only texts without a decision.", False)

    def __post_init__(self):
        if not self.feedback:
            raise UserError("--feedback is required")
        self.spec = parse_feedback(self.feedback)


def review(cfg: ReviewConfig) -> pd.DataFrame:
    folder, _ = resolve(cfg.spec)
    records, _ = read_records(folder)
    if records.empty:
        raise UserError(f"--feedback {cfg.feedback}: no correction found (JSONL records under {folder}).")
    path = Path(cfg.decisions)
    decided = read_decisions(path) if path.exists() else {}
    table = summary(records, decided)
    chosen = {"accepted": cfg.accept or [], "rejected": cfg.reject or []}
    unknown = [k for keys in chosen.values() for k in keys if k not in set(table["key"])]
    if unknown:
        raise UserError(f"no text has the key {', '.join(unknown)}; the list shows each text's key.")
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    lines = []
    for decision, keys in chosen.items():
        for key in keys:
            row = table.set_index("key").loc[key]
            sent = records[records["text"].map(text_key) == key]
            labels = sent["label"].unique()
            if decision == "accepted" and len(labels) > 1:
                raise UserError(f"{key} was sent with several classes ({', '.join(map(str, labels))}); reject it or "
                                "correct it yourself in the data.")
            lines.append({"key": key, "text": row["text"], "label": str(labels[0]), "decision": decision,
                          "time": now})
    if lines:
        with path.open("a") as f:
            f.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        print(f"{len(lines)} decisions appended to {path}")
        table = summary(records, read_decisions(path))
    shown = table[table["decision"] == "pending"] if cfg.pending_only else table
    print(markdown(shown.head(cfg.show)) if len(shown) else "nothing to review")
    return table


def main(argv: list[str] | None = None) -> None:
    review(parse(ReviewConfig, argv, "List visitors' corrections most-sent first and accept or reject them before "
                                     "they train."))


if __name__ == "__main__":
    raise SystemExit(run(main))
