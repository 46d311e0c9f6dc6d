"""Hyper-parameter search before training: Optuna through the Trainer's `hyperparameter_search`, on the validation
split only, with a median pruner that stops weak trials at their intermediate evaluations.

The space is written in train.py's own option names (learning_rate, epochs, weight_decay, warmup_ratio, lora_r,
lora_alpha), so the best trial's values are simply the options the final model is trained with, and
training_config.json records them like any other option.

    {"learning_rate": {"type": "float", "low": 1e-5, "high": 1e-4, "log": true},
     "epochs": {"type": "int", "low": 1, "high": 3},
     "lora_r": {"type": "categorical", "choices": [8, 16, 32]}}
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError

# Option name -> the TrainingArguments attribute a trial sets (LoRA's r and alpha shape the model instead).
TRAINING_ARGS = {"learning_rate": "learning_rate", "epochs": "num_train_epochs", "weight_decay": "weight_decay",
                 "warmup_ratio": "warmup_steps"}
MODEL_ARGS = ("lora_r", "lora_alpha")
KINDS = ("float", "int", "categorical")


def default_space(method: str, learning_rate: float, epochs: float) -> dict:
    """Around the method's proven recipe: the learning rate over a factor of 4 either way (log scale)."""
    space = {"learning_rate": {"type": "float", "low": learning_rate / 4, "high": learning_rate * 4, "log": True},
             "epochs": {"type": "int", "low": 1, "high": max(2, round(epochs) + 1)},
             "weight_decay": {"type": "float", "low": 0.0, "high": 0.1},
             "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2}}
    if method == "lora":
        space |= {"lora_r": {"type": "categorical", "choices": [4, 8, 16, 32]},
                  "lora_alpha": {"type": "categorical", "choices": [8, 16, 32, 64]}}
    return space


def load_space(path: str, method: str) -> dict:
    """A --hp-space file, checked entry by entry before any training."""
    try:
        space = json.loads(Path(path).read_text())
    except OSError as exc:
        raise UserError(f"--hp-space {path}: cannot read it ({exc.strerror or type(exc).__name__}).") from None
    except ValueError as exc:
        raise UserError(f"--hp-space {path} is not valid JSON: {exc}") from None
    known = set(TRAINING_ARGS) | (set(MODEL_ARGS) if method == "lora" else set())
    if not isinstance(space, dict) or not space:
        raise UserError(f"--hp-space {path} must be a JSON object of options to search.")
    for name, spec in space.items():
        if name not in known:
            raise UserError(f"--hp-space: {name!r} cannot be searched with --method {method}; "
                            f"use {', '.join(sorted(known))}.")
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in KINDS or (kind == "categorical" and not spec.get("choices")) or \
                (kind != "categorical" and not ("low" in spec and "high" in spec and spec["low"] <= spec["high"])):
            raise UserError(f"--hp-space: {name!r} needs type float/int with low <= high, or categorical with "
                            "choices.")
    return space


def suggest(trial, space: dict) -> dict:
    """One trial's values, in option names."""
    values = {}
    for name, spec in space.items():
        if spec["type"] == "categorical":
            values[name] = trial.suggest_categorical(name, spec["choices"])
        elif spec["type"] == "int":
            values[name] = trial.suggest_int(name, int(spec["low"]), int(spec["high"]))
        else:
            values[name] = trial.suggest_float(name, spec["low"], spec["high"], log=bool(spec.get("log")))
    return values


def search(trainer, space: dict, n_trials: int, seed: int, out: Path) -> dict:
    """Run the trials; returns {best: values in option names, best_number, trials} and writes hp_search.json."""
    import optuna

    storage = optuna.storages.InMemoryStorage()
    name = "review-sentiment"
    trainer.hyperparameter_search(
        hp_space=lambda trial: {TRAINING_ARGS.get(k, k): v for k, v in suggest(trial, space).items()},
        compute_objective=lambda metrics: metrics["eval_accuracy"], n_trials=n_trials, direction="maximize",
        backend="optuna", study_name=name, storage=storage, sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    study = optuna.load_study(study_name=name, storage=storage)
    trials = [{"number": t.number, "state": t.state.name.lower(), "accuracy": t.value,
               "params": t.params, "evaluations": len(t.intermediate_values)} for t in study.trials]
    best = study.best_trial.params
    (out / "hp_search.json").write_text(json.dumps({"space": space, "best": {"number": study.best_trial.number,
                                                                             "accuracy": study.best_value,
                                                                             "params": best},
                                                    "trials": trials}, indent=2))
    return {"best": best, "best_number": study.best_trial.number, "trials": trials}


def trials_table(trials: list[dict], best_number: int) -> str:
    """Markdown: one row per trial, the best in bold."""
    names = sorted({k for t in trials for k in t["params"]})
    lines = ["| trial | state | validation accuracy | " + " | ".join(names) + " |",
             "| ---: | --- | ---: | " + " | ".join("---:" for _ in names) + " |"]
    for t in trials:
        cells = [str(t["number"]), t["state"], "-" if t["accuracy"] is None else f"{t['accuracy']:.4f}"]
        cells += [_fmt(t["params"].get(n)) for n in names]
        if t["number"] == best_number:
            cells = [f"**{c}**" for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if isinstance(value, float) else str(value)
