"""Score any model on any labelled dataset: metrics, calibration (ECE), error analysis, plots, a Markdown report.

    python -m review_sentiment.evaluation.evaluate --model outputs/model --dataset ../shared/data/imdb --split test \\
        --max-samples 2000 --out reports/model

Star-rating models (the nlptown baseline) are scored on positive/negative data through the documented mapping:
1-2 stars negative, 4-5 positive, 3 stars (neutral) counted as wrong in the verdict accuracy; and, for every
other metric, P(positive) = P(4) + P(5) re-normalised without the 3-star mass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd

from ..cli import option, parse, run
from ..data.domains import EvalSet, align, domains_table, load_eval_set, parse_eval_datasets
from ..data.scale import same_scale
from ..data.splits import labelled_split, resolve_dataset, stratified_subset
from ..data.stars import label_polarity, star_summary, star_values
from ..data.text import clean_text
from ..defaults import DEFAULT_LONG_TEXT
from ..errors import UserError
from ..export.temperature import softmax
from ..inference.predictor import Predictor
from . import readings as ways
from .metrics import classification_metrics, ece_interval
from .plots import plot_confusion_matrix, plot_reliability

LENGTH_BUCKETS = [("≤128", 0, 128), ("129-256", 129, 256), ("257-512", 257, 512), (">512", 513, 10**9)]


def dataset_probabilities(predictor: Predictor, probs: np.ndarray, label_names: list[str]) -> tuple[np.ndarray, dict]:
    """The model's probabilities over the dataset's classes, plus extra facts for star models."""
    model_labels = predictor.labels
    if model_labels == label_names:
        return probs, {}
    polarities = [label_polarity(n) for n in label_names]
    if star_values(model_labels) and polarities == ["negative", "positive"]:
        summaries = [star_summary(model_labels, row) for row in probs]
        verdicts = [s["verdict"] for s in summaries]
        p_positive = np.array([s["p_positive"] for s in summaries])
        return np.stack([1 - p_positive, p_positive], axis=1), {
            "mapping": "stars: 1-2 negative, 3 neutral, 4-5 positive",
            "verdicts": verdicts, "neutral_rate": float(np.mean([v == "neutral" for v in verdicts]))}
    if star_values(model_labels) and same_scale(model_labels, label_names):
        # Five stars on five ordered classes (SST-5's very negative .. very positive): star k is class k-1.
        stars = star_values(model_labels)
        order = np.argsort(stars)
        return probs[:, order], {"mapping": f"stars {min(stars)}-{max(stars)} to the classes in order"}
    by_polarity = {label_polarity(n): i for i, n in enumerate(model_labels)}
    if len(set(polarities)) == len(polarities) and all(p in by_polarity for p in polarities):
        return probs[:, [by_polarity[p] for p in polarities]], {"mapping": "by polarity of the label names"}
    raise UserError(f"The model's classes {model_labels} cannot be matched to the dataset's {label_names}.")


def check_compatible(predictor: Predictor, label_names: list[str]) -> None:
    """Raise UserError now, before any work, if the model's classes cannot be matched to the dataset's."""
    dataset_probabilities(predictor, np.full((1, len(predictor.labels)), 1 / len(predictor.labels)), label_names)


def score(predictor: Predictor, texts: list[str], labels: np.ndarray, label_names: list[str], *,
          progress: bool = False, logits: np.ndarray | None = None) -> dict:
    """Every number of the report for one model on one labelled set of texts (pass `logits` if already run)."""
    logits = predictor.logits(texts, progress=progress) if logits is None else logits
    raw = softmax(logits, predictor.settings.temperature)
    probs, extra = dataset_probabilities(predictor, raw, label_names)
    metrics = classification_metrics(labels, probs, label_names)
    if "verdicts" in extra:
        verdicts = extra.pop("verdicts")
        metrics["verdict_accuracy"] = float(np.mean([v == label_polarity(label_names[y])
                                                     for v, y in zip(verdicts, labels)]))
        metrics["neutral_rate"] = extra.pop("neutral_rate")
    metrics["mapping"] = extra.get("mapping", "direct")
    preds = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    encoded = predictor.tokenizer([clean_text(t) for t in texts], verbose=False)["input_ids"]
    lengths = np.array([len(x) for x in encoded])
    metrics["by_length"] = [{"bucket": name, "reviews": int(mask.sum()),
                             "accuracy": float((preds[mask] == labels[mask]).mean()) if mask.any() else None}
                            for name, lo, hi in LENGTH_BUCKETS for mask in [(lengths >= lo) & (lengths <= hi)]]
    wrong = np.flatnonzero(preds != labels)
    worst = wrong[np.argsort(-confidence[wrong])][:10]
    metrics["confident_mistakes"] = [{"excerpt": clean_text(texts[i])[:240], "label": label_names[labels[i]],
                                      "predicted": label_names[preds[i]], "probability": float(confidence[i])}
                                     for i in worst]
    return {"metrics": metrics, "probs": probs}


def score_readings(predictor: Predictor, texts: list[str], labels: np.ndarray, label_names: list[str], *,
                   progress: bool = False, known: dict[str, np.ndarray] | None = None) -> dict:
    """The model read each way of readings.py on the same reviews, one pass per reading (`known`: logits a reading
    already has): {"readings": {name: accuracy, macro F1, ECE, how it was read}, "pairs": McNemar's p per pair}."""
    how, found, predictions = ways.describe(predictor), {}, {}
    for name, reader in ways.readers(predictor).items():
        logits = (known or {}).get(name)
        if logits is None:
            logits = reader.logits(texts, progress=progress)
        probs, _ = dataset_probabilities(reader, softmax(logits, reader.settings.temperature), label_names)
        m = classification_metrics(labels, probs, label_names)
        found[name] = {"accuracy": m["accuracy"], "f1_macro": m["f1_macro"], "ece": m["ece"], "how": how[name]}
        predictions[name] = probs.argmax(axis=1)
    return {"readings": found, "pairs": ways.paired(labels, predictions)}


def score_sets(predictor, sets: list[EvalSet], *, text_column: str = "text", label_column: str = "label",
               seed: int = 0) -> dict[str, dict]:
    """Each set's metrics (accuracy, macro F1, ECE with its 95% interval, rows, dropped rows, mapping)."""
    results = {}
    for item in sets:
        frame, names = load_eval_set(item.spec, text_column, label_column)
        frame, dropped, mapping = align(frame, names, predictor.labels)
        scored = score(predictor, frame["text"].tolist(), frame["label"].to_numpy(), predictor.labels, progress=True)
        m = scored["metrics"]
        low, high = ece_interval(frame["label"].to_numpy(), scored["probs"], seed=seed)
        results[item.name] = {"dataset": item.spec, "accuracy": m["accuracy"], "f1_macro": m["f1_macro"],
                              "ece": m["ece"], "ece_95": [low, high], "reviews": int(len(frame)),
                              "dropped": dropped, "mapping": mapping}
    return results


def comparison_table(rows: dict[str, dict]) -> str:
    """Markdown: one row per model (name -> metrics) on the same test reviews; ordered classes (SST-5) add accuracy
    within one class and the mean absolute error, where a star model read star to class is compared fairly."""
    fine = any("within_one_accuracy" in m for m in rows.values())
    extra = " within one | MAE (classes) |" if fine else ""
    lines = [f"| model | accuracy | macro F1 | ECE |{extra} note |",
             "| --- | ---: | ---: | ---: |" + (" ---: | ---: |" if fine else "") + " --- |"]
    for name, m in rows.items():
        note = ""
        if "verdict_accuracy" in m:
            note = (f"P(positive) = P(4-5★) re-normalised without 3★; verdict accuracy with 3★ counted wrong: "
                    f"{m['verdict_accuracy']:.4f} ({m['neutral_rate']:.1%} neutral)")
        elif m.get("mapping", "direct") != "direct":
            note = m["mapping"]
        cells = (f" {m['within_one_accuracy']:.4f} | {m['mae_classes']:.4f} |" if "within_one_accuracy" in m
                 else " - | - |") if fine else ""
        lines.append(f"| {name} | {m['accuracy']:.4f} | {m['f1_macro']:.4f} | {m['ece']:.4f} |{cells} {note} |")
    return "\n".join(lines)


def markdown_report(name: str, m: dict) -> str:
    per_class = "\n".join(f"| {c} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} | {v['support']} |"
                          for c, v in m["per_class"].items())
    buckets = "\n".join(f"| {b['bucket']} | {b['reviews']} | "
                        f"{'-' if b['accuracy'] is None else format(b['accuracy'], '.4f')} |" for b in m["by_length"])
    mistakes = "\n".join(f"| {x['probability']:.3f} | {x['label']} | {x['predicted']} | "
                         f"{x['excerpt'][:160].replace('|', '/')}… |" for x in m["confident_mistakes"])
    return (f"# Evaluation of `{name}`\n\n{comparison_table({name: m})}\n\n"
            f"| class | precision | recall | F1 | support |\n| --- | ---: | ---: | ---: | ---: |\n{per_class}\n\n"
            + (f"## How the review was read\n\n{ways.table(m['readings'], m['pairs'])}\n\n" if "readings" in m else "")
            + f"## Accuracy by review length (tokens)\n\n| length | reviews | accuracy |\n| --- | ---: | ---: |\n"
            f"{buckets}\n\n## Most confident mistakes\n\n| probability | label | predicted | review |\n"
            f"| ---: | --- | --- | --- |\n{mistakes}\n\n![Reliability](reliability_diagram.png)\n"
            f"![Confusion matrix](confusion_matrix.png)\n")


@dataclass
class EvalConfig:
    model: str = option("Model to score: Hub id or local directory (full model or LoRA adapter).")
    revision: Optional[str] = option("Hub revision (branch, tag or commit sha) of --model; default: main, or its "
                                     "safetensors conversion PR when main has only pickled weights.")
    dataset: str = option("Hub dataset id or local directory/file with the labelled reviews.", "stanfordnlp/imdb")
    split: str = option("Split to score.", "test")
    text_column: str = option("Column holding the text.", "text")
    label_column: str = option("Column holding the label.", "label")
    label_names: Optional[list] = option("Class names for integer labels, in id order.")
    max_samples: Optional[int] = option("Score a stratified subset of this many reviews.")
    long_text: Literal["head", "head+tail", "chunks"] = option(
        "How to read reviews longer than the window for the headline figures (default: as the Space serves them).",
        DEFAULT_LONG_TEXT)
    chunk_stride: Optional[int] = option("Tokens shared by consecutive windows with --long-text chunks "
                                         "(default: a quarter of the window).")
    chunk_aggregation: Literal["mean", "weighted"] = option("Average window logits plainly, or weighted by "
                                                            "window length.", "mean")
    readings: bool = option("Also score the model read the three ways of evaluation/readings.py (as served, as a plain "
                            "pipeline, through its training window) on the same reviews, with McNemar's p for each "
                            "pair (--no-readings to skip: two more passes).", True)
    batch_size: int = option("Reviews per forward pass.", 32)
    seed: int = option("Seed for the subset.", 42)
    out: Optional[str] = option("Directory for metrics.json, report.md and plots (default: print only).")
    eval_dataset: Optional[list] = option("Also score another labelled set, NAME=PATH (local directory/file or Hub "
                                          "dataset id; classes mapped by polarity). Repeatable.", repeat=True)

    def __post_init__(self):
        if not self.model:
            raise UserError("--model is required")
        self.eval_sets = parse_eval_datasets(self.eval_dataset)


def evaluate(cfg: EvalConfig) -> dict:
    root = resolve_dataset(cfg.dataset)
    frame, names = labelled_split(root, cfg.split, text_column=cfg.text_column, label_column=cfg.label_column,
                                  label_names=cfg.label_names)
    if frame is None:
        raise UserError(f"{root} has no {cfg.split!r} split.")
    frame = stratified_subset(frame, cfg.max_samples, cfg.seed)
    predictor = Predictor.load(cfg.model, revision=cfg.revision, batch_size=cfg.batch_size, long_text=cfg.long_text,
                               chunk_stride=cfg.chunk_stride, chunk_aggregation=cfg.chunk_aggregation)
    texts, labels = frame["text"].tolist(), frame["label"].to_numpy()
    logits = predictor.logits(texts, progress=True)
    result = score(predictor, texts, labels, names, logits=logits)
    metrics = result["metrics"]
    if cfg.readings:
        # Where the headline is read as served (the default), its pass is that reading's; the others are one each.
        served = ways.readers(predictor)["served"].settings == predictor.settings
        metrics.update(score_readings(predictor, texts, labels, names, progress=True,
                                      known={"served": logits} if served else None))
    print(markdown_report(cfg.model, metrics).split("\n## Most")[0])
    if cfg.eval_sets:
        metrics["domains"] = score_sets(predictor, cfg.eval_sets, text_column=cfg.text_column,
                                        label_column=cfg.label_column, seed=cfg.seed)
        print("\n## Other domains\n\n" + domains_table(metrics["domains"]))
    if cfg.out:
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
        (out / "report.md").write_text(markdown_report(cfg.model, metrics))
        plot_reliability(frame["label"].to_numpy(), result["probs"], out / "reliability_diagram.png")
        plot_confusion_matrix(metrics["confusion_matrix"], names, out / "confusion_matrix.png",
                              title=cfg.split)
        pd.DataFrame(result["probs"], columns=[f"p_{n}" for n in names]).assign(label=frame["label"]).to_csv(
            out / "predictions.csv", index=False)
        print(f"wrote {out}/metrics.json, report.md and plots")
    return metrics


def main(argv: list[str] | None = None) -> None:
    evaluate(parse(EvalConfig, argv, "Score a model on a labelled review dataset."))


if __name__ == "__main__":
    raise SystemExit(run(main))
