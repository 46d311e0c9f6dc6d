"""The figures a person would rather look at than read: confusion matrix and training curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and Spaces
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .metrics import calibration_bins  # noqa: E402


def save(fig, path: Path, grid=()) -> Path:
    for ax in grid:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix, label_names: list[str], path: Path, title: str = "Test set") -> Path:
    matrix = np.asarray(matrix)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 1.2 + 0.9 * len(label_names)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, f"{count}\n{share[i, j]:.1%}", ha="center", va="center",
                color="white" if share[i, j] > 0.5 else "black", fontsize=9)
    ax.set_xticks(range(len(label_names)), label_names, rotation=30, ha="right")
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix ({title}, n={int(matrix.sum())})")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    return save(fig, path)


def plot_training_curves(log_history: list[dict], path: Path) -> Path:
    """Training and validation loss, and validation accuracy, against the optimisation step."""
    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "eval_loss" not in h]
    evals = [(h["step"], h["eval_loss"], h.get("eval_accuracy")) for h in log_history if "eval_loss" in h]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        left.plot(*zip(*train), label="train", alpha=0.8)
    if evals:
        left.plot([e[0] for e in evals], [e[1] for e in evals], "o-", label="validation")
        right.plot([e[0] for e in evals], [e[2] for e in evals], "o-", color="tab:green")
    left.set(title="Loss", xlabel="step", ylabel="cross-entropy")
    left.legend()
    right.set(title="Validation accuracy", xlabel="step", ylabel="accuracy")
    return save(fig, path, grid=(left, right))


def plot_reliability(labels, probs, path: Path, bins: int = 15, title: str = "Reliability") -> Path:
    """Accuracy against confidence per bin; a calibrated model follows the diagonal."""
    centers, accuracy, counts = zip(*calibration_bins(labels, probs, bins))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    top.plot(centers, accuracy, "o-", label="model")
    top.set(ylabel="accuracy", title=title, xlim=(0, 1), ylim=(0, 1.02))
    top.legend(loc="upper left")
    bottom.bar(centers, counts, width=1 / bins * 0.9)
    bottom.set(xlabel="confidence", ylabel="reviews")
    return save(fig, path, grid=(top, bottom))


def plot_hp_search(trials: list[dict], path: Path) -> Path:
    """Optimisation history: each trial's validation accuracy (pruned trials marked) and the best so far."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    done = [t for t in trials if t["accuracy"] is not None]
    ax.scatter([t["number"] for t in done], [t["accuracy"] for t in done], label="trial", zorder=3)
    pruned = [t["number"] for t in trials if t["state"] == "pruned"]
    for number in pruned:
        ax.axvline(number, color="grey", alpha=0.3, linestyle=":")
    best, running = -np.inf, []
    for t in done:
        best = max(best, t["accuracy"])
        running.append((t["number"], best))
    if running:
        ax.step(*zip(*running), where="post", color="tab:orange", label="best so far")
    ax.set_xlabel("trial" + (f" (dotted: {len(pruned)} pruned)" if pruned else ""))
    ax.set_ylabel("validation accuracy")
    ax.set_title("Hyper-parameter search")
    ax.legend(loc="best")
    return save(fig, path, grid=[ax])
