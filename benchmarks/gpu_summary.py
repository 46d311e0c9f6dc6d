"""The table at the end of benchmarks/gpu_check.sh: the training benchmark's rows, train.py's run phase by phase,
and each target of the GPU issue held against what was measured. Writes OUT/gpu_check.json.

    python benchmarks/gpu_summary.py benchmarks/results/gpu_check
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The targets the GPU check exists for (H200-class GPU, all-MiniLM-L6-v2, whole IMDb train split, 2 epochs at 512).
TARGETS = {"ours_vs_seed": 3.0, "ours_vs_floor": 0.8, "training_s": 60.0, "train_py_s": 180.0}


def read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def main(out: Path) -> int:
    bench, metrics = read(out / "training.json"), read(out / "model" / "metrics.json")
    steps = {name: read(out / f"{name}.status.json") for name in ("training_benchmark", "train")}
    summary = {"steps": steps, "targets": TARGETS, "checks": {}}
    if bench:
        summary["device"] = bench["device"]
        print(f"\nTraining benchmark on {bench['device']}: {bench['size']}, {bench['reviews']} reviews, "
              f"batch {bench['batch_size']}, {bench['steps']} steps")
        print("| recipe | precision | distinct shapes | warm-up s | s / 100 steps | real tokens/s |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for r in bench["results"]:
            print(f"| {r['recipe']} | {r['precision']} | {r['distinct_shapes']} | {r['warmup_s']:.1f} | "
                  f"{r['seconds_per_100_steps']:.2f} | {r['real_tokens_per_s']:,.0f} |")
        summary["benchmark"] = bench["results"]
        summary["checks"]["ours_vs_seed"] = bench["speedup"]
        summary["checks"]["ours_vs_floor"] = bench["of_floor"]
    if metrics:
        timings = metrics.get("timings_s", {})
        print(f"\ntrain.py: test accuracy {metrics['test']['accuracy']:.4f} on {metrics['test']['num_samples']:,} "
              f"reviews, {metrics['train']['steps']} steps; end to end {steps['train']['seconds']:.1f} s")
        print("| phase | seconds |\n| --- | ---: |")
        for phase, seconds in timings.items():
            print(f"| {phase} | {seconds:.1f} |")
        summary["train_py"] = {"accuracy": metrics["test"]["accuracy"], "timings_s": timings,
                               "int8": metrics.get("onnx", {}).get("summary")}
        summary["checks"]["training_s"] = timings.get("training")
        summary["checks"]["train_py_s"] = steps["train"]["seconds"]
    print("\n| target | wanted | measured | met |\n| --- | ---: | ---: | --- |")
    for name, wanted in TARGETS.items():
        got = summary["checks"].get(name)
        met = None if got is None else (got >= wanted if name.startswith("ours") else got <= wanted)
        summary["checks"][f"{name}_met"] = met
        print(f"| {name} | {'>=' if name.startswith('ours') else '<='} {wanted:g} | "
              f"{'-' if got is None else f'{got:.2f}'} | {'-' if met is None else 'yes' if met else 'no'} |")
    (out / "gpu_check.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out / 'gpu_check.json'}")
    return 0 if all(s and s["rc"] == 0 for s in steps.values()) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
