"""The gate a re-trained model passes before it may replace the one served (`train.py --gate-against MODEL`): both
models on the same test reviews and the same audit, and a verdict.

A new model must prove it got better, not only different. It fails the gate when its test accuracy is more than
0.3 points under the served model's (the int8 bar's tolerance; McNemar's exact p beside it says whether the
difference is more than chance), or when any audit capability's failure rate (all its tests' failures over all
their sentences) rises by more than 5 points. `--push-to-hub` then refuses in one line naming the failing figure;
the card shows the comparison either way.
"""

from __future__ import annotations

import numpy as np

from ..export.int8_bar import mcnemar_p

MAX_ACCURACY_DROP_POINTS = 0.3
MAX_FAILURE_RISE_POINTS = 5.0


def capability_rates(audit: dict) -> dict[str, float]:
    """Each capability's failure rate over all its tests' sentences."""
    failures: dict[str, list[int]] = {}
    for test in audit["tests"]:
        count = failures.setdefault(test["capability"], [0, 0])
        count[0] += test["failures"]
        count[1] += test["n"]
    return {name: failed / n for name, (failed, n) in failures.items() if n}


def test_rates(audit: dict) -> dict[str, float]:
    return {f"{t['capability']}: {t['test']}": t["failure_rate"] for t in audit["tests"]}


def compare(against: str, labels, new_predictions, old_predictions, new_audit: dict, old_audit: dict) -> dict:
    """The gate's record (metrics.json's "gate"): both models' figures, the differences, and the verdict."""
    labels, new, old = map(np.asarray, (labels, new_predictions, old_predictions))
    accuracy_new, accuracy_old = float((new == labels).mean()), float((old == labels).mean())
    points = 100 * (accuracy_new - accuracy_old)
    p = mcnemar_p(labels, old, new)
    failures = []
    if round(points, 9) < -MAX_ACCURACY_DROP_POINTS:  # 3 of 1,000 reviews is 0.3 points, not 0.30000000000000004
        failures.append(f"test accuracy {accuracy_new:.2%} against {accuracy_old:.2%} ({points:+.2f} points, "
                        f"McNemar p = {p:.2g}; at most -{MAX_ACCURACY_DROP_POINTS} allowed)")
    before, after = capability_rates(old_audit), capability_rates(new_audit)
    capabilities = {name: {"before": before[name], "after": after[name], "points": 100 * (after[name] - before[name])}
                    for name in after if name in before}
    for name, row in capabilities.items():
        if round(row["points"], 9) > MAX_FAILURE_RISE_POINTS:
            failures.append(f"the audit's {name} failure rate {row['after']:.1%} against {row['before']:.1%} "
                            f"({row['points']:+.1f} points; at most +{MAX_FAILURE_RISE_POINTS:g} allowed)")
    tests_before, tests_after = test_rates(old_audit), test_rates(new_audit)
    return {"against": against, "test_reviews": int(len(labels)),
            "accuracy": {"before": accuracy_old, "after": accuracy_new, "points": points, "mcnemar_p": p,
                         "only_before_right": int(((old == labels) & (new != labels)).sum()),
                         "only_after_right": int(((new == labels) & (old != labels)).sum())},
            "capabilities": capabilities,
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
    """The card's comparison: accuracy, then each capability and test, before -> after."""
    acc = gate["accuracy"]
    rows = [f"| test accuracy ({gate['test_reviews']:,} reviews) | {acc['before']:.2%} | {acc['after']:.2%} | "
            f"{acc['points']:+.2f} points (McNemar p = {acc['mcnemar_p']:.2g}) |"]
    rows += [f"| {name} failure rate | {row['before']:.1%} | {row['after']:.1%} | {row['points']:+.1f} points |"
             for name, row in gate["capabilities"].items()]
    rows += [f"| &nbsp;&nbsp;{name} | {row['before']:.1%} | {row['after']:.1%} | "
             f"{100 * (row['after'] - row['before']):+.1f} points |" for name, row in gate["tests"].items()]
    verdict = "**passed**" if gate["passed"] else "**failed**: " + "; ".join(gate["failures"])
    return (f"Gate against `{gate['against']}`: {verdict}.\n\n| | `{gate['against']}` | this model | change |\n"
            "| --- | ---: | ---: | ---: |\n" + "\n".join(rows))
