"""train.py end to end on tiny real models: outputs, metrics, the card, LoRA save/reload/merge, bad input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import ROOT, subprocess_env
from huggingface_hub import ModelCard
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification

from review_sentiment.evaluation.metrics import classification_metrics
from review_sentiment.inference.predictor import Predictor
from review_sentiment.training.run import main

QUICK = ["--max-length", "64", "--batch-size", "8", "--eval-steps", "0.25"]
FAST = [*QUICK, "--no-onnx"]  # ONNX files are the LoRA run's and test_onnx.py's subject, not every run's


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, distilbert_base, binary_data):
    out = tmp_path_factory.mktemp("runs") / "full"
    main(["--model", str(distilbert_base), "--dataset", str(binary_data), "--output-dir", str(out),
          "--epochs", "6", "--learning-rate", "1e-3", *FAST])
    return out


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, bert_base, three_class_data):
    out = tmp_path_factory.mktemp("runs") / "lora"
    main(["--method", "lora", "--model", str(bert_base), "--dataset", str(three_class_data), "--output-dir",
          str(out), "--epochs", "8", "--learning-rate", "1e-2", "--lora-r", "16", *QUICK])
    return out


def saved_probs(out) -> tuple[np.ndarray, np.ndarray, list[str]]:
    predictions = pd.read_csv(out / "predictions.csv")
    prob_columns = [c for c in predictions.columns if c.startswith("p_")]
    return predictions["label"].to_numpy(), predictions[prob_columns].to_numpy(), [c[2:] for c in prob_columns]


def test_full_run_writes_every_artifact_and_learns(full_run):
    for name in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "README.md",
                 "metrics.json", "training_config.json", "predictions.csv", "confusion_matrix.png",
                 "training_curves.png"]:
        assert (full_run / name).is_file(), name
    assert not list(full_run.glob("*.bin")), "safetensors only"
    assert not (full_run / "checkpoints").exists(), "intermediate checkpoints are removed after training"
    metrics = json.loads((full_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.9, metrics["test"]
    assert metrics["test"]["num_samples"] == 60
    config = json.loads((full_run / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    settings = config["review_sentiment"]
    assert settings["max_length"] == 64 and settings["truncation"] == "head+tail"
    calibration = metrics["test"]["calibration"]
    assert settings["temperature"] > 0 and settings["temperature"] == pytest.approx(calibration["temperature"])
    assert 0 <= calibration["ece_after"] <= 1 and 0 <= calibration["ece_before"] <= 1
    # 24 validation reviews: too few to back a temperature, and the card says which rule decided.
    assert calibration["decided_by"] == "too few reviews" and settings["temperature"] == 1.0
    assert "Decided by the too few reviews rule" in " ".join((full_run / "README.md").read_text().split())
    assert {b["bucket"] for b in metrics["test"]["by_length"]} == {"≤128", "129-256", "257-512", ">512"}
    recorded = json.loads((full_run / "training_config.json").read_text())
    assert recorded["arguments"]["learning_rate"] == 1e-3 and recorded["arguments"]["method"] == "full"
    assert recorded["versions"]["transformers"] and recorded["sizes"]["test"] == 60


def test_metrics_json_matches_recomputation_from_saved_predictions(full_run):
    labels, probs, names = saved_probs(full_run)
    assert names == ["negative", "positive"]
    recomputed = classification_metrics(labels, probs, names)
    saved = json.loads((full_run / "metrics.json").read_text())["test"]
    for key in ["accuracy", "f1_macro", "precision_macro", "recall_macro", "loss", "ece"]:
        assert saved[key] == pytest.approx(recomputed[key], abs=1e-6), key
    assert saved["confusion_matrix"] == recomputed["confusion_matrix"]
    for name in names:
        assert saved["per_class"][name]["f1"] == pytest.approx(recomputed["per_class"][name]["f1"], abs=1e-6)


def test_card_parses_and_model_index_holds_the_test_metrics(full_run):
    card = ModelCard.load(full_run / "README.md")
    metrics = json.loads((full_run / "metrics.json").read_text())["test"]
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results["accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-4)
    assert results["f1"] == pytest.approx(metrics["f1_macro"], abs=1e-4)
    assert all(r.dataset_split == "test" for r in card.data.eval_results)
    assert card.data.pipeline_tag == "text-classification" and card.data.license == "apache-2.0"
    assert card.data.base_model is None, "a local base path must not be written as a Hub id"
    text = card.text
    assert f"{metrics['accuracy']:.4f}" in text
    assert "![Confusion matrix" in text and "training_curves.png" in text
    assert 'pipeline("text-classification"' in text and "## Bias, risks and limitations" in text
    # The audit's tables, worst first, in place of "not audited"; its figures are metrics.json's.
    audit = json.loads((full_run / "metrics.json").read_text())["audit"]
    worst = audit["tests"][0]
    assert "It has not been audited" not in text and "| capability | test | kind |" in text
    assert f"| {worst['capability']} | {worst['test']} | {worst['kind']} | {worst['n']} |" in text
    assert "| gender |" in text and "![Behaviour and fairness audit](audit.png)" in text
    assert (full_run / "audit.png").is_file() and audit["real_reviews"] == 60
    assert "| learning rate | 0.001 |" in text


def test_saved_model_reloads_to_the_recorded_probabilities(full_run, binary_data):
    labels, probs, _ = saved_probs(full_run)
    test = pd.read_parquet(binary_data / "test.parquet")  # no subsetting: predictions.csv keeps the file's order
    assert (labels == test["label"].to_numpy()).all()
    predictor = Predictor.load(str(full_run))
    assert predictor.labels == ["negative", "positive"] and predictor.settings.truncation == "head+tail"
    assert np.allclose(predictor.predict_proba(test["text"].tolist()), probs, atol=1e-5)


def test_lora_adapter_ships_onnx_of_the_merged_model(lora_run):
    from review_sentiment.export import onnx

    assert (lora_run / onnx.FP32_FILE).is_file() and not (lora_run / "model.safetensors").exists()
    predictor = Predictor.load(str(lora_run))
    texts = ["great wonderful film , i loved it", "awful boring plot , a waste", "the movie was okay"]
    on_onnx = predictor.on("onnx", "fp32", lora_run / onnx.FP32_FILE)
    assert np.allclose(on_onnx.predict_proba(texts), predictor.predict_proba(texts), atol=1e-5)


def test_lora_run_saves_adapter_with_trained_head(lora_run):
    assert (lora_run / "adapter_model.safetensors").is_file() and (lora_run / "adapter_config.json").is_file()
    assert not (lora_run / "model.safetensors").exists()
    keys = list(safe_open(lora_run / "adapter_model.safetensors", "pt").keys())
    assert any("lora_A" in k for k in keys)
    assert any(k.endswith("classifier.weight") for k in keys), "the random head must be saved with the adapter"
    config = json.loads((lora_run / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    metrics = json.loads((lora_run / "metrics.json").read_text())["test"]
    # 3 classes: chance is 0.33, and its standard deviation over 60 reviews ~0.06, so 0.45 means it learned.
    assert metrics["accuracy"] > 0.45
    card = ModelCard.load(lora_run / "README.md")
    assert card.data.library_name == "peft" and "AutoPeftModelForSequenceClassification" in card.text
    # negative, neutral, positive are ordered: how far off a prediction is goes into metrics and the card
    assert 0 <= metrics["mae_classes"] <= 2 and metrics["within_one_accuracy"] >= metrics["accuracy"]
    assert f"| accuracy within one class | {metrics['within_one_accuracy']:.4f} |" in card.text
    assert "SST-2's mapping" not in card.text, "the binary reading is for five classes"


def test_lora_adapter_reloads_with_identical_logits_and_merge_changes_nothing(lora_run, three_class_data):
    from peft import PeftModel

    texts = pd.read_csv(three_class_data / "test.csv")["text"].tolist()
    labels, probs, _ = saved_probs(lora_run)
    # 1. The Predictor (adapter merged at load) reproduces what train.py recorded.
    predictor = Predictor.load(str(lora_run))
    assert np.allclose(predictor.predict_proba(texts), probs, atol=1e-5)
    # 2. Unmerged adapter on the base gives the same logits as the merged model.
    encoded = predictor.tokenizer.pad({"input_ids": predictor.encode(texts[:8])}, return_tensors="pt")
    base = AutoModelForSequenceClassification.from_pretrained(
        json.loads((lora_run / "adapter_config.json").read_text())["base_model_name_or_path"],
        config=predictor.model.config)
    unmerged = PeftModel.from_pretrained(base, lora_run).eval()
    with torch.inference_mode():
        a = unmerged(**encoded).logits
        b = predictor.model(**encoded).logits
    assert torch.allclose(a, b, atol=1e-5)


def test_merge_lora_saves_plain_weights_with_the_same_predictions(tmp_path, bert_base, binary_data):
    out = tmp_path / "merged"
    main(["--method", "lora", "--merge-lora", "--model", str(bert_base), "--dataset", str(binary_data),
          "--output-dir", str(out), "--epochs", "2", "--learning-rate", "1e-2", *FAST])
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    model = AutoModelForSequenceClassification.from_pretrained(out)  # no peft involved
    assert not any("lora" in name for name, _ in model.named_parameters())
    texts = pd.read_parquet(binary_data / "test.parquet")["text"].tolist()
    _, probs, _ = saved_probs(out)
    reloaded = Predictor(model, Predictor.load(str(out)).tokenizer).predict_proba(texts)
    assert np.allclose(reloaded, probs, atol=1e-5)


def run_train(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], capture_output=True, text=True,
                          env=env or subprocess_env(HF_HUB_OFFLINE="1"), timeout=300, cwd=ROOT)


def assert_clean_error(result, *needles):
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in last, last


@pytest.mark.parametrize("case", ["missing-dataset", "unknown-column", "single-class", "empty-text",
                                  "missing-model"])
def test_bad_input_fails_before_training_with_one_line(case, tmp_path, bert_base, binary_data):
    data = tmp_path / "data"
    data.mkdir()
    df = pd.read_parquet(binary_data / "train.parquet")
    args = ["--model", str(bert_base), "--dataset", str(data), "--output-dir", str(tmp_path / "out")]
    needle = {}
    if case == "missing-dataset":
        args[3] = str(tmp_path / "nope")
        needle = ("not found",)
    elif case == "unknown-column":
        df.to_parquet(data / "train.parquet")
        args += ["--text-column", "review"]
        needle = ("no column 'review'", "['text', 'label']")
    elif case == "single-class":
        df[df.label == 1].to_parquet(data / "train.parquet")
        needle = ("single class",)
    elif case == "empty-text":
        df.loc[3, "text"] = "   "
        df.to_parquet(data / "train.parquet")
        needle = ("empty text", "row 3")
    elif case == "missing-model":
        df.to_parquet(data / "train.parquet")
        args[1] = str(tmp_path / "no-model")
        needle = ("no-model",)
    result = run_train(*args)
    assert_clean_error(result, *needle)
    assert not (tmp_path / "out").exists(), "nothing may be written when the input is bad"


def test_output_dir_holding_another_run_is_not_overwritten(full_run):
    before = (full_run / "model.safetensors").read_bytes()
    result = run_train("--dataset", "whatever", "--output-dir", str(full_run))
    assert_clean_error(result, "holds another run", "--overwrite-output-dir")
    assert (full_run / "model.safetensors").read_bytes() == before


def test_bad_flag_values_are_usage_errors():
    result = run_train("--method", "lora", "--lora-r", "0")
    assert result.returncode == 2 and "LoRA" in result.stderr and "Traceback" not in result.stderr
    result = run_train("--push-to-hub")
    assert result.returncode == 2 and "--hub-model-id" in result.stderr


def test_torchrun_two_cpu_processes_train_one_model(tmp_path, bert_base, binary_data):
    """The distributed path (gloo on CPU): same script, no code change, one set of outputs."""
    out = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(ROOT / "train.py"), "--model", str(bert_base), "--dataset", str(binary_data), "--output-dir", str(out),
         "--epochs", "2", "--learning-rate", "1e-3", *FAST],
        capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"), timeout=240, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    recorded = json.loads((out / "training_config.json").read_text())
    assert recorded["world_size"] == 2
    steps = json.loads((out / "metrics.json").read_text())["train"]["steps"]
    assert steps == 28, "216 reviews / (2 processes x 8) x 2 epochs: each process saw half of every epoch"
    assert (out / "model.safetensors").is_file() and (out / "README.md").is_file()


def test_resume_from_last_checkpoint_continues_the_run(tmp_path, bert_base, binary_data):
    out = tmp_path / "resume"
    common = ["--model", str(bert_base), "--dataset", str(binary_data), "--output-dir", str(out),
              "--learning-rate", "1e-3", "--keep-checkpoints", *FAST]
    main([*common, "--epochs", "1"])
    first = json.loads((out / "metrics.json").read_text())["train"]["steps"]
    assert list((out / "checkpoints").glob("checkpoint-*"))
    main([*common, "--epochs", "2", "--resume-from-checkpoint", "last"])
    assert json.loads((out / "metrics.json").read_text())["train"]["steps"] == 2 * first


def test_list_flags_split_on_commas_only():
    from review_sentiment.cli import parser_for
    from review_sentiment.training.config import TrainConfig

    args = parser_for(TrainConfig, "").parse_args(["--label-names", "1 star,2 stars", "--merge-labels", "0, 0,1"])
    assert args.label_names == ["1 star", "2 stars"] and args.merge_labels == ["0", "0", "1"]


def test_merge_labels_trains_three_classes_from_five(tmp_path, distilbert_base):
    import tiny

    data = tiny.write_dataset(tmp_path / "five", tiny.SST5, n_train=200, n_test=50)
    out = tmp_path / "three"
    main(["--model", str(distilbert_base), "--dataset", str(data), "--output-dir", str(out), "--epochs", "2",
          "--learning-rate", "1e-3", "--merge-labels", "0,0,1,2,2", "--class-weights", "balanced", "--no-audit",
          "--dataset-name", "stanfordnlp/sst5", *FAST])
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert metrics["label_names"] == ["negative", "neutral", "positive"]
    assert [m["support"] for m in metrics["per_class"].values()] == [20, 10, 20]  # 0-1 and 3-4 merged
    assert "within_one_accuracy" in metrics and "binary_accuracy" not in metrics
    config = json.loads((out / "config.json").read_text())
    assert list(config["id2label"].values()) == ["negative", "neutral", "positive"]
    assert json.loads((out / "training_config.json").read_text())["arguments"]["merge_labels"] == [0, 0, 1, 2, 2]
    card = (out / "README.md").read_text()
    assert "| classes merged | 0,0,1,2,2 |" in card and "| class weights | balanced |" in card
    limits = card.split("## Bias, risks and limitations")[1].split("##")[0]
    assert "Stanford Sentiment Treebank sentences" in limits and "IMDb" not in limits  # the card names its corpus
    assert "| true class | negative | neutral | positive |" in card  # ordered classes: the matrix as text
    assert "Socher" in card.split("## Citation")[1] and "Maas" not in card


@pytest.mark.parametrize("data, merge, extra, needle", [
    ("five", "0,0,2,2,2", [], "must be 0..M-1"),
    ("five", "0,0,1,1,1", ["--label-names", "a,b,c"], "makes 2 classes but --label-names gives 3"),
    ("five", "0,x,1,1,1", [], "new class id of each label"),
    ("five", "0,0,1", [], "labels up to 4"),
    ("strings", "0,0,1", [], "integer label ids"),
])
def test_bad_merge_labels_fail_with_one_line(data, merge, extra, needle, tmp_path, bert_base, three_class_data):
    import tiny

    dataset = tiny.write_dataset(tmp_path / "five", tiny.SST5, n_train=40, n_test=10) if data == "five" \
        else three_class_data
    result = run_train("--model", str(bert_base), "--dataset", str(dataset), "--output-dir", str(tmp_path / "out"),
                       "--merge-labels", merge, *extra)
    assert_clean_error(result, needle)
    assert not (tmp_path / "out").exists()
