"""OpenVINO files for a model: fp32 read from its ONNX export, and static int8 calibrated on training reviews.

A model repo gets the layout sentence-transformers' OpenVINO backend already loads from the Hub:

    openvino/openvino_model.xml (+ .bin)                  fp32, the ONNX export read by OpenVINO and saved unchanged
    openvino/openvino_model_qint8_quantized.xml (+ .bin)  static int8 by NNCF, written only when it meets the bar

Why static int8 (measured on an Intel Xeon under KVM, issue 22; figures in benchmarks/README.md): ONNX Runtime's
dynamic int8 quantises every activation with a scale computed per call, which costs time at every call and makes a
review's answer depend on the reviews that share its call. NNCF's post-training quantisation
(`ModelType.TRANSFORMER`: SmoothQuant, then per-tensor activation ranges fixed from calibration reviews, weights per
channel) fixes the scales once, from reviews of the *training* split, so the bar (int8_bar.py) scores it on test
reviews it never saw. On a fine-tuned MiniLM-L6 it agreed with fp32 on 99.6% where the dynamic schemes missed the bar,
at 1.7x the fastest fp32; on this project's fine-tuned MiniLM-L6, 99.16% on 5,000 test reviews at 2.5x (README
"Performance"). Fixed scales also mean a neighbour in a shared call cannot rescale a review (its answer moves by at
most 2e-3, measured), so this int8 file shares calls by the same measured rule as fp32 (runtimes/ov.py).

Every file is read with OpenVINO's ONNX reader and saved with `openvino.save_model`, never `openvino.convert_model`,
whose converter sends usage telemetry by default; and weights stay fp32 (save_model would halve them to fp16,
changing answers). NNCF also sends telemetry unless told not to: `NNCF_CI` is the switch it reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FOLDER = "openvino"
FP32_FILE = f"{FOLDER}/openvino_model.xml"
INT8_FILE = f"{FOLDER}/openvino_model_qint8_quantized.xml"
CALIBRATION_SAMPLES = 300  # sentence-transformers' default for static OpenVINO int8, and what issue 22 measured
VALIDATION_SAMPLES = 500  # labelled reviews accuracy control reads the bar on (one flip is 0.2 points)
NNCF_MISSING = "OpenVINO int8 needs NNCF: pip install nncf (or -r requirements-train.txt); only fp32 is written"


def available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _nncf():
    """NNCF, imported with its telemetry off: it decides at import whether to send usage statistics (module doc)."""
    os.environ.setdefault("NNCF_CI", "1")
    import nncf

    return nncf


def nncf_available() -> bool:
    try:
        _nncf()
    except ImportError:
        return False
    return True


def weights_of(xml: Path) -> Path:
    return Path(xml).with_suffix(".bin")


def files_of(path: str) -> list[str]:
    """The files one OpenVINO model is made of (the graph and its weights), relative like `path`."""
    return [path, path.removesuffix(".xml") + ".bin"]


def _save(model, xml: Path) -> Path:
    """Both files staged in the target folder and renamed, weights first: a reader that finds the .xml finds whole
    weights beside it (a parallel start never reads a half-written model)."""
    import openvino as ov

    xml = Path(xml)
    xml.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=xml.parent) as tmp:
        staged = Path(tmp) / xml.name
        ov.save_model(model, str(staged), compress_to_fp16=False)
        weights_of(staged).replace(weights_of(xml))
        staged.replace(xml)
    return xml


def read(path: Path):
    """An OpenVINO model from an .xml file or an ONNX file (OpenVINO reads ONNX natively)."""
    import openvino as ov

    return ov.Core().read_model(str(path))


def convert(onnx_path: Path, xml: Path) -> Path:
    """openvino/openvino_model.xml from the fp32 ONNX file: the same graph, fp32 weights."""
    return _save(read(onnx_path), xml)


def fingerprint(text: str) -> str:
    """A short digest of a review: the check records which reviews calibrated a file, so anyone (and the tests) can
    see that none of the reviews the bar scored were among them."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _inputs(ids: list[int]) -> dict:
    return {"input_ids": np.asarray([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}


@contextlib.contextmanager
def _quiet():
    """NNCF's notes on unused parameters and its per-step log lines are not for users (its progress bars stay)."""
    nncf_log = logging.getLogger("nncf")
    was = nncf_log.level
    nncf_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        nncf_log.setLevel(was)


def quantize(fp32: Path, xml: Path, predictor, texts: list[str]) -> dict:
    """Static int8 of the fp32 model at `fp32` (.xml or .onnx) into `xml`, calibrated on `texts` encoded exactly as
    `predictor` encodes reviews (one review per sample). Returns what the check records about the calibration."""
    nncf = _nncf()
    samples = [_inputs(ids) for ids in predictor.encode(texts)]
    with _quiet():
        quantized = nncf.quantize(read(fp32), nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(samples))
    _save(quantized, xml)
    return {"method": f"NNCF {nncf.__version__} post-training static int8, ModelType.TRANSFORMER",
            "reviews": len(texts), "fingerprints": [fingerprint(t) for t in texts]}


# What an int8 operation reads through on its way from a quantizer: NNCF puts a FakeQuantize on each activation an
# operation reads (attention's products read theirs through a Transpose or Reshape) and stores its weights as int8
# constants dequantised by Convert, Subtract and Multiply. An operation reverted to fp32 reads neither.
_DEQUANTISING = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Convert", "Subtract", "Multiply"}
_LOW_PRECISION = {"i8", "u8", "i4", "u4"}


def _reads_int8(node, depth: int = 5) -> bool:
    kind = node.get_type_name()
    if kind == "FakeQuantize":
        return True
    if kind == "Constant":
        return node.get_element_type().get_type_name() in _LOW_PRECISION
    return kind in _DEQUANTISING and depth > 0 and \
        any(_reads_int8(i.get_source_output().get_node(), depth - 1) for i in node.inputs())


def int8_operations(model) -> set[str]:
    """The matrix products of an OpenVINO model (a path or a model) that compute in int8, by name."""
    model = read(model) if isinstance(model, (str, Path)) else model
    return {op.get_friendly_name() for op in model.get_ordered_ops() if op.get_type_name() in ("MatMul", "Convolution")
            and any(_reads_int8(i.get_source_output().get_node()) for i in op.inputs())}


RANKING_REVIEWS = 100  # reviews each group of quantizers is ranked on (NNCF's default 300 triples the time)


def quantize_with_accuracy_control(fp32: Path, xml: Path, predictor, calibration: list[str], validation: list[str],
                                   score, max_drop: float) -> dict:
    """Static int8 as `quantize`, then NNCF's accuracy control (`quantize_with_accuracy_control`, its documented way
    to keep the operations that cost accuracy in fp32): the groups of quantizers that move `validation`'s answers
    most go back to fp32 one at a time until `score` is within `max_drop` of the fp32 model's own.

    `score(rows, reference, probs)` reads the answers (`probs`) of the model being tried on the validation reviews
    at `rows` against the fp32 file's (`reference`): the caller's bar as one number. The reviews NNCF ranks on are
    those whose probability for the fp32 answer fell most. `xml` may hold the plain static int8 file tried first:
    the operations int8 there and fp32 here are the ones recorded as kept in fp32. Returns what the check records:
    the calibration, the validation reviews, the operations left in int8 and those kept in fp32."""
    import time

    import openvino as ov

    from .temperature import softmax

    nncf = _nncf()
    started = time.perf_counter()
    rows = [_inputs(ids) | {"row": i} for i, ids in enumerate(predictor.encode(validation))]
    temperature = predictor.settings.temperature

    def answers(compiled, items) -> np.ndarray:
        return softmax(np.concatenate([compiled(_inputs_of(item))[0] for item in items]), temperature)

    reference = answers(ov.Core().compile_model(read(fp32), "CPU"), rows)
    fp32_answer = reference.argmax(axis=1)

    def validate(compiled, items):
        items = list(items)
        at = np.array([item["row"] for item in items])
        probs = answers(compiled, items)
        return float(score(at, reference[at], probs)), probs[np.arange(len(at)), fp32_answer[at]].tolist()

    with _quiet():
        quantized = nncf.quantize_with_accuracy_control(
            read(fp32), nncf.Dataset([_inputs(ids) for ids in predictor.encode(calibration)]),
            nncf.Dataset(rows, _inputs_of), validate, max_drop=max_drop, model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(calibration), advanced_accuracy_restorer_parameters=nncf.AdvancedAccuracyRestorerParameters(
                ranking_subset_size=min(RANKING_REVIEWS, len(rows)), num_ranking_workers=1))
    plain = int8_operations(xml) if Path(xml).exists() else None
    kept = int8_operations(quantized)
    _save(quantized, xml)
    return {"method": f"NNCF {nncf.__version__} quantize_with_accuracy_control, ModelType.TRANSFORMER",
            "reviews": len(calibration), "fingerprints": [fingerprint(t) for t in calibration],
            "validation_reviews": len(validation), "int8_operations": len(kept),
            "kept_fp32": sorted(plain - kept) if plain is not None else None,
            "seconds": round(time.perf_counter() - started, 1)}


def _inputs_of(item: dict) -> dict:
    return {"input_ids": item["input_ids"], "attention_mask": item["attention_mask"]}
