"""Bulk scoring: our CLI (`python -m review_sentiment.bulk`) against the loop a user would write instead,
`pipeline("text-classification", ...)(texts, batch_size=32, truncation=True)` over a list, same model, same reviews,
each in its own process (peak RSS is the process's own). Prints a table, writes JSON with the CPU it ran on.

    python benchmarks/bulk.py --model runs/minilm-full --data ../shared/data/imdb/test.parquet

Sizes: the whole file (25,000 IMDb test reviews) and a tenth of it, to show whether memory grows with the input.
The pipeline loop runs at `--pipeline-sizes` only (default: the tenth): on a 2-core CPU it reads ~9 reviews/s, so
25,000 would take 45 minutes, and its throughput per review does not depend on how many there are.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, save  # noqa: E402

PIPELINE_LOOP = """
import json, sys, time
import pandas as pd
from transformers import pipeline
model, data, result = sys.argv[1:4]
texts = pd.read_parquet(data)["text"].tolist()
started = time.perf_counter()
classifier = pipeline("text-classification", model=model, device="cpu")
out = classifier(texts, batch_size=32, truncation=True)
json.dump({"seconds": time.perf_counter() - started, "labels": [o["label"] for o in out]}, open(result, "w"))
"""


def run_measured(command: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command[:4]} failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def accuracy(labels: list[str], truth: np.ndarray, names: list[str]) -> float:
    index = {name.lower(): i for i, name in enumerate(names)}
    return float(np.mean([index.get(str(label).lower(), -1) == y for label, y in zip(labels, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="fine-tuned model directory")
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/imdb/test.parquet"),
                        help="parquet with text and integer label columns")
    parser.add_argument("--sizes", default="2500,25000", help="review counts to score (a shuffled subset each)")
    parser.add_argument("--pipeline-sizes", default="2500", help="sizes at which the pipeline loop also runs")
    parser.add_argument("--chunk-size", type=int, default=1000, help="our CLI's --chunk-size")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/bulk.json"))
    args = parser.parse_args()

    from review_sentiment.inference.predictor import Predictor

    names = Predictor.load(args.model, device="cpu").labels
    frame = pd.read_parquet(args.data).sample(frac=1.0, random_state=0).reset_index(drop=True)
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    machine = cpu_info()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up, not measured: the first run on a machine exports the model to ONNX once (cached after), which
        # would otherwise land in the first size's time and peak memory.
        frame.head(10).to_parquet(Path(tmp) / "warm-up.parquet")
        run_measured([sys.executable, "-m", "review_sentiment.bulk", "--model", args.model, "--input",
                      str(Path(tmp) / "warm-up.parquet"), "--output", str(Path(tmp) / "warm-up.csv")], env)
        for size in [int(s) for s in args.sizes.split(",")]:
            subset = frame.head(size)
            data = Path(tmp) / f"reviews-{size}.parquet"
            subset.to_parquet(data)
            truth = subset["label"].to_numpy()
            if str(size) in args.pipeline_sizes.split(","):
                result = Path(tmp) / f"pipeline-{size}.json"
                seconds, rss = run_measured([sys.executable, "-c", PIPELINE_LOOP, args.model, str(data),
                                             str(result)], env)
                labels = json.loads(result.read_text())["labels"]
                rows.append({"variant": "pipeline loop (batch 32, truncation=True)", "reviews": size,
                             "seconds": seconds, "reviews_per_s": size / seconds, "peak_rss_mb": rss,
                             "accuracy": accuracy(labels, truth, names)})
                print(rows[-1], flush=True)
            output = Path(tmp) / f"ours-{size}.parquet"
            seconds, rss = run_measured([sys.executable, "-m", "review_sentiment.bulk", "--model", args.model,
                                         "--input", str(data), "--output", str(output), "--chunk-size",
                                         str(args.chunk_size)], env)
            scored = pd.read_parquet(output)
            rows.append({"variant": "python -m review_sentiment.bulk", "reviews": size, "seconds": seconds,
                         "reviews_per_s": size / seconds, "peak_rss_mb": rss,
                         "accuracy": accuracy(scored["label"].tolist(), truth, names)})
            print(rows[-1], flush=True)
    sizes = sorted({r["reviews"] for r in rows})
    ours = {r["reviews"]: r for r in rows if r["variant"].startswith("python")}
    loop = {r["reviews"]: r for r in rows if r["variant"].startswith("pipeline")}
    largest, smallest = sizes[-1], sizes[0]
    compared = max(loop)  # the largest size both ran at: same reviews, same model
    summary = {"compared_at": compared,
               "speedup": ours[compared]["reviews_per_s"] / loop[compared]["reviews_per_s"],
               "accuracy_difference": ours[compared]["accuracy"] - loop[compared]["accuracy"],
               "our_rss_growth": ours[largest]["peak_rss_mb"] / ours[smallest]["peak_rss_mb"] - 1}
    print(f"\nMachine: {describe(machine)}\n")
    print("| variant | reviews | reviews/s | wall s | peak RSS MB | accuracy |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['variant']} | {r['reviews']:,} | {r['reviews_per_s']:.1f} | {r['seconds']:.0f} | "
              f"{r['peak_rss_mb']:,.0f} | {r['accuracy']:.2%} |")
    print(f"\nthroughput, ours / pipeline loop on the same {compared:,} reviews: {summary['speedup']:.2f}x "
          f"(accuracy {summary['accuracy_difference']:+.2%}); our peak RSS {smallest:,} -> {largest:,} reviews: "
          f"{summary['our_rss_growth']:+.1%}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"machine": machine, "model": args.model, "data": args.data,
          "results": rows, "summary": summary}, args.out)


if __name__ == "__main__":
    main()
