"""Defences against a campaign of corrections (issue 39): a text trains only when enough distinct visitors agree and
none disagree; the owner's review lists corrections most-sent first and only accepted ones train; the Space caps
each address and each text a day and records a keyed hash of the sender, never the address."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, subprocess_env

from review_sentiment.data.feedback import feedback_rows, parse_feedback, read_decisions, text_key
from review_sentiment.errors import UserError
from review_sentiment.space.feedback import FeedbackSettings, FeedbackStore, TooMany

NAMES = ["negative", "positive"]


def write(folder, records):
    (folder / "data").mkdir(parents=True, exist_ok=True)
    lines = [{"id": str(i), "time": f"2026-12-07T10:{i:02d}:00+00:00", "labels": NAMES, "model": "finetuned", **r}
             for i, r in enumerate(records)]
    (folder / "data" / "feedback-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return folder


@pytest.fixture()
def corrections(tmp_path):
    return write(tmp_path / "feedback", [
        # Three visitors agree (one twice, with other spacing and case): kept at two or three visitors.
        {"text": "The pacing is far from sluggish.", "label": "positive", "visitor": "a"},
        {"text": "the pacing is  far from sluggish.", "label": "positive", "visitor": "a"},
        {"text": "The pacing is far from sluggish.", "label": "positive", "visitor": "b"},
        {"text": "The pacing is far from sluggish.", "label": "positive", "visitor": "c"},
        # One visitor, many times: one visitor.
        *[{"text": "Tom Hanks ruins every film.", "label": "negative", "visitor": "z"} for _ in range(5)],
        # Two visitors disagree: disputed, never kept.
        {"text": "It is hardly dull.", "label": "positive", "visitor": "a"},
        {"text": "It is hardly dull.", "label": "negative", "visitor": "d"},
        # Records from before visitors were told apart count as one unknown visitor together.
        {"text": "An old record.", "label": "negative"}, {"text": "An old record.", "label": "negative"},
    ])


def kept(folder, **options):
    rows, report = feedback_rows(parse_feedback(str(folder)), NAMES, held_out=[], **options)
    return set(rows["text"].str.lower()), report


def test_a_text_trains_only_when_enough_visitors_agree_and_none_disagree(corrections):
    everything, _ = kept(corrections)
    assert len(everything) == 4 and "it is hardly dull." in everything, "default: every text, the latest label"
    texts, report = kept(corrections, min_visitors=2)
    assert texts == {"the pacing is far from sluggish."}
    assert report["agreement"] == {"min_visitors": 2, "texts": 4, "agreed": 1, "disputed": 1, "too_few_visitors": 2}
    assert kept(corrections, min_visitors=3)[0] == {"the pacing is far from sluggish."}
    with pytest.raises(UserError, match="agreement"):
        kept(corrections, min_visitors=4)


def test_the_owners_review_lists_most_sent_first_and_only_accepted_texts_train(corrections, tmp_path):
    decisions = tmp_path / "decisions.jsonl"

    def command(*args):
        return subprocess.run([sys.executable, "-m", "review_sentiment.data.review_corrections", "--feedback",
                               str(corrections), "--decisions", str(decisions), *args], capture_output=True, text=True,
                              env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=120)

    listed = command()
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith("| ") and line.split(" | ")[0] != "| key"
            and not line.startswith("| ---")]
    assert rows[0].split(" | ")[1] == "Tom Hanks ruins every film." and "| 5 | 1 |" in rows[0], "most-sent first"
    assert all("pending" in row for row in rows) and not decisions.exists()
    hanks, pacing, dull = (text_key(t) for t in ("Tom Hanks ruins every film.", "The pacing is far from sluggish.",
                                                 "It is hardly dull."))
    done = command("--accept", pacing, "--reject", hanks)
    assert done.returncode == 0 and "2 decisions appended" in done.stdout
    assert {k: d["decision"] for k, d in read_decisions(decisions).items()} == {pacing: "accepted", hanks: "rejected"}
    refused = command("--accept", dull)  # sent with both classes: the owner must reject it or fix the data
    assert refused.returncode == 2 and "several classes" in refused.stderr and "Traceback" not in refused.stderr
    assert command("--accept", "nosuchkey").returncode == 2
    texts, report = kept(corrections, decisions=decisions)
    assert texts == {"the pacing is far from sluggish."}
    assert report["review"]["accepted"] == 4 and report["review"]["rejected"] == 5


def test_the_space_caps_an_address_and_a_text_a_day_and_keeps_no_address(tmp_path):
    store = FeedbackStore(FeedbackSettings(folder=tmp_path, per_minute=100, per_day=4, per_text_per_day=2))
    store.admit("203.0.113.1", "one")
    store.admit("203.0.113.2", "one")
    with pytest.raises(TooMany, match="corrected 2 times today"):
        store.admit("203.0.113.3", "One ")  # the same text, however cased or spaced
    for text in ("two", "three", "four"):
        store.admit("203.0.113.1", text)
    with pytest.raises(TooMany, match="4 corrections a day"):
        store.admit("203.0.113.1", "five")
    store.today = None  # a new day: the counts start again
    store.admit("203.0.113.1", "five")
    # A visitor's hash is stable for the store's key, differs between addresses, and is not the address.
    assert store.visitor("203.0.113.1") == FeedbackStore(FeedbackSettings(folder=tmp_path)).visitor("203.0.113.1")
    assert store.visitor("203.0.113.1") != store.visitor("203.0.113.2") and "203" not in store.visitor("203.0.113.1")
    key = tmp_path / "visitor.key"
    assert key.stat().st_mode & 0o077 == 0 and not (tmp_path / "data" / "visitor.key").exists(), "never pushed"
