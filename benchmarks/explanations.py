"""Explanation cost and agreement: integrated gradients (24 steps) against gradient x input (1 step).

On typical (~230-word) IMDb reviews: latency of each, and how much the cheap one agrees with IG (Spearman rank
correlation of word scores, and overlap of the 5 most influential words). The app uses IG unless the cheap
method agrees closely.

    python benchmarks/explanations.py --model runs/minilm-full --dataset ../shared/data/imdb
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--reviews", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/explanations.json"))
    args = parser.parse_args()

    from review_sentiment.data.splits import read_split
    from review_sentiment.evaluation.explain import explain
    from review_sentiment.inference.predictor import Predictor

    test = read_split(Path(args.dataset), "test")
    words = test["text"].str.split().str.len()
    texts = test.loc[(words - 230).abs().sort_values().index[:args.reviews], "text"].tolist()
    predictor = Predictor.load(args.model, device="cpu")
    explain(predictor, texts[0])  # warm-up
    timings = {24: [], 1: []}
    rho, overlap = [], []
    for text in texts:
        scores = {}
        for steps in (24, 1):
            start = time.perf_counter()
            scores[steps] = dict(explain(predictor, text, steps=steps)["words"])
            timings[steps].append(time.perf_counter() - start)
        common = sorted(scores[24])
        rho.append(spearmanr([scores[24][w] for w in common], [scores[1].get(w, 0.0) for w in common])[0])
        top = [set(sorted(s, key=lambda w: -abs(s[w]))[:5]) for s in (scores[24], scores[1])]
        overlap.append(len(top[0] & top[1]) / 5)
    report = {"model": args.model, "reviews": len(texts),
              "ig24_ms": {"p50": 1000 * float(np.median(timings[24])),
                          "p95": 1000 * float(np.percentile(timings[24], 95))},
              "grad_x_input_ms": {"p50": 1000 * float(np.median(timings[1])),
                                  "p95": 1000 * float(np.percentile(timings[1], 95))},
              "spearman_mean": float(np.mean(rho)), "top5_overlap_mean": float(np.mean(overlap))}
    print(f"\nExplanations on {len(texts)} ~230-word IMDb reviews, {args.model}, CPU")
    print(f"integrated gradients (24 steps): p50 {report['ig24_ms']['p50']:.0f} ms, "
          f"p95 {report['ig24_ms']['p95']:.0f} ms")
    print(f"gradient x input (1 step):      p50 {report['grad_x_input_ms']['p50']:.0f} ms, "
          f"p95 {report['grad_x_input_ms']['p95']:.0f} ms")
    print(f"agreement: Spearman {report['spearman_mean']:.2f}, top-5 word overlap {report['top5_overlap_mean']:.0%}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from machine import save

    save(report, args.out)


if __name__ == "__main__":
    main()
