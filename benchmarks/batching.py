"""What a call costs per review, by runtime, review length and reviews per call, on this CPU: the measurement behind
`call_plan.py`'s rule (reviews share a call only while it holds at most the runtime's token budget).

Each cell is the median of `--repeats` calls of `n` reviews of `length` tokens (random ids, no padding: the cost of
the shape alone), as ms per review, and its ratio to one review per call. A ratio above 1.0 means the batch costs
more per review than singles. The CPU model and its ISA flags are recorded with the results.

    python benchmarks/batching.py --model runs/minilm --sizes distilbert
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, describe_model, save  # noqa: E402
from serving import make_random_model, with_onnx_files  # noqa: E402

LENGTHS = (16, 32, 64, 128, 256, 512)
REVIEWS = (1, 2, 4, 8, 16)


def per_review_ms(run, length: int, n: int, repeats: int, vocab: int) -> float:
    import torch

    rng = np.random.default_rng(length * 100 + n)
    batch = {"input_ids": torch.tensor(rng.integers(vocab // 2, vocab, (n, length))),
             "attention_mask": torch.ones(n, length, dtype=torch.long)}
    run(batch)  # warm-up: first call of a shape
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times)) / n


def measure(model_dir: str, runtime: str, precision: str, lengths, reviews, repeats: int) -> list[dict]:
    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.inference.runtime_choice import shipped_files

    base = Predictor.load(model_dir, device="cpu")
    # The model's own file where it ships one (OpenVINO's int8 must: it is calibrated), else the runtime's export.
    served = base.on(runtime, precision, shipped_files(base).get(runtime, {}).get(precision)).runtime
    run = served.run
    rows = []
    for length in lengths:
        single = per_review_ms(run, length, 1, repeats, base.tokenizer.vocab_size)
        for n in reviews:
            ms = single if n == 1 else per_review_ms(run, length, n, repeats, base.tokenizer.vocab_size)
            rows.append({"model": Path(model_dir).name, "runtime": served.description, "length": length,
                         "reviews": n, "tokens": length * n, "ms_per_review": round(ms, 3),
                         "vs_single": round(ms / single, 3)})
        print(f"{served.description} {length}: " + ", ".join(f"{r['reviews']}/call {r['vs_single']:.2f}x"
                                                               for r in rows[-len(reviews):]), flush=True)
    return rows


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(model_dir: str, precision: str, arena: bool, calls: int = 300) -> dict:
    """One review per call over `calls` random lengths (8 to the model's window, 512 for the measured models): RSS
    after 100 calls and at the end, and the time."""
    import torch

    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.inference.runtimes import ort

    ort.ARENA = arena
    served = Predictor.load(model_dir, device="cpu").on("onnx", precision)
    vocab = served.tokenizer.vocab_size
    rng = np.random.default_rng(7)
    lengths = rng.integers(8, served.settings.max_length + 1, calls)  # every length the model reads
    marks, start = {}, time.perf_counter()
    for i, length in enumerate(lengths):
        served.runtime.run({"input_ids": torch.tensor(rng.integers(vocab // 2, vocab, (1, length))),
                            "attention_mask": torch.ones(1, length, dtype=torch.long)})
        if i + 1 == 100:
            marks["rss_100_mb"] = rss_mb()
    marks["rss_end_mb"] = rss_mb()
    return {"model": Path(model_dir).name, "precision": precision, "arena": arena, "calls": calls,
            "ms_per_call": round(1000 * (time.perf_counter() - start) / calls, 2),
            "rss_100_mb": round(marks["rss_100_mb"]), "rss_end_mb": round(marks["rss_end_mb"]),
            "growth": round(marks["rss_end_mb"] / marks["rss_100_mb"] - 1, 4)}


def memory_in_subprocess(model_dir: str, precision: str, arena: bool) -> dict:
    """Each setting in a fresh process: RSS is a process's whole history."""
    import subprocess

    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import batching; "
            f"print(json.dumps(batching.memory({model_dir!r}, {precision!r}, {arena!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="A model directory (repeatable).")
    parser.add_argument("--sizes", nargs="*", default=["distilbert"], help="Random-weight model sizes to add.")
    parser.add_argument("--tokenizer", help="Tokenizer for the random-weight models (default: the first --model).")
    parser.add_argument("--variants", nargs="*", default=["onnx:fp32", "onnx:int8", "torch:fp32"])
    parser.add_argument("--lengths", type=int, nargs="*", default=list(LENGTHS))
    parser.add_argument("--reviews", type=int, nargs="*", default=list(REVIEWS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-only", action="store_true", help="Only the arena rows (RSS over many shapes).")
    parser.add_argument("--no-memory", action="store_true", help="No arena rows.")
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"),
                        help="IMDb directory: its train reviews calibrate the random models' OpenVINO int8 files")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batching.json"))
    args = parser.parse_args(argv)
    info = cpu_info()
    print(f"# per-review cost of one call, {describe(info)}")
    from review_sentiment.data.splits import read_split, stratified_subset
    from review_sentiment.export.openvino_ir import CALIBRATION_SAMPLES

    def calibration() -> list[str]:  # IMDb train reviews, for models that ship no OpenVINO int8 file yet
        return stratified_subset(read_split(Path(args.dataset), "train"), CALIBRATION_SAMPLES, seed=0)["text"].tolist()

    with tempfile.TemporaryDirectory() as tmp:
        needs_files = any(v.startswith("openvino:int8") for v in args.variants)
        models = [with_onnx_files(m, Path(tmp), calibration()) if needs_files and not (
                  Path(m) / "openvino" / "openvino_model_qint8_quantized.xml").exists() else m for m in args.model]
        models += [make_random_model(size, args.tokenizer or args.model[0], Path(tmp), calibration())
                   for size in args.sizes]
        rows = []
        for model in models if not args.memory_only else []:
            for variant in args.variants:
                runtime, precision = variant.split(":")
                rows += measure(model, runtime, precision, args.lengths, args.reviews, args.repeats)
        memory_rows = [] if args.no_memory else [memory_in_subprocess(m, p, a) for m in models
                                                  for p in ("fp32", "int8") for a in (True, False)]
        described = {Path(m).name: describe_model(m) for m in models}
    print("| model | ONNX Runtime | arena | ms / call | RSS after 100 calls | at 300 | growth |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for r in memory_rows:
        print(f"| {r['model']} | {r['precision']} | {'on' if r['arena'] else 'off'} | {r['ms_per_call']:.1f} | "
              f"{r['rss_100_mb']} MB | {r['rss_end_mb']} MB | {r['growth']:+.1%} |")
    print("| model | runtime | length | " + " | ".join(f"{n}/call" for n in args.reviews) + " |")
    print("| --- | --- | ---: | " + " | ".join("---:" for _ in args.reviews) + " |")
    for key in dict.fromkeys((r["model"], r["runtime"], r["length"]) for r in rows):
        cells = [r for r in rows if (r["model"], r["runtime"], r["length"]) == key]
        print(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(
            f"{c['ms_per_review']:.2f} ms ({c['vs_single']:.2f}x)" for c in cells) + " |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"machine": info, "models": described, "rows": rows, "memory": memory_rows}, args.out)


if __name__ == "__main__":
    main()
