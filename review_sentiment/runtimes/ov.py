"""OpenVINO as a runtime (CPU): the model's OpenVINO files (openvino_ir.py writes them), or its ONNX file read
directly (shipped, or the export cached on first use) for fp32.

Compiled with an fp32 inference precision: on CPUs with AMX or AVX-512 BF16, OpenVINO would otherwise run
fp32 models in bf16, and a file's answers (the ones the bar checked) would then depend on the CPU. One infer request
per thread, since a request is not safe to share and callers may run calls on several threads at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..openvino_ir import FP32_FILE, INT8_FILE, available  # noqa: F401 - available is this runtime's can_run

FILES = {"fp32": FP32_FILE, "int8": INT8_FILE}
# The longest review that shares a call (call_plan.py), for fp32 and the static int8 file alike: its activation
# scales are fixed, so sharing cannot move an answer (tested). Measured with benchmarks/batching.py (README
# "Performance", Intel Xeon with AMX under KVM).
SHARED_LENGTH = 128


def compile_model(path: Path, threads: int | None = None, precision: str = "fp32"):
    import openvino as ov

    from ..cpu import usable_cores

    # bf16 (the fp32 file run in bf16) only where a caller asks for it: benchmarks/int8_schemes.py measures it.
    config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32", "PERFORMANCE_HINT": "LATENCY"}
    if threads:
        # Callers that run several calls at once (forward's `workers`) get one stream per group of `threads` cores.
        config |= {"NUM_STREAMS": max(1, usable_cores() // threads), "INFERENCE_NUM_THREADS": usable_cores()}
        config.pop("PERFORMANCE_HINT")
    return ov.Core().compile_model(str(path), "CPU", config)


def build(model, tokenizer, *, precision: str = "fp32", path: Path | None = None, threads: int | None = None) -> dict:
    from .. import onnx

    if path is None and precision == "int8":
        raise ValueError("OpenVINO int8 needs a calibrated file (train.py and publishing write it)")
    where = f"{Path(path).parent.name}/{Path(path).name}" if path else "ONNX export read at first start, cached"
    compiled = compile_model(Path(path) if path else onnx.cached(model, tokenizer, "fp32"), threads, precision)
    local = threading.local()

    def run(batch: dict) -> np.ndarray:
        if not hasattr(local, "request"):
            local.request = compiled.create_infer_request()
        local.request.infer({"input_ids": batch["input_ids"].numpy().astype(np.int64),
                       "attention_mask": batch["attention_mask"].numpy().astype(np.int64)})
        return local.request.get_output_tensor(0).data.copy()

    return {"run": run, "description": f"OpenVINO, {precision} ({where})", "shared_length": SHARED_LENGTH}
