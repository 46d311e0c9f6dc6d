"""Fine-tuning, start to finish: checks -> data -> model -> Trainer -> saved model, metrics, plots, card -> Hub.

Runs unchanged on one CPU, one GPU, or several under `torchrun`/`accelerate launch` (the Trainer picks up the
distributed environment); only the main process writes files and talks to the Hub.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import time
import traceback
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
from ..data.domains import domains_table, load_eval_set
from ..data.feedback import describe as describe_feedback
from ..data.feedback import feedback_rows
from ..data.mixing import describe as describe_mix
from ..data.mixing import mix
from ..data.perturb import augmented
from ..data.splits import Splits, load_splits, shared_texts
from ..data.text import encode
from ..defaults import DEFAULT_LONG_TEXT
from ..errors import UserError
from ..evaluation.audit import plot as plot_audit
from ..evaluation.evaluate import check_compatible, comparison_table
from ..evaluation.gate import refusal as gate_refusal
from ..evaluation.metrics import classification_metrics
from ..evaluation.plots import plot_confusion_matrix, plot_hp_search, plot_training_curves
from ..hub import check_write_access, upload_folder
from ..inference.model_files import locate
from ..inference.modeling import build_model, save_model
from ..inference.padding import Collator, attention_backends
from ..inference.predictor import Predictor
from ..inference.settings import InferenceSettings
from ..model_report import (
    AUDIT_PLOT,
    CARD_FILE,
    CONFUSION_PLOT,
    CURVES_PLOT,
    FAILURE_LOG,
    LOG_FILE,
    METRICS_FILE,
    RUN_FILE,
    ModelReport,
    RunRecord,
    read_report,
    read_run,
)
from .card import render_card
from .config import TrainConfig
from .hp_search import MODEL_ARGS, search, suggest, trials_table
from .loss import balanced_weights, weighted_loss
from .precision import choose_precision, flags
from .steps import Context, steps_after_training
from .tracking import LOG_DIR, is_main_process, trainer_reporting

CHECKPOINTS = "checkpoints"


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
    if cfg.resume_after_training:
        if not out.is_dir():
            raise UserError(f"--resume-after-training: {out} is not a directory holding a trained model.")
        return out
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
        # training_config.json marks one of our runs, which --overwrite-output-dir may replace
        if not (out / RUN_FILE).exists() and not (out / CHECKPOINTS).exists():
            raise UserError(f"--output-dir {out} holds files that are not a training run; choose an empty directory.")
        if not cfg.overwrite_output_dir:
            raise UserError(f"--output-dir {out} holds another run; pass --overwrite-output-dir to replace it, "
                            "or --resume-from-checkpoint last to continue it.")
        shutil.rmtree(out)
    return out


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


@dataclasses.dataclass
class Finished:
    """What training leaves for the steps after it: the history, the report's sections it measured, and how it
    ran. Written to disk as soon as the model is saved, so `--resume-after-training` can start from it."""

    history: list[dict]
    report: ModelReport
    world_size: int
    precision: str
    search: dict | None = None


def train(cfg: TrainConfig) -> dict:
    """Everything train.py does; returns the test metrics. Every check that can fail runs before training; a step
    after training that fails keeps what the others measured (metrics.json, the card) and names itself."""
    out = prepare_output_dir(cfg)
    if cfg.push_to_hub and is_main_process():
        check_write_access(cfg.hub_model_id)
    splits = load_splits(cfg.dataset, text_column=cfg.text_column, label_column=cfg.label_column,
                         label_names=cfg.label_names, val_size=cfg.val_size, test_size=cfg.test_size,
                         max_train_samples=cfg.max_train_samples, max_eval_samples=cfg.max_eval_samples,
                         merge_labels=cfg.merge_labels, seed=cfg.seed)
    data = {"shared_texts": shared_texts(splits)}
    if cfg.counterfactual_augmentation:
        before = len(splits.train)
        splits.train = augmented(splits.train, cfg.seed)
        data["train_augmentation"] = {"train_reviews": before, "added": len(splits.train) - before}
        print(f"counterfactual augmentation: {data['train_augmentation']['added']} of {before} training reviews name "
              "a person or group term and also train swapped")
    training_rows = splits.train
    if (cfg.mix or cfg.feedback) and not cfg.resume_after_training:  # a resumed run does not train again
        # Every text the run evaluates on: no mixed text or correction equal to one may train the model.
        held_out = [splits.validation["text"], splits.test["text"]] + [
            load_eval_set(s.spec, cfg.text_column, cfg.label_column)[0]["text"] for s in cfg.eval_sets]
        if cfg.mix is not None:
            rows, data["train_mix"] = mix(cfg.mix, splits.label_names, select=cfg.mix_select, size=cfg.mix_size,
                                          held_out=held_out, text_column=cfg.text_column,
                                          label_column=cfg.label_column, seed=cfg.seed)
            training_rows = pd.concat([training_rows, rows], ignore_index=True)
            print(describe_mix(data["train_mix"]))
        if cfg.feedback is not None:
            rows, data["train_feedback"] = feedback_rows(cfg.feedback, splits.label_names, held_out=held_out,
                                                         weight=cfg.feedback_weight,
                                                         with_contrasts=cfg.feedback_contrasts,
                                                         **cfg.feedback_selection)
            training_rows = pd.concat([training_rows, rows], ignore_index=True)
            print(describe_feedback(data["train_feedback"]))
    # Loaded before training, so a wrong baseline id fails in seconds, not after hours.
    baseline = Predictor.load(cfg.baseline_model) if cfg.compare_baseline else None
    if baseline is not None:
        check_compatible(baseline, splits.label_names)
    # Read as served, as this model's test predictions are (steps.score_test), so the gate compares like with like.
    against = Predictor.load(cfg.gate_against, long_text=DEFAULT_LONG_TEXT) if cfg.gate_against else None
    if against is not None:
        check_compatible(against, splits.label_names)
    if cfg.resume_after_training:
        finished = load_finished(out)
    else:
        finished = run_training(cfg, dataclasses.replace(splits, train=training_rows), out, data)
        if finished is None:  # not the main process: it only takes part in training
            return {}
    return after_training(Context(cfg, splits, out, baseline, against), finished)


def run_training(cfg: TrainConfig, splits: Splits, out: Path, data: dict) -> Finished | None:
    """Search (if asked), train, pick the best checkpoint, save it; `splits.train` holds every training row."""
    search = run_search(cfg, splits, out, flags(choose_precision(cfg.precision)[0])) if cfg.hp_search else None
    set_seed(cfg.seed)
    model, tokenizer = build_model(cfg.model, splits.label_names, lora=cfg.lora, revision=cfg.revision)
    precision, precision_report = choose_precision(cfg.precision, model, cfg.batch_size, cfg.max_length)
    set_seed(cfg.seed)  # the probe ran dropout: start the run where a run without it starts
    trainer = build_trainer(cfg, model, tokenizer, splits, out, flags(precision))
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
        return None
    timings = {"training": round(train_seconds, 1)}
    with timed(timings, "saving"):
        save_model(trainer.model, tokenizer, out,
                   settings=InferenceSettings(max_length=cfg.max_length, truncation=cfg.truncation),
                   merge_lora=cfg.merge_lora)
    report = ModelReport(
        validation={k.removeprefix("eval_"): v for k, v in best_val.items()},
        train={"runtime_s": round(train_seconds, 1), "steps": result.global_step,
               "max_steps": trainer.state.max_steps, "stopped_early": stopped_early,
               "loss": result.training_loss, "rows": len(splits.train), "precision": precision_report},
        data={k: v for k, v in data.items() if k != "train_augmentation"}, timings_s=timings,
        train_augmentation=data.get("train_augmentation"))
    finished = Finished(history, report, trainer.args.world_size, precision, search)
    save_finished(cfg, out, finished, splits)
    if not cfg.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    return finished


def save_finished(cfg: TrainConfig, out: Path, finished: Finished, splits: Splits) -> None:
    """What a later `--resume-after-training` reads: the log, metrics.json so far, the run's configuration."""
    (out / LOG_FILE).write_text(json.dumps(finished.history, indent=2))  # the Trainer's log, by step
    finished.report.write(out)
    write_run_config(cfg, out, splits, finished)


def load_finished(out: Path) -> Finished:
    """The saved model's training record, for --resume-after-training."""
    report, run = read_report(out), read_run(out)
    missing = [name for name, found in ((METRICS_FILE, report), (LOG_FILE, (out / LOG_FILE).exists()),
                                        (RUN_FILE, run), ("config.json", (out / "config.json").exists())) if not found]
    if missing:
        raise UserError(f"--resume-after-training: {out} holds no model saved by a finished training "
                        f"(missing {', '.join(missing)}).")
    history = json.loads((out / LOG_FILE).read_text())
    report.failed_step = None  # every section measured so far is kept; the failure is tried again
    search_file = out / "hp_search.json"
    search = None
    if search_file.exists():
        found = json.loads(search_file.read_text())
        search = {"trials": found["trials"], "best_number": found["best"]["number"]}
    return Finished(history, report, run.world_size, run.precision, search)


def after_training(ctx: Context, finished: Finished) -> dict:
    """The steps after training, in order, each adding its section to the report, whose metrics.json is rewritten
    after each one (a run killed in a later step keeps what the earlier ones measured). The first step that fails
    stops the rest; what was measured is written either way, the failure named in one line (its traceback in
    failed_step.log), and `--resume-after-training` runs the steps whose sections are missing on the saved model."""
    cfg, out, report = ctx.cfg, ctx.out, finished.report
    ctx.report = report
    report.failed_step = None
    (out / FAILURE_LOG).unlink(missing_ok=True)
    if report.test is not None and report.test["num_samples"] != len(ctx.splits.test):
        # A resumed run asked for other test reviews (--max-eval-samples): the test step and the gate, which pairs
        # its predictions with the served model's on the same reviews, are measured again; the rest stand.
        print(f"the saved test scores read {report.test['num_samples']:,} reviews, this run {len(ctx.splits.test):,}: "
              "the test and the gate are measured again")
        report.test = report.gate = None
    for name, section, step in steps_after_training(cfg, ctx):
        if report.measured(section):  # measured by an earlier attempt (--resume-after-training)
            continue
        try:
            with timed(report.timings_s, name):
                report.add(step(ctx))
        except Exception as exc:  # noqa: BLE001 - whatever broke, keep what was measured and say which step
            report.failed_step = {"step": name, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500]}
            (out / FAILURE_LOG).write_text(traceback.format_exc())
            break
        report.write(out)
    write_artifacts(cfg, out, ctx.splits, finished)
    if failed := report.failed_step:
        raise UserError(f"the step after training '{failed['step']}' failed ({failed['error']}); what was measured "
                        f"is in {out / METRICS_FILE}" + (" and the card" if report.test else "")
                        + f", the traceback in {out / FAILURE_LOG}; run the same command with "
                        "--resume-after-training to run the remaining steps without training again.")
    test = report.test
    print(f"test accuracy {test['accuracy']:.4f}, macro F1 {test['f1_macro']:.4f} on {test['num_samples']} "
          f"reviews; {report.train['runtime_s']:.0f} s of training; saved to {out}")
    if cfg.push_to_hub and report.gate and (refused := gate_refusal(report.gate)):
        raise UserError(refused)
    if cfg.push_to_hub:
        url = upload_folder(out, cfg.hub_model_id, private=cfg.private, ignore=[f"{CHECKPOINTS}/*"],
                            message=f"Upload {cfg.method} fine-tuned model: test accuracy {test['accuracy']:.4f}")
        print(f"pushed to {url}")
    return test


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
        # Accelerate runs several CPU processes (torchrun, gloo) only when told this is a CPU run, and transformers
        # accepts bf16 autocast on a CPU only then too.
        **({"use_cpu": True} if distributed_on_cpu() or device == "cpu" and precision.get("bf16") else {}),
        **({"ddp_backend": "gloo"} if distributed_on_cpu() else {}))
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


def write_run_config(cfg: TrainConfig, out: Path, splits: Splits, finished: Finished) -> None:
    """training_config.json: every argument, the label names, the split sizes, where and with what it ran."""
    run_record(cfg, splits, finished).write(out)


def run_record(cfg: TrainConfig, splits: Splits, finished: Finished) -> RunRecord:
    sizes = {"train": len(splits.train), "validation": len(splits.validation), "test": len(splits.test),
             "precision": finished.precision}
    return RunRecord(arguments=cfg.to_dict(), label_names=splits.label_names, sizes=sizes,
                     world_size=finished.world_size, hardware=hardware_name(finished.world_size),
                     versions=library_versions())


def write_artifacts(cfg: TrainConfig, out: Path, splits: Splits, finished: Finished) -> None:
    """metrics.json, training_config.json, the plots and the model card (the card needs the test metrics: without
    them, because their step failed, everything else is still written)."""
    report, run = finished.report, run_record(cfg, splits, finished)
    run.write(out)
    report.write(out)
    (out / LOG_FILE).write_text(json.dumps(finished.history, indent=2))
    plot_training_curves(finished.history, out / CURVES_PLOT)
    if report.audit:
        plot_audit(report.audit, out / AUDIT_PLOT)
    test, baseline = report.test, report.baseline
    if test is None:
        return
    plot_confusion_matrix(test["confusion_matrix"], splits.label_names, out / CONFUSION_PLOT)
    comparison = comparison_table({f"baseline `{cfg.baseline_model}`": baseline,
                                   "fine-tuned (this model)": test}) if baseline else None
    trials = None
    if finished.search:
        trials = trials_table(finished.search["trials"], finished.search["best_number"])
        plot_hp_search(finished.search["trials"], out / "hp_search.png")
    tokenizer = AutoTokenizer.from_pretrained(out)
    card = render_card(cfg, report, run,
                       window=InferenceSettings(max_length=cfg.max_length, truncation=cfg.truncation).window(tokenizer),
                       val_origin=(f"{cfg.val_size:.0%} of train, stratified" if splits.validation_carved
                                   else "the dataset's own validation split"),
                       baseline=comparison, domains_md=domains_table(report.domains) if report.domains else None,
                       trials=trials, tracked=(out / LOG_DIR).is_dir())
    card.save(out / CARD_FILE)


def main(argv: list[str] | None = None) -> None:
    train(parse(TrainConfig, argv, "Fine-tune a transformer for review sentiment, evaluate it, write its model "
                                   "card, and optionally push it to the Hugging Face Hub."))


def cli() -> int:
    return run(main)
