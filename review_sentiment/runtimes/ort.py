"""ONNX Runtime as a runtime (CPU): the model's ONNX file (onnx.py writes it), or its export cached on first use."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Measured with benchmarks/batching.py (README "Performance"); fp32 and int8 alike. int8 gets 0 (one review per call)
# whatever the measurement: its activations are quantised with one scale per call, so in a shared call a review's
# answer would move with its neighbours.
FP32_TOKEN_BUDGET = 256


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
    # No memory arena: the arena keeps the largest buffers any shape ever needed and grows with each new one, so a
    # Space's memory crept up under traffic of every length. Without it, memory returns after each call, for a
    # cost that benchmarks/batching.py's arena rows measure (README "Performance").
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def build(model, tokenizer, *, precision: str = "fp32", path: Path | None = None, threads: int | None = None) -> dict:
    from .. import onnx

    where = f"{Path(path).parent.name}/{Path(path).name}" if path else "exported at first start, cached"
    run_session = session(Path(path) if path else onnx.cached(model, tokenizer, precision), threads).run

    def run(batch: dict) -> np.ndarray:
        return run_session(None, {"input_ids": batch["input_ids"].numpy().astype(np.int64),
                                  "attention_mask": batch["attention_mask"].numpy().astype(np.int64)})[0]

    return {"run": run, "description": f"ONNX Runtime, {precision} ({where})",
            "token_budget": 0 if precision == "int8" else FP32_TOKEN_BUDGET}
