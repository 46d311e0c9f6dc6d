"""Which precision a run trains in: bf16 on GPUs that have it (fp16 on older ones), and on a CPU bf16 autocast where
the CPU computes bf16 itself (AMX, or AVX-512 BF16) *and* it is faster there, fp32 elsewhere.

On a CPU, having the instructions is not enough: OpenVINO's bf16 ran slower than fp32 on an Intel Xeon with AVX-512
BF16 and no AMX (cpu.py), faster on AMD Zen 4 with the same flag. So `--precision auto` times a few
training steps of the real model at the run's batch shape in each precision (forward and backward, no optimiser
step: the weights do not change) and keeps bf16 only when it is at least MIN_SPEEDUP faster; metrics.json and the
card record the figures. Autocast keeps the weights and the optimiser in fp32, so the saved model is fp32 either way.
"""

from __future__ import annotations

import os
import time

import torch

from ..cpu import cpu_info, describe
from ..errors import UserError

MIN_SPEEDUP = 1.1  # below this a probe's noise could pick bf16 for nothing
BF16_ISA = ("amx_bf16", "avx512_bf16")


def flags(precision: str) -> dict:
    """TrainingArguments' flags for a chosen precision (the Trainer autocasts on CPU and GPU alike)."""
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def cpu_has_bf16(info: dict) -> bool:
    return any(flag in info["isa"] for flag in BF16_ISA)


def step_seconds(model, batch: dict, steps: int) -> dict[str, float]:
    """The fastest of `steps` forward+backward passes in each precision (after one warm-up each), the two
    interleaved so that whatever else the machine runs meanwhile slows both alike; gradients cleared after each."""
    best = {"fp32": float("inf"), "bf16": float("inf")}
    for i in range(steps + 1):
        for precision in best:
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = model(**batch).loss
            loss.backward()
            model.zero_grad(set_to_none=True)
            if i:
                best[precision] = min(best[precision], time.perf_counter() - started)
    return best


def probe(model, batch_size: int, max_length: int, steps: int = 3) -> dict:
    """Seconds per training step in fp32 and in bf16 autocast on this CPU, at the longest batch the run can see."""
    vocab = model.config.vocab_size
    # No longer than the model reads (a window past its position table is cut before training as well).
    max_length = min(max_length, getattr(model.config, "max_position_embeddings", max_length) or max_length)
    generator = torch.Generator().manual_seed(0)
    batch = {"input_ids": torch.randint(min(1000, vocab - 1), vocab, (batch_size, max_length), generator=generator),
             "attention_mask": torch.ones(batch_size, max_length, dtype=torch.long),
             "labels": torch.zeros(batch_size, dtype=torch.long)}
    was_training = model.training
    model.train()
    timed = step_seconds(model, batch, steps)
    fp32, bf16 = timed["fp32"], timed["bf16"]
    model.train(was_training)
    # Three significant figures, and the speed-up from the figures as written, so the record agrees with itself
    # for a tiny model's milliseconds as for a real one's seconds.
    fp32, bf16 = float(f"{fp32:.3g}"), float(f"{bf16:.3g}")
    return {"fp32_s_per_step": fp32, "bf16_s_per_step": bf16, "speedup": round(fp32 / bf16, 2)}


def choose_precision(choice: str, model=None, batch_size: int = 16, max_length: int = 512, *,
                     info: dict | None = None) -> tuple[str, dict]:
    """(precision, what decided it). Without a model (search trials) a CPU run stays fp32: nothing to time."""
    if torch.cuda.is_available():
        if choice == "auto":
            choice = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return choice, {"precision": choice, "device": torch.cuda.get_device_name(0), "decided_by": "GPU"}
    info = info or cpu_info()
    cpu = describe(info)
    if choice == "fp16":
        raise UserError("--precision fp16 needs a GPU; use auto, bf16 or fp32 on CPU.")
    if choice == "bf16" and not cpu_has_bf16(info):
        raise UserError(f"--precision bf16 on a CPU needs AMX or AVX-512 BF16; this one has none ({cpu}). "
                        "Use auto or fp32.")
    if choice in ("fp32", "bf16"):
        return choice, {"precision": choice, "device": cpu, "decided_by": f"--precision {choice}"}
    if not cpu_has_bf16(info):
        return "fp32", {"precision": "fp32", "device": cpu, "decided_by": "no bf16 instructions (AMX, AVX-512 BF16)"}
    if model is None:
        return "fp32", {"precision": "fp32", "device": cpu, "decided_by": "no model to time"}
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # each process would time for itself, and might choose otherwise
        return "fp32", {"precision": "fp32", "device": cpu, "decided_by": "several processes: not timed"}
    try:
        timed = probe(model, batch_size, max_length)
    except Exception as exc:  # noqa: BLE001 - a model the probe cannot drive trains as it always did, in fp32
        return "fp32", {"precision": "fp32", "device": cpu, "decided_by": f"not timed ({type(exc).__name__}: {exc})"
                        .splitlines()[0][:300]}
    chosen = "bf16" if timed["speedup"] >= MIN_SPEEDUP else "fp32"
    print(f"precision: {chosen} (a training step at {batch_size} x {max_length} tokens: fp32 "
          f"{timed['fp32_s_per_step']:.3g} s, bf16 autocast {timed['bf16_s_per_step']:.3g} s, "
          f"{timed['speedup']:.2f}x; bf16 needs {MIN_SPEEDUP}x)")
    return chosen, {"precision": chosen, "device": cpu, **timed,
                    "decided_by": f"timed: bf16 {timed['speedup']:.2f}x fp32 (needs {MIN_SPEEDUP}x)"}
