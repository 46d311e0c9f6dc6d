"""Push -> pull round trip through a loopback server that speaks the Hub's HTTP API.

This fakes ONLY the Hub (tests/fake_hub.py); train.py, huggingface_hub, transformers and our loader are real and
run in subprocesses, because HF_ENDPOINT and HF_HUB_DISABLE_XET are read when huggingface_hub is imported.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, subprocess_env
from fake_hub import USER, FakeHub, Repo

TRAIN = ["--max-length", "64", "--batch-size", "8", "--epochs", "2", "--learning-rate", "1e-3",
         "--eval-steps", "0.5"]


@pytest.fixture()
def hub():
    with FakeHub() as server:
        yield server


def run(args, env, timeout=300):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=ROOT)


PULL = """
import json, sys
from huggingface_hub import ModelCard
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from review_sentiment.inference.predictor import Predictor
repo, texts = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForSequenceClassification.from_pretrained(repo)
tokenizer = AutoTokenizer.from_pretrained(repo)
card = ModelCard.load(repo)
predictor = Predictor.load(repo)
print(json.dumps({
    "labels": model.config.id2label,
    "probs": predictor.predict_proba(texts).tolist(),
    "card_accuracy": [r.metric_value for r in card.data.eval_results if r.metric_type == "accuracy"][0],
}))
"""


def test_push_then_pull_gives_back_the_same_model_and_metrics(hub, tmp_path, distilbert_base, binary_data):
    out = tmp_path / "out"
    repo = f"{USER}/tiny-imdb"
    env = subprocess_env(**hub.env(), HF_HOME=str(tmp_path / "hf-home"))
    result = run(["train.py", "--model", str(distilbert_base), "--dataset", str(binary_data),
                  "--output-dir", str(out), "--push-to-hub", "--hub-model-id", repo, *TRAIN], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"pushed to {hub.url}/{repo}" in result.stdout

    pushed = hub.repo(repo)
    assert len(pushed.commits) == 1, "weights, tokenizer, card and plots go up in one commit"
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "metrics.json",
            "confusion_matrix.png", "training_curves.png"} <= set(pushed.files)
    assert "model.safetensors" in pushed.lfs, "large binaries travel through the LFS batch API"
    assert pushed.files["model.safetensors"] == (out / "model.safetensors").read_bytes()
    assert not any(p.startswith("checkpoints/") for p in pushed.files)
    assert pushed.files["onnx/model.onnx"] == (out / "onnx/model.onnx").read_bytes(), "the ONNX files go up too"
    assert f'hf_hub_download("{repo}", "onnx/' in pushed.files["README.md"].decode(), "the card's snippet"

    texts = ["great wonderful film", "awful boring plot"]
    pull = run(["-c", PULL, repo, json.dumps(texts)], subprocess_env(**hub.env(), HF_HOME=str(tmp_path / "other")))
    assert pull.returncode == 0, pull.stderr[-3000:]
    pulled = json.loads(pull.stdout.strip().splitlines()[-1])
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert pulled["labels"] == {"0": "negative", "1": "positive"}
    assert pulled["card_accuracy"] == pytest.approx(metrics["accuracy"], abs=1e-4)

    local = run(["-c", "import json,sys; from review_sentiment.inference.predictor import Predictor; "
                       "print(json.dumps(Predictor.load(sys.argv[1]).predict_proba(json.loads(sys.argv[2])).tolist()))",
                 str(out), json.dumps(texts)], subprocess_env(HF_HUB_OFFLINE="1"))
    assert np.allclose(json.loads(local.stdout.strip().splitlines()[-1]), pulled["probs"], atol=1e-6)


def test_push_without_token_fails_before_training(hub, tmp_path, distilbert_base, binary_data):
    env = subprocess_env(**hub.env(token=None), HF_HOME=str(tmp_path / "empty-home"))
    result = run(["train.py", "--model", str(distilbert_base), "--dataset", str(binary_data),
                  "--output-dir", str(tmp_path / "out"), "--push-to-hub", "--hub-model-id", f"{USER}/x", *TRAIN], env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no Hugging Face token" in result.stderr and "HF_TOKEN" in result.stderr
    assert not (tmp_path / "out").exists() and not hub.repos


def test_push_with_rejected_token_or_foreign_namespace_fails_before_training(hub, tmp_path, distilbert_base,
                                                                             binary_data):
    args = ["train.py", "--model", str(distilbert_base), "--dataset", str(binary_data),
            "--output-dir", str(tmp_path / "out"), "--push-to-hub", *TRAIN]
    bad = run(args + ["--hub-model-id", f"{USER}/x"], subprocess_env(**hub.env(token="hf_wrong"),
                                                                     HF_HOME=str(tmp_path / "h1")))
    assert bad.returncode == 2 and "401" in bad.stderr and "hf_wrong" not in bad.stderr
    foreign = run(args + ["--hub-model-id", "someone-else/x"], subprocess_env(**hub.env(),
                                                                             HF_HOME=str(tmp_path / "h2")))
    assert foreign.returncode == 2 and "cannot write to namespace 'someone-else'" in foreign.stderr
    assert not (tmp_path / "out").exists()


def test_unreachable_hub_fails_before_training(tmp_path, distilbert_base, binary_data):
    env = subprocess_env(HF_ENDPOINT="http://127.0.0.1:9", HF_TOKEN="hf_x", HF_HUB_DISABLE_XET="1",
                         HF_HOME=str(tmp_path / "home"))
    result = run(["train.py", "--model", str(distilbert_base), "--dataset", str(binary_data),
                  "--output-dir", str(tmp_path / "out"), "--push-to-hub", "--hub-model-id", "me/x", *TRAIN], env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot be reached" in result.stderr and not (tmp_path / "out").exists()


def test_hub_dataset_id_resolves_through_the_same_loader_as_a_local_directory(hub, tmp_path, binary_data):
    """A Hub dataset id is downloaded, then read by the same code as a local directory."""
    dataset = hub.repos[("dataset", f"{USER}/reviews")] = Repo("dataset", f"{USER}/reviews")
    dataset.commit_main("Upload", {f"plain_text/{split}-00000-of-00001.parquet":
                                   (binary_data / f"{split}.parquet").read_bytes() for split in ("train", "test")})
    code = ("import sys; from review_sentiment.data.splits import load_splits; s = load_splits(sys.argv[1]); "
            "print(len(s.train), len(s.validation), len(s.test), s.label_names)")
    result = run(["-c", code, f"{USER}/reviews"], subprocess_env(**hub.env(), HF_HOME=str(tmp_path / "h")))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "216 24 60 ['negative', 'positive']"


def test_publish_space_without_token_fails_first(hub, tmp_path):
    env = subprocess_env(**hub.env(token=None), HF_HOME=str(tmp_path / "h"))
    result = run(["-m", "review_sentiment.space.publish", "--space-id", f"{USER}/demo"], env)
    assert result.returncode == 2 and "no Hugging Face token" in result.stderr and "Traceback" not in result.stderr
    assert not hub.repos
