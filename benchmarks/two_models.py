"""The two models of one review: does the page answer sooner with both scored at once than one after the other?

The page asks both models about every review (`Service.compare`). Scored one after the other, each model's runtime
has every core; scored at once, they share them: each with every core (threads oversubscribed), or each with its own
share of the cores (`threads`). Timed here in-process on the runtimes the app chooses at start on this CPU (the
fine-tuned model: a README-recipe folder with its files; the baseline: nlptown's size with random weights, as
compare.py builds it), one ~230-word review at a time, every review new, the three ways taken in turn so that drift
hits each alike. Prints a table, writes JSON with the CPU.

    python benchmarks/two_models.py --model runs/minilm-imdb-full-sst --reviews 40
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from stand_ins import NLPTOWN_VOCAB, SIZES, make_star_baseline  # noqa: E402
from machine import cpu_info, describe, describe_model, print_table, save  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a README-recipe model folder (train.py's output)")
    parser.add_argument("--baseline", help="a baseline folder (default: nlptown's size, random weights, built here)")
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"), help="IMDb directory")
    parser.add_argument("--reviews", type=int, default=40, help="timed reviews per way (3 more warm up)")
    parser.add_argument("--words", default="200-260", help="review length in words, LOW-HIGH")
    parser.add_argument("--baseline-size", default="bert-base", choices=list(SIZES))
    parser.add_argument("--baseline-vocab", type=int, default=NLPTOWN_VOCAB)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/two_models.json"))
    args = parser.parse_args()

    from review_sentiment.cpu import usable_cores
    from review_sentiment.data.splits import read_split
    from review_sentiment.space.service import Service

    test = read_split(Path(args.dataset), "test").sample(frac=1.0, random_state=1)
    low, high = map(int, args.words.split("-"))
    texts = iter([t for t in test["text"] if low <= len(t.split()) <= high])
    with tempfile.TemporaryDirectory() as tmp:
        baseline = args.baseline or make_star_baseline(args.model, Path(tmp) / "nlptown-size", args.baseline_vocab,
                                                       args.baseline_size)
        models = {"model": describe_model(args.model), "baseline": describe_model(baseline)}
        service = Service(args.model, baseline)  # each model on the runtime the app chooses on this CPU
        served = [service.model.predictor, service.baseline.predictor]
        cores = usable_cores()
        share = max(1, cores // 2)
        shared = [p.on(p.runtime.name, p.runtime.precision, p.runtime.file, threads=share) for p in served]
        pool = ThreadPoolExecutor(2)

        def one_after_the_other(text):
            for predictor in served:
                predictor.predict_proba([text])

        def at_once(predictors):
            return lambda text: list(pool.map(lambda p: p.predict_proba([text]), predictors))

        ways = {"one after the other (every core each)": one_after_the_other,
                "both at once (every core each)": at_once(served),
                f"both at once ({share} of {cores} cores each)": at_once(shared)}
        for way in ways.values():  # warm-up: first calls build kernels
            for _ in range(3):
                way(next(texts))
        ms = {name: [] for name in ways}
        for _ in range(args.reviews):
            for name, way in ways.items():
                text = next(texts)
                started = time.perf_counter()
                way(text)
                ms[name].append(1000 * (time.perf_counter() - started))
        pool.shutdown()
    first = next(iter(ms))
    report = {"machine": cpu_info(), "model": args.model, "baseline": args.baseline or "nlptown size, random",
              "models": models, "served": [p.runtime.description for p in served], "reviews": args.reviews,
              "ways": {name: {"p50_ms": statistics.median(v), "mean_ms": statistics.fmean(v),
                              "vs_one_after_the_other": statistics.median(ms[first]) / statistics.median(v)}
                       for name, v in ms.items()}}
    print(f"Machine: {describe(report['machine'])}\nserved: {report['served']}; {args.reviews} reviews of "
          f"{args.words} words each way, every review new\n")
    print_table(["both models on one review", "p50 ms", "mean ms", "speed vs one after the other"],
                [[name, f"{row['p50_ms']:.0f}", f"{row['mean_ms']:.0f}", f"{row['vs_one_after_the_other']:.2f}x"]
                 for name, row in report["ways"].items()])
    save(report, args.out)


if __name__ == "__main__":
    main()
