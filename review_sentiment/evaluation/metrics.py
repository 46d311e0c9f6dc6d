"""Classification metrics with scikit-learn (evaluate.load would fetch metric code from the Hub at run time)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss, precision_recall_fscore_support

from ..data.scale import ordered


def calibration_bins(labels, probs, bins: int = 15) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of each non-empty equal-width confidence bin."""
    probs = np.asarray(probs)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    return [(float(confidence[m].mean()), float(correct[m].mean()), int(m.sum()))
            for m in (which == b for b in range(bins)) if m.any()]


def expected_calibration_error(labels, probs, bins: int = 15) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size (Guo et al. 2017)."""
    total = len(labels)
    return float(sum(n / total * abs(acc - conf) for conf, acc, n in calibration_bins(labels, probs, bins)))


def ece_interval(labels, probs, *, rounds: int = 1000, seed: int = 0, bins: int = 15) -> tuple[float, float]:
    """95% bootstrap interval of the ECE: the reviews resampled with replacement `rounds` times."""
    labels, probs = np.asarray(labels), np.asarray(probs)
    rng = np.random.default_rng(seed)
    draws = [expected_calibration_error(labels[idx], probs[idx], bins)
             for idx in (rng.integers(0, len(labels), len(labels)) for _ in range(rounds))]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def ordinal_metrics(labels, probs) -> dict:
    """What fine-grained users read beside accuracy: accuracy within one class, mean absolute error in classes and,
    for five classes, the binary accuracy on SST-2's mapping (classes 0-1 negative, 3-4 positive, neutral sentences
    dropped; the verdict is the larger of P(3-4) and P(0-1)), so a 5-class model reads against the 2-class ones."""
    labels = np.asarray(labels, dtype=int)
    probs = np.asarray(probs, dtype=np.float64)
    distance = np.abs(probs.argmax(axis=1) - labels)
    out = {"within_one_accuracy": float((distance <= 1).mean()), "mae_classes": float(distance.mean())}
    if probs.shape[1] == 5:
        polar = labels != 2
        positive = probs[polar, 3:].sum(axis=1) > probs[polar, :2].sum(axis=1)
        out["binary_accuracy"] = float((positive == (labels[polar] > 2)).mean()) if polar.any() else None
        out["binary_samples"] = int(polar.sum())
    return out


def classification_metrics(labels, probs, label_names: list[str]) -> dict:
    """Everything the card reports, from true label ids and predicted class probabilities."""
    labels = np.asarray(labels, dtype=int)
    probs = np.asarray(probs, dtype=np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 only within ~1e-7
    preds = probs.argmax(axis=1)
    ids = list(range(len(label_names)))
    precision, recall, f1, support = precision_recall_fscore_support(labels, preds, labels=ids, zero_division=0)
    return {
        "num_samples": int(len(labels)),
        "accuracy": float(accuracy_score(labels, preds)),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "loss": float(log_loss(labels, np.clip(probs, 1e-12, 1.0), labels=ids)),
        "ece": expected_calibration_error(labels, probs),
        "per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                             "support": int(support[i])} for i, name in enumerate(label_names)},
        "confusion_matrix": confusion_matrix(labels, preds, labels=ids).tolist(),
        "label_names": list(label_names),
        **(ordinal_metrics(labels, probs) if ordered(label_names) else {}),
    }
