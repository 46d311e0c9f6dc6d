"""Does the gate's verdict depend on which test reviews it read? The served model and one or more re-trained ones
scored as served on disjoint folds of the test split, the gate's accuracy test (evaluation/gate.py's non_inferiority:
an exact paired interval against a 0.5-point margin) run for each pair on each fold and on all of them together; the
verdicts should agree, or say "undecided" where a fold is too small to tell. Pass both a model the gate clearly
refuses and one near the margin: only the second can show a verdict that depends on chance.

    python benchmarks/gate_agreement.py --old runs/minilm-quick-sst --new runs/campaign-none runs/loop-contrasts \\
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
    parser.add_argument("--new", required=True, nargs="+", help="the re-trained models the gate decides on, each "
                        "against --old (read once)")
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
    def verdicts(model: str) -> np.ndarray:
        predictor = Predictor.load(model, long_text=DEFAULT_LONG_TEXT)  # as served, as the gate reads both
        return predictor.predict_proba(texts, progress=True).argmax(axis=1)

    old, pairs = verdicts(args.old), []
    for model in args.new:
        new, folds = verdicts(model), []
        for k in range(args.folds):
            part = slice(k * args.fold_size, (k + 1) * args.fold_size)
            folds.append({"fold": f"{k + 1} of {args.folds}", **non_inferiority(labels[part], old[part], new[part])})
        folds.append({"fold": "all together", **non_inferiority(labels, old, new)})
        decided = {f["verdict"] for f in folds[:-1]} - {"undecided"}
        pairs.append({"new": model, "folds": folds, "agree": len(decided) <= 1})
    record = {"machine": cpu_info(), "old": args.old, "dataset": args.dataset, "seed": args.seed,
              "fold_size": args.fold_size, "pairs": pairs, "agree": all(p["agree"] for p in pairs)}
    print(f"Machine: {describe(record['machine'])}; read as served, each against {args.old}\n")
    print_table(["re-trained", "fold", "reviews", "before", "after", "points", "95% interval", "McNemar p", "verdict"],
                [[Path(p["new"]).name, f["fold"], f"{f['reviews']:,}", f"{f['before']:.2%}", f"{f['after']:.2%}",
                  f"{f['points']:+.2f}", f"{f['interval_points'][0]:+.2f} to {f['interval_points'][1]:+.2f}",
                  f"{f['mcnemar_p']:.2g}", f["verdict"]] for p in pairs for f in p["folds"]])
    for p in pairs:
        print(f"\n{Path(p['new']).name}: the folds' verdicts {'agree' if p['agree'] else 'disagree'}")
    save(record, args.json, models={"old": args.old, **{f"new {i + 1}": m for i, m in enumerate(args.new)}})


if __name__ == "__main__":
    main()
