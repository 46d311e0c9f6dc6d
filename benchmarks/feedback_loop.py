"""The feedback loop, measured end to end: visitors correct the served model in the running app, train.py re-trains
on their corrections, and a gate decides whether the new model may replace the old one.

1. The pool: negation sentences this script writes (negated positive and negative adjectives in seven frames). Its
   frames, adjectives and nouns are none of the audit's ("The plot was not bad.", "I did not find the movie
   horrible.", "..., but it was not."), and none is an IMDb or SST sentence, so the audit and the test reviews stay
   unseen. Five frames are what visitors send; two are held out, to see whether a fix reaches sentences nobody sent.
2. Visitors: the app runs the model (`python app.py`, its own process), and `--corrections` sentences of the sent
   frames that the model reads the wrong way are sent through `POST /api/v1/feedback` by 20 visitors (each its own
   address, as the Spaces proxy passes it), several at a time. Every record must come back acknowledged.
3. Re-training: the model's own recipe (its training_config.json: README's command for README's model) plus
   `--feedback-dataset <the app's feedback folder> --gate-against <the model>`.
4. Before/after: IMDb test accuracy on the same reviews (the gate's), the audit's negation rows, SST-5 where the
   recipe scores it, the sent sentences, their contrasts (data/contrasts.py: the sentiment word swapped, read the
   other way), the sent frames' sentences nobody sent (the model read them right), and the held-out frames in each
   direction; and the gate's verdict. `--contrasts` re-trains with `--feedback-contrasts`.

    python benchmarks/feedback_loop.py --model runs/minilm-imdb-full-sst --out-dir runs/minilm-feedback \\
        --max-eval-samples 5000 --no-onnx
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import start_app  # noqa: E402
from machine import cpu_info, describe, save  # noqa: E402

# Not the audit's words (evaluation/behaviour.py: POSITIVE, NEGATIVE, THINGS) nor its frames.
POSITIVE = ["superb", "gripping", "touching", "memorable", "stunning", "delightful", "impressive", "engaging",
            "powerful", "hilarious", "entertaining", "compelling", "lovely", "smart", "fresh", "witty"]
NEGATIVE = ["dreadful", "mediocre", "forgettable", "clumsy", "predictable", "lifeless", "bland", "painful",
            "pointless", "messy", "shallow", "silly", "sluggish", "lazy", "cheap", "unwatchable"]
NOUNS = ["dialogue", "pacing", "cinematography", "performances", "score", "screenplay", "editing", "villain",
         "premise", "finale", "characters", "visual effects"]
SENT_FRAMES = ["Nobody could call the {n} {a}.", "I would not say the {n} is {a}.", "The {n} is far from {a}.",
               "The {n} never feels {a}.", "There is nothing {a} about the {n}."]
HELD_OUT_FRAMES = ["The {n} isn't {a} at all.", "I never found the {n} {a}."]
VISITORS = 20


def pool(frames: list[str]) -> list[tuple[str, str]]:
    """(sentence, the right class): a negated positive adjective is negative, a negated negative one positive."""
    return [(frame.format(n=n, a=a), "negative" if a in POSITIVE else "positive")
            for frame in frames for n in NOUNS for a in POSITIVE + NEGATIVE]


def accuracy(predictor, rows: list[tuple[str, str]]) -> float | None:
    if not rows:
        return None
    labels = predictor.labels
    probs = predictor.predict_proba([t for t, _ in rows])
    return float(sum(labels[int(p.argmax())] == y for p, (_, y) in zip(probs, rows)) / len(rows))


def send(url: str, corrections: list[tuple[str, str]]) -> list[dict]:
    """Every correction through REST, from VISITORS addresses, four at a time; the acknowledgements."""
    import httpx

    def one(item):
        k, (text, label) = item
        with httpx.Client(base_url=url, timeout=120) as http:
            answer = http.post("/api/v1/feedback", json={"text": text, "label": label},
                               headers={"X-Forwarded-For": f"203.0.113.{k % VISITORS + 1}"})
        answer.raise_for_status()
        return answer.json()

    with ThreadPoolExecutor(4) as pool_:
        return list(pool_.map(one, enumerate(corrections)))


# A served model already knows the recipe's data: one epoch at a lower rate adds the corrections without moving the
# rest (measured on the quick recipe: benchmarks/README.md's loop table, "from the served model").
FROM_SERVED = ["--epochs", "1", "--learning-rate", "2e-5"]


def recipe(model_dir: Path) -> list[str]:
    """train.py's arguments that made `model_dir` (its training_config.json), as flags: its recipe, re-run."""
    import dataclasses

    from review_sentiment.model_report import read_run
    from review_sentiment.training.config import TrainConfig

    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    skip = {"output_dir", "overwrite_output_dir", "push_to_hub", "hub_model_id", "resume_from_checkpoint",
            "resume_after_training", "feedback_dataset", "feedback_weight", "gate_against", "max_eval_samples", "onnx",
            "audit"}  # the gate compares audits
    flags = []
    for name, value in read_run(model_dir).arguments.items():
        if name in skip or name not in fields or value is None or value == fields[name].default:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{name.replace('_', '-')}")
        elif isinstance(value, list) and fields[name].metadata.get("repeat"):
            flags += [part for item in value for part in (flag, str(item))]
        elif isinstance(value, list):
            flags += [flag, ",".join(map(str, value))]
        else:
            flags += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return flags


def add_retrain_arguments(parser) -> None:
    """The options of a benchmark that sends corrections and re-trains on them (this one and campaign.py)."""
    parser.add_argument("--max-eval-samples", type=int, help="train.py's: score on a stratified test subset")
    parser.add_argument("--no-onnx", action="store_true", help="train.py's: skip the ONNX/OpenVINO files")
    parser.add_argument("--train-arg", action="append", default=[], help="one more train.py argument (repeatable)")
    parser.add_argument("--resume-after-training", action="store_true",
                        help="the re-trained model in --out-dir finished training before a cut: send the same "
                             "corrections again (same --seed), then run only train.py's steps after training")
    parser.add_argument("--from-served", action="store_true",
                        help="re-train from the served model's weights (the recipe's data plus the corrections, "
                             f"{' '.join(FROM_SERVED)}) rather than from its base model: the new model stays near the "
                             "served one, so the gate sees what the corrections changed, not a re-training's drift")
    parser.add_argument("--seed", type=int, default=0)


def retrain(model: str, out: Path, feedback: Path, extra: list[str], max_eval_samples: int | None,
            no_onnx: bool, resume: bool = False, from_served: bool = False):
    """train.py with the model's own recipe plus the corrections in `feedback`, gated against the model; (the new
    model's report, seconds, the finished process). Stops here when train.py stopped before the gate. `resume`: the
    model in `out` finished training before a cut, so only train.py's steps after training run (the test, the gate).
    `from_served`: training starts from the served model's weights (FROM_SERVED) instead of the recipe's base."""
    from review_sentiment.model_report import read_report

    served = ["--model", model, *FROM_SERVED] if from_served else []  # after the recipe: the later flag wins
    command = [sys.executable, str(ROOT / "train.py"), *recipe(Path(model)), *served, "--output-dir", str(out),
               "--resume-after-training" if resume else "--overwrite-output-dir", "--feedback-dataset", str(feedback),
               "--gate-against", model, *extra]
    command += ["--max-eval-samples", str(max_eval_samples)] if max_eval_samples else []
    command += ["--no-onnx"] if no_onnx else []
    print("re-training:", " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT)
    train_s = time.perf_counter() - started
    report = read_report(out)
    if report is None or report.gate is None:
        raise SystemExit(f"train.py stopped before the gate (exit {result.returncode})")
    return report, train_s, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="the served model: a folder train.py wrote")
    parser.add_argument("--baseline", help="the app's baseline (default: a small random star model; not measured)")
    parser.add_argument("--out-dir", required=True, help="where the re-trained model goes")
    parser.add_argument("--corrections", type=int, default=300, help="how many corrections visitors send")
    parser.add_argument("--weight", type=int, default=1, help="train.py --feedback-weight")
    parser.add_argument("--contrasts", action="store_true", help="train.py --feedback-contrasts")
    add_retrain_arguments(parser)
    parser.add_argument("--json", default=str(ROOT / "benchmarks/results/feedback_loop.json"))
    args = parser.parse_args()

    from review_sentiment.data.contrasts import contrasts
    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.model_report import read_report

    model = str(Path(args.model).resolve())
    before = Predictor.load(model)
    sent_pool, held_pool = pool(SENT_FRAMES), pool(HELD_OUT_FRAMES)
    probs = before.predict_proba([t for t, _ in sent_pool])
    wrong = [row for row, p in zip(sent_pool, probs) if before.labels[int(p.argmax())] != row[1]]
    random.Random(args.seed).shuffle(wrong)
    chosen = wrong[:args.corrections]
    read_wrong = set(wrong)
    unsent = [row for row in sent_pool if row not in read_wrong]
    contrast = [pair for text, label in chosen for pair in contrasts(text, label)]
    print(f"the model reads {len(wrong):,} of {len(sent_pool):,} sent-frame sentences the wrong way; visitors send "
          f"{len(chosen):,} of them")

    work = Path(tempfile.mkdtemp(prefix="feedback-loop-"))
    baseline = args.baseline
    if baseline is None:
        from stand_ins import make_star_baseline

        baseline = make_star_baseline(model, work / "stars", vocab_size=before.tokenizer.vocab_size, size="tiny")
    # This script plays the Spaces proxy on loopback: its X-Forwarded-For address is each visitor's.
    process, url = start_app(model, baseline, FEEDBACK_DIR=str(work / "feedback"), FEEDBACK_PER_MINUTE="60",
                             TRUSTED_PROXIES="127.0.0.1")
    try:
        started = time.perf_counter()
        acks = send(url, chosen)
        send_s = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert all(a["saved"] for a in acks) and max(a["count"] for a in acks) == len(chosen), "every correction kept"
    print(f"{len(acks)} corrections acknowledged in {send_s:.1f} s")

    extra = ["--feedback-weight", str(args.weight), *args.train_arg]
    extra += ["--feedback-contrasts"] if args.contrasts else []
    out = Path(args.out_dir).resolve()
    report, train_s, result = retrain(model, out, work / "feedback", extra, args.max_eval_samples, args.no_onnx,
                                      args.resume_after_training, args.from_served)
    after = Predictor.load(str(out))
    old, new = read_report(Path(model)), report
    gate = new.gate
    rows = {
        "IMDb test accuracy (the same reviews)": (gate["accuracy"]["before"], gate["accuracy"]["after"]),
        **{f"audit {name} failure rate": (row["before"], row["after"]) for name, row in gate["tests"].items()
           if name.startswith("Negation")},
        **{f"{name} accuracy": ((old.domains or {}).get(name, {}).get("accuracy"), result_["accuracy"])
           for name, result_ in (new.domains or {}).items()},
        f"the {len(chosen)} sentences sent": (0.0, accuracy(after, chosen)),
        "their contrasts (the sentiment word swapped)": (accuracy(before, contrast), accuracy(after, contrast)),
        "sent frames, sentences nobody sent": (accuracy(before, unsent), accuracy(after, unsent)),
        **{f"held-out frames, {name} (nobody sent them)": (accuracy(before, rows_), accuracy(after, rows_))
           for name, rows_ in (("negated praise", [r for r in held_pool if r[1] == "negative"]),
                               ("negated complaints", [r for r in held_pool if r[1] == "positive"]))},
    }
    record = {"machine": cpu_info(), "model": model, "out_dir": str(out), "corrections": len(chosen),
              "wrong_in_sent_frames": len(wrong), "sent_frames": SENT_FRAMES, "held_out_frames": HELD_OUT_FRAMES,
              "weight": args.weight, "send_s": round(send_s, 1), "train_s": round(train_s, 1),
              "resumed_after_training": args.resume_after_training, "from_served": args.from_served,
              "train_exit": result.returncode, "feedback": new.data.get("train_feedback"),
              "contrasts_trained": args.contrasts,
              "gate": {"passed": gate["passed"], "failures": gate["failures"], "test_reviews": gate["test_reviews"],
                       "mcnemar_p": gate["accuracy"]["mcnemar_p"], "verdict": gate["accuracy"]["verdict"],
                       "interval_points": gate["accuracy"]["interval_points"], "checks": gate.get("checks")},
              "rows": {k: {"before": b, "after": a} for k, (b, a) in rows.items()}}
    save(record, args.json)
    print(f"\nMachine: {describe(record['machine'])}\n\n| | before | after |\n| --- | ---: | ---: |")
    for name, (b, a) in rows.items():
        print(f"| {name} | {'-' if b is None else f'{b:.2%}'} | {'-' if a is None else f'{a:.2%}'} |")
    print(f"\ngate against {model}: {'passed' if gate['passed'] else 'failed: ' + '; '.join(gate['failures'])} "
          f"({gate['accuracy']['points']:+.2f} points, 95% interval {gate['accuracy']['interval_points'][0]:+.2f} to "
          f"{gate['accuracy']['interval_points'][1]:+.2f} on {gate['test_reviews']:,} test reviews); "
          f"re-training took {train_s / 60:.1f} min")


if __name__ == "__main__":
    main()
