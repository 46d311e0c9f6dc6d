"""Serving speed on this machine: the seed recipe against our Predictor's options, each in its own process.

The seed recipe is transformers' `pipeline`, fp32, every review padded/truncated to 512 tokens. Ours is the
Predictor (dynamic shapes, torch.inference_mode, length-sorted batches, head+tail at 512), in fp32 with the default
and with one thread, and with int8 dynamic quantisation.

Speed uses DistilBERT- and BERT-base-sized models with random weights (speed does not depend on the values);
agreement and accuracy use a real fine-tuned model on IMDb test reviews.

    python benchmarks/serving.py --accuracy-model runs/minilm-full --dataset ../shared/data/imdb
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VARIANTS = ["seed-pipeline", "predictor-fp32", "predictor-fp32-1thread", "predictor-int8", "predictor-onnxruntime"]
SIZES = {"distilbert": dict(model_type="distilbert", dim=768, n_layers=6, n_heads=12, hidden_dim=3072),
         "bert-base": dict(model_type="bert", hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072),
         # For the tests that run every benchmark end to end in seconds.
         "tiny": dict(model_type="bert", hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64)}


def typical_review(texts: list[str], words: int = 230) -> str:
    """The review whose word count is closest to `words` (IMDb's median is ~174, mean ~230)."""
    return min(texts, key=lambda t: abs(len(t.split()) - words))


def make_random_model(kind: str, tokenizer_dir: str, folder: Path) -> str:
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    spec = dict(SIZES[kind])
    config = AutoConfig.for_model(spec.pop("model_type"), vocab_size=tokenizer.vocab_size, num_labels=2,
                                  id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1},
                                  **spec)
    config.review_sentiment = {"max_length": 512, "truncation": "head+tail", "temperature": 1.0}
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder / kind)
    tokenizer.save_pretrained(folder / kind)
    return str(folder / kind)


def build(variant: str, model_dir: str):
    """A callable texts -> P(positive) for one variant."""
    import torch

    if variant.endswith("1thread"):
        torch.set_num_threads(1)
    if variant == "seed-pipeline":
        from transformers import pipeline

        classifier = pipeline("text-classification", model=model_dir, top_k=None, device="cpu")
        window = min(512, classifier.model.config.max_position_embeddings)  # 512 for every real model here

        def run(texts):
            out = classifier(list(texts), truncation=True, padding="max_length", max_length=window, batch_size=32)
            return np.array([next(d["score"] for d in row if d["label"] == "positive") for row in out])
        return run
    from review_sentiment.predictor import Predictor

    # The model's own settings: 512 head+tail for the timed random models, what it was trained with otherwise.
    predictor = Predictor.load(model_dir, device="cpu", quantize="int8" if variant.endswith("int8") else "none")
    if variant.endswith("onnxruntime"):
        predictor = predictor.on_onnxruntime()
    positive = predictor.labels.index("positive")
    return lambda texts: predictor.predict_proba(list(texts))[:, positive]


def measure(variant: str, model_dir: str, texts: list[str], repeats: int, batches: int) -> dict:
    run = build(variant, model_dir)
    review = typical_review(texts)
    run([review])  # warm-up
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        run([review])
        latencies.append(time.perf_counter() - start)
    batch = texts[:32]
    run(batch)
    start = time.perf_counter()
    for _ in range(batches):
        run(batch)
    throughput = 32 * batches / (time.perf_counter() - start)
    import torch
    return {"p50_ms": 1000 * float(np.percentile(latencies, 50)), "p95_ms": 1000 * float(np.percentile(latencies, 95)),
            "batch32_reviews_per_s": throughput, "threads": torch.get_num_threads(),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "review_words": len(review.split())}


def child(args) -> None:
    """One variant in a fresh process, so peak RSS and thread settings belong to it alone."""
    texts = json.loads(Path(args.texts).read_text())
    if args.mode == "speed":
        result = measure(args.variant, args.model_dir, texts, args.repeats, args.batches)
    else:
        run = build(args.variant, args.model_dir)
        result = {"p_positive": run(texts).tolist()}
    Path(args.result).write_text(json.dumps(result))


def spawn(mode: str, variant: str, model_dir: str, texts_file: Path, args) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = Path(f.name)
    cmd = [sys.executable, __file__, "--child", mode, "--variant", variant, "--model-dir", model_dir,
           "--texts", str(texts_file), "--result", str(result), "--repeats", str(args.repeats),
           "--batches", str(args.batches)]
    subprocess.run(cmd, check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    return json.loads(result.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"), help="IMDb directory")
    parser.add_argument("--accuracy-model", help="a fine-tuned model for agreement/accuracy (skipped if absent)")
    parser.add_argument("--tokenizer", help="tokenizer for the random-weight models (default: --accuracy-model's)")
    parser.add_argument("--sizes", default="distilbert,bert-base", help="random-weight model sizes to time")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which variants to run")
    parser.add_argument("--samples", type=int, default=1000, help="test reviews for agreement and accuracy")
    parser.add_argument("--repeats", type=int, default=30, help="single-review timings per variant")
    parser.add_argument("--batches", type=int, default=3, help="timed batches of 32 per variant")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/serving.json"))
    parser.add_argument("--child", choices=["speed", "predict"], dest="mode", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return child(args)

    import torch

    from review_sentiment.data import read_split, stratified_subset
    test = stratified_subset(read_split(Path(args.dataset), "test"), args.samples, seed=0)
    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(test["text"].tolist()))
    report = {"device": f"CPU ({os.cpu_count()} cores, torch {torch.__version__})", "speed": {}, "accuracy": {}}

    tokenizer = args.tokenizer or args.accuracy_model
    variants = args.variants.split(",")
    for size in [s for s in args.sizes.split(",") if s]:
        model_dir = make_random_model(size, tokenizer, work)
        report["speed"][size] = {v: spawn("speed", v, model_dir, texts_file, args) for v in variants}
    if args.accuracy_model:
        labels = test["label"].to_numpy()
        probs = {v: np.array(spawn("predict", v, args.accuracy_model, texts_file, args)["p_positive"])
                 for v in variants if v != "predictor-fp32-1thread"}
        reference = probs[next(v for v in probs if v.startswith("predictor-fp32"))] > 0.5
        report["accuracy"] = {v: {"accuracy": float(((p > 0.5) == labels).mean()),
                                  "agreement_with_fp32": float(((p > 0.5) == reference).mean()),
                                  "reviews": int(len(labels))} for v, p in probs.items()}

    print(f"\nServing benchmark on {report['device']}")
    for size, rows in report["speed"].items():
        seed = rows.get("seed-pipeline") or next(iter(rows.values()))
        print(f"\n{size} (random weights): one ~{seed['review_words']}-word review, batch of 32 IMDb reviews")
        print(f"{'variant':<24}{'p50 ms':>9}{'p95 ms':>9}{'batch32 rev/s':>15}{'RSS MB':>9}{'p50 speed-up':>14}")
        for name, r in rows.items():
            print(f"{name:<24}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['batch32_reviews_per_s']:>15.1f}"
                  f"{r['peak_rss_mb']:>9.0f}{seed['p50_ms'] / r['p50_ms']:>13.2f}x")
    if report["accuracy"]:
        print(f"\n{args.accuracy_model}: {len(test)} IMDb test reviews")
        for name, r in report["accuracy"].items():
            print(f"{name:<24} accuracy {r['accuracy']:.4f}   agreement with fp32 {r['agreement_with_fp32']:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
