"""Class-weighted cross-entropy for the Trainer (`--class-weights balanced`).

SST-5's phrases are half neutral while its sentences are a fifth neutral: weights inverse to each class's share of
the training labels keep the rare ends from being traded for the common middle. Weights are n / (K * n_c), so a
label's mean weight over the training set is 1 and the loss keeps its scale (the learning rate carries over).
"""

from __future__ import annotations

import numpy as np
import torch


def balanced_weights(labels, num_classes: int) -> list[float]:
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=num_classes).astype(float)
    return (counts.sum() / (num_classes * np.maximum(counts, 1))).tolist()


def weighted_loss(weights: list[float]):
    """A Trainer `compute_loss_func`: weighted cross-entropy summed over the batch and divided by the number of
    labels in the whole accumulated batch, as the Trainer expects of a loss function it is given."""
    weight = torch.tensor(weights, dtype=torch.float32)

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"].float()
        total = torch.nn.functional.cross_entropy(logits, labels, weight=weight.to(logits.device), reduction="sum")
        return total / (num_items_in_batch if num_items_in_batch is not None else labels.numel())
    return loss
