"""The one inference path, shared by the Space, evaluation, training's test scoring and batch prediction."""

from __future__ import annotations

import contextlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .calibration import softmax
from .defaults import DEFAULT_LABEL_NAMES, QUANTIZE
from .inference_settings import InferenceSettings, read_settings
from .model_files import ModelFiles
from .modeling import load_model
from .padding import pad
from .text import clean_text, encode, encode_windows

log = logging.getLogger(__name__)


def quantize_int8(model):
    """Linear weights to int8, activations quantised on the fly (torch's dynamic quantisation, CPU kernels)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch points eager-mode users at torchao; this API still works
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


RUNTIMES = ("onnx", "torch")  # what runs a Predictor's batches on CPU (RUNTIME, --runtime)


def default_runtime() -> str:
    """ONNX Runtime where it is installed: faster per review on CPU than torch in fp32 with the same predictions,
    and the runtime of the int8 files (benchmarks/serving.py); torch on GPUs and where it is missing."""
    from . import onnx

    return "onnx" if onnx.available() and not torch.cuda.is_available() else "torch"


class Predictor:
    """Class probabilities for raw review texts, preprocessed exactly as the model was trained.

    Truncation strategy, window and temperature come from the model's config.json (written by train.py);
    models trained elsewhere get head truncation at their own window. `overrides` are InferenceSettings fields
    (long_text, chunk_stride, chunk_aggregation, ...; None keeps the model's own).

    `batch_runner` runs one padded batch (dict of tensors -> logits array) where torch should not (ONNX Runtime, or
    any other runtime), named by `runtime`; the Predictor itself never changes for a new runtime.
    """

    def __init__(self, model, tokenizer, *, batch_size: int | None = None, source: str = "",
                 files: ModelFiles | None = None, batch_runner: Callable[[dict], np.ndarray] | None = None,
                 runtime: str = "torch, fp32", **overrides):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.batch_size = batch_size or (128 if self.device.type == "cuda" else 32)
        self.source = source  # the folder with config, card and metrics
        self.files = files  # where config and weights came from (Hub commit, conversion PR, local directory)
        self.settings: InferenceSettings = read_settings(model.config, **overrides)
        self.batch_runner = batch_runner
        self.runtime = runtime  # what runs the batches, as /healthz and the About tab say

    @classmethod
    def load(cls, spec: str, *, device: torch.device | str | None = None, revision: str | None = None,
             **kwargs) -> "Predictor":
        """From a Hub id (at `revision`, else resolved as model_files explains) or local directory: a full model,
        or a LoRA adapter (merged at load). Torch fp32; `serving()` gives the fastest sibling for serving."""
        model, tokenizer, files = load_model(spec, device=device or default_device(), revision=revision)
        return cls(model, tokenizer, source=str(files.config_dir), files=files, **kwargs)

    def _sibling(self, model, batch_runner=None, runtime: str = "torch, fp32", *,
                 one_per_call: bool = False) -> "Predictor":
        batch_size = 1 if one_per_call else self.batch_size
        sibling = Predictor(model, self.tokenizer, batch_size=batch_size, source=self.source, files=self.files,
                            batch_runner=batch_runner, runtime=runtime)
        sibling.settings = self.settings
        return sibling

    def on_onnxruntime(self, path: Path | str | None = None, precision: str = "fp32", *,
                       threads: int | None = None) -> "Predictor":
        """A sibling that runs its batches on ONNX Runtime (CPU; on a GPU, self): from the ONNX file at `path`, else
        from this model's own export in the cache. It shares these torch weights, which explanations keep using.
        `threads` caps ONNX Runtime's threads per call (default: every core), for callers that run several calls
        at once (forward's `workers`)."""
        if self.device.type != "cpu":
            return self
        from . import onnx

        where = f"{Path(path).parent.name}/{Path(path).name}" if path else "exported at first start, cached"
        path = Path(path) if path else onnx.cached(self.model, self.tokenizer, precision)
        # One review per call, in both precisions. int8 activations are quantised with one scale per call, so in a
        # batch a review's answer would move with the reviews beside it; alone it is the same under any traffic, and
        # closer to fp32. fp32 costs less per review alone than batched on CPU (padding and cache pressure grow
        # with the batch; README "Performance"), and its memory stays at one review's shapes.
        return self._sibling(self.model, onnx.runner(path, threads), f"ONNX Runtime, {precision} ({where})",
                             one_per_call=True)

    def quantized(self) -> "Predictor":
        """An int8 copy with the same settings (CPU only; on a GPU, self). Gradients do not flow through it, so
        explanations keep using the fp32 original."""
        if self.device.type != "cpu":
            return self
        # Per-call activation scales, as int8 on ONNX Runtime: one review per call.
        return self._sibling(quantize_int8(self.model), runtime="torch, int8 (dynamic)", one_per_call=True)

    def shipped_onnx(self) -> dict[str, Path]:
        """The ONNX files the model came with ({"fp32": onnx/model.onnx, "int8": onnx/model_quantized.onnx}, as
        present); train.py ships the int8 one only when it met the accuracy bar (int8_bar.py)."""
        from . import onnx

        folder = self.files.weights_dir if self.files else None
        found = {"fp32": onnx.FP32_FILE, "int8": onnx.INT8_FILE}
        return {k: folder / name for k, name in found.items() if folder and (folder / name).is_file()}

    def serving(self, runtime: str | None = None, quantize: str = "auto", *, bf16: bool = False) -> "Predictor":
        """The fastest sibling for serving, as the Space and the bulk CLI run it.

        CPU, ONNX Runtime (the default where installed): the model's shipped int8 file when it has one (it met the
        accuracy bar) unless quantize="none"; with quantize="int8" and none shipped, an int8 export of its own
        (faster, but no one checked its accuracy); else fp32, shipped or exported once. torch where the export
        fails. CPU, torch: int8 dynamic quantisation only when asked. GPUs: bf16 when asked and supported (in place:
        the fp32 weights are gone, so the Space, which explains with them, does not ask).
        """
        if quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {QUANTIZE}, not {quantize!r}")
        if self.device.type == "cuda":
            if bf16 and torch.cuda.is_bf16_supported():
                self.model.to(torch.bfloat16)
                self.runtime = "torch, bf16"
            return self
        if (runtime or default_runtime()) != "onnx":
            return self.quantized() if quantize == "int8" else self
        shipped = self.shipped_onnx()
        precision = "int8" if quantize == "int8" or (quantize == "auto" and "int8" in shipped) else "fp32"
        try:
            return self.on_onnxruntime(shipped.get(precision), precision)
        except Exception:  # noqa: BLE001 - an architecture the exporter cannot handle stays on torch
            log.exception("ONNX Runtime cannot run %s; serving it with torch", self.source)
            return self.quantized() if quantize == "int8" else self

    @property
    def labels(self) -> list[str]:
        """Real class names; models published with generic LABEL_0.. names get the sentiment defaults."""
        config = self.model.config
        names = [str(config.id2label[i]) for i in range(config.num_labels)]
        if all(re.fullmatch(r"LABEL_\d+", n) for n in names) and config.num_labels in DEFAULT_LABEL_NAMES:
            return list(DEFAULT_LABEL_NAMES[config.num_labels])
        return names

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return encode(self.tokenizer, texts, max_length=self.settings.max_length,
                      truncation=self.settings.truncation)

    def logits(self, texts: Sequence[str], *, progress: bool = False, workers: int = 1) -> np.ndarray:
        """Raw logits, one row per text, in input order.

        long_text="chunks" reads every token: each window is scored and the window logits are averaged, plainly
        (chunk_aggregation="mean") or weighted by each window's length ("weighted").
        """
        if self.settings.long_text != "chunks":
            return self.forward(self.encode(list(texts)), progress=progress, workers=workers)
        windows = encode_windows(self.tokenizer, list(texts), max_length=self.settings.max_length,
                                 stride=self.settings.chunk_stride)
        flat = [w for ws in windows for w in ws]
        scores = self.forward(flat, progress=progress, workers=workers)
        out, start = np.zeros((len(windows), scores.shape[1]), dtype=np.float32), 0
        for i, ws in enumerate(windows):
            weights = np.array([len(w) for w in ws], dtype=np.float32)
            if self.settings.chunk_aggregation == "mean":
                weights[:] = 1.0
            out[i] = weights @ scores[start:start + len(ws)] / weights.sum()
            start += len(ws)
        return out

    def token_count(self, text: str) -> int:
        """Content tokens of a review before any truncation (what the app compares with the window)."""
        return len(self.tokenizer(clean_text(text), add_special_tokens=False, verbose=False)["input_ids"])

    def forward(self, ids: list[list[int]], *, progress: bool = False, workers: int = 1) -> np.ndarray:
        """Logits for already-encoded inputs, in batches sorted by length (small padding), in input order.

        With `workers` > 1 that many batches run at once on threads: for runtimes that release the GIL (ONNX
        Runtime) with fewer threads per call, which keeps every core busy where one small call could not."""
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(ids), self.model.config.num_labels), dtype=np.float32)
        groups = [order[s:s + self.batch_size] for s in range(0, len(ids), self.batch_size)]
        # Padded here, in the calling thread: a tokenizer is not safe to share across threads.
        batches = (pad(self.tokenizer, [{"input_ids": ids[i]} for i in rows], self.device.type,
                       self.settings.max_length) for rows in groups)

        def run(batch) -> np.ndarray:
            with torch.inference_mode():  # thread-local, so entered in whichever thread runs the batch
                return self.run_batch(batch)

        with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
            results = pool.map(run, batches) if pool else map(run, batches)
            for rows, logits in zip(groups, tqdm(results, total=len(groups), desc="predicting",
                                                 disable=not progress, unit="batch")):
                out[rows] = logits
        return out

    def run_batch(self, batch: dict) -> np.ndarray:
        """One padded batch through the batch runner, else through the torch model."""
        if self.batch_runner is not None:
            return self.batch_runner(batch)
        return self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits.float().cpu().numpy()

    def predict_proba(self, texts: Sequence[str], *, progress: bool = False, workers: int = 1) -> np.ndarray:
        """Calibrated probabilities: softmax(logits / temperature)."""
        return softmax(self.logits(texts, progress=progress, workers=workers), self.settings.temperature)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{label: probability} per text, every class included."""
        return [dict(zip(self.labels, map(float, row))) for row in self.predict_proba(texts)]
