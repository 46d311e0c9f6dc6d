"""Class-weighted cross-entropy: the weights, and the loss against torch's own, by hand."""

import pytest
import torch

from review_sentiment.training.loss import balanced_weights, weighted_loss


def test_balanced_weights_are_inverse_to_class_shares_with_mean_one():
    labels = [0] * 6 + [1] * 3 + [2] * 1
    weights = balanced_weights(labels, 3)
    assert weights == pytest.approx([10 / 18, 10 / 9, 10 / 3])
    assert sum(weights[y] for y in labels) / len(labels) == pytest.approx(1.0)
    assert balanced_weights([0, 0, 1], 3)[2] == pytest.approx(1.0)  # a class absent from train: no division by 0


def test_weighted_loss_is_torchs_weighted_cross_entropy_over_the_accumulated_batch():
    torch.manual_seed(0)
    logits, labels = torch.randn(8, 3), torch.tensor([0, 1, 2, 2, 1, 0, 0, 0])
    weights = [0.5, 1.0, 2.0]
    got = weighted_loss(weights)({"logits": logits}, labels, num_items_in_batch=16)
    per_item = torch.nn.functional.cross_entropy(logits, labels, reduction="none") * torch.tensor(weights)[labels]
    assert got.item() == pytest.approx(per_item.sum().item() / 16)
    plain = weighted_loss([1.0, 1.0, 1.0])({"logits": logits}, labels)
    assert plain.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item())
