"""The steps after training, each a small function that takes the saved model (through `Context`) and returns its
section of metrics.json: test scoring with calibration, other domains, the audit, the ONNX/OpenVINO files and their
int8 bar, the baseline. run.py runs them in order, writes metrics.json after each, and keeps what was measured
when one fails (`--resume-after-training` runs the missing ones).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..data.contrasts import contrast_rows
from ..data.domains import align, load_eval_set
from ..data.feedback import feedback_rows
from ..data.splits import Splits, stratified_subset
from ..defaults import DEFAULT_LONG_TEXT
from ..evaluation import gate
from ..evaluation.audit import ROBUSTNESS_REVIEWS, audit, scorer
from ..evaluation.evaluate import score, score_readings, score_sets
from ..evaluation.metrics import classification_metrics, ece_interval
from ..evaluation.names import check as check_names
from ..export.int8_bar import SAMPLES as INT8_SAMPLES
from ..export.int8_bar import ship as ship_files
from ..export.openvino_ir import CALIBRATION_SAMPLES, VALIDATION_SAMPLES
from ..export.temperature import calibrate as fit_calibration
from ..export.temperature import softmax
from ..inference.predictor import Predictor
from ..inference.settings import write_settings
from ..model_report import PREDICTIONS_FILE, ModelReport
from .config import TrainConfig


@dataclasses.dataclass
class Context:
    """What the steps after training read: the run's options, its splits (train before any mixing), the output
    folder, the baseline and the gate's model, the Predictor the first step loads from disk, and the report so far
    (the gate compares with the audit step's result)."""

    cfg: TrainConfig
    splits: Splits
    out: Path
    baseline: Predictor | None
    against: Predictor | None = None  # --gate-against's model
    predictor: Predictor | None = None
    report: ModelReport = dataclasses.field(default_factory=ModelReport)  # what the steps so far measured


def score_test(out: Path, splits: Splits, calibrate: bool) -> tuple[dict, Predictor]:
    """Score the saved model, loaded back from disk as any user would, on the test split as the Space reads it (the
    headline), and beside it as a plain pipeline and through the training window (readings.py); keep every
    prediction of the headline reading.

    With `calibrate`, first fit the softmax temperature for the served reading on the whole validation split (kept
    only if it lowers held-out NLL, see calibration.calibrate) and store it in config.json, so every Predictor
    applies it.
    """
    predictor = Predictor.load(str(out), long_text=DEFAULT_LONG_TEXT)
    fitted = None
    if calibrate:
        val_logits = predictor.logits(splits.validation["text"].tolist(), progress=True)
        fitted = fit_calibration(val_logits, splits.validation["label"].to_numpy())
        predictor.settings = predictor.settings.replace(temperature=fitted["temperature"])
        write_settings(out / "config.json", predictor.settings)
    texts, labels, names = splits.test["text"].tolist(), splits.test["label"].to_numpy(), splits.label_names
    logits = predictor.logits(texts, progress=True)
    result = score(predictor, texts, labels, names, logits=logits)
    metrics = result["metrics"]
    metrics["ece_95"] = list(ece_interval(labels, result["probs"]))
    if fitted:
        before = classification_metrics(labels, softmax(logits), names)
        metrics["calibration"] = {**fitted, "ece_before": before["ece"], "ece_after": metrics["ece"],
                                  "nll_before": before["loss"], "nll_after": metrics["loss"]}
    metrics.update(score_readings(predictor, texts, labels, names, progress=True, known={"served": logits}))
    probs = softmax(logits, predictor.settings.temperature)
    predictions = pd.DataFrame({"label": labels, "prediction": probs.argmax(axis=1)})
    for i, name in enumerate(names):
        predictions[f"p_{name}"] = probs[:, i]
    predictions.to_csv(out / PREDICTIONS_FILE, index_label="row")
    return metrics, predictor


def steps_after_training(cfg: TrainConfig, ctx: Context) -> list[tuple[str, str, Callable[[Context], dict]]]:
    """(name, the metrics.json section it writes, step) in the order they run; the names are metrics.json's
    timings keys."""
    steps = [("calibration and test scoring", "test", test_step)]
    steps += [("other domains", "domains", domains_step)] if cfg.eval_sets else []
    steps += [("audit", "audit", audit_step)] if cfg.audit else []
    steps += [("gate", "gate", gate_step)] if ctx.against is not None else []
    steps += [("ONNX and OpenVINO files and int8 bar", "onnx", files_step)] if cfg.onnx else []
    steps += [("baseline scoring", "baseline", baseline_step)] if ctx.baseline is not None else []
    return steps


def served(ctx: Context) -> Predictor:
    """The saved model as the Space serves it (long reviews read whole, with the temperature the test step stored),
    loaded once."""
    if ctx.predictor is None:
        ctx.predictor = Predictor.load(str(ctx.out), long_text=DEFAULT_LONG_TEXT)
    return ctx.predictor


def test_step(ctx: Context) -> dict:
    test, ctx.predictor = score_test(ctx.out, ctx.splits, ctx.cfg.calibrate)
    return {"test": test}


def domains_step(ctx: Context) -> dict:
    cfg = ctx.cfg
    return {"domains": score_sets(served(ctx), cfg.eval_sets, text_column=cfg.text_column,
                                  label_column=cfg.label_column, seed=cfg.seed)}


def audit_step(ctx: Context) -> dict:
    reviews = stratified_subset(ctx.splits.test, ROBUSTNESS_REVIEWS, seed=ctx.cfg.seed)["text"].tolist()
    return {"audit": audit(scorer(served(ctx)), reviews, ctx.cfg.seed)}


def gate_step(ctx: Context) -> dict:
    """--gate-against's model on the same test reviews, other domains, audit and contrast sentences as this one
    (evaluation/gate.py), each read as served."""
    cfg, splits, names = ctx.cfg, ctx.splits, ctx.splits.label_names
    labels = splits.test["label"].to_numpy()

    def verdicts(predictor: Predictor, texts: list[str], truth) -> np.ndarray:
        return score(predictor, texts, np.asarray(truth), names, progress=True)["probs"].argmax(axis=1)

    old = verdicts(ctx.against, splits.test["text"].tolist(), labels)
    new = pd.read_csv(ctx.out / PREDICTIONS_FILE)["prediction"].to_numpy()  # the test step's, in the same order
    reviews = stratified_subset(splits.test, ROBUSTNESS_REVIEWS, seed=cfg.seed)["text"].tolist()
    old_audit = audit(scorer(ctx.against), reviews, cfg.seed)
    domains = {}
    for item in cfg.eval_sets:
        frame, set_names = load_eval_set(item.spec, cfg.text_column, cfg.label_column)
        frame = align(frame, set_names, names)[0]
        texts, truth = frame["text"].tolist(), frame["label"].to_numpy()
        domains[item.name] = (truth, verdicts(ctx.against, texts, truth), verdicts(served(ctx), texts, truth))
    contrasts, made, named = {}, None, {}
    if cfg.feedback is not None:
        # The corrections as trained on, each swapped with the lexicon's "check" half (never a trained contrast).
        rows, _ = feedback_rows(cfg.feedback, names, held_out=[splits.validation["text"], splits.test["text"]],
                                **cfg.feedback_selection)
        pairs, made = contrast_rows(rows, names, "check")
        if len(pairs):
            texts, truth = pairs["text"].tolist(), pairs["label"].to_numpy()
            contrasts["contrasts of the corrections"] = (truth, verdicts(ctx.against, texts, truth),
                                                         verdicts(served(ctx), texts, truth))
        named = check_names(rows["text"], ctx.against, served(ctx))
    result = gate.compare(cfg.gate_against, labels, new, old, ctx.report.audit, old_audit, domains=domains,
                          contrasts=contrasts, names=named)
    if made:
        result["contrasts_made"] = made
    acc = result["accuracy"]
    print(f"gate against {cfg.gate_against}: " + (
        f"passed ({acc['points']:+.2f} points of test accuracy, 95% interval {acc['interval_points'][0]:+.2f} to "
        f"{acc['interval_points'][1]:+.2f}; no harm shown elsewhere)" if result["passed"]
        else "failed: " + "; ".join(result["failures"])))
    return {"gate": result}


def files_step(ctx: Context) -> dict:
    splits, seed = ctx.splits, ctx.cfg.seed
    sample = stratified_subset(splits.test, INT8_SAMPLES, seed=seed)
    # OpenVINO's static int8 is calibrated on training reviews the bar does not score: IMDb's train and test splits
    # share 123 texts, so they are left out before the draw (and counted), never found after it.
    scored = set(sample["text"])
    pool = splits.train[~splits.train["text"].isin(scored)]
    calibration = stratified_subset(pool, CALIBRATION_SAMPLES, seed=seed)["text"].tolist()
    # Where plain static int8 misses, accuracy control reads the bar on held-out validation reviews: never the
    # reviews the bar then scores, nor reviews the model trained on.
    held_out = stratified_subset(splits.validation[~splits.validation["text"].isin(scored)], VALIDATION_SAMPLES,
                                 seed=seed)
    # The saved model as a user loads it, on CPU: the files are exported from it and scored as a Space serves them.
    predictor = served(ctx)
    if predictor.device.type != "cpu":
        predictor = Predictor.load(str(ctx.out), device="cpu")
    shipped = ship_files(predictor, ctx.out, sample["text"].tolist(), sample["label"].to_numpy(), calibration,
                         (held_out["text"].tolist(), held_out["label"].to_numpy()))
    for name, report in shipped.items():
        print(f"{name}: {report['summary']}")
    return shipped


def baseline_step(ctx: Context) -> dict:
    splits = ctx.splits
    return {"baseline": score(ctx.baseline, splits.test["text"].tolist(), splits.test["label"].to_numpy(),
                              splits.label_names, progress=True)["metrics"]}
