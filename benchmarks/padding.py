"""OpenVINO and the lengths of reviews: what a call costs when every review has its own length, by how calls are padded
(a multiple of 1, 16, 32 or 64 tokens) and how many oneDNN primitives are kept (ov.PRIMITIVES_KEPT).

A visitor's review is rarely the length of the last one. OpenVINO keeps what it built for a few shapes (ov.py bounds
its caches, to bound memory), so a length it does not hold costs a rebuild, which the start-up probe (one length,
repeated) never sees. Each setting runs in a process of its own (oneDNN reads its limit once, at its first primitive):
one file compiled, a warm-up call, then calls of lengths 200-400 tokens in random order twice (a ~230-word review is
about 300), then 150 calls of random lengths 8-512, with the process's RSS before and after. Prints a table, writes
JSON with the CPU.

    python benchmarks/padding.py --model runs/minilm-imdb-full-sst [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, describe_model, print_table, save  # noqa: E402

SETTINGS = [(1, 64), (32, 64), (64, 64), (16, 256), (32, 256), (32, 512)]  # (pad multiple, primitives kept)


def one(folder: str, precision: str, multiple: int, primitives: int) -> dict:
    """Run in a child process (see main): times and RSS for one setting."""
    os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = str(primitives)
    import numpy as np
    import psutil

    from review_sentiment.inference.padding import padded_length
    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.inference.runtimes import ov

    name = ov.FILES[precision if precision != "bf16" else "fp32"]
    predictor = Predictor.load(folder, device="cpu").on("openvino", precision, Path(folder) / name)
    rng = np.random.default_rng(0)
    vocab, top = predictor.tokenizer.vocab_size, min(512, predictor.model.config.max_position_embeddings)

    def call(length: int) -> float:
        length = min(length, top)  # a tiny test model's window may be shorter
        ids = rng.integers(vocab // 4, vocab, length).tolist()  # no special tokens: low ids
        batch = predictor.tokenizer.pad([{"input_ids": ids}], padding="max_length", return_tensors="pt",
                                        max_length=padded_length(length, multiple, top))
        started = time.perf_counter()
        predictor.run_batch(batch)
        return 1000 * (time.perf_counter() - started)

    call(100)
    before = psutil.Process().memory_info().rss / 2**20
    lengths = [int(n) for n in rng.permutation(np.arange(200, 400, 2))]
    first, second = [call(n) for n in lengths], [call(n) for n in lengths]
    wide = [call(int(n)) for n in rng.integers(8, 512, 150)]
    after = psutil.Process().memory_info().rss / 2**20
    return {"multiple": multiple, "primitives": primitives, "first_p50_ms": statistics.median(first),
            "second_p50_ms": statistics.median(second), "wide_p50_ms": statistics.median(wide),
            "rss_before_mb": before, "rss_after_mb": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a README-recipe model folder with openvino/ files")
    parser.add_argument("--baseline", help="a baseline folder with openvino/ files (default: nlptown's size, random "
                                           "weights, with the int8 files publishing makes, built here)")
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"), help="IMDb, to calibrate on")
    parser.add_argument("--settings", default=",".join(f"{m}:{p}" for m, p in SETTINGS),
                        help="MULTIPLE:PRIMITIVES pairs to time, comma-separated")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/padding.json"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder, precision, multiple, primitives = args.child
        print(json.dumps(one(folder, precision, int(multiple), int(primitives))))
        return
    from stand_ins import add_int8_files, make_star_baseline

    from review_sentiment.data.splits import read_split

    with tempfile.TemporaryDirectory() as tmp:
        baseline = args.baseline
        if baseline is None:
            baseline = make_star_baseline(args.model, Path(tmp) / "nlptown-size")
            train = read_split(Path(args.dataset), "train")
            add_int8_files(baseline, train.sample(min(300, len(train)), random_state=0)["text"].tolist())
        report = {"machine": cpu_info(), "model": args.model, "baseline": args.baseline or "nlptown size, random",
                  "models": {"model": describe_model(args.model), "baseline": describe_model(baseline)}, "runs": []}
        for label, folder in (("fine-tuned (MiniLM-L6), int8", args.model), ("baseline (BERT-base), int8", baseline)):
            for multiple, primitives in (map(int, pair.split(":")) for pair in args.settings.split(",")):
                out = subprocess.run([sys.executable, __file__, "--model", folder, "--child", folder, "int8",
                                      str(multiple), str(primitives)], capture_output=True, text=True, check=True)
                row = json.loads(out.stdout.strip().splitlines()[-1]) | {"model": label}
                report["runs"].append(row)
                print(f"{label}, pad to {multiple}, {primitives} primitives: {row['first_p50_ms']:.0f} ms", flush=True)
    print(f"\nMachine: {describe(report['machine'])}\n")
    print_table(["model, file", "pad to", "primitives kept", "200-400 tokens, first pass p50 ms", "second pass",
                 "8-512 tokens p50 ms", "RSS MB before -> after"],
                [[r["model"], str(r["multiple"]), str(r["primitives"]), f"{r['first_p50_ms']:.0f}",
                  f"{r['second_p50_ms']:.0f}", f"{r['wide_p50_ms']:.0f}",
                  f"{r['rss_before_mb']:.0f} -> {r['rss_after_mb']:.0f}"] for r in report["runs"]])
    save(report, args.out)


if __name__ == "__main__":
    main()
