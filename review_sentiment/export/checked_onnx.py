"""int8 files that publishing checked for a Hub model that ships none (int8_bar.check_hub_model): where the Space keeps
them, and the accuracy bar's figures for whichever int8 file a Predictor serves.

    checked-onnx/<owner>--<name>/<weights commit sha>/onnx/model_quantized.onnx                  (ONNX Runtime)
    checked-onnx/<owner>--<name>/<weights commit sha>/openvino/openvino_model_qint8_quantized.*  (OpenVINO)
    checked-onnx/<owner>--<name>/<weights commit sha>/int8_check.json     {file: its check}, for each file there, and
                                                                          {"bf16": the fp32 graph's check in bf16}

The bf16 check (OpenVINO running the fp32 graph in bf16, on a CPU that computes bf16) ships no file: the app exports
the fp32 graph at its first start and runs it in bf16 where its own CPU computes bf16 too.

Keyed by the exact commit, so a model updated after publishing is never served a file checked for other weights.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..defaults import PROJECT_DIR
from ..model_report import read_report
from .files import SERVED_INT8 as INT8_FILES

CHECKED_DIR = PROJECT_DIR / "checked-onnx"  # in the Space, beside app.py
CHECK_FILE = "int8_check.json"
BF16_KEY = "bf16"  # int8_check.json's entry for the fp32 graph run in bf16 (no file of its own)


def checked_root() -> Path:
    return Path(os.environ.get("CHECKED_ONNX_DIR") or CHECKED_DIR)


def checked_folder(repo_id: str, sha: str, root: Path | None = None) -> Path:
    return (root or checked_root()) / repo_id.replace("/", "--") / sha


def checked_files(files) -> dict[str, Path]:
    """{relative name: path} of the int8 files publishing checked for exactly this Hub commit
    (model_files.ModelFiles), of INT8_FILES."""
    if not (files and files.repo_id and files.revision):
        return {}
    folder = checked_folder(files.repo_id, files.revision)
    return {name: folder / name for name in INT8_FILES if (folder / name).is_file()}


def checked_record(files) -> dict:
    """What publishing (or `check_int8` on a local folder) recorded for this model (model_files.ModelFiles): the
    int8_check.json of its Hub commit under checked-onnx/, or of its own folder."""
    if not files:
        return {}
    folder = checked_folder(files.repo_id, files.revision) if files.repo_id and files.revision else \
        Path(files.weights_dir)
    record = folder / CHECK_FILE
    return json.loads(record.read_text()) if record.is_file() else {}


def check_of(path: Path | None, config_dir: Path | None, precision: str = "int8", files=None) -> dict | None:
    """The bar's figures for a served int8 file: beside it (publishing: int8_check.json, keyed by file) or in the
    model's metrics.json (train.py: under the file's folder name, "onnx" or "openvino", and the precision). bf16 (the
    fp32 graph run in bf16, which may be exported at start, so `path` may be None) was checked by publishing for the
    model's commit (`files`' record) or by train.py on a CPU that computes bf16 (metrics.json's "openvino")."""
    if precision == "bf16":
        found = checked_record(files).get(BF16_KEY)
        report = None if found else read_report(config_dir)
        return found or (report.file_check("openvino", "bf16") if report else None)
    if path is None:
        return None
    beside = path.parent.parent / CHECK_FILE
    if precision == "int8" and beside.is_file():
        found = json.loads(beside.read_text()).get(f"{path.parent.name}/{path.name}")
        if found:
            return found
    report = read_report(config_dir)
    return report.file_check(path.parent.name, precision) if report else None
