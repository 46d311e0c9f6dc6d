"""Training throughput: the seed recipe against train.py's settings, same model, same 512 IMDb reviews.

Seed: every review padded/truncated to 512 tokens, fp32, fixed order. Ours: head+tail at 512 with dynamic padding,
length-grouped batches, and bf16 (fp16 on older GPUs) where a GPU has it. Runs unchanged on CPU or GPU and records
the device. Throughput counts real (non-padding) tokens.

    python benchmarks/training.py --dataset ../shared/data/imdb --size distilbert
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def run(recipe: str, model_dir: str, texts: list[str], labels: list[int], batch_size: int, steps: int | None) -> dict:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    from review_sentiment.text import encode
    from review_sentiment.training import precision_flags

    set_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    if recipe == "seed":
        enc = tokenizer(texts, truncation=True, max_length=512, padding="max_length")["input_ids"]
        flags, precision = {"bf16": False, "fp16": False}, "fp32"
        sampling = "sequential"
    else:
        enc = encode(tokenizer, texts, max_length=512, truncation="head+tail")
        flags, precision = precision_flags("auto")
        sampling = "group_by_length"
    pad = tokenizer.pad_token_id
    data = [{"input_ids": ids, "attention_mask": [int(t != pad) if recipe == "seed" else 1 for t in ids],
             "labels": y} for ids, y in zip(enc, labels)]
    real_tokens = sum(sum(d["attention_mask"]) for d in data)
    max_steps = steps or len(data) // batch_size
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch_size,
                             max_steps=max_steps, learning_rate=2e-5, report_to="none", save_strategy="no",
                             logging_strategy="no", train_sampling_strategy=sampling, disable_tqdm=False,
                             dataloader_pin_memory=torch.cuda.is_available(), **flags)
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer))
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    seen = real_tokens * max_steps * batch_size / len(data)
    return {"recipe": recipe, "precision": precision, "steps": max_steps, "seconds": seconds,
            "seconds_per_100_steps": 100 * seconds / max_steps, "real_tokens_per_s": seen / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--size", default="distilbert", choices=["distilbert", "bert-base", "tiny"])
    parser.add_argument("--tokenizer", required=True, help="a BERT-uncased tokenizer directory")
    parser.add_argument("--reviews", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, help="stop after this many steps (default: one pass over --reviews)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/training.json"))
    args = parser.parse_args()

    import torch
    from serving import make_random_model

    from review_sentiment.data import read_split, stratified_subset

    train = stratified_subset(read_split(Path(args.dataset), "train"), args.reviews, seed=0)
    model_dir = make_random_model(args.size, args.tokenizer, Path(tempfile.mkdtemp()))
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    results = [run(r, model_dir, train["text"].tolist(), train["label"].tolist(), args.batch_size, args.steps)
               for r in ("seed", "ours")]
    seed, ours = results
    print(f"\nTraining benchmark: {args.size} (random weights), {args.reviews} IMDb reviews, batch {args.batch_size}, "
          f"on {device}")
    print(f"{'recipe':<8}{'precision':>10}{'steps':>7}{'s/100 steps':>13}{'real tokens/s':>15}")
    for r in results:
        print(f"{r['recipe']:<8}{r['precision']:>10}{r['steps']:>7}{r['seconds_per_100_steps']:>13.1f}"
              f"{r['real_tokens_per_s']:>15.0f}")
    speedup = ours["real_tokens_per_s"] / seed["real_tokens_per_s"]
    print(f"ours / seed: {speedup:.2f}x real tokens per second")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"device": device, "size": args.size, "reviews": args.reviews,
                                          "batch_size": args.batch_size, "results": results,
                                          "speedup": speedup}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
