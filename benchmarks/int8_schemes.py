"""Which int8 scheme to ship: agreement with fp32, accuracy and speed of each, on one fine-tuned model and this CPU.

Every scheme quantises the same fp32 export (onnx.export) and is scored on the same labelled test reviews with every
core, in calls as the Space makes them (dynamic int8 one review per call; fp32 and static int8 let short reviews
share), on its runtime (ONNX Runtime, or OpenVINO for its files); the int8
bar (int8_bar.py) is applied to each. Static schemes (ONNX Runtime's QDQ with a calibration reader, OpenVINO's NNCF)
calibrate on `--calibration` reviews of the *train* split, never the test reviews they are scored on. The CPU model
and its ISA flags are recorded: int8 kernels differ between AVX2-only, AVX-512 VNNI and AMX CPUs.

    python benchmarks/int8_schemes.py --model runs/minilm --data ../shared/data/imdb --samples 2000
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, save  # noqa: E402


def quantize_dynamic(fp32: Path, out: Path, *, weight: str = "int8", reduce_range: bool = True,
                     keep: str = "edges") -> None:
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize

    from review_sentiment.export import onnx

    excluded = [] if keep == "none" else onnx.sensitive_nodes(fp32, keep)
    root = logging.getLogger()
    was, root.disabled = root.disabled, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ort_quantize(str(fp32), str(out), per_channel=True, reduce_range=reduce_range, nodes_to_exclude=excluded,
                         weight_type=QuantType.QInt8 if weight == "int8" else QuantType.QUInt8,
                         extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1})
    finally:
        root.disabled = was


def shipped(fp32: Path, out: Path, scheme: str) -> None:
    from review_sentiment.export import onnx

    onnx.quantize(fp32, out, scheme)


def quantize_nbits(fp32: Path, out: Path) -> None:
    import onnx as onnx_lib
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(onnx_lib.load(str(fp32)), bits=8, block_size=32, is_symmetric=True,
                                     accuracy_level=4)
    quantizer.process()
    quantizer.model.save_model_to_file(str(out))


class Reviews:
    """ONNX Runtime's CalibrationDataReader protocol (get_next, rewind) over encoded reviews, one per sample."""

    def __init__(self, samples: list[dict]):
        self.samples, self.position = samples, 0

    def get_next(self):
        self.position += 1
        return self.samples[self.position - 1] if self.position <= len(self.samples) else None

    def rewind(self):
        self.position = 0


def quantize_static_ort(fp32: Path, out: Path, predictor, calibration: list[str], *, keep: str = "none",
                        method: str = "MinMax") -> None:
    """ONNX Runtime's static int8 (QDQ): activation ranges from calibration reviews, weights s8 per channel."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from review_sentiment.export import onnx

    samples = [{"input_ids": np.asarray([ids], dtype=np.int64), "attention_mask": np.ones((1, len(ids)), np.int64)}
               for ids in predictor.encode(calibration)]
    excluded = [] if keep == "none" else onnx.sensitive_nodes(fp32, keep)
    extra = {"CalibMovingAverage": False} | ({"CalibPercentile": 99.999} if method == "Percentile" else {})
    root = logging.getLogger()
    was, root.disabled = root.disabled, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_static(str(fp32), str(out), Reviews(samples), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=True,
                            op_types_to_quantize=["MatMul"], nodes_to_exclude=excluded,
                            calibrate_method=getattr(CalibrationMethod, method), extra_options=extra)
    finally:
        root.disabled = was


def openvino_static(fp32: Path, out: Path, predictor, calibration: list[str]) -> None:
    from review_sentiment.export import openvino_ir

    openvino_ir.quantize(fp32, out, predictor, calibration)


# name: (runtime that serves the file, how the file is made from the fp32 ONNX export: (fp32, out, predictor,
# calibration reviews) -> None; None: the export itself, at the precision the runtime name's suffix gives)
SCHEMES = {
    # onnx.SCHEMES, exactly as train.py and publishing quantise:
    "int8 s8 weights, 7-bit, edges fp32 (scheme 1)": ("onnx", lambda a, b, *_: shipped(a, b, "edges")),
    "int8 s8 weights, 7-bit, all layers": ("onnx", lambda a, b, *_: quantize_dynamic(a, b, keep="none")),
    "int8 s8 weights, 8-bit, edges fp32": ("onnx", lambda a, b, *_: quantize_dynamic(a, b, reduce_range=False)),
    "int8 u8 weights, 8-bit, edges fp32": ("onnx", lambda a, b, *_: quantize_dynamic(a, b, weight="uint8",
                                                                                   reduce_range=False)),
    "int8 s8 weights, 7-bit, edges + FFN outputs fp32 (scheme 2)": ("onnx", lambda a, b, *_: shipped(
        a, b, "edges+ffn-out")),
    "MatMulNBits 8-bit, block 32, accuracy_level 4": ("onnx", lambda a, b, *_: quantize_nbits(a, b)),
    # Calibrated on training reviews:
    "static QDQ, MinMax, every MatMul": ("onnx", lambda a, b, p, c: quantize_static_ort(a, b, p, c)),
    "static QDQ, MinMax, edges + FFN outputs fp32": ("onnx", lambda a, b, p, c: quantize_static_ort(
        a, b, p, c, keep="edges+ffn-out")),
    "OpenVINO fp32 (the ONNX export read by OpenVINO)": ("openvino", None),
    "OpenVINO bf16 (the fp32 file, bf16 inference precision)": ("openvino:bf16", None),
    "OpenVINO static int8, NNCF (the shipped file)": ("openvino", openvino_static),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="A fine-tuned model directory.")
    parser.add_argument("--data", required=True, help="A dataset directory with test.* (text, label).")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--calibration", type=int, default=300, help="train reviews the static schemes calibrate on")
    parser.add_argument("--schemes", nargs="*", default=list(SCHEMES), help="Subset of the scheme names.")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "int8_schemes.json"))
    args = parser.parse_args(argv)

    from review_sentiment.cpu import usable_cores
    from review_sentiment.data.splits import labelled_split, stratified_subset
    from review_sentiment.export import onnx
    from review_sentiment.export.int8_bar import compare
    from review_sentiment.inference.predictor import Predictor

    info = cpu_info()
    test, _ = labelled_split(Path(args.data), "test")
    sample = stratified_subset(test, args.samples, seed=42)
    train, _ = labelled_split(Path(args.data), "train")
    calibration = stratified_subset(train, args.calibration, seed=42)["text"].tolist()
    texts, labels = sample["text"].tolist(), sample["label"].to_numpy()
    base = Predictor.load(args.model, device="cpu")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = onnx.export(base.model, base.tokenizer, Path(tmp) / "model.onnx")

        def score(path: Path, precision: str, runtime: str = "onnx") -> tuple[np.ndarray, float]:
            served = base.on(runtime, precision, path)
            served.predict_proba(texts[:8])  # warm-up
            start = time.perf_counter()
            probs = served.predict_proba(texts, progress=True)
            return probs, 1000 * (time.perf_counter() - start) / len(texts)

        fp32, fp32_ms = score(fp32_path, "fp32")
        rows.append({"scheme": "fp32", "accuracy": float((fp32.argmax(1) == labels).mean()), "agreement": 1.0,
                     "ms_per_review": round(fp32_ms, 2), "passed": True, "size_mb": fp32_path.stat().st_size / 1e6})
        for name in args.schemes:
            runtime, make = SCHEMES[name]
            runtime, precision = (runtime.split(":") + ["int8" if make else "fp32"])[:2]
            path = Path(tmp) / f"scheme{len(rows)}.{'xml' if runtime == 'openvino' else 'onnx'}"
            started = time.perf_counter()
            if make is None:  # fp32 on another runtime: the export itself
                path = fp32_path
            else:
                make(fp32_path, path, base, calibration)
            made_s = time.perf_counter() - started
            probs, ms = score(path, precision, runtime)
            check = compare(labels, fp32, probs)
            rows.append({"scheme": name, "accuracy": check["accuracy_int8"], "agreement": check["agreement"],
                         "accuracy_points": round(check["accuracy_points"], 2), "mcnemar_p": check["mcnemar_p"],
                         "ms_per_review": round(ms, 2), "speedup": round(fp32_ms / ms, 2), "passed": check["passed"],
                         "runtime": runtime, "precision": precision, "made_s": round(made_s, 1),
                         "size_mb": round(sum(f.stat().st_size for f in (path, path.with_suffix(".bin"))
                                              if f.exists()) / 1e6, 1)})
            print(rows[-1], flush=True)
    print(f"\n# int8 schemes: {Path(args.model).name}, {len(texts)} test reviews, window "
          f"{base.settings.max_length}, calls as each runtime serves them, {usable_cores()} threads; {describe(info)}")
    print("| scheme | accuracy | agreement with fp32 | ms / review | vs fp32 | MB | meets the bar |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(f"| {r['scheme']} | {r['accuracy']:.2%} | {r['agreement']:.2%} | {r['ms_per_review']:.1f} | "
              f"{r.get('speedup', 1.0):.2f}x | {r['size_mb']:.0f} | {'yes' if r['passed'] else 'no'} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"machine": info, "model": Path(args.model).name, "reviews": len(texts),
          "calibration_reviews": len(calibration), "rows": rows}, args.out, models={"model": args.model})


if __name__ == "__main__":
    main()
