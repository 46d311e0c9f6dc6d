"""The gate decides on evidence (issue 39): test accuracy by an exact paired interval against a margin (passed,
refused, or undecided when the reviews cannot tell), everything else refused only on shown harm; crafted counts."""

import math

import numpy as np
import pytest

from review_sentiment.evaluation.gate import MARGIN_POINTS, compare, difference_interval, refusal, table


def predictions(n: int, only_old: int, only_new: int, wrong_both: int = 0):
    """Labels and two models' predictions on n binary reviews with the given discordant counts."""
    labels = np.array([0, 1] * (n // 2))
    old, new = labels.copy(), labels.copy()
    new[:only_old] = 1 - labels[:only_old]
    old[only_old:only_old + only_new] = 1 - labels[only_old:only_old + only_new]
    both = slice(only_old + only_new, only_old + only_new + wrong_both)
    old[both], new[both] = 1 - labels[both], 1 - labels[both]
    return labels, new, old


def audit(failed: dict[str, list[int]], n: int = 100) -> dict:
    return {"tests": [{"capability": name, "test": name.lower(), "n": n, "failures": len(rows),
                       "failure_rate": len(rows) / n, "failed": rows} for name, rows in failed.items()],
            "fairness": []}


SAME = audit({"Negation": list(range(20)), "Robustness": list(range(10))})


def test_the_interval_is_exact_and_centred_on_the_difference():
    low, high = difference_interval(30, 30, 10_000)
    assert low == pytest.approx(-high) and 0.1 < high < 0.25  # ~196 sqrt(60) / 10,000 points
    assert difference_interval(0, 0, 100) == (0.0, 0.0)


def test_a_small_difference_on_few_reviews_is_undecided_not_a_pass_or_a_refusal():
    labels, new, old = predictions(400, only_old=5, only_new=4)  # -0.25 points on 400 reviews
    gate = compare("old", labels, new, old, SAME, SAME)
    assert gate["accuracy"]["verdict"] == "undecided" and not gate["passed"]
    assert "undecided" in refusal(gate) and "reviews would decide" in refusal(gate)
    decide = gate["accuracy"]["reviews_to_decide"]
    assert decide > 400
    # The same discordance and difference on a quarter more reviews than it said decides.
    f = math.ceil(decide * 1.25 / 400)
    labels, new, old = predictions(400 * f, only_old=5 * f, only_new=4 * f)
    assert compare("old", labels, new, old, SAME, SAME)["passed"]


def test_enough_reviews_pass_a_model_no_worse_and_refuse_one_shown_worse():
    labels, new, old = predictions(25_000, only_old=380, only_new=350, wrong_both=1500)  # -0.12 points, 25,000
    passed = compare("old", labels, new, old, SAME, SAME)
    assert passed["passed"] and passed["accuracy"]["interval_points"][0] > -MARGIN_POINTS
    labels, new, old = predictions(25_000, only_old=800, only_new=300)  # -2 points
    refused = compare("old", labels, new, old, SAME, SAME)
    assert refused["accuracy"]["verdict"] == "refused" and "shown worse" in refusal(refused)
    assert "95% interval" in table(refused) and "**failed**" in table(refused)


def test_a_capability_is_held_against_the_model_only_on_shown_harm():
    labels, new, old = predictions(25_000, 0, 0)
    # 20 -> 26 of 100 sentences failed: +6 points, but 10 sentences mended and 16 broken, which chance explains.
    chance = audit({"Negation": list(range(10, 36)), "Robustness": list(range(10))})
    gate = compare("old", labels, new, old, chance, SAME)
    assert gate["passed"] and gate["capabilities"]["Negation"]["p_worse"] > 0.01
    # 20 -> 60: shown.
    shown = audit({"Negation": list(range(60)), "Robustness": list(range(10))})
    gate = compare("old", labels, new, old, shown, SAME)
    assert not gate["passed"] and "Negation failure rate 60.0% against 20.0%" in refusal(gate)


def test_contrasts_and_domains_refuse_on_shown_harm_only():
    labels, new, old = predictions(25_000, 0, 0)
    truth = np.array([0, 1] * 50)
    held = compare("old", labels, new, old, SAME, SAME, contrasts={"contrasts": (truth, truth, truth)})
    assert held["passed"] and held["checks"]["contrasts"]["points"] == 0
    flipped = truth.copy()
    flipped[:40] = 1 - flipped[:40]
    worse = compare("old", labels, new, old, SAME, SAME, contrasts={"contrasts": (truth, truth, flipped)},
                    domains={"sst2": (truth, truth, truth)})
    assert not worse["passed"] and "contrast contrasts: 60.0% right against 100.0%" in refusal(worse)
    assert worse["checks"]["sst2"]["kind"] == "domain" and not worse["checks"]["sst2"]["harmed"]
