"""train.py --feedback-dataset and --gate-against end to end on tiny real models: visitors' corrections, pinned at a
commit of a dataset on the loopback Hub (tests/fake_hub.py fakes only the Hub's HTTP API), reach the training split
with the contamination checks, move the model on what they correct, and a gate decides whether --push-to-hub may
publish: it passes a model that is not worse and refuses, in one line, one built to be worse."""

import json
import subprocess
import sys
import uuid

import numpy as np
import pandas as pd
import pytest
import tiny
from conftest import ROOT, subprocess_env
from fake_hub import USER, FakeHub, Repo
from huggingface_hub import ModelCard
from test_mixing_run import negation_base, phrases, review_data, train  # noqa: F401 - two fixtures

from review_sentiment.data.mixing import NEGATION
from review_sentiment.evaluation.audit import scorer
from review_sentiment.inference.predictor import Predictor

DATASET = f"{USER}/corrections"


def record(text: str, label: str, *, time: str = "2026-12-06T10:00:00+00:00", labels=("negative", "positive")):
    """A record as the Space writes it (space/feedback.py)."""
    return {"id": uuid.uuid4().hex, "time": time, "text": text, "label": label, "model": "finetuned",
            "model_id": "before", "model_revision": None, "labels": list(labels), "answers": {}, "redacted": {},
            "app_version": "test"}


def corrections() -> list[tuple[str, str]]:
    """What visitors send: test_mixing_run's SST-like phrases read by polarity (negated sentiment words, which the
    model reads the wrong way, and the words alone, which it reads right: "Was this right?" is answered either way);
    none is one of the audit's sentences."""
    polarity = {0: "negative", 1: "negative", 3: "positive", 4: "positive"}
    return [(text, polarity[label]) for text, label in phrases() if label in polarity]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, negation_base, review_data):  # noqa: F811 - test_mixing_run's fixtures
    root = tmp_path_factory.mktemp("feedback-runs")
    before = root / "before"
    train(before, negation_base, review_data)
    test_review = pd.read_parquet(review_data / "test.parquet")["text"].iloc[0]
    lines = [record(text, label) for text, label in corrections()]
    lines += [record(test_review.upper(), "positive"),  # a test review pasted back (case differs): dropped
              record("the music was not awful", "negative", time="2026-12-06T09:00:00+00:00"),  # superseded
              record("a fine film", "3 stars", labels=tiny.STARS)]  # the baseline's classes: refused
    payload = "".join(json.dumps(line) + "\n" for line in lines).encode() + b'{"text": "cut sho'  # a crash's tail
    with FakeHub() as hub:
        repo = hub.repos[("dataset", DATASET)] = Repo("dataset", DATASET)
        revision = repo.commit_main("corrections", {"data/feedback-1.jsonl": payload})
        repo.commit_main("more corrections later", {"data/feedback-2.jsonl": json.dumps(record("late", "positive"))
                                                   .encode() + b"\n"})
        env = subprocess_env(**hub.env(), HF_HOME=str(root / "hf-home"))
        common = [sys.executable, str(ROOT / "train.py"), "--model", str(negation_base), "--dataset",
                  str(review_data), "--epochs", "8", "--max-length", "64", "--batch-size", "8", "--eval-steps", "0.25",
                  "--no-onnx", "--precision", "fp32", "--report-to", "none", "--gate-against", str(before)]

        def run(name: str, *extra: str) -> subprocess.CompletedProcess:
            return subprocess.run([*common, "--output-dir", str(root / name), *extra], capture_output=True,
                                  text=True, env=env, timeout=900, cwd=ROOT)

        results = {
            "after": run("after", "--learning-rate", "1e-3", "--feedback-dataset", f"{DATASET}@{revision}"),
            # The same recipe as `before`: not worse, so the gate lets it be published.
            "same": run("same", "--learning-rate", "1e-3", "--push-to-hub", "--hub-model-id", f"{USER}/same"),
            # Barely trained: worse, so the gate refuses to publish it.
            "worse": run("worse", "--learning-rate", "1e-7", "--epochs", "1", "--push-to-hub", "--hub-model-id",
                         f"{USER}/worse")}
        published = {repo_id for (kind, repo_id) in hub.repos if kind == "model"}
    return root, revision, results, published


def test_corrections_reach_training_with_contamination_checks(runs):
    root, revision, results, _ = runs
    after = results["after"]
    assert after.returncode == 0, after.stderr[-3000:]
    metrics = json.loads((root / "after" / "metrics.json").read_text())
    report = metrics["data"]["train_feedback"]
    kept = len(corrections())
    assert report["dataset"] == DATASET and report["revision"] == revision, "pinned: the later commit is not read"
    assert report["records"] == kept + 3 and report["unreadable_lines"] == 1
    assert report["dropped_evaluation_overlap"] == 1 and report["refused_other_classes"] == 1
    assert report["other_classes"] == [", ".join(tiny.STARS)]
    assert report["dropped_superseded"] == 1 and report["kept"] == kept == report["added"]
    assert report["per_class"] == {c: sum(label == c for _, label in corrections()) for c in ("negative", "positive")}
    before_rows = json.loads((root / "before" / "metrics.json").read_text())["train"]["rows"]
    assert metrics["train"]["rows"] == before_rows + kept
    assert f"{kept:,} visitor corrections of {DATASET} at {revision[:12]}" in after.stdout
    card = ModelCard.load(root / "after" / "README.md")
    assert DATASET in card.data.datasets
    assert f"**Visitors' corrections**: {kept:,} visitor corrections of {DATASET} at {revision[:12]}" in card.text
    # The card compares it with the model it would replace, passed or not.
    assert "### Against the model it would replace" in card.text and metrics["gate"]["against"] == str(root / "before")


def test_corrections_move_the_model_on_what_they_correct(runs):
    """The negated phrases the model read the wrong way are read right after re-training on the corrections."""
    root, *_ = runs
    negated = [(text, label) for text, label in corrections() if NEGATION.search(text)]
    texts, wanted = [t for t, _ in negated], np.array([label == "positive" for _, label in negated])
    before = scorer(Predictor.load(str(root / "before")))(texts) > 0.5
    after = scorer(Predictor.load(str(root / "after")))(texts) > 0.5
    print(f"negated phrases read right: {(before == wanted).mean():.0%} before, {(after == wanted).mean():.0%} after")
    assert (after == wanted).mean() >= (before == wanted).mean() + 0.3


def test_the_gate_passes_a_model_that_is_not_worse(runs):
    root, _, results, published = runs
    same = results["same"]
    assert same.returncode == 0, same.stderr[-3000:]
    gate = json.loads((root / "same" / "metrics.json").read_text())["gate"]
    assert gate["passed"] and gate["failures"] == [] and abs(gate["accuracy"]["points"]) <= 0.3
    assert f"gate against {root / 'before'}: passed" in same.stdout and f"{USER}/same" in published
    assert "**passed**" in ModelCard.load(root / "same" / "README.md").text


def test_the_gate_refuses_to_publish_a_model_built_to_be_worse(runs):
    root, _, results, published = runs
    worse = results["worse"]
    assert worse.returncode == 2, worse.stderr[-3000:]
    last = worse.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --push-to-hub refused: this model fails the gate against")
    assert "test accuracy" in last
    assert "Traceback" not in worse.stderr and f"{USER}/worse" not in published
    gate = json.loads((root / "worse" / "metrics.json").read_text())["gate"]
    assert not gate["passed"] and gate["accuracy"]["points"] < -0.3
    assert "**failed**" in ModelCard.load(root / "worse" / "README.md").text
