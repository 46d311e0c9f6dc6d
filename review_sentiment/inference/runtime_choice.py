"""Which runtime serves a model on this machine: every allowed option built and timed once at start, the fastest kept.

The Space and the bulk CLI call `choose(predictor)`; the Predictor itself only scores reviews on whatever runtime it
was given. The options (`candidates`) are the files that came with the model or that publishing checked for it
(`shipped_files`), in order of preference: checked int8 files, OpenVINO's fp32 file in bf16 where the CPU computes
bf16 (AMX, AVX-512 BF16) and train.py or publishing checked it, fp32 on each runtime, torch. The choice is this CPU's,
not a rule from another machine (benchmarks/README.md), and `predictor.choice` says how it was made (/healthz).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from ..cpu import cpu_info, native_bf16
from ..defaults import QUANTIZE
from ..export.checked_onnx import check_of, checked_files
from . import runtimes
from .padding import pad
from .predictor import Predictor

log = logging.getLogger(__name__)

AUTO = "auto"
RUNTIME_CHOICES = (AUTO, *runtimes.RUNTIMES)  # RUNTIME, --runtime: auto times every runtime allowed, once, at start
# The runtime choice is timed on reviews of these lengths in turn (IMDb's test reviews: a quarter under ~130 tokens,
# median ~230, 13% past 512), each call a length not timed before, as a visitor's next review is: a runtime that
# pays for each new length (a compile per shape) pays it in the probe as it would in service, where one length
# repeated would hide it after the first call.
PROBE_LENGTHS = (64, 192, 320, 512)
CHOICE_MARGIN = 0.10


def shipped_files(predictor: Predictor) -> dict[str, dict[str, Path]]:
    """{runtime: {precision: path}} of the files that came with the model (each runtime's `files` in its folder:
    onnx/model.onnx, openvino/openvino_model.xml, their int8 files), or that publishing checked for it
    (export/checked.py). An int8 file is there only when it met the accuracy bar (export/int8_bar.py)."""
    folder = predictor.files.weights_dir if predictor.files else None
    checked = checked_files(predictor.files)
    found: dict[str, dict[str, Path]] = {}
    for name, entry in runtimes.RUNTIMES.items():
        for precision, rel in entry.files.items():
            path = checked.get(rel) or (folder / rel if folder else None)  # checked holds int8 files only
            if path is not None and path.is_file():
                found.setdefault(name, {})[precision] = path
    return found


def candidates(predictor: Predictor, runtime: str | None, quantize: str) -> list[tuple[str, str, Path | None]]:
    """(runtime, precision, file) options allowed for serving on CPU, in order of preference: every checked int8
    file (shipped, or checked at publishing) and, on CPUs that compute bf16, OpenVINO's fp32 file (or the export) in
    bf16 where train.py or publishing checked that against the bar, then fp32 on each runtime, then torch. int8 only
    from a file that met the accuracy bar, unless quantize="int8" asks for it unchecked (ONNX Runtime's own export,
    torch's dynamic int8; OpenVINO's int8 needs calibration, so only a checked file); none of it with
    quantize="none". fp32 is offered where its file is here, or where no int8 option is: a model is never exported
    only to be timed against a checked int8 file. OpenVINO reads the ONNX file ONNX Runtime would (shipped or
    exported) where its own fp32 file did not ship."""
    names = runtimes.available() if runtime in (None, AUTO) else [runtime]
    shipped = shipped_files(predictor)
    config_dir = predictor.files.config_dir if predictor.files else None
    reduced: list[tuple[str, str, Path | None]] = []  # int8
    bf16: list[tuple[str, str, Path | None]] = []  # where the CPU computes it
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
        # bf16 where this CPU computes it (AMX, AVX-512 BF16) and train.py or publishing checked it against the bar
        # on such a CPU (int8_bar.check_bf16); timed like every option, so it serves only where it is faster here. A
        # model that ships no fp32 file (a Hub model checked at publishing) runs the export made at the first start.
        if quantize == "auto" and name == "openvino" and native_bf16() and \
                (check_of(fp32_file, config_dir, "bf16", predictor.files) or {}).get("passed"):
            bf16.append((name, "bf16", fp32_file))
        fp32.append((name, "fp32", fp32_file))
    # An export is made only where no checked int8 file is here: never only to be timed against one.
    bf16 = [option for option in bf16 if option[2] is not None or not reduced]
    from_files = reduced + [option for option in bf16 if option[2] is not None]
    fp32 = [] if quantize == "int8" else [option for option in fp32 if option[2] is not None or not from_files]
    options = reduced + bf16 + fp32
    if "torch" in names:
        options.append(("torch", "int8" if quantize == "int8" else "fp32", None))
    return options


def choose(predictor: Predictor, runtime: str | None = None, quantize: str = "auto", *, bf16: bool = False,
            timed: bool = True) -> Predictor:
    """The fastest allowed sibling of `predictor` for serving, as the Space and the bulk CLI run it.

    CPU: every allowed option (`candidates`) is built and timed on reviews of typical lengths (`probe_ms`), and the
    fastest serves
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
    if predictor.device.type == "cuda":
        if bf16 and torch.cuda.is_bf16_supported():
            predictor.model.to(torch.bfloat16)
            predictor.runtime = runtimes.build("torch", predictor.model, predictor.tokenizer)
        return predictor
    built, failed, timings = [], {}, {}
    for name, precision, path in candidates(predictor, runtime, quantize):
        try:
            option = predictor.on(name, precision, path)
            if timed:  # also its first call: a runtime that compiles but cannot run this model drops out here
                # Rounded before the choice, so /healthz shows exactly the numbers that decided it.
                timings[option.runtime.description] = round(
                    probe_ms(option, beat_ms=min(timings.values(), default=None)), 4)
            built.append(option)
        except Exception as exc:  # noqa: BLE001 - that option drops out; the others still serve
            # One line, no traceback: a runtime that cannot compile this model on this CPU is a fact to report,
            # not a crash (the reason is kept for /healthz).
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            failed[f"{name}, {precision}" + (f" ({path.parent.name}/{path.name})" if path else "")] = reason
            log.warning("%s cannot run %s at %s (%s); the other runtimes serve", name, predictor.source, precision,
                        reason)
        if built and not timed:
            break
    if not built:
        return predictor
    # The options come in order of preference (checked int8 files, fp32 files, torch): a later one serves only
    # when it is faster by more than CHOICE_MARGIN, so timing noise cannot flip the choice between starts.
    chosen = built[0]
    for option in built[1:]:
        if timings[option.runtime.description] < timings[chosen.runtime.description] / (1 + CHOICE_MARGIN):
            chosen = option
    chosen.choice = {"chosen": chosen.runtime.description, "runtime": chosen.runtime.name,
                     "precision": chosen.runtime.precision, "probe_tokens": probe_lengths(chosen),
                     "file": str(chosen.runtime.file) if chosen.runtime.file else None,
                     "probe_ms": timings,
                     "rule": f"the first allowed option, unless another is faster by more than {CHOICE_MARGIN:.0%}"
                             if len(timings) > 1 else "the only allowed option" if timed else
                             "the first allowed option (not timed)",
                     "cpu": cpu_info(), **({"failed": failed} if failed else {})}
    log.info("serving %s on %s %s", predictor.source, chosen.runtime.description, chosen.choice["probe_ms"])
    return chosen


def probe_lengths(predictor: Predictor) -> list[int]:
    """PROBE_LENGTHS within this model's window."""
    return sorted({max(8, min(length, predictor.settings.max_length)) for length in PROBE_LENGTHS})


def probe_ms(predictor: Predictor, min_rounds: int = 1, min_seconds: float = 0.25, max_rounds: int = 12,
             beat_ms: float | None = None) -> float:
    """ms per call on typical reviews (random ids), the median over rounds of each round's mean: a round calls each of
    probe_lengths once, every call of every round at a length no earlier call had (round r shortens each by r
    tokens), as visitors' reviews come. Before the rounds, one call builds what a first call builds; a runtime that
    pads calls to a multiple of tokens (OpenVINO's shapes, `pad_multiple`) first runs each probe length once, since
    in service its few padded shapes are built once and then reused, while a runtime that keeps each review's own
    length pays whatever a new length costs in every round, as it would for every visitor. At least `min_rounds`
    rounds and `min_seconds`, so a fast model is timed over many calls. With `beat_ms` (the fastest option timed so
    far), timing stops as soon as a round of this option took over twice that a call: it cannot be chosen
    (CHOICE_MARGIN is far smaller), and a start need not spend a second proving it."""
    lengths = probe_lengths(predictor)
    vocab = predictor.tokenizer.vocab_size
    rng = np.random.default_rng(0)

    def call(length: int) -> float:
        ids = rng.integers(vocab // 2, vocab, length).tolist()  # no special tokens: low ids
        batch = pad(predictor.tokenizer, [{"input_ids": ids}], predictor.device.type, predictor.settings.max_length,
                    predictor.runtime.pad_multiple)
        start = time.perf_counter()
        predictor.run_batch(batch)
        return time.perf_counter() - start

    rounds: list[float] = []
    with torch.inference_mode():
        for length in lengths if predictor.runtime.pad_multiple > 1 else [max(1, lengths[0] // 2)]:
            call(length)
        while len(rounds) < max_rounds and (len(rounds) < min_rounds or sum(rounds) * len(lengths) < min_seconds):
            shorter = len(rounds) + 1
            rounds.append(float(np.mean([call(max(1, length - shorter)) for length in lengths])))
            if beat_ms is not None and 1000 * min(rounds) > 2 * beat_ms:
                break
    return 1000 * float(np.median(rounds))
