"""Evaluation report, star-model mapping, ECE, temperature scaling, and the baseline comparison in the card."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, subprocess_env
from huggingface_hub import ModelCard

from review_sentiment.data.stars import star_summary
from review_sentiment.evaluation.evaluate import score
from review_sentiment.evaluation.metrics import expected_calibration_error
from review_sentiment.export.temperature import fit_temperature, nll, softmax
from review_sentiment.inference.predictor import Predictor
from review_sentiment.training.run import main


def test_ece_of_a_known_case():
    labels = np.array([0, 0, 0, 0])
    probs = np.array([[0.9, 0.1]] * 4)  # 90% confident, always right: ECE 0.1
    assert expected_calibration_error(labels, probs) == pytest.approx(0.1)
    labels = np.array([0, 1, 0, 1])  # 90% confident, right half the time: ECE 0.4
    assert expected_calibration_error(labels, probs) == pytest.approx(0.4)


def test_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 3))
    labels = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    temperature = fit_temperature(true_logits * 3, labels)  # a model 3x too sharp
    assert temperature == pytest.approx(3, rel=0.1)
    assert nll(true_logits * 3, labels, temperature) < nll(true_logits * 3, labels, 1.0)
    assert (softmax(true_logits * 3, temperature).argmax(1) == (true_logits * 3).argmax(1)).all()


def test_evaluate_cli_writes_the_report(trained_model, binary_data, tmp_path):
    out = tmp_path / "report"
    result = subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.evaluate", "--model",
                             str(trained_model), "--dataset", str(binary_data), "--split", "test", "--out", str(out)],
                            capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    saved = json.loads((trained_model / "metrics.json").read_text())["test"]
    assert metrics["accuracy"] == pytest.approx(saved["accuracy"]) and metrics["ece"] == pytest.approx(saved["ece"])
    assert sum(b["reviews"] for b in metrics["by_length"]) == metrics["num_samples"] == 60
    for name in ("report.md", "reliability_diagram.png", "confusion_matrix.png", "predictions.csv"):
        assert (out / name).is_file()
    assert "| accuracy | macro F1 | ECE |" in (out / "report.md").read_text()
    bad = subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.evaluate", "--model",
                          str(tmp_path / "none"), "--dataset", str(binary_data)], capture_output=True, text=True,
                         env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_star_model_on_binary_data_uses_the_documented_mapping(star_baseline, binary_data):
    test = pd.read_parquet(binary_data / "test.parquet")
    predictor = Predictor.load(str(star_baseline))
    texts, labels = test["text"].tolist(), test["label"].to_numpy()
    metrics = score(predictor, texts, labels, ["negative", "positive"])["metrics"]
    stars = predictor.predict_proba(texts)
    summaries = [star_summary(predictor.labels, row) for row in stars]
    p_positive = np.array([s["p_positive"] for s in summaries])
    assert metrics["accuracy"] == pytest.approx(((p_positive > 0.5) == labels).mean())
    verdicts = [s["verdict"] for s in summaries]
    expected = np.mean([v == ("positive" if y else "negative") for v, y in zip(verdicts, labels)])
    assert metrics["verdict_accuracy"] == pytest.approx(expected)
    assert metrics["neutral_rate"] == pytest.approx(np.mean([v == "neutral" for v in verdicts]))


def test_star_model_on_five_classes_reads_stars_as_classes_in_order(star_baseline):
    """The 1-5 star baseline on SST-5's classes: star k is class k-1, scored with the fine-grained metrics."""
    predictor = Predictor.load(str(star_baseline))
    five = ["very negative", "negative", "neutral", "positive", "very positive"]
    texts = ["the worst film", "a bad film", "an okay film", "a good film", "the best film"] * 4
    labels = np.array([0, 1, 2, 3, 4] * 4)
    result = score(predictor, texts, labels, five)
    stars = predictor.predict_proba(texts)  # the tiny baseline's labels are already 1 star .. 5 stars in order
    assert result["probs"] == pytest.approx(stars)
    assert result["metrics"]["mapping"] == "stars 1-5 to the classes in order"
    assert result["metrics"]["accuracy"] == pytest.approx((stars.argmax(axis=1) == labels).mean())
    assert {"within_one_accuracy", "mae_classes", "binary_accuracy"} <= set(result["metrics"])


def test_compare_baseline_puts_both_models_in_the_card(tmp_path, distilbert_base, binary_data, star_baseline):
    out = tmp_path / "with-baseline"
    main(["--model", str(distilbert_base), "--dataset", str(binary_data), "--output-dir", str(out), "--epochs", "2",
          "--learning-rate", "1e-3", "--max-length", "64", "--batch-size", "8", "--eval-steps", "0.5",
          "--compare-baseline", "--baseline-model", str(star_baseline), "--no-onnx"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert "verdict_accuracy" in metrics["baseline"] and metrics["baseline"]["num_samples"] == 60
    card = ModelCard.load(out / "README.md").text
    assert "Baseline vs fine-tuned" in card and f"{metrics['baseline']['accuracy']:.4f}" in card
    # The card says whether the fitted temperature was kept (it is, only when it lowers held-out NLL).
    kept = json.loads((out / "metrics.json").read_text())["test"]["calibration"]["kept"]
    assert ("calibrated by temperature scaling" if kept else "No temperature is applied") in card


def test_compare_baseline_with_a_missing_baseline_fails_before_training(tmp_path, distilbert_base, binary_data):
    result = subprocess.run([sys.executable, "train.py", "--model", str(distilbert_base), "--dataset",
                             str(binary_data), "--output-dir", str(tmp_path / "o"), "--compare-baseline",
                             "--baseline-model", str(tmp_path / "missing")], capture_output=True, text=True,
                            env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "missing" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "o").exists()
