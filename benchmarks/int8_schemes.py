"""Which int8 scheme to ship: agreement with fp32, accuracy and speed of each, on one fine-tuned model and this CPU.

Every scheme quantises the same fp32 export (onnx.export) and is scored on the same labelled test reviews, one review
per call on ONNX Runtime with every core, as the Space serves it; the int8 bar (int8_bar.py) is applied to each.
The CPU model and its ISA flags are recorded: int8 kernels differ between AVX2-only and AVX-512 VNNI CPUs.

    python benchmarks/int8_schemes.py --model runs/minilm --data ../shared/data/imdb --samples 2000
"""

from __future__ import annotations

import argparse
import json
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
from machine import cpu_info, describe  # noqa: E402


def quantize_dynamic(fp32: Path, out: Path, *, weight: str = "int8", reduce_range: bool = True,
                     keep: str = "edges") -> None:
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as ort_quantize

    from review_sentiment import onnx

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
    from review_sentiment import onnx

    onnx.quantize(fp32, out, scheme)


def quantize_nbits(fp32: Path, out: Path) -> None:
    import onnx as onnx_lib
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    quantizer = MatMulNBitsQuantizer(onnx_lib.load(str(fp32)), bits=8, block_size=32, is_symmetric=True,
                                     accuracy_level=4)
    quantizer.process()
    quantizer.model.save_model_to_file(str(out))


SCHEMES = {
    # onnx.SCHEMES, exactly as train.py and publishing quantise:
    "int8 s8 weights, 7-bit, edges fp32 (scheme 1)": lambda a, b: shipped(a, b, "edges"),
    "int8 s8 weights, 7-bit, all layers": lambda a, b: quantize_dynamic(a, b, keep="none"),
    "int8 s8 weights, 8-bit, edges fp32": lambda a, b: quantize_dynamic(a, b, reduce_range=False),
    "int8 u8 weights, 8-bit, edges fp32": lambda a, b: quantize_dynamic(a, b, weight="uint8", reduce_range=False),
    "int8 s8 weights, 7-bit, edges + FFN outputs fp32 (scheme 2)": lambda a, b: shipped(a, b, "edges+ffn-out"),
    "MatMulNBits 8-bit, block 32, accuracy_level 4": quantize_nbits,
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="A fine-tuned model directory.")
    parser.add_argument("--data", required=True, help="A dataset directory with test.* (text, label).")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--schemes", nargs="*", default=list(SCHEMES), help="Subset of the scheme names.")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "int8_schemes.json"))
    args = parser.parse_args(argv)

    from review_sentiment import onnx
    from review_sentiment.cpu import usable_cores
    from review_sentiment.data import labelled_split, stratified_subset
    from review_sentiment.int8_bar import compare
    from review_sentiment.predictor import Predictor

    info = cpu_info()
    test, _ = labelled_split(Path(args.data), "test")
    sample = stratified_subset(test, args.samples, seed=42)
    texts, labels = sample["text"].tolist(), sample["label"].to_numpy()
    base = Predictor.load(args.model, device="cpu")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = onnx.export(base.model, base.tokenizer, Path(tmp) / "model.onnx")

        def score(path: Path, precision: str) -> tuple[np.ndarray, float]:
            served = base.on("onnx", precision, path)
            served.predict_proba(texts[:8])  # warm-up
            start = time.perf_counter()
            probs = served.predict_proba(texts, progress=True)
            return probs, 1000 * (time.perf_counter() - start) / len(texts)

        fp32, fp32_ms = score(fp32_path, "fp32")
        rows.append({"scheme": "fp32", "accuracy": float((fp32.argmax(1) == labels).mean()), "agreement": 1.0,
                     "ms_per_review": round(fp32_ms, 2), "passed": True, "size_mb": fp32_path.stat().st_size / 1e6})
        for name in args.schemes:
            path = Path(tmp) / f"scheme{len(rows)}.onnx"
            SCHEMES[name](fp32_path, path)
            probs, ms = score(path, "int8")
            check = compare(labels, fp32, probs)
            rows.append({"scheme": name, "accuracy": check["accuracy_int8"], "agreement": check["agreement"],
                         "accuracy_points": round(check["accuracy_points"], 2), "mcnemar_p": check["mcnemar_p"],
                         "ms_per_review": round(ms, 2), "speedup": round(fp32_ms / ms, 2), "passed": check["passed"],
                         "size_mb": round(path.stat().st_size / 1e6, 1)})
            print(rows[-1], flush=True)
    print(f"\n# int8 schemes: {Path(args.model).name}, {len(texts)} test reviews, window "
          f"{base.settings.max_length}, one review per call, {usable_cores()} threads; {describe(info)}")
    print("| scheme | accuracy | agreement with fp32 | ms / review | vs fp32 | MB | meets the bar |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        print(f"| {r['scheme']} | {r['accuracy']:.2%} | {r['agreement']:.2%} | {r['ms_per_review']:.1f} | "
              f"{r.get('speedup', 1.0):.2f}x | {r['size_mb']:.0f} | {'yes' if r['passed'] else 'no'} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": info, "model": Path(args.model).name, "reviews": len(texts),
                                          "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
