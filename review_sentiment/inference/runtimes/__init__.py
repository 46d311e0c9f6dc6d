"""What runs a Predictor's calls: one module per runtime, one table from name to factory.

A factory takes the torch model and tokenizer, a precision ("fp32", "int8") and, for runtimes that read a file, the
file (None: the runtime makes its own, e.g. an ONNX export cached on first use), and returns a `Runtime`: a function
from one padded batch (dict of tensors) to a logits array, the words /healthz and the About tab use for it, and the
token budget of one call (call_plan.py). The Predictor never changes for a new runtime: it is one module here and
one line in RUNTIMES, with the files it reads in a model's folder ({precision: path}; model_files downloads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional

import numpy as np

from . import ort, ov, pytorch


@dataclass(frozen=True)
class Runtime:
    run: Callable[[dict], np.ndarray]
    description: str  # "ONNX Runtime, int8 (onnx/model_quantized.onnx)": what /healthz and the About tab say
    shared_length: Optional[int]  # longest review that shares a call (call_plan.py); 0: none; None: no limit
    name: str = "torch"
    precision: str = "fp32"
    file: Optional[Path] = None  # the file it runs, for runtimes that read one
    pad_multiple: int = 1  # on a CPU, calls are padded to a multiple of this many tokens (padding.py)


Factory = Callable[..., Runtime]


class Entry(NamedTuple):
    build: Factory
    can_run: Callable[[], bool]  # installed and usable on this machine
    files: dict[str, str] = {}  # {precision: path in a model's folder} for runtimes that read files


# In order of preference among options of one precision (Predictor.candidates): the first that can run is the default
# on CPU where nothing is timed (the bulk CLI). OpenVINO first: its static int8 agrees with fp32 more than ONNX
# Runtime's dynamic int8, answers the same in a shared call, and was the faster int8 on both Intel Xeon classes
# measured (benchmarks/README.md); where the Space runs, the start-up timing decides anyway.
RUNTIMES: dict[str, Entry] = {
    "openvino": Entry(ov.build, ov.available, ov.FILES),
    "onnx": Entry(ort.build, ort.available, ort.FILES),
    "torch": Entry(pytorch.build, lambda: True),
}


def available() -> list[str]:
    return [name for name, entry in RUNTIMES.items() if entry.can_run()]


def build(name: str, model, tokenizer, precision: str = "fp32", path: Path | None = None,
          threads: int | None = None) -> Runtime:
    """The runtime `name` for this model, at `precision`, from `path` where it reads a file."""
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    return Runtime(**RUNTIMES[name].build(model, tokenizer, precision=precision, path=path, threads=threads), name=name,
                   precision=precision, file=path)
