"""Fine-tuning, start to finish: checks -> data -> model -> Trainer -> saved model, metrics, plots, card -> Hub.

Runs unchanged on one CPU, one GPU, or several under `torchrun`/`accelerate launch` (the Trainer picks up the
distributed environment); only the main process writes files and talks to the Hub.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import pandas as pd
import torch
from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

from . import __version__
from .calibration import fit_temperature, softmax
from .card import render_card
from .cli import parse, run
from .config import TrainConfig
from .data import Splits, load_splits
from .errors import UserError
from .evaluate import check_compatible, comparison_table, score
from .hub import check_write_access, upload_folder
from .metrics import classification_metrics
from .modeling import build_model, save_model, set_temperature
from .plots import plot_confusion_matrix, plot_training_curves
from .predictor import Predictor
from .text import encode

CHECKPOINTS = "checkpoints"
RUN_MARKER = "training_config.json"


def distributed_on_cpu() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def prepare_output_dir(cfg: TrainConfig) -> Path:
    """Refuse to mix two runs in one directory; only an explicit flag replaces an earlier run of ours."""
    out = Path(cfg.output_dir)
    if cfg.resume_from_checkpoint:
        if cfg.resume_from_checkpoint == "last" and not any((out / CHECKPOINTS).glob("checkpoint-*")):
            raise UserError(f"--resume-from-checkpoint last: no checkpoint in {out / CHECKPOINTS}.")
        if cfg.resume_from_checkpoint != "last" and not Path(cfg.resume_from_checkpoint).is_dir():
            raise UserError(f"--resume-from-checkpoint: {cfg.resume_from_checkpoint} is not a directory.")
        return out
    if out.exists() and not out.is_dir():
        raise UserError(f"--output-dir {out} is a file.")
    if out.is_dir() and any(out.iterdir()):
        if not (out / RUN_MARKER).exists() and not (out / CHECKPOINTS).exists():
            raise UserError(f"--output-dir {out} holds files that are not a training run; choose an empty directory.")
        if not cfg.overwrite_output_dir:
            raise UserError(f"--output-dir {out} holds another run; pass --overwrite-output-dir to replace it, "
                            "or --resume-from-checkpoint last to continue it.")
        if is_main_process():
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


def tokenize_split(df: pd.DataFrame, tokenizer, cfg: TrainConfig) -> list[dict]:
    ids = encode(tokenizer, df["text"].tolist(), max_length=cfg.max_length, truncation=cfg.truncation)
    return [{"input_ids": x, "attention_mask": [1] * len(x), "labels": int(y)} for x, y in zip(ids, df["label"])]


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


def score_test(out: Path, splits: Splits, calibrate: bool) -> dict:
    """Score the saved model, loaded back from disk as any user would, on the test split; keep every prediction.

    With `calibrate`, first fit the softmax temperature on the validation split and store it in config.json, so
    every Predictor that loads the model applies it.
    """
    predictor = Predictor.load(str(out))
    if calibrate:
        val_logits = predictor.logits(splits.validation["text"].tolist(), progress=True)
        temperature = fit_temperature(val_logits, splits.validation["label"].to_numpy())
        set_temperature(out, temperature)
        predictor.settings["temperature"] = temperature
    labels, names = splits.test["label"].to_numpy(), splits.label_names
    logits = predictor.logits(splits.test["text"].tolist(), progress=True)
    metrics = score(predictor, splits.test["text"].tolist(), labels, names, logits=logits)["metrics"]
    if calibrate:
        before = classification_metrics(labels, softmax(logits), names)
        metrics["calibration"] = {"temperature": predictor.settings["temperature"], "ece_before": before["ece"],
                                  "ece_after": metrics["ece"], "nll_before": before["loss"],
                                  "nll_after": metrics["loss"]}
    probs = softmax(logits, predictor.settings["temperature"])
    predictions = pd.DataFrame({"label": labels, "prediction": probs.argmax(axis=1)})
    for i, name in enumerate(names):
        predictions[f"p_{name}"] = probs[:, i]
    predictions.to_csv(out / "predictions.csv", index_label="row")
    return metrics


def train(cfg: TrainConfig) -> dict:
    """Everything train.py does; returns the test metrics. Every check that can fail runs before training."""
    out = prepare_output_dir(cfg)
    if cfg.push_to_hub and is_main_process():
        check_write_access(cfg.hub_model_id)
    precision, precision_name = precision_flags(cfg.precision)
    splits = load_splits(cfg.dataset, text_column=cfg.text_column, label_column=cfg.label_column,
                         label_names=cfg.label_names, val_size=cfg.val_size, test_size=cfg.test_size,
                         max_train_samples=cfg.max_train_samples, max_eval_samples=cfg.max_eval_samples,
                         seed=cfg.seed)
    # Loaded before training, so a wrong baseline id fails in seconds, not after hours.
    baseline = Predictor.load(cfg.baseline_model) if cfg.compare_baseline else None
    if baseline is not None:
        check_compatible(baseline, splits.label_names)
    set_seed(cfg.seed)
    model, tokenizer = build_model(cfg.model, splits.label_names, lora=cfg.lora, revision=cfg.revision)
    trainer = build_trainer(cfg, model, tokenizer, splits, out, precision)
    started = time.perf_counter()
    resume = True if cfg.resume_from_checkpoint == "last" else cfg.resume_from_checkpoint
    result = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - started
    history = list(trainer.state.log_history)  # before the re-evaluation below adds a duplicate last point
    # Every rank takes part (evaluation gathers across processes), and before saving: --merge-lora folds the
    # adapter into the weights in place.
    best_val = trainer.evaluate()
    if not trainer.is_world_process_zero():
        return {}

    settings = {"max_length": cfg.max_length, "truncation": cfg.truncation, "temperature": 1.0}
    save_model(trainer.model, tokenizer, out, settings=settings, merge_lora=cfg.merge_lora)
    test_metrics = score_test(out, splits, cfg.calibrate)
    baseline_metrics = None
    if baseline is not None:
        baseline_metrics = score(baseline, splits.test["text"].tolist(), splits.test["label"].to_numpy(),
                                 splits.label_names, progress=True)["metrics"]
    metrics = {"test": test_metrics, **({"baseline": baseline_metrics} if baseline_metrics else {}),
               "validation": {k.removeprefix("eval_"): v for k, v in best_val.items()},
               "train": {"runtime_s": round(train_seconds, 1), "steps": result.global_step,
                         "loss": result.training_loss}}
    write_artifacts(cfg, out, splits, metrics, history, trainer.args.world_size, precision_name)
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


def build_trainer(cfg: TrainConfig, model, tokenizer, splits: Splits, out: Path, precision: dict) -> Trainer:
    """Dynamic padding, length-grouped batches, mixed precision, and model selection on validation accuracy."""
    ratio = cfg.eval_steps < 1
    args = TrainingArguments(
        output_dir=str(out / CHECKPOINTS), num_train_epochs=cfg.epochs, learning_rate=cfg.learning_rate,
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size * 2,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio, lr_scheduler_type="linear", seed=cfg.seed, data_seed=cfg.seed,
        eval_strategy="steps", save_strategy="steps",
        eval_steps=cfg.eval_steps if ratio else int(cfg.eval_steps),
        save_steps=cfg.eval_steps if ratio else int(cfg.eval_steps),
        logging_steps=cfg.eval_steps / 5 if ratio else max(1, int(cfg.eval_steps) // 5),
        load_best_model_at_end=True, metric_for_best_model="accuracy", greater_is_better=True,
        save_total_limit=2, train_sampling_strategy="group_by_length", report_to="none",
        dataloader_pin_memory=torch.cuda.is_available(), **precision,
        # Accelerate runs several CPU processes (torchrun, gloo) only when told this is a CPU run.
        **({"use_cpu": True, "ddp_backend": "gloo"} if distributed_on_cpu() else {}))
    return Trainer(model=model, args=args, train_dataset=tokenize_split(splits.train, tokenizer, cfg),
                   eval_dataset=tokenize_split(splits.validation, tokenizer, cfg), processing_class=tokenizer,
                   data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=eval_metrics)


def write_artifacts(cfg: TrainConfig, out: Path, splits: Splits, metrics: dict, history: list[dict],
                    world_size: int, precision_name: str) -> None:
    """training_config.json, metrics.json, the plots and the model card."""
    sizes = {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test),
             "precision": precision_name}
    versions = library_versions()
    (out / RUN_MARKER).write_text(json.dumps(
        {"arguments": cfg.to_dict(), "label_names": splits.label_names, "sizes": sizes, "world_size": world_size,
         "hardware": hardware_name(world_size), "versions": versions}, indent=2))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    test, baseline = metrics["test"], metrics.get("baseline")
    plot_confusion_matrix(test["confusion_matrix"], splits.label_names, out / "confusion_matrix.png")
    plot_training_curves(history, out / "training_curves.png")
    comparison = comparison_table({f"baseline `{cfg.baseline_model}`": baseline,
                                   "fine-tuned (this model)": test}) if baseline else None
    card = render_card(cfg=cfg, metrics=test, label_names=splits.label_names, sizes=sizes,
                       val_origin=(f"{cfg.val_size:.0%} of train, stratified" if splits.validation_carved
                                   else "the dataset's own validation split"),
                       train_time=f"{metrics['train']['runtime_s'] / 60:.1f} min",
                       hardware=hardware_name(world_size), versions=versions,
                       is_adapter=cfg.lora is not None and not cfg.merge_lora, baseline=comparison)
    card.save(out / "README.md")


def main(argv: list[str] | None = None) -> None:
    train(parse(TrainConfig, argv, "Fine-tune a transformer for review sentiment, evaluate it, write its model "
                                   "card, and optionally push it to the Hugging Face Hub."))


def cli() -> int:
    return run(main)
