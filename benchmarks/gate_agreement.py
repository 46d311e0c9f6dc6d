"""Does the gate's verdict depend on which test reviews it read? The same pair of models (the served one and a
re-trained one) scored as served on disjoint folds of the test split, the gate's accuracy test
(evaluation/gate.py's non_inferiority: an exact paired interval against a 0.5-point margin) run on each fold and on
all of them together; the verdicts should agree, or say "undecided" where a fold is too small to tell.

    python benchmarks/gate_agreement.py --old runs/minilm-quick-sst --new runs/campaign-none \\
        --dataset path/to/imdb --folds 2 --fold-size 5000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, print_table, save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True, help="the served model (--gate-against's)")
    parser.add_argument("--new", required=True, help="the re-trained model the gate decides on")
    parser.add_argument("--dataset", required=True, help="a labelled dataset folder with a test split")
    parser.add_argument("--folds", type=int, default=2, help="disjoint folds of the test split")
    parser.add_argument("--fold-size", type=int, default=5000, help="reviews in each fold")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle that draws the folds")
    parser.add_argument("--json", default=str(ROOT / "benchmarks/results/gate_agreement.json"))
    args = parser.parse_args()

    from review_sentiment.data.splits import labelled_split, resolve_dataset
    from review_sentiment.defaults import DEFAULT_LONG_TEXT
    from review_sentiment.evaluation.gate import non_inferiority
    from review_sentiment.inference.predictor import Predictor

    frame, _ = labelled_split(resolve_dataset(args.dataset), "test")
    if frame is None:
        raise SystemExit(f"{args.dataset} has no test split")
    if args.folds * args.fold_size > len(frame):
        raise SystemExit(f"{args.folds} folds of {args.fold_size} need more than the {len(frame):,} test reviews")
    order = np.random.default_rng(args.seed).permutation(len(frame))[:args.folds * args.fold_size]
    texts, labels = frame["text"].to_numpy()[order].tolist(), frame["label"].to_numpy()[order]
    verdicts = {}
    for name, model in (("old", args.old), ("new", args.new)):
        predictor = Predictor.load(model, long_text=DEFAULT_LONG_TEXT)  # as served, as the gate reads both
        verdicts[name] = predictor.predict_proba(texts, progress=True).argmax(axis=1)
    folds = []
    for k in range(args.folds):
        part = slice(k * args.fold_size, (k + 1) * args.fold_size)
        folds.append({"fold": f"{k + 1} of {args.folds}",
                      **non_inferiority(labels[part], verdicts["old"][part], verdicts["new"][part])})
    folds.append({"fold": "all together", **non_inferiority(labels, verdicts["old"], verdicts["new"])})
    decided = {f["verdict"] for f in folds[:-1]} - {"undecided"}
    record = {"machine": cpu_info(), "old": args.old, "new": args.new, "dataset": args.dataset, "seed": args.seed,
              "fold_size": args.fold_size, "folds": folds, "agree": len(decided) <= 1}
    print(f"Machine: {describe(record['machine'])}; {args.new} against {args.old}, read as served\n")
    print_table(["fold", "reviews", "before", "after", "points", "95% interval", "McNemar p", "verdict"],
                [[f["fold"], f"{f['reviews']:,}", f"{f['before']:.2%}", f"{f['after']:.2%}", f"{f['points']:+.2f}",
                  f"{f['interval_points'][0]:+.2f} to {f['interval_points'][1]:+.2f}", f"{f['mcnemar_p']:.2g}",
                  f["verdict"]] for f in folds])
    print(f"\nthe folds' verdicts {'agree' if record['agree'] else 'disagree'}")
    save(record, args.json)


if __name__ == "__main__":
    main()
