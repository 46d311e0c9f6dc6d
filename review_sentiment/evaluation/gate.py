"""The gate a re-trained model passes before it may replace the one served (`train.py --gate-against MODEL`): both
models on the same test reviews, the same other domains, the same audit and the same contrast sentences, and a
verdict that rests on evidence, not on a fixed difference that chance alone crosses.

- **Test accuracy, non-inferiority.** On the same reviews only the reviews one model gets right and the other wrong
  (McNemar's discordant pairs) tell them apart: given m of them, those the new model wins are Binomial(m, pi), so
  an exact (Clopper-Pearson) interval for pi is an exact 95% interval for the accuracy difference,
  (2 pi - 1) m / n. The new model **passes** when the interval's lower end is above -MARGIN_POINTS (shown no worse
  than half a point), is **refused** when its upper end is below it (shown worse), and is otherwise
  **undecided**, which refuses to publish too and says how many test reviews would decide. Half a point is
  what a card reader would notice; two re-trainings of one recipe disagree on ~3% of IMDb reviews, so the interval's
  half-width, about 196 sqrt(m / n^2) points, falls under half a point from ~4,600 reviews: IMDb's 25,000 test
  reviews decide, the quick recipe's 2,000 do not unless the models barely differ.
- **Everything else, shown harm.** Other domains' accuracy, each audit capability's failure rate (per sentence),
  the contrast sentences (contrasts.py) and the group gaps: the gate refuses where the new model is worse by more
  than that check's margin and an exact one-sided McNemar test on the same items says so at ALPHA; a change that
  chance explains is recorded with its p, not held against the model. A group gap refuses where it is significant
  now (the audit's corrected test) and was not before, and is larger.
- **The names the corrections repeat** (names.py): each read in neutral sentences by both models beside control
  names; a shift of its own beyond 0.05 P(positive) and beyond any control name's that a t-test shows refuses (a
  campaign's target, whoever sent it).

Its verdict and every number it used go into metrics.json ("gate") and the card; `--push-to-hub` refuses in one line
unless it passed.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binomtest

from ..export.int8_bar import mcnemar_p
from .names import MAX_SHIFT as MAX_NAME_SHIFT

MARGIN_POINTS = 0.5  # test accuracy: the new model must be shown no worse than this
CONFIDENCE = 0.95
ALPHA = 0.05  # one-sided, for the shown-harm checks
MAX_FAILURE_RISE_POINTS = 5.0  # an audit capability's failure rate
MAX_DOMAIN_DROP_POINTS = 0.5  # another domain's accuracy
MAX_CONTRAST_DROP_POINTS = 0.0  # contrast sentences: any shown loss


def difference_interval(only_old: int, only_new: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact interval, in points, of accuracy(new) - accuracy(old) on the same n items, from the discordant counts."""
    m = only_old + only_new
    if m == 0:
        return 0.0, 0.0
    ci = binomtest(only_new, m).proportion_ci(confidence, method="exact")
    scale = 100 * m / n
    return (2 * ci.low - 1) * scale, (2 * ci.high - 1) * scale


def reviews_to_decide(only_old: int, only_new: int, n: int, margin: float = MARGIN_POINTS) -> int | None:
    """About how many reviews would decide at the same discordance and difference (None: none would pass it)."""
    m = only_old + only_new
    points = 100 * (only_new - only_old) / n
    if points <= -margin or m == 0:
        return None
    return math.ceil((m / n) * (196 / (points + margin)) ** 2)


def non_inferiority(labels, old, new, margin: float = MARGIN_POINTS) -> dict:
    """The test-accuracy verdict: passed, refused (shown worse) or undecided, with the counts and interval."""
    labels, old, new = map(np.asarray, (labels, old, new))
    n = len(labels)
    only_old = int(((old == labels) & (new != labels)).sum())
    only_new = int(((new == labels) & (old != labels)).sum())
    low, high = difference_interval(only_old, only_new, n)
    verdict = "passed" if low > -margin else "refused" if high < -margin else "undecided"
    return {"before": float((old == labels).mean()), "after": float((new == labels).mean()),
            "points": 100 * (only_new - only_old) / n, "interval_points": [low, high], "margin_points": margin,
            "mcnemar_p": mcnemar_p(labels, old, new), "only_before_right": only_old, "only_after_right": only_new,
            "reviews": n, "verdict": verdict,
            "reviews_to_decide": reviews_to_decide(only_old, only_new, n, margin) if verdict == "undecided" else None}


def harm(old_right, new_right, margin_points: float) -> dict:
    """Shown harm on the same items: the new model right less often by more than the margin, and an exact one-sided
    McNemar test (the items only the old model gets right against those only the new one does) at ALPHA."""
    old_right, new_right = np.asarray(old_right, bool), np.asarray(new_right, bool)
    only_old, only_new = int((old_right & ~new_right).sum()), int((new_right & ~old_right).sum())
    m = only_old + only_new
    p = float(binomtest(only_old, m, 0.5, alternative="greater").pvalue) if m else 1.0
    points = 100 * (only_new - only_old) / max(len(old_right), 1)
    return {"before": float(old_right.mean()), "after": float(new_right.mean()), "points": points,
            "only_before": only_old, "only_after": only_new, "p_worse": p, "items": int(len(old_right)),
            "harmed": bool(points < -margin_points and p < ALPHA)}


def capability_items(audit: dict) -> dict[str, tuple[np.ndarray, int]]:
    """Each capability's per-sentence failures (every test's sentences in a row) from behaviour.run's indices."""
    found: dict[str, list[np.ndarray]] = {}
    for test in audit["tests"]:
        failed = np.zeros(test["n"], bool)
        failed[test.get("failed", [])] = True
        found.setdefault(test["capability"], []).append(failed)
    return {name: np.concatenate(parts) for name, parts in found.items()}


def test_rates(audit: dict) -> dict[str, float]:
    return {f"{t['capability']}: {t['test']}": t["failure_rate"] for t in audit["tests"]}


def compare(against: str, labels, new_predictions, old_predictions, new_audit: dict, old_audit: dict, *,
            domains: dict[str, tuple] | None = None, contrasts: dict[str, tuple] | None = None,
            names: dict[str, dict] | None = None) -> dict:
    """The gate's record (metrics.json's "gate"). `domains` and `contrasts`: name -> (labels, old, new predictions)
    on the same items; `names`: names.check's rows."""
    accuracy = non_inferiority(labels, old_predictions, new_predictions)
    failures = []
    if accuracy["verdict"] != "passed":
        low, high = accuracy["interval_points"]
        found = (f"test accuracy {accuracy['after']:.2%} against {accuracy['before']:.2%} ({accuracy['points']:+.2f} "
                 f"points, 95% interval {low:+.2f} to {high:+.2f} on {accuracy['reviews']:,} reviews)")
        more = accuracy["reviews_to_decide"]
        failures.append(f"{found} is shown worse than the served model by more than {MARGIN_POINTS} points"
                        if accuracy["verdict"] == "refused" else
                        f"{found} does not show it within {MARGIN_POINTS} points of the served model (undecided"
                        + (f"; about {more:,} test reviews would decide)" if more else ")"))
    before, after = capability_items(old_audit), capability_items(new_audit)
    capabilities = {}
    for name in after:
        if name in before and len(before[name]) == len(after[name]):
            row = harm(~before[name], ~after[name], MAX_FAILURE_RISE_POINTS)
            capabilities[name] = {"before": 1 - row["before"], "after": 1 - row["after"], "points": -row["points"],
                                  "p_worse": row["p_worse"], "sentences": row["items"], "harmed": row["harmed"]}
            if row["harmed"]:
                failures.append(f"the audit's {name} failure rate {1 - row['after']:.1%} against "
                                f"{1 - row['before']:.1%} ({-row['points']:+.1f} points, one-sided p = "
                                f"{row['p_worse']:.2g}; a rise of at most {MAX_FAILURE_RISE_POINTS:g} points or "
                                "one chance explains is allowed)")
    checked = {}
    for kind, sets, margin in (("domain", domains or {}, MAX_DOMAIN_DROP_POINTS),
                               ("contrast", contrasts or {}, MAX_CONTRAST_DROP_POINTS)):
        for name, (truth, old, new) in sets.items():
            truth = np.asarray(truth)
            row = harm(np.asarray(old) == truth, np.asarray(new) == truth, margin)
            checked[name] = {"kind": kind, **row}
            if row["harmed"]:
                failures.append(f"{kind} {name}: {row['after']:.1%} right against {row['before']:.1%} "
                                f"({row['points']:+.1f} points, one-sided p = {row['p_worse']:.2g})")
    gaps = {}
    old_gaps = {a["axis"]: a for a in old_audit.get("fairness", [])}
    for axis in new_audit.get("fairness", []):
        was = old_gaps.get(axis["axis"])
        if was is None:
            continue
        widened = axis["significant"] and not was["significant"] and \
            abs(axis["largest_gap"]["gap"]) > abs(was["largest_gap"]["gap"])
        gaps[axis["axis"]] = {"before": was["largest_gap"]["gap"], "after": axis["largest_gap"]["gap"],
                              "p_after": axis["largest_gap"]["p_value"], "significant_before": was["significant"],
                              "significant_after": axis["significant"], "harmed": bool(widened)}
        if widened:
            failures.append(f"the {axis['axis']} gap is now significant ({axis['largest_gap']['gap']:+.3f} "
                            f"P(positive), corrected p = {axis['largest_gap']['p_value']:.2g}; it was "
                            f"{was['largest_gap']['gap']:+.3f}, not significant)")
    for name, row in (names or {}).items():
        if row["harmed"]:
            failures.append(f"the name {name!r} (in {row['corrections']} corrections) moved P(positive) by "
                            f"{row['shift']:+.3f} of its own in neutral sentences (t-test p = {row['p']:.2g}; at most "
                            f"{row['bar']:.3g} is allowed: {MAX_NAME_SHIFT:g} or the most a "
                            f"control name moved)")
    tests_before, tests_after = test_rates(old_audit), test_rates(new_audit)
    return {"against": against, "test_reviews": int(len(labels)), "accuracy": accuracy,
            "capabilities": capabilities, "checks": checked, "gaps": gaps, "names": names or {},
            "tests": {name: {"before": tests_before[name], "after": rate}
                      for name, rate in tests_after.items() if name in tests_before},
            "passed": not failures, "failures": failures}


def refusal(gate: dict) -> str | None:
    """Why --push-to-hub refuses, in one line; None when the gate passed."""
    if gate["passed"]:
        return None
    return (f"--push-to-hub refused: this model fails the gate against {gate['against']}: "
            + "; ".join(gate["failures"]) + ". The comparison is in the card.")


def table(gate: dict) -> str:
    """The card's comparison: accuracy with its interval, then the other domains and contrasts, each capability and
    test, and the group gaps, before -> after."""
    acc = gate["accuracy"]
    low, high = acc["interval_points"]
    rows = [f"| test accuracy ({gate['test_reviews']:,} reviews) | {acc['before']:.2%} | {acc['after']:.2%} | "
            f"{acc['points']:+.2f} points (95% interval {low:+.2f} to {high:+.2f}; {acc['verdict']} at "
            f"-{acc['margin_points']:g}) |"]
    rows += [f"| {row['kind']} {name} ({row['items']:,}) | {row['before']:.1%} | {row['after']:.1%} | "
             f"{row['points']:+.1f} points (one-sided p = {row['p_worse']:.2g}) |"
             for name, row in gate.get("checks", {}).items()]
    rows += [f"| {name} failure rate | {row['before']:.1%} | {row['after']:.1%} | {row['points']:+.1f} points "
             f"(one-sided p = {row['p_worse']:.2g}) |" for name, row in gate["capabilities"].items()]
    rows += [f"| &nbsp;&nbsp;{name} | {row['before']:.1%} | {row['after']:.1%} | "
             f"{100 * (row['after'] - row['before']):+.1f} points |" for name, row in gate["tests"].items()]
    rows += [f"| {axis} gap (P(positive)) | {row['before']:+.3f} | {row['after']:+.3f} | "
             f"{'significant' if row['significant_after'] else 'not significant'} now |"
             for axis, row in gate.get("gaps", {}).items()]
    rows += [f"| the name {name!r} in neutral sentences (P(positive); {row['corrections']} corrections) | "
             f"{row['before']:.3f} | {row['after']:.3f} | {row['shift']:+.3f} of its own (t-test p = {row['p']:.2g}) |"
             for name, row in gate.get("names", {}).items()]
    verdict = "**passed**" if gate["passed"] else "**failed**: " + "; ".join(gate["failures"])
    return (f"Gate against `{gate['against']}`: {verdict}.\n\n| | `{gate['against']}` | this model | change |\n"
            "| --- | ---: | ---: | ---: |\n" + "\n".join(rows))
