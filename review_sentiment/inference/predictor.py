"""The one inference path, shared by the Space, evaluation, training's test scoring and batch prediction."""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.text import clean_text, encode, encode_windows
from ..defaults import DEFAULT_LABEL_NAMES
from ..export.checked_onnx import check_of
from ..export.temperature import softmax
from . import runtimes
from .call_plan import calls
from .model_files import ModelFiles
from .modeling import load_model
from .padding import pad, pad_multiple
from .settings import InferenceSettings, read_settings


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Predictor:
    """Class probabilities for raw review texts, preprocessed exactly as the model was trained.

    Truncation strategy, window and temperature come from the model's config.json (written by train.py);
    models trained elsewhere get head truncation at their own window. `overrides` are InferenceSettings fields
    (long_text, chunk_stride, chunk_aggregation, ...; None keeps the model's own).

    `runtime` runs its calls (runtimes/: torch by default, ONNX Runtime, or any runtime in the table); the Predictor
    itself never changes for a new runtime. Which reviews share a call is call_plan.py's rule.
    """

    def __init__(self, model, tokenizer, *, batch_size: int | None = None, source: str = "",
                 files: ModelFiles | None = None, runtime: runtimes.Runtime | None = None, **overrides):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        # Most reviews in one call: on CPU, 16, the most benchmarks/batching.py measured (and only short ones share).
        self.batch_size = batch_size or (128 if self.device.type == "cuda" else 16)
        self.source = source  # the folder with config, card and metrics
        self.files = files  # where config and weights came from (Hub commit, conversion PR, local directory)
        self.settings: InferenceSettings = read_settings(model.config, **overrides)
        self.runtime = runtime or runtimes.build("torch", model, tokenizer)
        self.choice: dict = {}  # how runtime_choice.choose chose this runtime (candidates timed, CPU), for /healthz

    @classmethod
    def load(cls, spec: str, *, device: torch.device | str | None = None, revision: str | None = None,
             **kwargs) -> "Predictor":
        """From a Hub id (at `revision`, else resolved as model_files explains) or local directory: a full model,
        or a LoRA adapter (merged at load). Torch fp32; runtime_choice.choose gives the fastest sibling for serving."""
        model, tokenizer, files = load_model(spec, device=device or default_device(), revision=revision)
        return cls(model, tokenizer, source=str(files.config_dir), files=files, **kwargs)

    def on(self, runtime: str, precision: str = "fp32", path: Path | str | None = None, *,
           threads: int | None = None) -> "Predictor":
        """A sibling whose calls run on `runtime` (a name in runtimes.RUNTIMES) at `precision`, from the file at
        `path` for runtimes that read one (else their own, e.g. an export cached on first use). It shares these
        torch weights, which explanations keep using. `threads` caps the runtime's threads per call (default:
        every core), for callers that run several calls at once (forward's `workers`)."""
        built = runtimes.build(runtime, self.model, self.tokenizer, precision, Path(path) if path else None,
                               threads)
        sibling = Predictor(self.model, self.tokenizer, batch_size=self.batch_size, source=self.source,
                            files=self.files, runtime=built)
        sibling.settings = self.settings
        return sibling

    def reading(self, **overrides) -> "Predictor":
        """A sibling sharing this one's model and runtime that reads reviews with other settings (InferenceSettings
        fields: long_text, max_length, temperature, clean, ...; evaluation/readings.py scores each way a review is
        read with one)."""
        sibling = copy.copy(self)
        sibling.settings = self.settings.replace(**overrides)
        return sibling

    @functools.cached_property
    def int8_check(self) -> dict | None:
        """The accuracy bar's figures for the int8 file this Predictor serves, or for the fp32 file it runs in bf16
        (None when it serves neither); read once, since /healthz and the About tab ask for them on every visit. bf16
        may run an export made at the first start (a Hub model checked at publishing): its check is the commit's."""
        if self.runtime.precision not in ("int8", "bf16") or (self.runtime.file is None and
                                                               self.runtime.precision == "int8"):
            return None
        return check_of(self.runtime.file, self.files.config_dir if self.files else None, self.runtime.precision,
                        self.files)

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
                      truncation=self.settings.truncation, clean=self.settings.clean)

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
        """Logits for already-encoded inputs, in calls of similar lengths (call_plan.py), in input order.

        With `workers` > 1 that many batches run at once on threads: for runtimes that release the GIL (ONNX
        Runtime) with fewer threads per call, which keeps every core busy where one small call could not."""
        out = np.zeros((len(ids), self.model.config.num_labels), dtype=np.float32)
        multiple = self.runtime.pad_multiple
        groups = calls([len(x) for x in ids], self.runtime.shared_length, self.batch_size,
                       pad_multiple(self.device.type, multiple), self.settings.max_length)
        # Padded here, in the calling thread: a tokenizer is not safe to share across threads.
        batches = (pad(self.tokenizer, [{"input_ids": ids[i]} for i in rows], self.device.type,
                       self.settings.max_length, multiple) for rows in groups)

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
        """One padded call through the runtime."""
        return self.runtime.run(batch)

    def predict_proba(self, texts: Sequence[str], *, progress: bool = False, workers: int = 1) -> np.ndarray:
        """Calibrated probabilities: softmax(logits / temperature)."""
        return softmax(self.logits(texts, progress=progress, workers=workers), self.settings.temperature)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{label: probability} per text, every class included."""
        return [dict(zip(self.labels, map(float, row))) for row in self.predict_proba(texts)]
