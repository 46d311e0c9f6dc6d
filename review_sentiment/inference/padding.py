"""Padded batch shapes: how long a batch of token ids is padded, on GPU and CPU, in training and in scoring.

On a GPU every new input shape costs a plan. PyTorch >= 2.10 with its bundled cuDNN (> 9.15) runs attention
through cuDNN on Hopper and Blackwell, and cuDNN builds an execution graph for each new shape (hundreds of ms,
forward and backward apart). Length-grouped batches padded to their longest review give hundreds of distinct
lengths in one IMDb epoch (counted in tests/training/test_training_speed.py), so nearly every step paid for a
build, and train.py ran slower than the seed recipe on an H200 (benchmarks/README.md, "Training on a GPU"). Rounding
up to a multiple of 64 leaves at most 8 lengths for little padding (far less than the seed's fixed 512).

On a CPU it depends on the runtime (`Runtime.pad_multiple`). ONNX Runtime and torch pay nothing for a new shape, so
their calls are padded to their longest review. OpenVINO does: it keeps what it built for a few shapes (ov.py bounds
those caches to bound memory), and with reviews of every length a BERT-base int8 call took 168 ms where a repeated
length took 48. Rounding up to a multiple of 32 leaves 16 lengths, which its caches then hold (ov.py).
"""

from __future__ import annotations

import contextlib

GPU_MULTIPLE = 64


def pad_multiple(device_type: str, runtime_multiple: int = 1) -> int:
    """What a call's length is rounded up to: on a GPU GPU_MULTIPLE, on a CPU what its runtime asks for."""
    return GPU_MULTIPLE if device_type == "cuda" else runtime_multiple


def padded_length(longest: int, multiple: int, max_length: int | None = None) -> int:
    """`longest` rounded up to `multiple`, never past `max_length` (position embeddings end there)."""
    rounded = -(-longest // multiple) * multiple
    return min(rounded, max(max_length or rounded, longest))


def pad(tokenizer, features: list[dict], device_type: str, max_length: int | None = None, runtime_multiple: int = 1):
    """One padded batch (tensors) of encoded reviews; extra keys such as `labels` become tensors too."""
    longest = max(len(f["input_ids"]) for f in features)
    return tokenizer.pad(features, padding="max_length", return_tensors="pt",
                         max_length=padded_length(longest, pad_multiple(device_type, runtime_multiple), max_length))


class Collator:
    """The Trainer's collator: `pad` with the device's rule."""

    def __init__(self, tokenizer, device_type: str, max_length: int | None = None):
        self.tokenizer, self.device_type, self.max_length = tokenizer, device_type, max_length

    def __call__(self, features: list[dict]):
        return pad(self.tokenizer, features, self.device_type, self.max_length)


def attention_backends(device_type: str):
    """Attention without cuDNN's per-shape graph builds on GPUs (memory-efficient or flash kernels, no warm-up per
    shape); on CPU, nothing changes."""
    if device_type != "cuda":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])
