"""torch as a runtime: the model itself (fp32; bf16 on GPUs, set by the caller), or a dynamically quantised int8 copy
on CPU."""

from __future__ import annotations

import warnings

import torch

# The longest review that shares a call on CPU (call_plan.py). Measured with benchmarks/batching.py on MiniLM-L6 and
# DistilBERT sizes (benchmarks/README.md): torch's per-call cost is higher than ONNX Runtime's, so sharing pays
# longer: up to 256 tokens a shared call of 2-16 reviews cost 0.33-0.97x singles per review; at 512, 0.89-1.02x.
CPU_SHARED_LENGTH = 256


def quantize_int8(model):
    """Linear weights to int8, activations quantised on the fly (torch's dynamic quantisation, CPU kernels)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch points eager-mode users at torchao; this API still works
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def build(model, tokenizer, *, precision: str = "fp32", path=None, threads=None) -> dict:
    device = next(model.parameters()).device
    if precision == "int8":
        if device.type != "cpu":
            raise ValueError("torch's int8 runs on CPU only")
        # Activation scales are per call: one review per call keeps an answer independent of its neighbours.
        model, shared = quantize_int8(model), 0
    else:
        shared = CPU_SHARED_LENGTH if device.type == "cpu" else None

    def run(batch: dict):
        with torch.inference_mode():
            return model(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu().numpy()

    dtype = next(model.parameters(), torch.empty(0)).dtype if precision != "int8" else None
    what = "int8 (dynamic)" if precision == "int8" else "bf16" if dtype == torch.bfloat16 else "fp32"
    return {"run": run, "description": f"torch, {what}", "shared_length": shared}
