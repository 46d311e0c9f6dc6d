"""Fine-tuning, start to finish: checks -> data -> model -> Trainer -> saved model, metrics, plots, card -> Hub.

Runs unchanged on one CPU, one GPU, or several under `torchrun`/`accelerate launch` (the Trainer picks up the
distributed environment); only the main process writes files and talks to the Hub.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import time
from pathlib import Path

import pandas as pd
import torch
from transformers import (
    AutoTokenizer,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)

from .. import __version__
from ..cli import parse, run
from ..data.domains import domains_table
from ..data.perturb import augmented
from ..data.splits import Splits, load_splits, stratified_subset
from ..data.text import encode
from ..errors import UserError
from ..evaluation.audit import ROBUSTNESS_REVIEWS, audit, scorer
from ..evaluation.audit import plot as plot_audit
from ..evaluation.evaluate import check_compatible, comparison_table, score, score_sets
from ..evaluation.metrics import classification_metrics, ece_interval
from ..evaluation.plots import plot_confusion_matrix, plot_hp_search, plot_training_curves
from ..hub import check_write_access, upload_folder
from ..inference.calibration import calibrate as fit_calibration
from ..inference.calibration import softmax
from ..inference.int8_bar import SAMPLES as INT8_SAMPLES
from ..inference.int8_bar import ship as ship_files
from ..inference.model_files import locate
from ..inference.modeling import build_model, save_model
from ..inference.openvino_ir import CALIBRATION_SAMPLES
from ..inference.padding import Collator, attention_backends
from ..inference.predictor import Predictor
from ..inference.settings import InferenceSettings, write_settings
from .card import render_card
from .config import TrainConfig
from .hp_search import MODEL_ARGS, search, suggest, trials_table
from .loss import balanced_weights, weighted_loss
from .tracking import LOG_DIR, is_main_process, trainer_reporting

CHECKPOINTS = "checkpoints"
RUN_MARKER = "training_config.json"


@contextlib.contextmanager
def timed(timings: dict, phase: str):
    start = time.perf_counter()
    yield
    timings[phase] = round(time.perf_counter() - start, 1)


def distributed_on_cpu() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def prepare_output_dir(cfg: TrainConfig) -> Path:
    """Refuse to mix two runs in one directory; only an explicit flag replaces an earlier run of ours."""
    out = Path(cfg.output_dir)
    if cfg.resume_from_checkpoint:
        if cfg.resume_from_checkpoint == "last" and not any((out / CHECKPOINTS).glob("checkpoint-*")):
            raise UserError(f"--resume-from-checkpoint last: no checkpoint in {out / CHECKPOINTS}.")
        if cfg.resume_from_checkpoint != "last" and not Path(cfg.resume_from_checkpoint).is_dir():
            raise UserError(f"--resume-from-checkpoint: {cfg.resume_from_checkpoint} is not a directory.")
        return out
    if not is_main_process():
        # The main process judges (and clears) the directory; by the time another rank looks, the main one may
        # already have written into it (TensorBoard's runs/), which would read as someone else's files.
        return out
    if out.exists() and not out.is_dir():
        raise UserError(f"--output-dir {out} is a file.")
    if out.is_dir() and any(out.iterdir()):
        if not (out / RUN_MARKER).exists() and not (out / CHECKPOINTS).exists():
            raise UserError(f"--output-dir {out} holds files that are not a training run; choose an empty directory.")
        if not cfg.overwrite_output_dir:
            raise UserError(f"--output-dir {out} holds another run; pass --overwrite-output-dir to replace it, "
                            "or --resume-from-checkpoint last to continue it.")
        shutil.rmtree(out)
    return out


def precision_flags(choice: str) -> tuple[dict, str]:
    """TrainingArguments flags and a label: bf16 where the GPU has it, fp16 on older GPUs, fp32 on CPU."""
    cuda = torch.cuda.is_available()
    if choice == "auto":
        choice = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if choice in ("bf16", "fp16") and not cuda:
        raise UserError(f"--precision {choice} needs a GPU; use auto or fp32 on CPU.")
    return {"bf16": choice == "bf16", "fp16": choice == "fp16"}, choice


def tokenize_split(df: pd.DataFrame, tokenizer, cfg: TrainConfig, *, by_length: bool = False) -> list[dict]:
    """Encoded reviews with their labels; `by_length` sorts them (evaluation: least padding, fewest shapes)."""
    ids = encode(tokenizer, df["text"].tolist(), max_length=cfg.max_length, truncation=cfg.truncation)
    rows = [{"input_ids": x, "attention_mask": [1] * len(x), "labels": int(y)} for x, y in zip(ids, df["label"])]
    return sorted(rows, key=lambda r: len(r["input_ids"])) if by_length else rows


def speed_arguments(device_type: str) -> dict:
    """TrainingArguments that decide steps per second (train.py's and benchmarks/training.py's, so they cannot
    drift): length-grouped batches, and on a GPU data loading in two worker processes, pinned memory and larger
    evaluation batches. `logging_nan_inf_filter` reads the loss on the host every step, a GPU sync per step; off,
    a NaN loss is logged as NaN instead of being averaged away."""
    cuda = device_type == "cuda"
    return {"train_sampling_strategy": "group_by_length", "logging_nan_inf_filter": False,
            "dataloader_pin_memory": cuda, "dataloader_num_workers": 2 if cuda else 0,
            "dataloader_persistent_workers": cuda, "optim": "adamw_torch_fused"}


def library_versions() -> dict:
    import huggingface_hub
    import peft
    import transformers

    return {"review-sentiment": __version__, "transformers": transformers.__version__, "torch": torch.__version__,
            "peft": peft.__version__, "huggingface_hub": huggingface_hub.__version__,
            "python": platform.python_version()}


def hardware_name(world_size: int) -> str:
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    return f"{world_size} x {device}" if world_size > 1 else device


def eval_metrics(eval_pred) -> dict:
    logits, labels = eval_pred
    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).numpy()
    m = classification_metrics(labels, probs, [str(i) for i in range(probs.shape[1])])
    return {"accuracy": m["accuracy"], "f1_macro": m["f1_macro"]}


def score_test(out: Path, splits: Splits, calibrate: bool) -> tuple[dict, Predictor]:
    """Score the saved model, loaded back from disk as any user would, on the test split; keep every prediction.

    With `calibrate`, first fit the softmax temperature on the whole validation split (kept only if it lowers
    held-out NLL, see calibration.calibrate) and store it in config.json, so every Predictor applies it.
    """
    predictor = Predictor.load(str(out))
    fitted = None
    if calibrate:
        val_logits = predictor.logits(splits.validation["text"].tolist(), progress=True)
        fitted = fit_calibration(val_logits, splits.validation["label"].to_numpy())
        predictor.settings = predictor.settings.replace(temperature=fitted["temperature"])
        write_settings(out / "config.json", predictor.settings)
    labels, names = splits.test["label"].to_numpy(), splits.label_names
    logits = predictor.logits(splits.test["text"].tolist(), progress=True)
    result = score(predictor, splits.test["text"].tolist(), labels, names, logits=logits)
    metrics = result["metrics"]
    metrics["ece_95"] = list(ece_interval(labels, result["probs"]))
    if fitted:
        before = classification_metrics(labels, softmax(logits), names)
        metrics["calibration"] = {**fitted, "ece_before": before["ece"], "ece_after": metrics["ece"],
                                  "nll_before": before["loss"], "nll_after": metrics["loss"]}
    probs = softmax(logits, predictor.settings.temperature)
    predictions = pd.DataFrame({"label": labels, "prediction": probs.argmax(axis=1)})
    for i, name in enumerate(names):
        predictions[f"p_{name}"] = probs[:, i]
    predictions.to_csv(out / "predictions.csv", index_label="row")
    return metrics, predictor


def train(cfg: TrainConfig) -> dict:
    """Everything train.py does; returns the test metrics. Every check that can fail runs before training."""
    out = prepare_output_dir(cfg)
    if cfg.push_to_hub and is_main_process():
        check_write_access(cfg.hub_model_id)
    precision, precision_name = precision_flags(cfg.precision)
    splits = load_splits(cfg.dataset, text_column=cfg.text_column, label_column=cfg.label_column,
                         label_names=cfg.label_names, val_size=cfg.val_size, test_size=cfg.test_size,
                         max_train_samples=cfg.max_train_samples, max_eval_samples=cfg.max_eval_samples,
                         merge_labels=cfg.merge_labels, seed=cfg.seed)
    augmentation = None
    if cfg.counterfactual_augmentation:
        before = len(splits.train)
        splits.train = augmented(splits.train, cfg.seed)
        augmentation = {"train_reviews": before, "added": len(splits.train) - before}
        print(f"counterfactual augmentation: {augmentation['added']} of {before} training reviews name a person or "
              "group term and also train swapped")
    # Loaded before training, so a wrong baseline id fails in seconds, not after hours.
    baseline = Predictor.load(cfg.baseline_model) if cfg.compare_baseline else None
    if baseline is not None:
        check_compatible(baseline, splits.label_names)
    search = run_search(cfg, splits, out, precision) if cfg.hp_search else None
    set_seed(cfg.seed)
    model, tokenizer = build_model(cfg.model, splits.label_names, lora=cfg.lora, revision=cfg.revision)
    trainer = build_trainer(cfg, model, tokenizer, splits, out, precision)
    started = time.perf_counter()
    resume = True if cfg.resume_from_checkpoint == "last" else cfg.resume_from_checkpoint
    with attention_backends(trainer.args.device.type):
        result = trainer.train(resume_from_checkpoint=resume)
        train_seconds = time.perf_counter() - started
        history = list(trainer.state.log_history)  # before the re-evaluation below adds a duplicate last point
        stopped_early = trainer.state.global_step < trainer.state.max_steps
        # Every rank takes part (evaluation gathers across processes), and before saving: --merge-lora folds the
        # adapter into the weights in place.
        best_val = trainer.evaluate()
    if not trainer.is_world_process_zero():
        return {}

    timings = {"training": round(train_seconds, 1)}
    settings = InferenceSettings(max_length=cfg.max_length, truncation=cfg.truncation)
    with timed(timings, "saving"):
        save_model(trainer.model, tokenizer, out, settings=settings, merge_lora=cfg.merge_lora)
    with timed(timings, "calibration and test scoring"):
        test_metrics, predictor = score_test(out, splits, cfg.calibrate)
    domains = {}
    if cfg.eval_sets:
        with timed(timings, "other domains"):
            domains = score_sets(predictor, cfg.eval_sets, text_column=cfg.text_column,
                                 label_column=cfg.label_column, seed=cfg.seed)
    audited = None
    if cfg.audit:
        with timed(timings, "audit"):
            reviews = stratified_subset(splits.test, ROBUSTNESS_REVIEWS, seed=cfg.seed)["text"].tolist()
            audited = audit(scorer(predictor), reviews, cfg.seed)
    metrics_files = {}
    if cfg.onnx:
        with timed(timings, "ONNX and OpenVINO files and int8 bar"):
            sample = stratified_subset(splits.test, INT8_SAMPLES, seed=cfg.seed)
            # OpenVINO's static int8 is calibrated on training reviews: the bar then scores reviews it never saw.
            calibration = stratified_subset(splits.train, CALIBRATION_SAMPLES, seed=cfg.seed)["text"].tolist()
            metrics_files = ship_files(out, sample["text"].tolist(), sample["label"].to_numpy(), calibration)
        for name, shipped in metrics_files.items():
            print(f"{name}: {shipped['summary']}")
    baseline_metrics = None
    if baseline is not None:
        with timed(timings, "baseline scoring"):
            baseline_metrics = score(baseline, splits.test["text"].tolist(), splits.test["label"].to_numpy(),
                                     splits.label_names, progress=True)["metrics"]
    metrics = {"test": test_metrics, **({"baseline": baseline_metrics} if baseline_metrics else {}),
               **({"domains": domains} if domains else {}), **metrics_files,
               **({"audit": audited} if audited else {}),
               **({"train_augmentation": augmentation} if augmentation else {}),
               "validation": {k.removeprefix("eval_"): v for k, v in best_val.items()},
               "train": {"runtime_s": round(train_seconds, 1), "steps": result.global_step,
                         "max_steps": trainer.state.max_steps, "stopped_early": stopped_early,
                         "loss": result.training_loss},
               "timings_s": timings}  # where the run's time went, phase by phase
    write_artifacts(cfg, out, splits, metrics, history, trainer.args.world_size, precision_name, search,
                    window=settings.window(tokenizer))
    if not cfg.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    print(f"test accuracy {test_metrics['accuracy']:.4f}, macro F1 {test_metrics['f1_macro']:.4f} "
          f"on {len(splits.test)} reviews; {train_seconds:.0f} s of training; saved to {out}")
    if cfg.push_to_hub:
        url = upload_folder(out, cfg.hub_model_id, private=cfg.private, ignore=[f"{CHECKPOINTS}/*"],
                            message=f"Upload {cfg.method} fine-tuned model: test accuracy "
                                    f"{test_metrics['accuracy']:.4f}")
        print(f"pushed to {url}")
    return test_metrics


def build_trainer(cfg: TrainConfig, model, tokenizer, splits: Splits, out: Path, precision: dict, *,
                  model_init=None) -> Trainer:
    """Length-grouped batches padded by padding.py's rule, mixed precision, and model selection on validation
    accuracy.

    With `model_init` (a search trial), nothing is saved or tracked: a trial only reports its validation accuracy.
    """
    ratio = cfg.eval_steps < 1
    trial = model_init is not None
    device = "cuda" if torch.cuda.is_available() and not distributed_on_cpu() else "cpu"
    report_to, callbacks = ([], []) if trial else trainer_reporting(cfg.report_to, out)
    if cfg.early_stopping_patience and not trial:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience))
    args = TrainingArguments(
        output_dir=str(out / CHECKPOINTS), num_train_epochs=cfg.epochs, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size * (8 if device == "cuda" else 2),
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, weight_decay=cfg.weight_decay,
        # transformers 5 reads a warmup_steps below 1 as a share of all steps (warmup_ratio is gone).
        warmup_steps=cfg.warmup_ratio, lr_scheduler_type="linear", seed=cfg.seed, data_seed=cfg.seed,
        eval_strategy="steps", save_strategy="no" if trial else "steps",
        eval_steps=cfg.eval_steps if ratio else int(cfg.eval_steps),
        save_steps=cfg.eval_steps if ratio else int(cfg.eval_steps),
        logging_steps=cfg.eval_steps / 5 if ratio else max(1, int(cfg.eval_steps) // 5),
        load_best_model_at_end=not trial, metric_for_best_model="accuracy", greater_is_better=True,
        save_total_limit=2, report_to=report_to, **speed_arguments(device),
        **precision,
        # Accelerate runs several CPU processes (torchrun, gloo) only when told this is a CPU run.
        **({"use_cpu": True, "ddp_backend": "gloo"} if distributed_on_cpu() else {}))
    weights = balanced_weights(splits.train["label"], len(splits.label_names)) \
        if cfg.class_weights == "balanced" else None
    return Trainer(model=model, model_init=model_init, args=args,
                   compute_loss_func=weighted_loss(weights) if weights else None,
                   train_dataset=tokenize_split(splits.train, tokenizer, cfg),
                   eval_dataset=tokenize_split(splits.validation, tokenizer, cfg, by_length=True),
                   processing_class=tokenizer, data_collator=Collator(tokenizer, device, cfg.max_length),
                   compute_metrics=eval_metrics,
                   callbacks=callbacks)


def run_search(cfg: TrainConfig, splits: Splits, out: Path, precision: dict) -> dict:
    """Optuna trials on the validation split; the best values become cfg's options for the final training."""
    # Each trial builds its own model (model_init); only the tokenizer is needed here.
    tokenizer = AutoTokenizer.from_pretrained(locate(cfg.model, cfg.revision).config_dir)
    model_args = {k: v for k, v in cfg.search_space.items() if k in MODEL_ARGS}

    def model_init(trial):
        # LoRA's r and alpha shape the model, which the Trainer builds before it applies a trial's arguments.
        lora = cfg.lora and {**cfg.lora, **{k.removeprefix("lora_"): v
                                           for k, v in (suggest(trial, model_args) if trial else {}).items()}}
        return build_model(cfg.model, splits.label_names, lora=lora, revision=cfg.revision)[0]

    trainer = build_trainer(cfg, None, tokenizer, splits, out, precision, model_init=model_init)
    out.mkdir(parents=True, exist_ok=True)
    found = search(trainer, cfg.search_space, cfg.hp_search, cfg.seed, out)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    for name, value in found["best"].items():
        setattr(cfg, name, value if name in MODEL_ARGS else float(value))
    print(f"best of {cfg.hp_search} trials (#{found['best_number']}): "
          + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in found["best"].items()))
    return found


def write_artifacts(cfg: TrainConfig, out: Path, splits: Splits, metrics: dict, history: list[dict],
                    world_size: int, precision_name: str, search: dict | None = None, *, window: int) -> None:
    """training_config.json, metrics.json, the plots and the model card."""
    sizes = {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test),
             "precision": precision_name}
    versions = library_versions()
    (out / RUN_MARKER).write_text(json.dumps(
        {"arguments": cfg.to_dict(), "label_names": splits.label_names, "sizes": sizes, "world_size": world_size,
         "hardware": hardware_name(world_size), "versions": versions}, indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (out / "training_log.json").write_text(json.dumps(history, indent=2))  # the Trainer's log, step by step
    test, baseline = metrics["test"], metrics.get("baseline")
    plot_confusion_matrix(test["confusion_matrix"], splits.label_names, out / "confusion_matrix.png")
    if metrics.get("audit"):
        plot_audit(metrics["audit"], out / "audit.png")
    plot_training_curves(history, out / "training_curves.png")
    comparison = comparison_table({f"baseline `{cfg.baseline_model}`": baseline,
                                   "fine-tuned (this model)": test}) if baseline else None
    trials = None
    if search:
        trials = trials_table(search["trials"], search["best_number"])
        plot_hp_search(search["trials"], out / "hp_search.png")
    card = render_card(cfg=cfg, window=window, metrics=test, label_names=splits.label_names, sizes=sizes,
                       val_origin=(f"{cfg.val_size:.0%} of train, stratified" if splits.validation_carved
                                   else "the dataset's own validation split"),
                       train_time=f"{metrics['train']['runtime_s'] / 60:.1f} min",
                       hardware=hardware_name(world_size), versions=versions,
                       is_adapter=cfg.lora is not None and not cfg.merge_lora, baseline=comparison,
                       domains=metrics.get("domains"), domains_md=domains_table(metrics["domains"])
                       if metrics.get("domains") else None, trials=trials,
                       tracked=(out / LOG_DIR).is_dir(), stopped_early=metrics["train"]["stopped_early"],
                       onnx=metrics.get("onnx"), openvino=metrics.get("openvino"), audit=metrics.get("audit"),
                       augmentation=metrics.get("train_augmentation"))
    card.save(out / "README.md")


def main(argv: list[str] | None = None) -> None:
    train(parse(TrainConfig, argv, "Fine-tune a transformer for review sentiment, evaluate it, write its model "
                                   "card, and optionally push it to the Hugging Face Hub."))


def cli() -> int:
    return run(main)
