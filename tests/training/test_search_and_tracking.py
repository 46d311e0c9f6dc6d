"""train.py as practitioners run it: an Optuna search, TensorBoard tracking, early stopping, scores on other domains
in the card, and calibration that has to earn its place. Tiny real models; nothing faked."""

import json

import numpy as np
import pytest
import tiny
from huggingface_hub import ModelCard
from test_training import QUICK, assert_clean_error, run_train

from review_sentiment.export.temperature import MIN_REVIEWS, calibrate, nll
from review_sentiment.training.run import main


@pytest.fixture(scope="module")
def searched(tmp_path_factory, distilbert_base, binary_data):
    """A 3-trial search, TensorBoard on, and a 3-class set from another 'domain' scored after training."""
    root = tmp_path_factory.mktemp("search")
    other = tiny.write_dataset(root / "other-domain", ["negative", "neutral", "positive"], n_train=10, n_test=45,
                               int_labels=False, fmt="csv")
    out = root / "out"
    main(["--model", str(distilbert_base), "--dataset", str(binary_data), "--output-dir", str(out),
          "--epochs", "2", "--learning-rate", "1e-3", *QUICK, "--hp-search", "3", "--report-to", "tensorboard",
          "--eval-dataset", f"forums={other}", "--no-onnx"])
    return out


def test_search_trains_the_final_model_with_the_best_trials_settings(searched):
    search = json.loads((searched / "hp_search.json").read_text())
    assert len(search["trials"]) == 3
    assert {t["state"] for t in search["trials"]} <= {"complete", "pruned"}
    done = [t for t in search["trials"] if t["accuracy"] is not None]
    assert search["best"]["accuracy"] == max(t["accuracy"] for t in done)
    arguments = json.loads((searched / "training_config.json").read_text())["arguments"]
    for name, value in search["best"]["params"].items():
        assert arguments[name] == pytest.approx(value), name
    assert set(search["best"]["params"]) == {"learning_rate", "epochs", "weight_decay", "warmup_ratio"}
    card = (searched / "README.md").read_text()
    assert "### Hyper-parameter search" in card and "![Optimisation history](hp_search.png)" in card
    best_row = next(line for line in card.splitlines() if line.startswith(f"| **{search['best']['number']}**"))
    assert f"**{search['best']['accuracy']:.4f}**" in best_row
    assert (searched / "hp_search.png").stat().st_size > 10_000
    assert not (searched / "checkpoints").exists()


def test_tensorboard_events_hold_the_trainers_log_history(searched):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(searched / "runs")).Reload()
    history = json.loads((searched / "training_log.json").read_text())
    for tag, key in (("train/loss", "loss"), ("eval/accuracy", "eval_accuracy")):
        logged = {(e["step"], round(e[key], 4)) for e in history if key in e}
        scalars = {(s.step, round(s.value, 4)) for s in events.Scalars(tag)}
        assert logged and logged <= scalars, tag


def test_other_domain_is_a_model_index_entry_and_a_card_table(searched):
    metrics = json.loads((searched / "metrics.json").read_text())["domains"]["forums"]
    assert metrics["reviews"] == 30 and metrics["dropped"] == 15, "neutral reviews have no binary counterpart"
    assert "neutral dropped" in metrics["mapping"]
    assert metrics["ece_95"][0] <= metrics["ece"] <= metrics["ece_95"][1]
    card = ModelCard.load(searched / "README.md")
    entries = {(r.dataset_name, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert entries[("forums", "accuracy")] == pytest.approx(metrics["accuracy"], abs=1e-4)
    assert "### Other domains" in card.content and "| forums | 30 |" in card.content


def test_early_stopping_stops_a_plateaued_run_before_its_last_epoch(tmp_path, trained_model, binary_data):
    # Starting from a model that already solves the task: validation accuracy plateaus at the first evaluation.
    out = tmp_path / "out"
    main(["--model", str(trained_model), "--dataset", str(binary_data), "--output-dir", str(out),
          "--epochs", "6", "--learning-rate", "1e-4", "--max-length", "64", "--batch-size", "8",
          "--eval-steps", "0.05", "--early-stopping-patience", "3", "--report-to", "none", "--no-onnx"])
    train = json.loads((out / "metrics.json").read_text())["train"]
    assert train["stopped_early"] and train["steps"] < train["max_steps"] * 0.9, train
    assert json.loads((out / "metrics.json").read_text())["validation"]["accuracy"] == 1.0
    assert "training stopped early" in (out / "README.md").read_text()
    assert not (out / "runs").exists(), "--report-to none writes no event files"


def test_a_temperature_that_does_not_help_on_held_out_reviews_is_not_applied():
    rng = np.random.default_rng(0)
    # Already calibrated logits: a fitted T wanders on noise and does not lower held-out NLL reliably.
    margin = rng.normal(0, 2, 400)
    p = 1 / (1 + np.exp(-margin))
    labels = (rng.random(400) < p).astype(int)
    logits = np.stack([np.zeros(400), margin], axis=1)
    fitted = calibrate(logits, labels)
    assert fitted["fitted_on"] == 400
    assert fitted["kept"] == (fitted["heldout_nll_after"] < fitted["heldout_nll_before"])
    # Over-confident logits (x4): a temperature clearly helps and is kept, close to 4.
    sharp = calibrate(logits * 4, labels)
    assert sharp["kept"] and 3 < sharp["temperature"] < 5
    assert nll(logits * 4, labels, sharp["temperature"]) < nll(logits * 4, labels, 1.0)


def test_a_temperature_is_refused_on_too_few_reviews_or_at_the_search_bound():
    rng = np.random.default_rng(1)
    margin = rng.normal(0, 2, 400)
    logits = np.stack([np.zeros(400), margin * 4], axis=1)  # over-confident: a kept T would be ~4
    labels = (rng.random(400) < 1 / (1 + np.exp(-margin))).astype(int)
    assert calibrate(logits, labels)["kept"], "with enough reviews this temperature earns its place"
    few = calibrate(logits[:MIN_REVIEWS - 1], labels[:MIN_REVIEWS - 1])
    assert not few["kept"] and few["temperature"] == 1.0 and few["decided_by"] == "too few reviews"
    assert f"fewer than the {MIN_REVIEWS}" in few["reason"]
    # Separable validation logits: NLL falls all the way to the smallest T searched, which is no temperature.
    separable = calibrate(np.stack([np.zeros(400), np.abs(margin) * np.where(labels == 1, 1, -1)], axis=1), labels)
    assert separable["decided_by"] == "search bound" and not separable["kept"] and separable["temperature"] == 1.0
    assert separable["fitted"] < 0.02, separable


@pytest.mark.parametrize("args, needle", [
    (["--hp-search", "0"], "--hp-search needs at least 1 trial"),
    (["--hp-search", "2", "--hp-space", "/no/such/space.json"], "cannot read it"),
    (["--hp-search", "2", "--hp-space", "BADJSON"], "not valid JSON"),
    (["--report-to", "comet"], "--report-to must be one of"),
    (["--eval-dataset", "sst2"], "--eval-dataset takes NAME=PATH"),
    (["--eval-dataset", "sst2=/no/such/dir"], "neither a local file or directory nor a Hub dataset id"),
    (["--early-stopping-patience", "0"], "--early-stopping-patience must be at least 1"),
])
def test_bad_new_flags_are_one_error_line_before_any_training(tmp_path, distilbert_base, binary_data, args,
                                                               needle):
    if "BADJSON" in args:
        bad = tmp_path / "space.json"
        bad.write_text("{learning_rate: 1e-4")
        args = [str(bad) if a == "BADJSON" else a for a in args]
    out = tmp_path / "out"
    result = run_train("--model", str(distilbert_base), "--dataset", str(binary_data), "--output-dir", str(out),
                       *args)
    assert_clean_error(result, needle)
    assert not out.exists()
