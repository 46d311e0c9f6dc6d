"""ONNX Runtime as the Predictor's batch step on CPU: ~2x faster single-review latency, identical predictions.

The model is exported once with torch.export (dynamic batch and length) and cached on disk next to the other
Hugging Face caches, keyed by the weights, so later starts skip the export. See benchmarks/serving.py.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


def cache_path(model) -> Path:
    """One file per set of weights: a hash of the state dict, so a retrained model never reuses an old export."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()[:4096])
        digest.update(str(tuple(tensor.shape)).encode())
    root = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "review-sentiment" / "onnx"
    return root / f"{digest.hexdigest()[:32]}.onnx"


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export(model, tokenizer, max_length: int, path: Path) -> Path:
    example = tokenizer.pad({"input_ids": [tokenizer("a fine film")["input_ids"],
                                           tokenizer("a dull one, sadly")["input_ids"]]}, return_tensors="pt")
    batch, length = torch.export.Dim("batch"), torch.export.Dim("length", max=max_length)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        warnings.simplefilter("ignore")
        program = torch.onnx.export(_Logits(model).eval(), (example["input_ids"], example["attention_mask"]),
                                    dynamo=True, verbose=False, input_names=["input_ids", "attention_mask"],
                                    output_names=["logits"],
                                    dynamic_shapes={"input_ids": {0: batch, 1: length},
                                                    "attention_mask": {0: batch, 1: length}})
        staged = Path(tmp) / path.name
        program.save(str(staged))
        staged.replace(path)  # atomic: a half-written file is never picked up by a parallel start
    return path


def runner(model, tokenizer, max_length: int):
    """A batch step (dict of tensors -> logits array) running on ONNX Runtime."""
    import onnxruntime as ort

    path = cache_path(model)
    if not path.exists():
        log.info("exporting the model to ONNX (once): %s", path)
        export(model, tokenizer, max_length, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run_batch(batch: dict) -> np.ndarray:
        return session.run(None, {"input_ids": batch["input_ids"].numpy().astype(np.int64),
                                  "attention_mask": batch["attention_mask"].numpy().astype(np.int64)})[0]
    return run_batch
