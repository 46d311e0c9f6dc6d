"""ONNX Runtime as a runtime (CPU): the model's ONNX file (onnx.py writes it), or its export cached on first use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...export.onnx import FP32_FILE, INT8_FILE

FILES = {"fp32": FP32_FILE, "int8": INT8_FILE}  # the files it reads in a model's folder
# The longest review that shares a call in fp32 (call_plan.py). Measured with benchmarks/batching.py on MiniLM-L6 and
# DistilBERT sizes (benchmarks/README.md): up to 128 tokens a shared call of 2-16 reviews cost 0.42-1.00x singles
# per review; at 256, 0.97-1.13x. int8 gets 0 (one review per call) whatever the measurement: its activations are
# quantised with one scale per call, so in a shared call a review's answer would move with its neighbours.
FP32_SHARED_LENGTH = 128
# ONNX Runtime's memory arena keeps the largest buffers any call needed. That made a Space's memory creep up when
# calls of 32 reviews of up to 512 tokens came in every shape; now a call is one review, or up to 16 reviews of at
# most FP32_SHARED_LENGTH tokens, so the largest buffers are bounded by those shapes and the arena stops growing.
# Measured with benchmarks/batching.py (300 single calls of every length, benchmarks/README.md): RSS +0.6 to +2.5%
# from the 100th call with the arena, +0.1 to +1.2% without; the arena was faster in three of four cases (up to
# 15%), so it stays on.
ARENA = True


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def session(path: Path, threads: int | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the optimizer's notes on unused initializers are not for users
    if threads:
        options.intra_op_num_threads = threads
    options.enable_cpu_mem_arena = ARENA
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def build(model, tokenizer, *, precision: str = "fp32", path: Path | None = None, threads: int | None = None) -> dict:
    from ...export import onnx

    where = f"{Path(path).parent.name}/{Path(path).name}" if path else "exported at first start, cached"
    run_session = session(Path(path) if path else onnx.cached(model, tokenizer, precision), threads).run

    def run(batch: dict) -> np.ndarray:
        return run_session(None, {"input_ids": batch["input_ids"].numpy().astype(np.int64),
                                  "attention_mask": batch["attention_mask"].numpy().astype(np.int64)})[0]

    return {"run": run, "description": f"ONNX Runtime, {precision} ({where})",
            "shared_length": 0 if precision == "int8" else FP32_SHARED_LENGTH}
