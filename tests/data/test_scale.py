"""Classes as points on one scale: which label sets form one, and the agreement table, checked by hand."""

import numpy as np
import pandas as pd
import pytest
import tiny

from review_sentiment.data.scale import agreement, agreement_table, expected_point, points, same_scale, top_point


def test_stars_and_ordered_classes_are_points_binary_and_topics_are_not():
    assert points(tiny.STARS) == [1, 2, 3, 4, 5] and points(tiny.SST5) == [1, 2, 3, 4, 5]
    assert points(["5 stars", "1 star", "3 stars"]) == [5, 1, 3]  # a star model's points are its stars
    assert points(["negative", "neutral", "positive"]) == [1, 2, 3]
    assert points(["negative", "positive"]) is None and points(["sports", "politics", "weather"]) is None
    assert same_scale(tiny.SST5, tiny.STARS) and not same_scale(["negative", "neutral", "positive"], tiny.STARS)


def test_expected_and_top_points():
    probs = np.array([0.1, 0.0, 0.2, 0.3, 0.4])
    assert expected_point(tiny.SST5, probs) == pytest.approx(0.1 + 0.6 + 1.2 + 2.0)
    assert top_point(tiny.SST5, probs) == 5 and top_point(["5 stars", "1 star"], np.array([0.2, 0.8])) == 1
    assert agreement(4, 4) == {"exact": True, "within_one": True}
    assert agreement(2, 3) == {"exact": False, "within_one": True} and not agreement(1, 3)["within_one"]


def test_agreement_table_counts_in_scale_order():
    ft = pd.Series([1, 1, 2, 5, 5, 3])
    bl = pd.Series([1, 2, 2, 4, 5, 3])
    counts = agreement_table(ft, bl, tiny.SST5, ["5 stars", "4 stars", "3 stars", "2 stars", "1 star"])
    assert list(counts.index) == tiny.SST5 and list(counts.columns) == tiny.STARS
    assert counts.to_numpy().sum() == 6 and np.trace(counts.to_numpy()) == 4
    assert counts.loc["very negative", "2 stars"] == 1 and counts.loc["very positive", "4 stars"] == 1
    assert counts.loc["positive"].sum() == 0  # a class nobody predicted keeps its row
