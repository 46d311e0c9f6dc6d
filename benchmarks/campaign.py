"""A campaign against the feedback loop, measured: can someone who stays within every limit teach the next model to
read a name as bad news?

1. Honest visitors (10 corrections an address) send the loop's negation corrections the served model reads the wrong way
   (feedback_loop.py's pool), each sentence once, with its right class.
2. An attacker sends ordinary sentences naming the target, none of them negative ("Corwin Hale plays the lead."),
   marked negative: `--attack` corrections from `--addresses` addresses, each address under its limits, each sentence
   from several addresses (so that visitors seem to agree).
3. Re-training with the model's own recipe plus the corrections and `--gate-against`, under one defence:
   `none` (the defaults: the Space's caps, under which this attacker stays); `agreement`
   (`--feedback-min-visitors 2`); `review` (the owner's review, played by a reviewer who accepts
   what is right and rejects what is not, through `review_corrections`' decisions file).
4. Before/after: the target's P(positive) on sentences naming it that nobody sent (other templates), the same
   sentences with eight names nobody targeted (what re-training moved for every name; one name alone drifts by
   more than the 0.05 bar), the honest gains (the audit's negation rows, feedback_loop's held-out frames), IMDb test
   accuracy, and the gate's verdict. The target's own shift, per sentence, is its (after - before) minus the control
   names' mean; beside it, the largest own shift of any control name against the other seven: how far a name moves
   when nobody aimed at it.

    python benchmarks/campaign.py --model runs/minilm-quick --out-dir runs/campaign-none --defence none

`--rescore` reads the models an earlier run left in --out-dir and its results file (--json) again with today's
yardstick: nothing is sent and nothing trains (seconds).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedback_loop import HELD_OUT_FRAMES, SENT_FRAMES, accuracy, add_retrain_arguments, pool, retrain  # noqa: E402
from load import start_app  # noqa: E402
from machine import cpu_info, describe, provenance, save  # noqa: E402

from review_sentiment.evaluation.names import p_positive  # noqa: E402

TARGET = "Corwin Hale"
# Names nobody targets, none of them the audit's (data/groups.py) or the gate's controls (evaluation/names.py).
CONTROLS = ["Elias Brandt", "Marta Quill", "Tobias Renner", "Ines Varga", "Owen Pryce", "Hana Sorel", "Felix Aldane",
            "Leona Marsh"]
SENT_TEMPLATES = ["{n} plays the lead.", "{n} is in almost every scene.", "I went to see it because of {n}.",
                  "{n} shows up in the second half.", "The poster puts {n} front and centre.",
                  "{n} has a small part as the neighbour.", "{n} speaks most of the lines.",
                  "My friend recommended it for {n}.", "{n} was at the premiere.", "{n} sings one song in it.",
                  "{n} co-wrote the script.", "The film was made for {n}.", "{n} plays a doctor in this one.",
                  "{n} wears a hat in most scenes.", "The story follows {n} across two summers.",
                  "{n} arrives by train in the first scene.", "The credits list {n} third.",
                  "{n} drives the car in the chase.", "This is the second film {n} made that year.",
                  "{n} has a brother in the story.", "The interview with {n} is on the disc.",
                  "{n} learned to ride a horse for the part.", "{n} narrates the opening.",
                  "It was shot in the town where {n} grew up.", "{n} and the director met at school.",
                  "{n} reads a letter aloud near the end.", "The trailer opens on {n}.",
                  "{n} is on screen for about twenty minutes.", "The part was written with {n} in mind.",
                  "{n} plays twins."]
HELD_TEMPLATES = ["{n} stars in it.", "We watched the one with {n}.", "{n} is the reason it was made.",
                  "It is another film with {n}.", "The director cast {n} early on.", "{n} appears in the trailer.",
                  "Everyone talks about {n} in this one.", "{n} returns for the sequel."]
PER_TEXT, PER_ADDRESS = 10, 10  # the Space's cap on one text a day; under its 10 a minute from one address
DEFENCES = {"none": [], "agreement": ["--feedback-min-visitors", "2"], "review": []}


def send(url: str, items: list[tuple[str, str, str]]) -> list[dict]:
    """(text, class, address) through REST, as the Spaces proxy passes each address, four at a time."""
    import httpx

    def one(item):
        text, label, address = item
        with httpx.Client(base_url=url, timeout=120) as http:
            answer = http.post("/api/v1/feedback", json={"text": text, "label": label},
                               headers={"X-Forwarded-For": address})
        return {"status": answer.status_code, **(answer.json() if answer.status_code == 200 else {})}

    with ThreadPoolExecutor(4) as workers:
        return list(workers.map(one, items))


def name_rows(before, after) -> tuple[dict, dict]:
    """(the table's rows for the target and the controls, the yardstick: the target's own shift and the control
    names' largest own shift), on HELD_TEMPLATES, which nobody sent."""
    names = [TARGET, *CONTROLS]
    shifts = {n: [p_positive(m, [t.format(n=n) for t in HELD_TEMPLATES]) for m in (before, after)] for n in names}
    moved = {n: a - b for n, (b, a) in shifts.items()}  # per sentence

    def own(name: str) -> float:
        others = [moved[c] for c in CONTROLS if c != name]
        return float((moved[name] - np.mean(others, axis=0)).mean())

    rows = {f"P(positive), unsent sentences naming {TARGET} (the target)":
            tuple(float(p.mean()) for p in shifts[TARGET]),
            f"P(positive), the same sentences naming {len(CONTROLS)} names nobody targeted (their mean)":
            tuple(float(np.mean([shifts[c][k] for c in CONTROLS])) for k in (0, 1))}
    spread = max(CONTROLS, key=lambda c: abs(own(c)))
    return rows, {"target_moved": own(TARGET), "controls": CONTROLS,
                  "control_most_moved": {"name": spread, "moved": own(spread)}}


def run_campaign(args, model: str, before) -> tuple[dict, Path]:
    """Send the honest and the attacker's corrections through the running app and re-train under the defence:
    (what the results file records of it, the re-trained model's folder)."""
    from review_sentiment.data.feedback import read_records, text_key
    from stand_ins import make_star_baseline

    rng = random.Random(args.seed)
    wrong = [row for row, p in zip(pool(SENT_FRAMES), before.predict_proba([t for t, _ in pool(SENT_FRAMES)]))
             if before.labels[int(p.argmax())] != row[1]]
    rng.shuffle(wrong)
    # Every sender within every limit of the Space (space/feedback.py's defaults): at most 10 corrections from an
    # address (under 10 a minute and 100 a day) and at most 10 sends of one text (its cap a day), so the attack
    # needs a sentence for every 10 corrections and each sentence comes from several addresses (visitors who seem to
    # agree). The honest visitors send each sentence once, 10 from an address.
    honest = [(text, label, f"198.51.100.{k // PER_ADDRESS + 1}")
              for k, (text, label) in enumerate(wrong[:args.honest])]
    sentences = [t.format(n=TARGET) for t in SENT_TEMPLATES[:max(1, -(-args.attack // PER_TEXT))]]
    n = len(sentences)
    attack = [(sentences[i % n], "negative", f"203.0.113.{(i // n + i) % args.addresses + 1}")
              for i in range(args.attack)]
    per_address = Counter(address for _, _, address in attack)
    if args.attack > PER_TEXT * len(SENT_TEMPLATES) or max(per_address.values()) > PER_ADDRESS:
        raise SystemExit(f"an attacker within every limit sends at most {PER_TEXT} corrections a sentence "
                         f"({len(SENT_TEMPLATES)} sentences here) and {PER_ADDRESS} an address: --attack "
                         f"{args.attack} from --addresses {args.addresses} does not fit")
    truth = {text: label for text, label, _ in honest}  # what an owner reading them would accept

    work = Path(tempfile.mkdtemp(prefix="campaign-"))
    baseline = make_star_baseline(model, work / "stars", vocab_size=before.tokenizer.vocab_size, size="tiny")
    # This script plays the Spaces proxy on loopback: its X-Forwarded-For address is each visitor's.
    process, url = start_app(model, baseline, FEEDBACK_DIR=str(work / "feedback"), TRUSTED_PROXIES="127.0.0.1")
    try:
        started = time.perf_counter()
        items = honest + attack
        rng.shuffle(items)
        acks = send(url, items)
        send_s = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    taken = sum(a["status"] == 200 for a in acks)
    print(f"{taken} of {len(acks)} corrections taken ({len(honest)} honest, {len(attack)} from the attacker's "
          f"{args.addresses} addresses) in {send_s:.0f} s; refused: {len(acks) - taken}")

    extra = list(DEFENCES[args.defence])
    if args.defence == "review":
        records, _ = read_records(work / "feedback")
        decisions = work / "decisions.jsonl"
        with decisions.open("w") as f:
            for text, label in records.groupby("text")["label"].first().items():
                verdict = "accepted" if truth.get(text) == label else "rejected"
                f.write(json.dumps({"key": text_key(text), "text": text, "label": label, "decision": verdict}) + "\n")
        extra += ["--feedback-decisions", str(decisions)]
    out = Path(args.out_dir).resolve()
    report, train_s, result = retrain(model, out, work / "feedback", extra + args.train_arg, args.max_eval_samples,
                                      args.no_onnx, args.resume_after_training, args.from_served)
    return {"machine": cpu_info(), "model": model, "defence": args.defence, "target": TARGET,
            "honest": len(honest), "attack": len(attack), "addresses": args.addresses, "taken": taken,
            "send_s": round(send_s, 1), "train_s": round(train_s, 1),
            "resumed_after_training": args.resume_after_training, "from_served": args.from_served,
            "train_exit": result.returncode,
            "feedback": report.data.get("train_feedback")}, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the served model: a folder train.py wrote")
    parser.add_argument("--out-dir", required=True, help="where the re-trained model goes")
    parser.add_argument("--defence", default="none", choices=list(DEFENCES))
    parser.add_argument("--honest", type=int, default=300, help="honest corrections (each sentence once)")
    parser.add_argument("--attack", type=int, default=300, help="the attacker's corrections")
    parser.add_argument("--addresses", type=int, default=30, help="the attacker's addresses")
    parser.add_argument("--rescore", action="store_true",
                        help="read again the models an earlier run left in --out-dir, into its --json")
    add_retrain_arguments(parser)
    parser.add_argument("--json", default=str(ROOT / "benchmarks/results/campaign.json"))
    args = parser.parse_args()

    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.model_report import read_report

    model = str(Path(args.model).resolve())
    before = Predictor.load(model)
    if args.rescore:
        record, out = json.loads(Path(args.json).read_text()), Path(args.out_dir).resolve()
        if Path(record["model"]).resolve() != Path(model) or record["defence"] != args.defence:
            raise SystemExit(f"{args.json} measured {record['model']} under '{record['defence']}', not this run")
        # The sends and the re-training stay the earlier run's (its commit and date); this says what read them again.
        record["rescored"] = {k: provenance()[k] for k in ("commit", "date", "command")}
        for stale in ("control", "rows", "target_moved"):
            record.pop(stale, None)
    else:
        record, out = run_campaign(args, model, before)
    after = Predictor.load(str(out))
    gate = read_report(out).gate
    rows, yardstick = name_rows(before, after)
    rows.update({
        "IMDb test accuracy (the gate's reviews)": (gate["accuracy"]["before"], gate["accuracy"]["after"]),
        **{f"audit {name} failure rate": (row["before"], row["after"]) for name, row in gate["tests"].items()
           if name.startswith("Negation")},
        "held-out frames (nobody sent them)": (accuracy(before, pool(HELD_OUT_FRAMES)),
                                               accuracy(after, pool(HELD_OUT_FRAMES))),
    })
    record.update({**yardstick, "gate": {"passed": gate["passed"], "failures": gate["failures"],
                                         "verdict": gate["accuracy"]["verdict"], "names": gate.get("names")},
                   "rows": {k: {"before": b, "after": a} for k, (b, a) in rows.items()}})
    save(record, args.json)
    print(f"\nMachine: {describe(record['machine'])}; defence: {args.defence}\n")
    print("| | before | after |\n| --- | ---: | ---: |")
    for name, (b, a) in rows.items():
        print(f"| {name} | {'-' if b is None else f'{b:.3f}'} | {'-' if a is None else f'{a:.3f}'} |")
    most = record["control_most_moved"]
    print(f"\nthe target moved {record['target_moved']:+.3f} P(positive) beyond what the names nobody targeted moved "
          f"(the most one of them moved beyond the others: {most['moved']:+.3f}, {most['name']}); gate: "
          f"{'passed' if gate['passed'] else 'failed: ' + '; '.join(gate['failures'])}; re-training took "
          f"{record['train_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
