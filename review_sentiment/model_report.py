"""What a trained model folder says about itself, in one typed place: the files train.py writes beside the weights,
and the sections of its metrics.json and training_config.json.

train.py fills a `ModelReport` as its stages run (each adds its section) and a `RunRecord` once it has trained; the
card, the Space's About tab, publishing, the loader of checked int8 files and the benchmarks read them back through
`read_report` and `read_run`, never by opening the JSON themselves. The JSON on disk is the same as before this
module: a folder written by an older train.py reads, and keys this version does not know (a newer train.py) are kept
as they were (`other`) and written back unchanged.

    config.json           the model's, with InferenceSettings under `review_sentiment` (inference/settings.py)
    metrics.json          ModelReport: validation, train, data, timings_s, test, domains, audit, onnx, openvino, ...
    training_config.json  RunRecord: every argument, label names, split sizes, hardware, library versions
    training_log.json     the Trainer's log, one entry per logging step
    predictions.csv       every test review's label, prediction and probabilities
    *.png                 confusion matrix, training curves, audit (and hp_search.png after a search)
    README.md             the model card, rendered from the two records above
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Optional

METRICS_FILE = "metrics.json"
RUN_FILE = "training_config.json"
LOG_FILE = "training_log.json"
PREDICTIONS_FILE = "predictions.csv"
FAILURE_LOG = "failed_step.log"
CARD_FILE = "README.md"
CONFUSION_PLOT, CURVES_PLOT, AUDIT_PLOT = "confusion_matrix.png", "training_curves.png", "audit.png"
PLOTS = (CONFUSION_PLOT, CURVES_PLOT)  # what the Space downloads and shows beside the metrics


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _known(cls) -> set[str]:
    """The sections a record knows as fields (everything else lives under `other`)."""
    return {f.name for f in dataclasses.fields(cls)} - {"other"}


def _from_json(cls, data: dict):
    """A record from its JSON: the keys it knows as fields, the others kept under `other` as they were."""
    known = _known(cls)
    return cls(**{k: v for k, v in data.items() if k in known}, other={k: v for k, v in data.items() if k not in known})


@dataclasses.dataclass
class ModelReport:
    """metrics.json: one optional section per stage, in the order train.py measures them."""

    validation: Optional[dict] = None  # the best checkpoint's validation metrics (Trainer.evaluate)
    train: Optional[dict] = None  # runtime_s, steps, max_steps, stopped_early, loss, rows, precision
    data: dict = dataclasses.field(default_factory=dict)  # shared_texts, train_mix, train_feedback
    timings_s: dict = dataclasses.field(default_factory=dict)  # seconds per stage, by its name
    train_augmentation: Optional[dict] = None  # counterfactual augmentation: train_reviews, added
    test: Optional[dict] = None  # test metrics, the temperature under "calibration"
    domains: Optional[dict] = None  # {name: metrics on another labelled set (--eval-dataset)}
    audit: Optional[dict] = None  # evaluation/audit.py's result
    gate: Optional[dict] = None  # evaluation/gate.py's comparison with --gate-against's model, and its verdict
    onnx: Optional[dict] = None  # {"files", "int8", "summary"} (export/int8_bar.ship)
    openvino: Optional[dict] = None  # the same, and "bf16" where the CPU computes bf16 (AMX, AVX-512 BF16)
    baseline: Optional[dict] = None  # the baseline's test metrics
    failed_step: Optional[dict] = None  # {"step", "error"} when a step after training failed
    other: dict = dataclasses.field(default_factory=dict)  # keys this version does not know, kept as they were

    @classmethod
    def from_json(cls, data: dict) -> "ModelReport":
        return _from_json(cls, data)

    def to_json(self) -> dict:
        """metrics.json's content: the sections measured, in this order, unknown keys after them."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "other"}
        return {k: v for k, v in out.items() if v is not None} | self.other

    def measured(self, section: str) -> bool:
        return getattr(self, section) is not None if section in _known(ModelReport) else section in self.other

    def add(self, sections: dict[str, Any]) -> None:
        """A stage's result ({section: value}) into the report."""
        for key, value in sections.items():
            if key in _known(ModelReport):
                setattr(self, key, value)
            else:
                self.other[key] = value

    def write(self, folder: Path) -> None:
        (Path(folder) / METRICS_FILE).write_text(json.dumps(self.to_json(), indent=2))

    def file_check(self, runtime_folder: str, precision: str) -> dict | None:
        """The accuracy bar's figures train.py recorded for a runtime's file ("onnx" or "openvino") at a precision
        ("int8"; "bf16" for OpenVINO's fp32 file on a CPU that computes bf16)."""
        return ((getattr(self, runtime_folder, None) if runtime_folder in ("onnx", "openvino") else None)
                or {}).get(precision)


def read_report(folder: Path | str | None) -> ModelReport | None:
    """The folder's metrics.json as a ModelReport; None where it has none (a model trained elsewhere)."""
    data = _read_json(Path(folder) / METRICS_FILE) if folder else None
    return ModelReport.from_json(data) if data is not None else None


@dataclasses.dataclass
class RunRecord:
    """training_config.json: how the model was trained."""

    arguments: dict  # every train.py option, as TrainConfig.to_dict wrote it
    label_names: list
    sizes: dict  # train, validation and test rows; the precision that trained
    world_size: int = 1
    hardware: str = ""
    versions: dict = dataclasses.field(default_factory=dict)
    other: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "RunRecord":
        return _from_json(cls, data)

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "other"} | self.other

    def write(self, folder: Path) -> None:
        (Path(folder) / RUN_FILE).write_text(json.dumps(self.to_json(), indent=2))

    @property
    def dataset_name(self) -> str | None:
        return self.arguments.get("dataset_name")

    @property
    def precision(self) -> str:
        return self.sizes.get("precision", "fp32")


def read_run(folder: Path | str | None) -> RunRecord | None:
    """The folder's training_config.json as a RunRecord; None where it has none."""
    data = _read_json(Path(folder) / RUN_FILE) if folder else None
    return RunRecord.from_json(data) if data is not None else None
