"""Training throughput in one run: the seed recipe, train.py's recipe, and a plain PyTorch loop (the floor).

- seed: every review padded/truncated to 512 tokens, fp32, fixed order, the Trainer's defaults.
- ours: train.py's settings (training.speed_arguments, padding.Collator, padding.attention_backends): head+tail at
  512, length-grouped batches padded to a multiple of 64 on a GPU (to their longest on CPU), bf16 (fp16 on older
  GPUs), no per-step host sync, workers and pinned memory on a GPU.
- ours-cudnn (GPU only): ours with PyTorch's default attention backend (cuDNN on Hopper), which plans per shape.
- floor: no Trainer; random batches padded to their longest review, bf16 autocast on a GPU (fp32 on CPU), fused
  AdamW: what a user who writes the loop by hand gets.

Same model, same reviews, same batch size. Throughput counts real (non-padding) tokens, over the steps after the
first `--warmup-steps` (reported apart: new shapes and kernel plans land there). Records the GPU, driver, CUDA,
torch and transformers versions, or the CPU and its ISA.

    python benchmarks/training.py --tokenizer <encoder dir> --dataset ../shared/data/imdb --size distilbert \\
        --reviews 8192
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


class Clock:
    """Step end times and distinct input shapes, for the Trainer (as a callback) and the hand-written loop alike."""

    def __init__(self, model, warmup: int):
        self.warmup, self.ends, self.shapes = warmup, [], set()
        model.register_forward_pre_hook(lambda _, args, kwargs: self.shapes.add(tuple(kwargs["input_ids"].shape)),
                                        with_kwargs=True)

    def start(self) -> None:
        self.started = time.perf_counter()

    def step(self) -> None:
        import torch

        # One sync, where warm-up ends, so that its kernels are not counted in the steady part.
        if len(self.ends) + 1 == self.warmup and torch.cuda.is_available():
            torch.cuda.synchronize()
        self.ends.append(time.perf_counter())

    def result(self, recipe: str, precision: str, tokens_per_step: float) -> dict:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.ends[-1] = time.perf_counter()
        steps, warm = len(self.ends), self.warmup
        warm_end = self.ends[warm - 1] if warm else self.started
        steady = (self.ends[-1] - warm_end) / (steps - warm)
        return {"recipe": recipe, "precision": precision, "steps": steps, "distinct_shapes": len(self.shapes),
                "warmup_steps": warm, "warmup_s": warm_end - self.started, "seconds": self.ends[-1] - self.started,
                "seconds_per_100_steps": 100 * steady, "real_tokens_per_s": tokens_per_step / steady}


def trainer_recipe(recipe: str, model, tokenizer, texts, labels, batch_size, steps, warmup) -> dict:
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    from review_sentiment.data.text import encode
    from review_sentiment.inference.padding import Collator, attention_backends
    from review_sentiment.training.precision import choose_precision
    from review_sentiment.training.precision import flags as precision_flags
    from review_sentiment.training.run import speed_arguments

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if recipe == "seed":
        enc = tokenizer(texts, truncation=True, max_length=512, padding="max_length")["input_ids"]
        flags, precision, speed, collator = {}, "fp32", {"train_sampling_strategy": "sequential"}, \
            DataCollatorWithPadding(tokenizer)
        data = [{"input_ids": ids, "attention_mask": [int(t != tokenizer.pad_token_id) for t in ids], "labels": y}
                for ids, y in zip(enc, labels)]
    else:
        precision = choose_precision("auto", model, batch_size, 512)[0]
        flags = precision_flags(precision)
        speed, collator = speed_arguments(device), Collator(tokenizer, device, 512)
        data = [{"input_ids": ids, "attention_mask": [1] * len(ids), "labels": y}
                for ids, y in zip(encode(tokenizer, texts, max_length=512, truncation="head+tail"), labels)]
    clock = Clock(model, warmup)

    class Steps(TrainerCallback):
        def on_train_begin(self, *_, **__):
            clock.start()

        def on_step_end(self, *_, **__):
            clock.step()

    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch_size,
                             max_steps=steps, learning_rate=2e-5, report_to="none", save_strategy="no",
                             logging_strategy="no", disable_tqdm=False, seed=0, **speed, **flags,
                             # transformers takes bf16 autocast on a CPU only when told it is a CPU run (as train.py)
                             **({"use_cpu": True} if device == "cpu" and flags.get("bf16") else {}))
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, data_collator=collator,
                      callbacks=[Steps()])
    with attention_backends(device) if recipe == "ours" else contextlib.nullcontext():
        trainer.train()
    real = sum(sum(d["attention_mask"]) for d in data) / len(data)
    return clock.result(recipe, precision, real * batch_size)


def floor_recipe(model, tokenizer, texts, labels, batch_size, steps, warmup) -> dict:
    """The plain loop: random batches padded to their longest review, bf16 autocast where the GPU has it."""
    import torch
    from tqdm.auto import tqdm

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    bf16 = cuda and torch.cuda.is_bf16_supported()
    model.to(device).train()
    enc = tokenizer(texts, truncation=True, max_length=512)["input_ids"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.0, fused=True)
    order = torch.randperm(len(enc), generator=torch.Generator().manual_seed(0)).tolist()
    clock, real = Clock(model, warmup), 0
    clock.start()
    for step in tqdm(range(steps), desc="floor"):
        rows = [order[(step * batch_size + i) % len(order)] for i in range(batch_size)]
        batch = tokenizer.pad({"input_ids": [enc[i] for i in rows]}, return_tensors="pt")
        real += int(batch["attention_mask"].sum()) if step >= clock.warmup else 0
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        target = torch.tensor([labels[i] for i in rows], device=device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch, labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        clock.step()
    return clock.result("floor", "bf16" if bf16 else "fp32", real / (steps - warmup))


def run(recipe: str, model_dir: str, texts, labels, batch_size: int, steps: int, warmup: int) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    set_seed(0)
    warmup = min(warmup, steps - 1)  # at least one steady step
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    if recipe == "floor":
        return floor_recipe(model, tokenizer, texts, labels, batch_size, steps, warmup)
    return trainer_recipe(recipe, model, tokenizer, texts, labels, batch_size, steps, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--size", default="distilbert", choices=["distilbert", "bert-base", "tiny"],
                        help="model size, random weights (speed does not depend on their values)")
    parser.add_argument("--tokenizer", required=True, help="a BERT-uncased tokenizer directory")
    parser.add_argument("--reviews", type=int, default=2048, help="stratified IMDb train reviews")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, help="steps per recipe (default: one pass over --reviews)")
    parser.add_argument("--warmup-steps", type=int, default=20, help="first steps, timed apart from the rest")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/training.json"))
    args = parser.parse_args()

    import torch
    from machine import cpu_info, describe, gpu_info, save
    from serving import make_random_model

    from review_sentiment.data.splits import read_split, stratified_subset

    train = stratified_subset(read_split(Path(args.dataset), "train"), args.reviews, seed=0)
    model_dir = make_random_model(args.size, args.tokenizer, Path(tempfile.mkdtemp()))
    steps = args.steps or len(train) // args.batch_size
    gpu = gpu_info()
    device = f"{gpu['gpu']} (driver {gpu['driver']}, CUDA {gpu['cuda']}, cuDNN {gpu['cudnn']}, torch " \
             f"{gpu['torch']}, transformers {gpu['transformers']})" if gpu else describe(cpu_info())
    recipes = ["seed", "ours", *(["ours-cudnn"] if torch.cuda.is_available() else []), "floor"]
    results = [run(r, model_dir, train["text"].tolist(), train["label"].tolist(), args.batch_size, steps,
                   args.warmup_steps) for r in recipes]
    by = {r["recipe"]: r for r in results}
    print(f"\nTraining benchmark: {args.size} (random weights), {len(train)} IMDb reviews, batch {args.batch_size}, "
          f"{steps} steps, on {device}")
    print(f"{'recipe':<12}{'precision':>10}{'shapes':>8}{'warm-up s':>11}{'s/100 steps':>13}{'real tokens/s':>15}")
    for r in results:
        print(f"{r['recipe']:<12}{r['precision']:>10}{r['distinct_shapes']:>8}{r['warmup_s']:>11.1f}"
              f"{r['seconds_per_100_steps']:>13.2f}{r['real_tokens_per_s']:>15.0f}")
    speedup = by["ours"]["real_tokens_per_s"] / by["seed"]["real_tokens_per_s"]
    of_floor = by["ours"]["real_tokens_per_s"] / by["floor"]["real_tokens_per_s"]
    print(f"ours / seed: {speedup:.2f}x real tokens per second; ours / floor: {of_floor:.2f}x "
          f"(after {by['ours']['warmup_steps']} warm-up steps)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"device": device, "gpu": gpu, "machine": cpu_info(), "size": args.size,
          "reviews": len(train), "batch_size": args.batch_size, "steps": steps,
          "warmup_steps": args.warmup_steps, "results": results,
          "speedup": speedup, "of_floor": of_floor}, args.out, models={"model": model_dir})


if __name__ == "__main__":
    main()
