"""Long-review strategies measured: accuracy and latency of head, head+tail and overlapping chunks.

Scores a fine-tuned model on the IMDb test reviews longer than 512 tokens and on a stratified sample of all test
reviews, reading each review with every strategy at the model's own window.

    python benchmarks/long_reviews.py --model runs/minilm-full --dataset ../shared/data/imdb
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STRATEGIES = [("head", {"long_text": "head"}), ("head+tail", {"long_text": "head+tail"}),
              ("chunks (mean)", {"long_text": "chunks", "chunk_aggregation": "mean"}),
              ("chunks (length-weighted)", {"long_text": "chunks", "chunk_aggregation": "weighted"})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--threshold", type=int, default=512, help="what counts as a long review, in tokens")
    parser.add_argument("--long-samples", type=int, default=400, help="test reviews over --threshold to score")
    parser.add_argument("--all-samples", type=int, default=1000, help="test reviews of any length to score")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/long_reviews.json"))
    args = parser.parse_args()

    from review_sentiment.data.splits import read_split, stratified_subset
    from review_sentiment.data.text import clean_text
    from review_sentiment.inference.predictor import Predictor

    test = read_split(Path(args.dataset), "test")
    probe = Predictor.load(args.model, device="cpu")
    lengths = np.array([len(x) for x in probe.tokenizer([clean_text(t) for t in test["text"]], verbose=False,
                                                        add_special_tokens=True)["input_ids"]])
    share_long = float((lengths > args.threshold).mean())
    sets = {"long": stratified_subset(test[lengths > args.threshold].reset_index(drop=True), args.long_samples, 0),
            "all reviews": stratified_subset(test, args.all_samples, 0)}
    report = {"model": args.model, "window": probe.settings.max_length, "threshold": args.threshold,
              "share_long": share_long,
              "results": {}}
    for name, options in STRATEGIES:
        predictor = Predictor.load(args.model, device="cpu", **options)
        row = {}
        for set_name, frame in sets.items():
            start = time.perf_counter()
            probs = predictor.predict_proba(frame["text"].tolist(), progress=True)
            seconds = time.perf_counter() - start
            row[set_name] = {"accuracy": float((probs.argmax(1) == frame["label"].to_numpy()).mean()),
                             "ms_per_review": 1000 * seconds / len(frame), "reviews": len(frame)}
        report["results"][name] = row
    print(f"\n{args.model}, window {report['window']} tokens; {share_long:.1%} of the test reviews exceed "
          f"{args.threshold} tokens")
    print(f"{'strategy':<26}{'acc long':>10}{'ms/review':>11}{'acc all':>10}{'ms/review':>11}")
    for name, row in report["results"].items():
        a, b = row["long"], row["all reviews"]
        print(f"{name:<26}{a['accuracy']:>10.4f}{a['ms_per_review']:>11.1f}{b['accuracy']:>10.4f}"
              f"{b['ms_per_review']:>11.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from machine import save

    save(report, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
