"""OpenVINO as a runtime (CPU): the model's OpenVINO files (openvino_ir.py writes them), or its ONNX file read
directly (shipped, or the export cached on first use) for fp32.

Compiled with an fp32 inference precision: on CPUs with AMX or AVX-512 BF16, OpenVINO would otherwise run
fp32 models in bf16, and a file's answers (the ones the bar checked) would then depend on the CPU. One infer request
per thread, since a request is not safe to share and callers may run calls on several threads at once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ...export.openvino_ir import FP32_FILE, INT8_FILE, available  # noqa: F401 - available is this runtime's can_run

FILES = {"fp32": FP32_FILE, "int8": INT8_FILE}
# The longest review that shares a call (call_plan.py), by precision. The static int8 file shares calls like fp32: its
# activation scales are fixed, so a neighbour cannot rescale a review; kernels chosen for another shape still round
# an activation differently now and then, which moved a probability by at most 1.7e-3 between alone and shared
# (INT8_SHARED_MOVE; 320 IMDb and short reviews, fine-tuned MiniLM-L6: mean 1.4e-5, no verdict changed; dynamic
# int8 moved answers by up to 0.19 and changed 1% of verdicts). Measured with benchmarks/batching.py on
# MiniLM-L6 and DistilBERT sizes (benchmarks/README.md, Intel Xeon with AMX): fp32 shared calls of 2-16 reviews cost
# 0.82-0.96x singles per review up to 256 tokens and 0.95-1.08x at 512. int8 cost 0.78-0.94x at 256 and still
# 0.83-0.97x at 512, but calls of 16 long reviews hold large buffers: with 512, the busy queue's memory test
# (tests/inference/test_serving_cpu.py) grew 23% from the idle model against 5% with 256, so int8 stops at 256 too.
# bf16 was not measured for this: it gets fp32's length.
SHARED_LENGTH = {"fp32": 256, "int8": 256, "bf16": 256}
INT8_SHARED_MOVE = 2e-3
# OpenVINO keeps what it compiled for each input shape (5,000 shapes by default), and so does the oneDNN library
# inside it (1,024 primitives), and reviews come in every length: 300 calls of random lengths (8-512 tokens), then 100
# shared calls, took a static int8 MiniLM-L6 from 395 to 1,923 and 2,561 MB. So it keeps 16 shapes, and calls are
# padded to a multiple of PAD_MULTIPLE tokens, which leaves 16 lengths up to 512 (padding.py): with every length
# its own shape, a length not seen last rebuilt its kernels (a BERT-base static int8 file, the baseline's size:
# 168 ms for lengths in turn against 48 ms for one repeated). oneDNN's primitives are kept for those 16 shapes: 64
# held about 4 BERT-base shapes (108 ms padded to 32), 256 hold them all. benchmarks/padding.py on the Intel Xeon AMX
# class, 2 cores, lengths 200-400 in random order: BERT-base int8 168 -> 55 ms (RSS +109 MB over 250 calls of 8-512
# tokens, against +51), MiniLM-L6 int8 63 -> 17 ms (+74 MB against +48). oneDNN reads its limit from the
# environment when it first builds a primitive, so it is set before the first compile, unless the user set it.
SHAPES_KEPT = 16
PRIMITIVES_KEPT = 256
PAD_MULTIPLE = 32


def compile_model(path: Path, threads: int | None = None, precision: str = "fp32"):
    import openvino as ov

    from ...cpu import usable_cores

    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(PRIMITIVES_KEPT))

    # bf16 (the fp32 file run in bf16) only where a caller asks for it: benchmarks/int8_schemes.py measures it.
    config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32", "PERFORMANCE_HINT": "LATENCY",
              "CPU_RUNTIME_CACHE_CAPACITY": SHAPES_KEPT}
    if threads:
        # Callers that run several calls at once (forward's `workers`) get one stream per group of `threads` cores.
        config |= {"NUM_STREAMS": max(1, usable_cores() // threads), "INFERENCE_NUM_THREADS": usable_cores()}
        config.pop("PERFORMANCE_HINT")
    return ov.Core().compile_model(str(path), "CPU", config)


def build(model, tokenizer, *, precision: str = "fp32", path: Path | None = None, threads: int | None = None) -> dict:
    from ...export import onnx

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

    return {"run": run, "description": f"OpenVINO, {precision} ({where})", "shared_length": SHARED_LENGTH[precision],
            "pad_multiple": PAD_MULTIPLE}
