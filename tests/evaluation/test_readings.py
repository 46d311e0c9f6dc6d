"""The model as people read it (issue 38): train.py's headline is the reading the Space serves, beside a plain
pipeline's and the training window's, on the same test reviews with McNemar's p per pair; the temperature is fitted
for the served reading on validation only; evaluate.py reports the three readings for a model trained elsewhere."""

import json
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, subprocess_env
from huggingface_hub import ModelCard
from transformers import pipeline

import tiny
from review_sentiment.data.splits import load_splits
from review_sentiment.evaluation import readings
from review_sentiment.export.temperature import calibrate
from review_sentiment.inference.predictor import Predictor
from review_sentiment.training.run import main
from review_sentiment.training.steps import score_test

QUICK = ["--max-length", "24", "--batch-size", "8", "--eval-steps", "0.5", "--epochs", "4", "--learning-rate", "1e-3",
         "--report-to", "none", "--no-audit", "--no-onnx"]


def long_reviews(n: int, seed: int) -> pd.DataFrame:
    """Half of them IMDb-like long reviews: 150 words of filler, `<br />` markup, then the verdict at the end, past
    the first 128 tokens a plain pipeline reads; the other half short. The three readings differ on these."""
    rng = random.Random(seed)
    rows = tiny.reviews(n, ["negative", "positive"], seed=seed, min_len=6, max_len=20)
    rows["text"] = [" ".join(rng.choice(tiny.FILLER[:12]) for _ in range(150)) + " <br /><br /> " + t
                    if i % 2 else t for i, t in enumerate(rows["text"])]
    rows["label"] = rows["label"].map({"negative": 0, "positive": 1})
    return rows


@pytest.fixture(scope="module")
def long_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("long-data")
    long_reviews(240, 1).to_parquet(data / "train.parquet")
    long_reviews(80, 2).to_parquet(data / "test.parquet")
    return data


@pytest.fixture(scope="module")
def long_run(tmp_path_factory, distilbert_base, long_data):
    out = tmp_path_factory.mktemp("long-run") / "model"
    main(["--model", str(distilbert_base), "--dataset", str(long_data), "--output-dir", str(out), *QUICK])
    return out


def test_the_headline_is_the_served_reading_with_the_other_two_beside_it(long_run, long_data):
    test = json.loads((long_run / "metrics.json").read_text())["test"]
    found = test["readings"]
    assert list(found) == ["served", "pipeline", "window"]
    assert test["accuracy"] == found["served"]["accuracy"] and test["ece"] == found["served"]["ece"]
    # Read independently, each reading is what its Predictor answers on those reviews.
    reviews = pd.read_parquet(long_data / "test.parquet")
    for name, reader in readings.readers(Predictor.load(str(long_run))).items():
        accuracy = (reader.predict_proba(reviews["text"].tolist()).argmax(1) == reviews["label"]).mean()
        assert found[name]["accuracy"] == pytest.approx(accuracy)
    assert {(p["a"], p["b"]) for p in test["pairs"]} == {("served", "pipeline"), ("served", "window"),
                                                         ("pipeline", "window")}
    assert all(0 <= p["mcnemar_p"] <= 1 for p in test["pairs"])
    assert any(p["disagree"] > 0 for p in test["pairs"])  # long reviews: the readings really differ
    # The window reading reads 24 tokens head+tail; the served one every token, in windows of 24.
    assert "24 tokens, head+tail" in found["window"]["how"] and "24-token windows" in found["served"]["how"]
    card = ModelCard.load(long_run / "README.md")
    index = {r.metric_type: r.metric_value for r in card.data.eval_results if r.dataset_split == "test"}
    assert index["accuracy"] == round(found["served"]["accuracy"], 4)
    assert "How the review was read" in card.text and "as the Space serves it" in card.text
    assert f"{found['pipeline']['accuracy']:.4f}" in card.text


def test_a_model_whose_reviews_fit_reads_the_same_every_way(trained_model):
    test = json.loads((trained_model / "metrics.json").read_text())["test"]
    accuracies = {r["accuracy"] for r in test["readings"].values()}
    assert len(accuracies) == 1 and all(p["disagree"] == 0 and p["mcnemar_p"] == 1.0 for p in test["pairs"])


def test_the_pipeline_reading_is_what_a_plain_pipeline_answers(long_run, long_data):
    """Raw text with its markup, the tokenizer's first model_max_length tokens, no temperature: a real pipeline."""
    texts = pd.read_parquet(long_data / "test.parquet")["text"].tolist()[:24]
    predictor = Predictor.load(str(long_run))
    ours = readings.readers(predictor)["pipeline"].predict_proba(texts)
    classify = pipeline("text-classification", model=str(long_run), top_k=None, truncation=True, device="cpu")
    theirs = np.array([[next(s["score"] for s in row if s["label"] == name) for name in predictor.labels]
                       for row in classify(texts)])
    assert ours == pytest.approx(theirs, abs=1e-5)
    # ...and not the training window's reading, which removes the markup and cuts head+tail.
    window = readings.readers(predictor)["window"].predict_proba(texts)
    assert not np.allclose(window, theirs, atol=1e-3)


def test_the_temperature_is_fitted_on_validation_only(tmp_path, long_run, long_data):
    """Scoring twice with different test reviews and labels leaves the fitted temperature where validation put it."""
    splits = load_splits(str(long_data), val_size=0.1, seed=42)
    served = readings.readers(Predictor.load(str(long_run)))["served"]
    expected = calibrate(served.reading(temperature=1.0).logits(splits.validation["text"].tolist()),
                         splits.validation["label"].to_numpy())["temperature"]
    temperatures = []
    for flip in (False, True):
        folder = tmp_path / f"copy-{flip}"
        folder.mkdir()
        for f in long_run.iterdir():
            if f.is_file():
                (folder / f.name).write_bytes(f.read_bytes())
        test = splits.test.copy()
        if flip:  # other labels and other reviews: a fit that read them would move
            test["label"] = 1 - test["label"]
            test["text"] = test["text"].str[::-1]
        metrics, _ = score_test(folder, type(splits)(**{**splits.__dict__, "test": test}), calibrate=True)
        temperatures.append(metrics["calibration"]["temperature"])
        assert json.loads((folder / "config.json").read_text())["review_sentiment"]["temperature"] == \
            pytest.approx(metrics["calibration"]["temperature"])
    assert temperatures[0] == pytest.approx(expected) and temperatures[1] == pytest.approx(expected)


def test_evaluate_reports_the_three_readings_of_a_model_trained_elsewhere(tmp_path, long_data):
    """A model with no settings of ours (a Hub model): its own window read by head, and chunks."""
    model = tiny.make_classifier(tmp_path / "elsewhere", ["negative", "positive"], kind="bert")
    out = tmp_path / "report"
    result = subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.evaluate", "--model", str(model),
                             "--dataset", str(long_data), "--out", str(out)], capture_output=True, text=True,
                            env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    window = Predictor.load(str(model)).settings
    assert (window.long_text, window.max_length) == ("head", 128)  # its own position table, head as trained
    assert "128 tokens, head" in metrics["readings"]["window"]["how"]
    assert "128-token windows" in metrics["readings"]["served"]["how"]
    assert metrics["accuracy"] == metrics["readings"]["served"]["accuracy"]  # the headline is read as served
    assert len(metrics["pairs"]) == 3 and "How the review was read" in (out / "report.md").read_text()
    assert "| window |" in result.stdout
