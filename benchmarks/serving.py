"""Serving speed on this machine, in one run: the seed recipe and what a user would write instead (a plain
`pipeline`) against our Predictor on each runtime, in-process and through the app's own REST route.

Every timed variant runs in its own process, one after another, on one ~230-word IMDb review (one at a time, as a
Space visitor sends them) and on batches of 32. Speed uses DistilBERT- and BERT-base-sized models with random weights
(speed does not depend on the values), with onnx/ files written exactly as train.py writes them. Agreement and
accuracy use a real fine-tuned model on IMDb test reviews (every variant's answers from one process), with McNemar's
exact p-value against torch fp32. The CPU model and its ISA flags are recorded with the results: ratios move between
CPU generations.

A visitor waits for both models: the REST runs also time `POST /api/v1/compare` (what the page asks) with a baseline
of nlptown's real size (BERT-base multilingual, five stars, random weights, with the int8 files publishing makes:
compare.py builds it) against the two plain pipelines (and the two seed ones) a user would run one after the other.
With --accuracy-model, README's real model is timed the same way beside the random-weight sizes.

    python benchmarks/serving.py --accuracy-model runs/minilm-full --samples 5000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, save  # noqa: E402
from stand_ins import SIZES, mark_random  # noqa: E402

# name: (how it runs, quantize) -- "rest" is the app's default path, timed through POST /api/v1/predict.
VARIANTS = {"seed-pipeline": "transformers pipeline, every review padded to 512 (the seed recipe)",
            "plain-pipeline": "pipeline(..., truncation=True): what a user writes instead",
            "torch-fp32": "our Predictor on torch, fp32",
            "torch-int8": "our Predictor on torch, dynamic int8",
            "onnx-fp32": "our Predictor on ONNX Runtime, onnx/model.onnx",
            "onnx-int8": "our Predictor on ONNX Runtime, onnx/model_quantized.onnx (dynamic int8)",
            "openvino-fp32": "our Predictor on OpenVINO, openvino/openvino_model.xml",
            "openvino-int8": "our Predictor on OpenVINO, openvino/openvino_model_qint8_quantized.xml (static int8)",
            "rest": "the app's REST route, as it serves by default (the model ships onnx/ and openvino/ as train.py "
                    "writes them; the start-up timing picks the file)",
            "rest-onnx-only": "the app's REST route, a model that ships onnx/ alone (as train.py wrote it before "
                              "OpenVINO, or where OpenVINO is not installed)",
            "rest-no-onnx": "the app's REST route, a model that ships no ONNX or OpenVINO files and was not published "
                            "with the int8 check (fp32: an export at first start, read by ONNX Runtime or OpenVINO, or "
                            "torch, whichever is fastest here)"}
ACCURACY_VARIANTS = ["torch-fp32", "onnx-fp32", "onnx-int8", "openvino-fp32", "openvino-int8", "torch-int8"]
def typical_review(texts: list[str], words: int = 230) -> str:
    """The review whose word count is closest to `words` (IMDb's median is ~174, mean ~230)."""
    return min(texts, key=lambda t: abs(len(t.split()) - words))


def with_onnx_files(model_dir: str, work: Path, calibration: list[str]) -> str:
    """A model folder with onnx/ and openvino/ as train.py writes them (a copy, if the model has none yet), every
    int8 file kept whatever the bar says (random weights cannot meet it): OpenVINO's int8 calibrated on `calibration`
    (IMDb *train* reviews)."""
    from review_sentiment.export import onnx, openvino_ir
    from review_sentiment.inference.predictor import Predictor

    if (Path(model_dir) / onnx.FP32_FILE).exists() and (Path(model_dir) / openvino_ir.INT8_FILE).exists():
        return model_dir
    copy = work / f"{Path(model_dir).name}-with-onnx"
    shutil.copytree(model_dir, copy, ignore=shutil.ignore_patterns("checkpoints", "runs", "*.csv"))
    predictor = Predictor.load(str(copy), device="cpu")
    paths = onnx.write_files(predictor.model, predictor.tokenizer, copy)
    openvino_ir.convert(paths["fp32"], copy / openvino_ir.FP32_FILE)
    openvino_ir.quantize(copy / openvino_ir.FP32_FILE, copy / openvino_ir.INT8_FILE, predictor, calibration)
    return str(copy)


def make_random_model(kind: str, tokenizer_dir: str, folder: Path, calibration: list[str] | None = None) -> str:
    """Random weights at a real size; with `calibration` reviews, onnx/ and openvino/ as train.py writes them."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    spec = dict(SIZES[kind])
    config = AutoConfig.for_model(spec.pop("model_type"), vocab_size=tokenizer.vocab_size, num_labels=2,
                                  id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1},
                                  **spec)
    config.review_sentiment = {"max_length": 512, "truncation": "head+tail", "temperature": 1.0}
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder / kind)
    tokenizer.save_pretrained(folder / kind)
    mark_random(folder / kind, f"{kind} size, two classes")
    return with_onnx_files(str(folder / kind), folder, calibration) if calibration else str(folder / kind)


def build(variant: str, model_dir: str):
    """A callable texts -> P(positive) for one in-process variant."""
    if variant.endswith("pipeline"):
        from transformers import pipeline

        classifier = pipeline("text-classification", model=model_dir, top_k=None, device="cpu")
        # The seed pads every review to 512 (a tiny test model's positions may end sooner).
        longest = min(512, getattr(classifier.model.config, "max_position_embeddings", 512))
        padding = {"padding": "max_length", "max_length": longest} if variant == "seed-pipeline" else {}

        def run(texts):
            out = classifier(list(texts), truncation=True, batch_size=32, **padding)
            # P(positive); a star baseline has no such class and is timed only (its top score stands in).
            return np.array([next((d["score"] for d in row if d["label"] == "positive"), row[0]["score"])
                             for row in out])
        return run
    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.inference.runtime_choice import choose

    runtime, precision = variant.split("-")
    # The model's own settings: 512 head+tail for the timed random models, what it was trained with otherwise.
    predictor = choose(Predictor.load(model_dir, device="cpu"), runtime, "int8" if precision == "int8" else "none")
    assert predictor.runtime.name == runtime, predictor.runtime
    positive = predictor.labels.index("positive")
    return lambda texts: predictor.predict_proba(list(texts))[:, positive]


def timed(run, review: str, batch: list[str], repeats: int, batches: int) -> dict:
    run([review])  # warm-up
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        run([review])
        latencies.append(time.perf_counter() - start)
    run(batch)
    start = time.perf_counter()
    for _ in range(batches):
        run(batch)
    return {"p50_ms": 1000 * float(np.percentile(latencies, 50)), "p95_ms": 1000 * float(np.percentile(latencies, 95)),
            "batch32_reviews_per_s": len(batch) * batches / (time.perf_counter() - start),
            "review_words": len(review.split())}


def measure_rest(model_dir: str, baseline_dir: str, review: str, batch: list[str], repeats: int,
                 batches: int) -> dict:
    """The app as a Space runs it (its defaults, both models loaded), timed from a client on loopback: /predict
    (the fine-tuned model) and /compare (both, what the page asks)."""
    import httpx
    from load import rss_mb, start_app

    from review_sentiment.space.ui import examples

    process, url = start_app(model_dir, baseline_dir)
    fresh = itertools.count()
    try:
        models = httpx.get(f"{url}/healthz").json()["models"]
        health, baseline_runtime = models["finetuned"], models["baseline"]["runtime"]
        runtime, choice = health["runtime"], health["runtime_choice"]
        with httpx.Client(base_url=url, timeout=120) as client:
            def post(texts) -> list:
                response = client.post("/api/v1/predict", json={"texts": list(texts)})
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:500]}")
                return response.json()["predictions"]

            def run(texts):
                # Every call a review the app has not answered yet (the answer cache would serve a repeat):
                # trailing spaces make the text new without changing a token.
                n = next(fresh)
                return post([t + " " * n for t in texts])
            result = timed(run, review, batch, repeats, batches)
            compared = []
            for _ in range(repeats + 1):  # the first warms the baseline up
                started = time.perf_counter()
                answer = client.post("/api/v1/compare", json={"text": review + " " * next(fresh)})
                compared.append(1000 * (time.perf_counter() - started))
                if answer.status_code != 200:
                    raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:500]}")
            result |= {"compare_p50_ms": float(np.percentile(compared[1:], 50)),
                       "compare_p95_ms": float(np.percentile(compared[1:], 95))}
            # An example clicked for the first time, then again (from the answer cache).
            clicks = {"cold": [], "cached": []}
            for example in [e["text"] for e in examples()]:
                for kind in clicks:
                    start = time.perf_counter()
                    post([example])
                    clicks[kind].append(1000 * (time.perf_counter() - start))
            hits = httpx.get(f"{url}/healthz").json()["answer_cache"]["hits"]
        return {**result, "runtime": runtime, "runtime_choice": choice, "baseline_runtime": baseline_runtime,
                "peak_rss_mb": rss_mb(process.pid),
                "example_click_p50_ms": {k: float(np.percentile(v, 50)) for k, v in clicks.items()},
                "answer_cache_hits": hits}
    finally:
        process.terminate()
        process.wait(timeout=30)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux keeps that across exec, so a child
    would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(args) -> None:
    """One variant in a fresh process, so peak RSS and thread pools belong to it alone."""
    texts = json.loads(Path(args.texts).read_text())
    review, batch = typical_review(texts), texts[:32]
    if args.mode == "predict":  # answers only, nothing timed: every variant named in one process
        result = {variant: build(variant, args.model_dir)(texts).tolist() for variant in args.variant.split(",")}
    elif args.variant.startswith("rest"):
        model_dir = args.model_dir
        if args.variant in ("rest-no-onnx", "rest-onnx-only"):
            model_dir = str(Path(args.result).with_suffix(".model"))
            dropped = ("onnx", "openvino") if args.variant == "rest-no-onnx" else ("openvino",)
            shutil.copytree(args.model_dir, model_dir, ignore=shutil.ignore_patterns(*dropped))
        result = measure_rest(model_dir, args.baseline_dir, review, batch, args.repeats, args.batches)
    else:
        result = timed(build(args.variant, args.model_dir), review, batch, args.repeats, args.batches)
        result["peak_rss_mb"] = peak_rss_mb()
    Path(args.result).write_text(json.dumps(result))


def spawn(mode: str, variant: str, model_dir: str, texts_file: Path, args, baseline_dir: str = "") -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = Path(f.name)
    cmd = [sys.executable, __file__, "--child", mode, "--variant", variant, "--model-dir", model_dir,
           "--texts", str(texts_file), "--result", str(result), "--repeats", str(args.repeats),
           "--batches", str(args.batches), "--baseline-dir", baseline_dir]
    subprocess.run(cmd, check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"})
    return json.loads(result.read_text())


def accuracy_report(labels: np.ndarray, probs: dict[str, np.ndarray]) -> dict:
    """Each variant against torch fp32, judged by the same bar train.py applies to its int8 file."""
    from review_sentiment.export.int8_bar import compare

    def two_class(p):
        return np.c_[1 - p, p]
    report = {}
    for name, p in probs.items():
        check = compare(labels, two_class(probs["torch-fp32"]), two_class(p))
        report[name] = {"accuracy": check["accuracy_int8"], "accuracy_points_vs_fp32": check["accuracy_points"],
                        "agreement_with_fp32": check["agreement"], "mcnemar_p": check["mcnemar_p"],
                        "reviews": check["reviews"], "meets_bar": check["passed"]}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"), help="IMDb directory")
    parser.add_argument("--accuracy-model", help="a fine-tuned model for agreement/accuracy (skipped if absent); "
                                                 "its onnx/ files are written to a copy if it has none")
    parser.add_argument("--tokenizer", help="tokenizer for the random-weight models (default: --accuracy-model's)")
    parser.add_argument("--sizes", default="distilbert,bert-base", help="random-weight model sizes to time")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which variants to time")
    parser.add_argument("--model-variants", default="seed-pipeline,plain-pipeline,rest",
                        help="which of --variants to time on --accuracy-model (README's real model) too")
    parser.add_argument("--samples", type=int, default=5000, help="test reviews for agreement and accuracy")
    parser.add_argument("--repeats", type=int, default=30, help="single-review timings per variant")
    parser.add_argument("--batches", type=int, default=3, help="timed batches of 32 per variant")
    parser.add_argument("--baseline", help="the baseline the REST runs load beside each model (default: nlptown's "
                                           "size with random weights and the int8 files publishing makes, built here)")
    parser.add_argument("--baseline-size", default="bert-base", choices=list(SIZES), help="the built baseline's size")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/serving.json"))
    parser.add_argument("--baseline-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["speed", "predict"], dest="mode", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return child(args)

    import torch

    from review_sentiment.data.splits import read_split, stratified_subset
    from review_sentiment.export.openvino_ir import CALIBRATION_SAMPLES
    test = stratified_subset(read_split(Path(args.dataset), "test"), args.samples, seed=0)
    calibration = stratified_subset(read_split(Path(args.dataset), "train"), CALIBRATION_SAMPLES, seed=0)
    calibration = calibration["text"].tolist()
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(test["text"].tolist()))
    machine = cpu_info()
    report = {"machine": machine, "torch": torch.__version__, "speed": {}, "accuracy": {}}
    print(f"Serving benchmark on {describe(machine)}")

    tokenizer = args.tokenizer or args.accuracy_model
    variants = args.variants.split(",")
    baseline = args.baseline
    if baseline is None and any(v.startswith("rest") for v in variants):
        from stand_ins import NLPTOWN_VOCAB, add_int8_files, make_star_baseline

        baseline = make_star_baseline(tokenizer, work / "baseline", NLPTOWN_VOCAB, args.baseline_size)
        add_int8_files(baseline, calibration)
    report["baseline"] = args.baseline or f"nlptown's shape at size {args.baseline_size}, random weights, int8 files"
    models = [(size, lambda size=size: make_random_model(size, tokenizer, work, calibration), variants)
              for size in args.sizes.split(",") if size]
    if args.accuracy_model:  # README's real model: what a visitor waits for, beside the pipelines a user would run
        models.append(("readme-model", lambda: with_onnx_files(args.accuracy_model, work, calibration),
                       [v for v in variants if v in args.model_variants.split(",")]))
    for size, make, timed_variants in models:
        model_dir = make()
        report["speed"][size] = {}
        for variant in timed_variants:
            report["speed"][size][variant] = spawn("speed", variant, model_dir, texts_file, args, baseline or "")
            print(f"  {size} {variant}: p50 {report['speed'][size][variant]['p50_ms']:.1f} ms", flush=True)
    if baseline:  # what the baseline costs a user who runs it as a pipeline, once for every /compare ratio
        report["baseline_pipelines"] = {v: spawn("speed", v, baseline, texts_file, args)
                                        for v in ("seed-pipeline", "plain-pipeline") if v in variants}
    if args.accuracy_model:
        model_dir = with_onnx_files(args.accuracy_model, work, calibration)
        answers = spawn("predict", ",".join(ACCURACY_VARIANTS), model_dir, texts_file, args)
        probs = {v: np.array(answers[v]) for v in ACCURACY_VARIANTS}
        report["accuracy"] = accuracy_report(test["label"].to_numpy(), probs)
        report["accuracy_model"] = args.accuracy_model

    for size, rows in report["speed"].items():
        seed, plain = rows.get("seed-pipeline"), rows.get("plain-pipeline")
        weights = "README model, real weights" if size == "readme-model" else "random weights"
        print(f"\n{size} ({weights}): one ~{next(iter(rows.values()))['review_words']}-word review; "
              f"batches of 32 IMDb reviews")
        print(f"{'variant':<16}{'p50 ms':>9}{'p95 ms':>9}{'batch32 rev/s':>15}{'RSS MB':>9}{'vs seed':>9}"
              f"{'vs pipeline':>13}")
        for name, r in rows.items():
            r["vs_seed"] = seed["p50_ms"] / r["p50_ms"] if seed else None
            r["vs_plain_pipeline"] = plain["p50_ms"] / r["p50_ms"] if plain else None
            ratio = lambda x: f"{x:.2f}x" if x else "-"  # noqa: E731
            print(f"{name:<16}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['batch32_reviews_per_s']:>15.1f}"
                  f"{r['peak_rss_mb']:>9.0f}{ratio(r['vs_seed']):>9}{ratio(r['vs_plain_pipeline']):>13}")
        for name in [n for n in rows if n.startswith("rest")]:
            clicks = rows[name]["example_click_p50_ms"]
            print(f"{name} = {rows[name]['runtime']} (timed at start: {rows[name]['runtime_choice']['probe_ms']}); "
                  f"an example clicked: p50 {clicks['cold']:.1f} ms the first time, {clicks['cached']:.1f} ms again "
                  "(answer cache)")
            two = {kind: rows[f"{kind}-pipeline"]["p50_ms"] + report["baseline_pipelines"][f"{kind}-pipeline"]["p50_ms"]
                   for kind in ("plain", "seed") if f"{kind}-pipeline" in rows and
                   f"{kind}-pipeline" in report.get("baseline_pipelines", {})}
            compared = rows[name]["compare_p50_ms"]
            rows[name]["compare_vs_two"] = {kind: ms / compared for kind, ms in two.items()}
            print(f"{name}, /compare with the baseline ({rows[name]['baseline_runtime']}): p50 {compared:.1f} ms, "
                  f"p95 {rows[name]['compare_p95_ms']:.1f} ms; " + ", ".join(
                      f"{ratio:.2f}x two {kind} pipelines" for kind, ratio in rows[name]["compare_vs_two"].items()))
    if report["accuracy"]:
        print(f"\n{args.accuracy_model}: {len(test)} IMDb test reviews, against torch fp32")
        print(f"{'variant':<16}{'accuracy':>10}{'points':>8}{'agreement':>11}{'McNemar p':>11}  meets bar")
        for name, r in report["accuracy"].items():
            print(f"{name:<16}{r['accuracy']:>10.4f}{r['accuracy_points_vs_fp32']:>+8.2f}"
                  f"{r['agreement_with_fp32']:>11.4f}{r['mcnemar_p']:>11.3f}  {'yes' if r['meets_bar'] else 'no'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    made = {folder.name: str(folder) for folder in work.iterdir() if (folder / "config.json").exists()}
    save(report, args.out, models=made | ({"accuracy model": args.accuracy_model} if args.accuracy_model else {}))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
