"""The one inference path, shared by the Space, evaluation, training's test scoring and batch prediction."""

from __future__ import annotations

import logging
import re
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .calibration import softmax
from .data import DEFAULT_LABEL_NAMES
from .model_files import ModelFiles
from .modeling import inference_settings, load_model
from .text import LONG_TEXT, clean_text, encode, encode_windows

log = logging.getLogger(__name__)


def quantize_int8(model):
    """Linear weights to int8, activations quantised on the fly (torch's dynamic quantisation, CPU kernels)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch points eager-mode users at torchao; this API still works
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_runtime() -> str:
    """ONNX Runtime where it is installed: 2.1-2.4x faster per review on CPU with identical predictions
    (benchmarks/serving.py); torch on GPUs and where it is missing."""
    from . import onnx

    return "onnx" if onnx.available() and not torch.cuda.is_available() else "torch"


class Predictor:
    """Class probabilities for raw review texts, preprocessed exactly as the model was trained.

    Truncation strategy, window and temperature come from the model's config.json (written by train.py);
    models trained elsewhere get head truncation at their own window.
    """

    def __init__(self, model, tokenizer, *, batch_size: int = 32, source: str = "", files: ModelFiles | None = None,
                 **overrides):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.source = source  # the folder with config, card and metrics
        self.files = files  # where config and weights came from (Hub commit, conversion PR, local directory)
        settings = {**inference_settings(model), "chunk_stride": None, "chunk_aggregation": "mean"}
        settings["long_text"] = settings["truncation"]
        self.settings = {**settings, **{k: v for k, v in overrides.items() if v is not None}}
        if self.settings["long_text"] not in LONG_TEXT:
            raise ValueError(f"long_text must be one of {LONG_TEXT}, not {self.settings['long_text']!r}")
        if self.settings["long_text"] != "chunks":
            self.settings["truncation"] = self.settings["long_text"]
        self.device = next(model.parameters()).device

    @classmethod
    def load(cls, spec: str, *, device: torch.device | str | None = None, quantize: str = "none",
             revision: str | None = None, **kwargs) -> "Predictor":
        """From a Hub id (at `revision`, else resolved as model_files explains) or local directory: a full model,
        or a LoRA adapter (merged at load).

        quantize="int8": dynamic int8 quantisation of the Linear layers, CPU only (~2x faster; see benchmarks/).
        """
        if quantize not in ("none", "int8"):
            raise ValueError(f"quantize must be 'none' or 'int8', not {quantize!r}")
        model, tokenizer, files = load_model(spec, device=device or default_device(), revision=revision)
        predictor = cls(model, tokenizer, source=str(files.config_dir), files=files, **kwargs)
        return predictor.quantized() if quantize == "int8" else predictor

    def on_onnxruntime(self) -> "Predictor":
        """A sibling that runs its batches on ONNX Runtime (CPU; on a GPU, self). It shares these torch weights,
        which explanations keep using."""
        if self.device.type != "cpu":
            return self
        from .onnx import runner

        sibling = Predictor(self.model, self.tokenizer, batch_size=self.batch_size, source=self.source,
                              files=self.files)
        sibling.settings = dict(self.settings)
        sibling.run_batch = runner(self.model, self.tokenizer, self.settings["max_length"])
        return sibling

    def quantized(self) -> "Predictor":
        """An int8 copy with the same settings (CPU only; on a GPU, self). Gradients do not flow through it, so
        explanations keep using the fp32 original."""
        if self.device.type != "cpu":
            return self
        copy = Predictor(quantize_int8(self.model), self.tokenizer, batch_size=self.batch_size, source=self.source,
                         files=self.files)
        copy.settings = dict(self.settings)
        return copy

    def serving(self, runtime: str | None = None, quantize: str = "none", *, bf16: bool = False) -> "Predictor":
        """The fastest sibling for serving, as the Space and the bulk CLI run it: int8 when asked, else ONNX Runtime
        on CPU (torch where the export fails); on GPUs, bf16 when asked and supported (in place: the fp32 weights
        are gone, so the Space, which explains with them, does not ask)."""
        if quantize == "int8":
            return self.quantized()
        if self.device.type == "cuda":
            if bf16 and torch.cuda.is_bf16_supported():
                self.model.to(torch.bfloat16)
            return self
        if (runtime or default_runtime()) == "onnx":
            try:
                return self.on_onnxruntime()
            except Exception:  # noqa: BLE001 - an architecture the exporter cannot handle stays on torch
                log.exception("ONNX export of %s failed; serving it with torch", self.source)
        return self

    @property
    def labels(self) -> list[str]:
        """Real class names; models published with generic LABEL_0.. names get the sentiment defaults."""
        config = self.model.config
        names = [str(config.id2label[i]) for i in range(config.num_labels)]
        if all(re.fullmatch(r"LABEL_\d+", n) for n in names) and config.num_labels in DEFAULT_LABEL_NAMES:
            return list(DEFAULT_LABEL_NAMES[config.num_labels])
        return names

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return encode(self.tokenizer, texts, max_length=self.settings["max_length"],
                      truncation=self.settings["truncation"])

    def logits(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Raw logits, one row per text, in input order.

        long_text="chunks" reads every token: each window is scored and the window logits are averaged, plainly
        (chunk_aggregation="mean") or weighted by each window's length ("weighted").
        """
        if self.settings["long_text"] != "chunks":
            return self.forward(self.encode(list(texts)), progress=progress)
        windows = encode_windows(self.tokenizer, list(texts), max_length=self.settings["max_length"],
                                 stride=self.settings["chunk_stride"])
        flat = [w for ws in windows for w in ws]
        scores = self.forward(flat, progress=progress)
        out, start = np.zeros((len(windows), scores.shape[1]), dtype=np.float32), 0
        for i, ws in enumerate(windows):
            weights = np.array([len(w) for w in ws], dtype=np.float32)
            if self.settings["chunk_aggregation"] == "mean":
                weights[:] = 1.0
            out[i] = weights @ scores[start:start + len(ws)] / weights.sum()
            start += len(ws)
        return out

    def token_count(self, text: str) -> int:
        """Content tokens of a review before any truncation (what the app compares with the window)."""
        return len(self.tokenizer(clean_text(text), add_special_tokens=False, verbose=False)["input_ids"])

    @torch.inference_mode()
    def forward(self, ids: list[list[int]], *, progress: bool = False) -> np.ndarray:
        """Logits for already-encoded inputs, in batches sorted by length (small padding), in input order."""
        order = np.argsort([len(x) for x in ids], kind="stable")
        out = np.zeros((len(ids), self.model.config.num_labels), dtype=np.float32)
        starts = range(0, len(ids), self.batch_size)
        for start in tqdm(starts, desc="predicting", disable=not progress, unit="batch"):
            rows = order[start:start + self.batch_size]
            out[rows] = self.run_batch(self.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt"))
        return out

    def run_batch(self, batch: dict) -> np.ndarray:
        """One padded batch through the model (the one step another runtime would replace)."""
        return self.model(**{k: v.to(self.device) for k, v in batch.items()}).logits.float().cpu().numpy()

    def predict_proba(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Calibrated probabilities: softmax(logits / temperature)."""
        return softmax(self.logits(texts, progress=progress), self.settings["temperature"])

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{label: probability} per text, every class included."""
        return [dict(zip(self.labels, map(float, row))) for row in self.predict_proba(texts)]
