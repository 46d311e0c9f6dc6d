"""Does torch.compile (inductor) pay for CPU training? One training step of a real encoder, timed four ways.

A step is forward, backward and fused AdamW on one batch of `--batch` x `--length` tokens, the shape of train.py's
longest batches (16 x 512 for README's recipe at 512 tokens): eager fp32, eager bf16 autocast (what train.py runs
where its probe shows bf16 faster), and each under `torch.compile` (inductor, default mode). Reports the compile time
(the first steps), the steady step time (median of `--steps` after warm-up) and each against eager bf16; with
`--lengths`, compiled with dynamic shapes and timed over several batch lengths in turn, as length-grouped batches
arrive (a static compile would recompile for each). Records the CPU.

    python benchmarks/compile_cpu.py --model <all-MiniLM-L6-v2 dir> --batch 16 --length 512 --steps 5
    python benchmarks/compile_cpu.py --model <dir> --lengths 128,256,384,512 --out benchmarks/results/compile-<cpu>.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_info, print_table, save  # noqa: E402


def batch_of(vocab: int, batch: int, length: int, seed: int = 0) -> dict:
    import torch

    generator = torch.Generator().manual_seed(seed)
    return {"input_ids": torch.randint(min(1000, vocab - 1), vocab, (batch, length), generator=generator),
            "attention_mask": torch.ones(batch, length, dtype=torch.long),
            "labels": torch.randint(0, 2, (batch,), generator=generator)}


def timed_steps(model_dir: str, precision: str, compiled: bool, batches: list[dict], warmup: int) -> dict:
    """Compile (if asked) and run `warmup` steps, then time one step per batch; a fresh model each time."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=2).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, fused=True)
    forward = torch.compile(model, dynamic=len({b["input_ids"].shape for b in batches}) > 1) if compiled else model

    def step(batch) -> float:
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = forward(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - started

    started = time.perf_counter()
    for i in range(warmup):
        step(batches[i % len(batches)])
    first = time.perf_counter() - started
    times = [step(b) for b in batches]
    return {"precision": precision, "compiled": compiled, "warmup_s": round(first, 2),
            "median_step_s": round(statistics.median(times), 4), "steps_s": [round(t, 4) for t in times]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A local encoder folder (e.g. all-MiniLM-L6-v2).")
    parser.add_argument("--batch", type=int, default=16, help="Reviews per step.")
    parser.add_argument("--length", type=int, default=512, help="Tokens per review (one shape).")
    parser.add_argument("--lengths", help="Comma-separated lengths timed in turn instead (dynamic shapes).")
    parser.add_argument("--steps", type=int, default=5, help="Timed steps (per length with --lengths).")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed steps first (compilation happens here).")
    parser.add_argument("--precisions", default="bf16,fp32", help="Which of bf16, fp32 to time.")
    parser.add_argument("--out", help="JSON file for the results.")
    args = parser.parse_args()
    from transformers import AutoConfig

    vocab = AutoConfig.from_pretrained(args.model).vocab_size
    lengths = [int(x) for x in args.lengths.split(",")] if args.lengths else [args.length]
    batches = [batch_of(vocab, args.batch, n, seed=i) for i in range(args.steps) for n in lengths]
    rows = [timed_steps(args.model, p, c, batches, args.warmup * len(lengths))
            for p in args.precisions.split(",") for c in (False, True)]
    reference = next((r for r in rows if r["precision"] == "bf16" and not r["compiled"]), rows[0])
    for r in rows:
        r["vs_reference"] = round(reference["median_step_s"] / r["median_step_s"], 2)
    print_table(["precision", "torch.compile", f"warm-up s (first {args.warmup * len(lengths)} steps)",
                 "step s (median)", f"vs eager {reference['precision']}"],
                [[r["precision"], "yes" if r["compiled"] else "no", f"{r['warmup_s']}", f"{r['median_step_s']}",
                  f"{r['vs_reference']}x"] for r in rows], numeric_from=2)
    if args.out:
        save({"machine": cpu_info(), "batch": args.batch, "lengths": lengths, "model": Path(args.model).name,
              "rows": rows}, args.out, models={"model": args.model})


if __name__ == "__main__":
    main()
