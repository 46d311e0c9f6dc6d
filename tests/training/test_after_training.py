"""Nothing measured is lost after training (issue 33): a step after training that fails keeps what the others
measured, names itself in one line, and `--resume-after-training` finishes the run without training again; int8
calibration never uses a text the bar scores, on data whose splits share reviews as IMDb's do."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, SHARED, subprocess_env
from huggingface_hub import ModelCard

from review_sentiment.data.splits import load_splits, shared_texts
from review_sentiment.export import openvino_ir

QUICK = ["--max-length", "64", "--batch-size", "8", "--eval-steps", "0.5", "--epochs", "6", "--learning-rate", "1e-3",
         "--report-to", "none"]


def run_train(*args):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True,
                          env=subprocess_env(HF_HUB_OFFLINE="1"), timeout=600, cwd=ROOT)


@pytest.fixture()
def shared_splits(tmp_path, binary_data):
    """The tiny binary set with IMDb's quirks: 6 test reviews also in train, one train review twice."""
    data = tmp_path / "shared-data"
    data.mkdir()
    train, test = (pd.read_parquet(binary_data / f"{s}.parquet") for s in ("train", "test"))
    train = pd.concat([train, test.iloc[:6], train.iloc[:1]], ignore_index=True)
    train.to_parquet(data / "train.parquet")
    test.to_parquet(data / "test.parquet")
    return data


def test_shared_texts_are_counted(shared_splits):
    splits = load_splits(str(shared_splits), val_size=0.1, seed=0)
    counts = shared_texts(splits)
    # The 6 shared reviews are in train or validation after the carve, never lost; the repeat stays a repeat.
    assert counts["train_test"] + counts["validation_test"] == 6
    assert counts["within_train"] + counts["within_validation"] + counts["train_validation"] == 1
    assert counts["within_test"] == 0


def test_a_failing_step_keeps_what_was_measured_and_resume_finishes_without_training(tmp_path, bert_base,
                                                                                      shared_splits, binary_data):
    out = tmp_path / "run"
    other = tmp_path / "other.parquet"
    other.write_bytes(b"PAR1 this is not a parquet file")  # a file that breaks only when the step reads it
    args = ["--model", str(bert_base), "--dataset", str(shared_splits), "--output-dir", str(out),
            "--eval-dataset", f"other={other}", *QUICK]
    failed = run_train(*args)
    assert failed.returncode == 2, failed.stderr[-3000:]
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "'other domains' failed" in last and "--resume-after-training" in last
    assert "Traceback" not in failed.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["failed_step"]["step"] == "other domains" and "Could not read" in metrics["failed_step"]["error"]
    assert metrics["test"]["accuracy"] > 0.8, "the test step ran before it and kept its figures"
    assert "domains" not in metrics and "audit" not in metrics and "onnx" not in metrics, "later steps did not run"
    assert "Traceback" in (out / "failed_step.log").read_text()
    card = (out / "README.md").read_text()
    assert "Incomplete run" in card and "other domains" in card
    assert f"{metrics['test']['accuracy']:.4f}" in card
    weights = (out / "model.safetensors").read_bytes()
    log = (out / "training_log.json").read_text()

    pd.read_parquet(binary_data / "test.parquet").to_parquet(other)  # the file is readable again
    resumed = run_train(*args, "--resume-after-training")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = json.loads((out / "metrics.json").read_text())
    assert "failed_step" not in after and not (out / "failed_step.log").exists()
    assert after["domains"]["other"]["reviews"] == 60 and after["audit"] and after["onnx"]["files"]
    assert after["test"] == metrics["test"], "the test step is not run twice"
    assert after["timings_s"]["training"] == metrics["timings_s"]["training"]
    assert (out / "model.safetensors").read_bytes() == weights and (out / "training_log.json").read_text() == log
    card = ModelCard.load(out / "README.md")
    assert "Incomplete run" not in card.text and "Other domains" in card.text

    # Resumed again on fewer test reviews: the test is read again on those, the rest stands, nothing trains.
    fewer = run_train(*args, "--resume-after-training", "--max-eval-samples", "30")
    assert fewer.returncode == 0, fewer.stderr[-3000:]
    again = json.loads((out / "metrics.json").read_text())
    assert again["test"]["num_samples"] == 30 and "on 30 reviews" in fewer.stdout.strip().splitlines()[-1]
    assert "the test and the gate are measured again" in fewer.stdout
    assert again["audit"] == after["audit"] and again["timings_s"]["training"] == metrics["timings_s"]["training"]
    assert (out / "model.safetensors").read_bytes() == weights

    # The splits share texts as IMDb's do: counted, and none of them calibrated the int8 file the bar scored.
    shared = after["data"]["shared_texts"]
    assert shared["train_test"] + shared["validation_test"] == 6
    assert f"in train and test {shared['train_test']} times" in card.text
    check = after["openvino"]["int8"]
    test_texts = {openvino_ir.fingerprint(t) for t in pd.read_parquet(shared_splits / "test.parquet")["text"]}
    assert check["calibration"]["reviews"] > 0 and not set(check["calibration"]["fingerprints"]) & test_texts
    assert check["calibration"]["dropped_scored"] == 0, "left out before the draw, so none is found after it"


def test_resume_after_training_needs_a_trained_model(tmp_path, bert_base, binary_data):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_train("--model", str(bert_base), "--dataset", str(binary_data), "--output-dir", str(empty),
                       "--resume-after-training", *QUICK)
    assert result.returncode == 2 and "holds no model saved by a finished training" in result.stderr
    assert "Traceback" not in result.stderr and list(empty.iterdir()) == []


@pytest.mark.skipif(not (SHARED / "imdb" / "train.parquet").exists(), reason="../shared/data/imdb is not here")
def test_imdb_splits_share_the_texts_the_issue_counted():
    """The real IMDb split: 123 texts in both train and test, repeats within each (what ended a full run)."""
    splits = load_splits(str(SHARED / "imdb"), val_size=0.1, seed=42)
    counts = shared_texts(splits)
    train, validation, test = (set(f["text"]) for f in (splits.train, splits.validation, splits.test))
    assert len((train | validation) & test) == 123 and counts["train_test"] == len(train & test) > 100
    assert counts["within_test"] == 199
    assert counts["within_train"] + counts["within_validation"] + counts["train_validation"] == 96
