"""Experiment tracking for train.py: the Trainer's own `report_to` integrations, with TensorBoard's event files
written into the output directory (`runs/`), so they are pushed with the model and the Hub's "Training metrics" tab
shows them."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import UserError

# Backend -> the package the Trainer's integration imports.
BACKENDS = {"tensorboard": "tensorboard", "trackio": "trackio", "wandb": "wandb", "mlflow": "mlflow", "none": None}
LOG_DIR = "runs"


def is_main_process() -> bool:
    """Rank 0 of a torchrun/accelerate launch (or the only process): the one that writes files and talks to the Hub."""
    return int(os.environ.get("RANK", "0")) == 0


def installed(backend: str) -> bool:
    package = BACKENDS[backend]
    return package is None or importlib.util.find_spec(package) is not None


def default_backend() -> str:
    return "tensorboard" if installed("tensorboard") else "none"


def check_backend(backend: str) -> None:
    """Before any training: an unknown or missing backend is one line."""
    if backend not in BACKENDS:
        raise UserError(f"--report-to must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if not installed(backend):
        raise UserError(f"--report-to {backend} needs the {BACKENDS[backend]} package: pip install "
                        f"{BACKENDS[backend]}")


def trainer_reporting(backend: str, out: Path) -> tuple[list[str], list]:
    """(TrainingArguments.report_to, extra callbacks). TensorBoard gets an explicit writer on <out>/runs: the
    Trainer's default directory sits under the checkpoints, which are deleted after training."""
    if backend == "none":
        return [], []
    if backend == "tensorboard":

        if not is_main_process():  # only the main process writes (and creates) <out>/runs
            return [], []
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        return [], [TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / LOG_DIR)))]
    return [backend], []
