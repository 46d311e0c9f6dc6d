"""The one inference path, shared by the Space, evaluation, training's test scoring and batch prediction."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.text import clean_text, encode, encode_windows
from ..defaults import DEFAULT_LABEL_NAMES, QUANTIZE
from . import runtimes
from .calibration import softmax
from .call_plan import calls
from .cpu import cpu_info
from .model_files import ModelFiles
from .modeling import load_model
from .padding import pad, pad_multiple
from .settings import InferenceSettings, read_settings

log = logging.getLogger(__name__)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


AUTO = "auto"
RUNTIME_CHOICES = (AUTO, *runtimes.RUNTIMES)  # RUNTIME, --runtime: auto times every runtime allowed, once, at start
PROBE_TOKENS = 320  # the runtime choice is timed on one review of this many tokens (a ~230-word IMDb review)
CHOICE_MARGIN = 0.10


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
        self.choice: dict = {}  # how serving() chose this runtime (candidates timed, CPU), for /healthz

    @classmethod
    def load(cls, spec: str, *, device: torch.device | str | None = None, revision: str | None = None,
             **kwargs) -> "Predictor":
        """From a Hub id (at `revision`, else resolved as model_files explains) or local directory: a full model,
        or a LoRA adapter (merged at load). Torch fp32; `serving()` gives the fastest sibling for serving."""
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

    def shipped_files(self) -> dict[str, dict[str, Path]]:
        """{runtime: {precision: path}} of the files that came with the model (each runtime's `files` in its folder:
        onnx/model.onnx, openvino/openvino_model.xml, their int8 files), or that publishing checked for it
        (checked_onnx.py). An int8 file is there only when it met the accuracy bar (int8_bar.py)."""
        from .checked_onnx import checked_files

        folder = self.files.weights_dir if self.files else None
        checked = checked_files(self.files)
        found: dict[str, dict[str, Path]] = {}
        for name, entry in runtimes.RUNTIMES.items():
            for precision, rel in entry.files.items():
                path = checked.get(rel) or (folder / rel if folder else None)  # checked holds int8 files only
                if path is not None and path.is_file():
                    found.setdefault(name, {})[precision] = path
        return found

    def candidates(self, runtime: str | None, quantize: str) -> list[tuple[str, str, Path | None]]:
        """(runtime, precision, file) options allowed for serving on CPU, in order of preference: every checked int8
        file (shipped, or checked at publishing) and, on CPUs with AMX, OpenVINO's fp32 file in bf16 where train.py
        checked that against the bar, then fp32 on each runtime, then torch. int8 only from a file that
        met the accuracy bar, unless quantize="int8" asks for it unchecked (ONNX Runtime's own export, torch's dynamic
        int8; OpenVINO's int8 needs calibration, so only a checked file); none of it with quantize="none". fp32 is
        offered where its file is here, or where no int8 option is: a model is never exported only to be timed
        against a checked int8 file. OpenVINO reads the ONNX file ONNX Runtime would (shipped or exported) where its
        own fp32 file did not ship."""
        from .checked_onnx import check_of
        from .cpu import native_bf16

        names = runtimes.available() if runtime in (None, AUTO) else [runtime]
        shipped = self.shipped_files()
        config_dir = self.files.config_dir if self.files else None
        reduced: list[tuple[str, str, Path | None]] = []  # int8, and bf16 on AMX
        fp32: list[tuple[str, str, Path | None]] = []
        for name in names:
            if name == "torch":
                continue
            files = shipped.get(name, {})
            if quantize != "none" and "int8" in files:
                reduced.append((name, "int8", files["int8"]))
            elif quantize == "int8" and name == "onnx":
                reduced.append((name, "int8", None))  # an export of its own: faster, accuracy unchecked
            fp32_file = files.get("fp32") or shipped.get("onnx", {}).get("fp32")
            # bf16 on AMX, where train.py checked it against the bar on such a CPU (int8_bar.check_bf16).
            if quantize == "auto" and name == "openvino" and fp32_file and native_bf16() and \
                    (check_of(fp32_file, config_dir, "bf16") or {}).get("passed"):
                reduced.append((name, "bf16", fp32_file))
            fp32.append((name, "fp32", fp32_file))
        fp32 = [] if quantize == "int8" else [option for option in fp32 if option[2] is not None or not reduced]
        options = reduced + fp32
        if "torch" in names:
            options.append(("torch", "int8" if quantize == "int8" else "fp32", None))
        return options

    def serving(self, runtime: str | None = None, quantize: str = "auto", *, bf16: bool = False,
                timed: bool = True) -> "Predictor":
        """The fastest allowed sibling for serving, as the Space and the bulk CLI run it.

        CPU: every allowed option (`candidates`) is built and timed on one typical review, and the fastest serves
        (the first in order of preference unless another beats it by CHOICE_MARGIN): the choice is this CPU's, not a
        rule from another machine (benchmarks/README.md). `runtime` narrows the options to one runtime ("auto" or
        None: all installed). timed=False takes the first allowed option without timing, for runs whose output must
        not depend on a timing (the bulk CLI: every rank, and a resumed run, compute with the same file). An option
        that fails to build or run (an architecture the exporter cannot handle, a runtime that cannot compile it on
        this CPU) drops out in one logged line, and `choice["failed"]` says why. GPUs: torch, bf16 when asked and
        supported (in place: the fp32 weights are gone, so the Space, which explains with them, does not ask).
        """
        if quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {QUANTIZE}, not {quantize!r}")
        if self.device.type == "cuda":
            if bf16 and torch.cuda.is_bf16_supported():
                self.model.to(torch.bfloat16)
                self.runtime = runtimes.build("torch", self.model, self.tokenizer)
            return self
        built, failed, timings = [], {}, {}
        for name, precision, path in self.candidates(runtime, quantize):
            try:
                option = self.on(name, precision, path)
                if timed:  # also its first call: a runtime that compiles but cannot run this model drops out here
                    # Rounded before the choice, so /healthz shows exactly the numbers that decided it.
                    timings[option.runtime.description] = round(
                        option.probe_ms(beat_ms=min(timings.values(), default=None)), 4)
                built.append(option)
            except Exception as exc:  # noqa: BLE001 - that option drops out; the others still serve
                # One line, no traceback: a runtime that cannot compile this model on this CPU is a fact to report,
                # not a crash (the reason is kept for /healthz).
                reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
                failed[f"{name}, {precision}" + (f" ({path.parent.name}/{path.name})" if path else "")] = reason
                log.warning("%s cannot run %s at %s (%s); the other runtimes serve", name, self.source, precision,
                            reason)
            if built and not timed:
                break
        if not built:
            return self
        # The options come in order of preference (checked int8 files, fp32 files, torch): a later one serves only
        # when it is faster by more than CHOICE_MARGIN, so timing noise cannot flip the choice between starts.
        chosen = built[0]
        for option in built[1:]:
            if timings[option.runtime.description] < timings[chosen.runtime.description] / (1 + CHOICE_MARGIN):
                chosen = option
        chosen.choice = {"chosen": chosen.runtime.description, "runtime": chosen.runtime.name,
                         "precision": chosen.runtime.precision, "probe_tokens": PROBE_TOKENS,
                         "file": str(chosen.runtime.file) if chosen.runtime.file else None,
                         "probe_ms": timings,
                         "rule": f"the first allowed option, unless another is faster by more than {CHOICE_MARGIN:.0%}"
                                 if len(timings) > 1 else "the only allowed option" if timed else
                                 "the first allowed option (not timed)",
                         "cpu": cpu_info(), **({"failed": failed} if failed else {})}
        log.info("serving %s on %s %s", self.source, chosen.runtime.description, chosen.choice["probe_ms"])
        return chosen

    @functools.cached_property
    def int8_check(self) -> dict | None:
        """The accuracy bar's figures for the int8 file this Predictor serves, or for the fp32 file it runs in bf16
        (None when it serves neither); read once, since /healthz and the About tab ask for them on every visit."""
        from .checked_onnx import check_of

        if self.runtime.precision not in ("int8", "bf16") or self.runtime.file is None:
            return None
        return check_of(self.runtime.file, self.files.config_dir if self.files else None, self.runtime.precision)

    def probe_ms(self, min_calls: int = 3, min_seconds: float = 0.25, max_calls: int = 50,
                 beat_ms: float | None = None) -> float:
        """Median ms of one call on a typical review (random ids, this model's window), after a warm-up call: at
        least `min_calls` calls and `min_seconds`, so a fast model is timed over many calls. With `beat_ms` (the
        fastest option timed so far), timing stops as soon as even this option's fastest call took over twice that:
        it cannot be chosen (CHOICE_MARGIN is far smaller), and a start need not spend a second proving it."""
        length = min(PROBE_TOKENS, self.settings.max_length)
        vocab = self.tokenizer.vocab_size
        ids = np.random.default_rng(0).integers(vocab // 2, vocab, length).tolist()  # no special tokens: low ids
        batch = pad(self.tokenizer, [{"input_ids": ids}], self.device.type, self.settings.max_length)
        times: list[float] = []
        with torch.inference_mode():
            self.run_batch(batch)
            while len(times) < max_calls and (len(times) < min_calls or sum(times) < min_seconds):
                start = time.perf_counter()
                self.run_batch(batch)
                times.append(time.perf_counter() - start)
                if beat_ms is not None and 1000 * min(times) > 2 * beat_ms:
                    break
        return 1000 * float(np.median(times))

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
        """Logits for already-encoded inputs, in calls of similar lengths (call_plan.py), in input order.

        With `workers` > 1 that many batches run at once on threads: for runtimes that release the GIL (ONNX
        Runtime) with fewer threads per call, which keeps every core busy where one small call could not."""
        out = np.zeros((len(ids), self.model.config.num_labels), dtype=np.float32)
        groups = calls([len(x) for x in ids], self.runtime.shared_length, self.batch_size,
                       pad_multiple(self.device.type), self.settings.max_length)
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
        """One padded call through the runtime."""
        return self.runtime.run(batch)

    def predict_proba(self, texts: Sequence[str], *, progress: bool = False, workers: int = 1) -> np.ndarray:
        """Calibrated probabilities: softmax(logits / temperature)."""
        return softmax(self.logits(texts, progress=progress, workers=workers), self.settings.temperature)

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """{label: probability} per text, every class included."""
        return [dict(zip(self.labels, map(float, row))) for row in self.predict_proba(texts)]
