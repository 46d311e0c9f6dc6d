"""What a Space visitor waits for: one review through both models (`POST /api/v1/compare`, what the page asks), against
what a user would run instead, two plain `pipeline`s one after the other (and the seed's, every review padded to 512).

The fine-tuned model is a real README-recipe model (its own onnx/ and openvino/ files, served as the app chooses on
this CPU); the baseline is nlptown's at its real size (BERT-base multilingual: 12 layers x 768, 105,879 word pieces,
five star classes) with random weights, since its weights are not here and speed does not depend on them. Every
request sends a review new to the app (~230-word IMDb test reviews), so the answer cache never answers. The app runs
in its own process and is stopped before the pipelines are timed. Prints a table, writes JSON with the CPU.

    python benchmarks/compare.py --model runs/minilm-imdb-full-sst [--baseline DIR] [--baseline-int8] --reviews 40 \
        [--clients 16 --client-reviews 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import at_once, start_app  # noqa: E402
from machine import cpu_info, describe, describe_model, print_table, save  # noqa: E402
from stand_ins import NLPTOWN_VOCAB, SIZES, add_int8_files, make_star_baseline  # noqa: E402

def percentiles(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"p50_ms": statistics.median(ordered), "p90_ms": ordered[int(0.9 * (len(ordered) - 1))],
            "mean_ms": statistics.fmean(ordered), "requests": len(ordered)}


def time_crowd(pid: int, url: str, crowd: list[str], clients: int, one_mean_ms: float) -> dict:
    """`clients` visitors at once, each sending its share of `crowd` one review after another: throughput against
    one visitor's (whose mean was `one_mean_ms`), p50/p95, and the app's RSS before and after."""
    import httpx
    import psutil

    rss_before = psutil.Process(pid).memory_info().rss / 2**20
    crowd_ms, failures = [], []

    def visitor(reviews: list[str]) -> None:
        with httpx.Client(base_url=url, timeout=300) as own:
            for text in reviews:
                started = time.perf_counter()
                answer = own.post("/api/v1/compare", json={"text": text})
                crowd_ms.append(1000 * (time.perf_counter() - started))
                if answer.status_code != 200:
                    failures.append(answer.text[:200])

    share = len(crowd) // clients
    wall = at_once(visitor, [crowd[i * share:(i + 1) * share] for i in range(clients)])
    rss_after = psutil.Process(pid).memory_info().rss / 2**20
    assert not failures, failures[:3]
    ordered = sorted(crowd_ms)
    return {"clients": clients, "requests": len(crowd_ms), "seconds": wall, "per_second": len(crowd_ms) / wall,
            "p50_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))],
            "vs_one": (len(crowd_ms) / wall) / (1000 / one_mean_ms),
            "rss_before_mb": rss_before, "rss_after_mb": rss_after, "rss_growth": rss_after / rss_before - 1}


def time_app(model: str, baseline: str, texts: list[str], crowd: list[str], clients: int) -> dict:
    """One visitor at a time on `texts` (3 warm up), then `clients` at once on `crowd` (each its own reviews), with
    the app's RSS before and after the crowd."""
    import httpx

    process, url = start_app(model, baseline)
    try:
        health = httpx.get(f"{url}/healthz", timeout=30).json()["models"]
        with httpx.Client(base_url=url, timeout=120) as http:
            for text in texts[:3]:  # warm-up: first calls compile kernels
                http.post("/api/v1/compare", json={"text": text}).raise_for_status()
            ms = []
            for text in texts[3:]:
                started = time.perf_counter()
                answer = http.post("/api/v1/compare", json={"text": text})
                ms.append(1000 * (time.perf_counter() - started))
                assert answer.status_code == 200 and "probabilities" in answer.json()["baseline"], answer.text
        result = {**percentiles(ms), "served": {k: v["runtime"] for k, v in health.items()},
                  # Each model alone, as the app timed its options at start (runtime_choice.probe_ms).
                  "alone_probe_ms": {k: v["runtime_choice"]["probe_ms"].get(v["runtime"]) for k, v in health.items()},
                  "options_ms": {k: v["runtime_choice"]["probe_ms"] for k, v in health.items()}}
        if clients:
            result["crowd"] = time_crowd(process.pid, url, crowd, clients, result["mean_ms"])
        hits = httpx.get(f"{url}/healthz").json()["answer_cache"]["hits"]
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert hits == 0, "every review was new to the app"
    return result


def time_pipelines(models: list[str], texts: list[str], seed: bool) -> dict:
    """Plain (or seed) pipelines of `models`, each review through each one after the other (the page shows both)."""
    from transformers import pipeline

    classifiers = [pipeline("text-classification", model=m, top_k=None, device="cpu") for m in models]
    # The seed pads every review to 512 tokens (or a smaller model's whole window).
    paddings = [{"padding": "max_length", "max_length": min(512, c.model.config.max_position_embeddings)} if seed
                else {} for c in classifiers]
    for text in texts[:3]:
        for classify, padding in zip(classifiers, paddings):
            classify(text, truncation=True, **padding)
    ms = []
    for text in texts[3:]:
        started = time.perf_counter()
        for classify, padding in zip(classifiers, paddings):  # the page shows both: one after the other
            classify(text, truncation=True, **padding)
        ms.append(1000 * (time.perf_counter() - started))
    return percentiles(ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a README-recipe model folder (train.py's output)")
    parser.add_argument("--baseline", help="a baseline folder (default: nlptown's size, random weights, built here)")
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"), help="IMDb directory")
    parser.add_argument("--reviews", type=int, default=40, help="timed reviews (3 more warm up), each new to the app")
    parser.add_argument("--words", default="200-260", help="review length in words, LOW-HIGH (a ~230-word review)")
    parser.add_argument("--baseline-size", default="bert-base", choices=list(SIZES), help="the built baseline's size")
    parser.add_argument("--baseline-vocab", type=int, default=NLPTOWN_VOCAB, help="the built baseline's word pieces")
    parser.add_argument("--baseline-int8", action="store_true",
                        help="give the built baseline the int8 files publishing makes, unchecked (speed only: what "
                             "the page waits for once the real baseline's files pass the bar)")
    parser.add_argument("--clients", type=int, default=0,
                        help="then this many visitors at once, each sending --client-reviews new reviews (0: skip)")
    parser.add_argument("--client-reviews", type=int, default=10, help="new reviews each concurrent visitor sends")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/compare.json"))
    args = parser.parse_args()
    from review_sentiment.data.splits import read_split

    test = read_split(Path(args.dataset), "test").sample(frac=1.0, random_state=0)
    low, high = map(int, args.words.split("-"))
    pool = [t for t in test["text"] if low <= len(t.split()) <= high]
    texts, crowd = pool[:args.reviews + 3], pool[args.reviews + 3:][:args.clients * args.client_reviews]
    with tempfile.TemporaryDirectory() as tmp:
        baseline = args.baseline or make_star_baseline(args.model, Path(tmp) / "nlptown-size", args.baseline_vocab,
                                                       args.baseline_size)
        report = {"machine": cpu_info(), "model": args.model, "baseline": args.baseline or "nlptown size, random",
                  "words": [len(t.split()) for t in texts[3:]]}
        if args.baseline_int8:
            train = read_split(Path(args.dataset), "train")
            calibration = train.sample(min(300, len(train)), random_state=0)["text"].tolist()
            report["baseline_int8_files"] = add_int8_files(baseline, calibration)
        report["models"] = {"model": describe_model(args.model), "baseline": describe_model(baseline)}
        report["compare"] = time_app(args.model, baseline, texts, crowd, args.clients)
        report["plain"] = time_pipelines([args.model, baseline], texts, seed=False)
        report["seed"] = time_pipelines([args.model, baseline], texts, seed=True)
    p50 = report["compare"]["p50_ms"]
    report["summary"] = {"vs_plain": report["plain"]["p50_ms"] / p50, "vs_seed": report["seed"]["p50_ms"] / p50}
    print(f"Machine: {describe(report['machine'])}\nfine-tuned {args.model}, baseline {report['baseline']}; served: "
          f"{report['compare']['served']}; {len(texts) - 3} reviews of {args.words} words, each new to the app\n")
    rows = [[name, f"{report[key]['p50_ms']:.0f}", f"{report[key]['p90_ms']:.0f}",
             "-" if key == "compare" else f"{report[key]['p50_ms'] / p50:.2f}x"]
            for name, key in (("POST /api/v1/compare (both models, the app)", "compare"),
                              ("two plain pipelines, one after the other", "plain"),
                              ("two seed pipelines (padded to 512)", "seed"))]
    print_table(["what a visitor waits for", "p50 ms", "p90 ms", "its p50 / the app's"], rows)
    crowd = report["compare"].get("crowd")
    if crowd:
        print(f"\n{crowd['clients']} visitors at once, {crowd['requests']} new reviews: {crowd['per_second']:.1f} "
              f"reviews/s, {crowd['vs_one']:.2f}x one visitor's; p50 {crowd['p50_ms']:.0f} ms, p95 "
              f"{crowd['p95_ms']:.0f} ms; app RSS {crowd['rss_before_mb']:.0f} -> {crowd['rss_after_mb']:.0f} MB "
              f"({crowd['rss_growth']:+.1%})")
    save(report, args.out)


if __name__ == "__main__":
    main()
