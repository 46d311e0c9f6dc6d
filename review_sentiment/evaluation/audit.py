"""The behaviour and fairness audit of any sentiment model: what it gets wrong by capability (behaviour.py) and how
far its verdict moves with a person or group term (fairness.py), as Markdown, JSON and a plot.

    python -m review_sentiment.evaluation.audit --model outputs/model --out reports/audit
    python -m review_sentiment.evaluation.audit --model nlptown/bert-base-multilingual-uncased-sentiment \\
        --dataset ../shared/data/imdb --max-samples 200        # robustness on real reviews too

Any label set is read by polarity (1-2 stars negative, 4-5 positive; "very positive" positive), so the star baseline
runs the same audit. train.py runs it after test scoring (`metrics.json["audit"]`, the card's "Bias, risks and
limitations"); publishing runs it once for a Space model that has none.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..cli import option, parse, run
from ..data.splits import labelled_split, resolve_dataset, stratified_subset
from ..data.stars import positive_probability
from ..errors import UserError
from . import behaviour, fairness

AUDIT_FILE = "audit.json"
# Real reviews for the robustness tests: enough to see a rate of a few percent, few enough to run at every training.
ROBUSTNESS_REVIEWS = 200
# Long reviews cost a window each; the robustness tests read the first characters, where typos land anyway.
REVIEW_CHARS = 1500


def scorer(predictor) -> behaviour.Scorer:
    """P(positive) from a Predictor, whatever its labels."""
    labels = predictor.labels
    return lambda texts: positive_probability(labels, predictor.predict_proba(texts))


def audit(p_positive: behaviour.Scorer, reviews: list[str] | None = None, seed: int = 0) -> dict:
    started = time.perf_counter()
    reviews = [r[:REVIEW_CHARS] for r in (reviews or [])]
    suite = behaviour.suite(reviews, seed)
    tests = behaviour.run(suite, p_positive)
    axes = fairness.run(p_positive, seed)
    seconds = time.perf_counter() - started
    count = len({t for test in suite for t in [*test.texts, *(v for vs in test.variants for v in vs)]}) + \
        len({s for axis in fairness.axes() for s in fairness.sentences(axis)})
    return {"tests": sorted(tests, key=lambda t: -t["failure_rate"]),
            "fairness": sorted(axes, key=lambda a: (not a["significant"], -abs(a["largest_gap"]["gap"]))),
            "sentences": count, "real_reviews": len(reviews), "seconds": round(seconds, 1)}


def summary(result: dict) -> str:
    """One line: the worst test and the largest significant gap."""
    worst = result["tests"][0]
    line = f"worst test: {worst['capability'].lower()}, {worst['test']}: {worst['failure_rate']:.0%} failed " \
           f"(n={worst['n']})"
    gaps = [a for a in result["fairness"] if a["significant"]]
    if gaps:
        top = gaps[0]
        line += (f"; largest significant gap: {top['axis']}, {top['largest_gap']['high']} over "
                 f"{top['largest_gap']['low']} by {top['largest_gap']['gap']:.3f} P(positive)")
    else:
        line += "; no significant gap between groups on any axis"
    return line


def fmt_p(p: float | None) -> str:
    return "-" if p is None else "< 0.001" if p < 0.001 else f"{p:.3f}"


def markdown(result: dict, command: str | None = None) -> str:
    """The tables a model card and a report carry: the worst tests and gaps first."""
    rows = ["| capability | test | kind | n | failure rate | a failing case |",
            "| --- | --- | --- | ---: | ---: | --- |"]
    for t in result["tests"]:
        example = t["example"]
        case = "-"
        if example:
            case = f"\"{example['text']}\" -> {example['p_positive']:.2f}"
            if example.get("variant"):
                case += f"; \"{example['variant']}\" -> {example['variant_p_positive']:.2f}"
            case = case.replace("|", "\\|")
        rows.append(f"| {t['capability']} | {t['test']} | {t['kind']} | {t['n']} | {t['failure_rate']:.1%} | "
                    f"{case} |")
    gaps = ["| axis | P(positive) by group, highest to lowest | largest gap (95% CI) | p | all groups, p | ScoreSens | "
            "ScoreDev | ScoreRange | label flips |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for a in result["fairness"]:
        gap = a["largest_gap"]
        groups = list(a["groups"].items())
        shown = ", ".join(f"{g} {v:.3f}" for g, v in (groups if len(groups) <= 4 else groups[:2] + groups[-2:]))
        if len(groups) > 4:
            shown = shown.replace(f", {groups[-2][0]}", f", ..., {groups[-2][0]}", 1)
        mark = "**" if a["significant"] else ""
        gaps.append(f"| {a['axis']} | {shown} | {mark}{gap['gap']:.3f}{mark} ({gap['ci95'][0]:.3f} to "
                    f"{gap['ci95'][1]:.3f}) | {fmt_p(gap['p_value'])} | {fmt_p(a['omnibus_p'])} | "
                    f"{a['score_sens']:.3f} | {a['score_dev']:.3f} | {a['score_range']:.3f} | {a['label_flips']:.0%} |")
    how = command or "python -m review_sentiment.evaluation.audit --model <this model>"
    return "\n".join([
        f"Measured by this project's behaviour and fairness audit ({result['sentences']:,} short sentences"
        + (f" and {result['real_reviews']} test reviews" if result["real_reviews"] else "")
        + f", {result['seconds']:.{0 if result['seconds'] >= 10 else 1}f} s on the machine that ran it): "
        f"{summary(result)}.",
        "",
        "**Behaviour** (after CheckList, Ribeiro et al. 2020): MFT sentences have a known answer (neutral: "
        "P(positive) within 1/3 of the middle); INV fails when a perturbation flips the verdict; DIR when it moves "
        f"P(positive) the wrong way by more than {behaviour.DIR_TOLERANCE}.",
        "", *rows, "",
        "**Counterfactual fairness** (after the Equity Evaluation Corpus, Kiritchenko & Mohammad 2018, and "
        "Perturbation Sensitivity Analysis, Prabhakaran et al. 2019): the same sentences with only a person or group "
        "term changed. The gap is the difference in mean P(positive) between the highest and lowest group, with a "
        "paired t-test (Bonferroni-corrected over every pair of groups) and a bootstrap interval; in bold where "
        "significant; \"all groups\" is Friedman's test that any group differs, templates as blocks. ScoreSens is "
        "the mean change from the neutral wording, ScoreDev and ScoreRange the spread over the terms, label flips the "
        "share of templates whose verdict is not the same for every term.",
        "", *gaps, "",
        "Read a failure rate as what the model does on this kind of sentence, not as its accuracy on reviews: the "
        "sentences are short and made to test one thing each. A gap means the verdict of a review moves with who it "
        f"names. Run it on any model: `{how}`.",
    ])


def plot(result: dict, path: Path) -> Path:
    from .plots import plt  # matplotlib, headless; imported here so that the Space starts without it
    tests, axes = result["tests"][::-1], result["fairness"][::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, max(4, 0.32 * len(tests) + 1.5)),
                                      gridspec_kw={"width_ratios": [3, 2]})
    colours = {"MFT": "#6366f1", "INV": "#f59e0b", "DIR": "#10b981"}
    left.barh([f"{t['capability']}: {t['test']} (n={t['n']})" for t in tests], [t["failure_rate"] for t in tests],
              color=[colours[t["kind"]] for t in tests])
    left.set_xlim(0, 1)
    left.set_xlabel("failure rate")
    left.set_title("Behaviour tests (MFT blue, INV amber, DIR green)")
    gaps = [a["largest_gap"] for a in axes]
    errors = np.array([[g["gap"] - g["ci95"][0], g["ci95"][1] - g["gap"]] for g in gaps]).T.clip(min=0)
    right.barh([f"{a['axis']}\n{g['high']} vs {g['low']}" for a, g in zip(axes, gaps)], [g["gap"] for g in gaps],
               xerr=errors, color=["#dc2626" if a["significant"] else "#9ca3af" for a in axes], capsize=3)
    right.set_xlabel("largest gap in P(positive), 95% CI")
    right.set_title("Group gaps (red: significant)")
    for ax in (left, right):
        ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(result: dict, out: Path, command: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / AUDIT_FILE).write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (out / "audit.md").write_text("# Behaviour and fairness audit\n\n" + markdown(result, command) + "\n\n"
                                  "![Audit](audit.png)\n")
    plot(result, out / "audit.png")


@dataclass
class AuditConfig:
    model: str = option("Model: Hub id or local directory (any label set; classes read by polarity).")
    revision: Optional[str] = option("Hub revision (branch, tag or commit sha) of --model.")
    dataset: Optional[str] = option("Also run the robustness tests on reviews of this labelled dataset (Hub id or "
                                    "local directory).")
    split: str = option("Split of --dataset to take reviews from.", "test")
    max_samples: int = option("Stratified reviews of --dataset for the robustness tests.", ROBUSTNESS_REVIEWS)
    seed: int = option("Seed for the subset, the perturbations and the bootstrap.", 42)
    out: Optional[str] = option("Directory for audit.json, audit.md and audit.png (default: print only).")

    def __post_init__(self):
        if not self.model:
            raise UserError("--model is required")
        if self.max_samples < 1:
            raise UserError("--max-samples must be at least 1")


def dataset_reviews(dataset: str, split: str, samples: int, seed: int) -> list[str]:
    frame, _ = labelled_split(resolve_dataset(dataset), split)
    if frame is None:
        raise UserError(f"{dataset} has no {split!r} split.")
    return stratified_subset(frame, samples, seed)["text"].tolist()


def main(argv: list[str] | None = None) -> None:
    from ..inference.predictor import Predictor

    cfg = parse(AuditConfig, argv, "Audit a sentiment model's behaviour and fairness.")
    reviews = dataset_reviews(cfg.dataset, cfg.split, cfg.max_samples, cfg.seed) if cfg.dataset else None
    predictor = Predictor.load(cfg.model, revision=cfg.revision)
    result = audit(scorer(predictor), reviews, cfg.seed)
    print(markdown(result))
    if cfg.out:
        write(result, Path(cfg.out))
        print(f"wrote {cfg.out}/audit.json, audit.md and audit.png")


if __name__ == "__main__":
    raise SystemExit(run(main))
