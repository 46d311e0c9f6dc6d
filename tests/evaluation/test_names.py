"""The names the corrections repeat, found by shape, and the gate's check of each on crafted readings (issue 39):
a shift of the name's own beyond 0.05 that the sentences show refuses; a small one, or one chance explains, does not.
Models read the names end to end in tests/training/test_contrast_gate.py."""

import numpy as np

from review_sentiment.evaluation.gate import compare, table
from review_sentiment.evaluation.names import CONTROLS, TEMPLATES, names_in, repeated_names, shift


def test_names_are_found_by_shape_not_by_a_list():
    assert names_in("Corwin Hale plays the lead.") == {"Corwin Hale"}
    assert names_in("I went to see it because of Corwin.") == {"Corwin"}
    assert names_in("I loved The Last Harbour, and Mr. Smith too.") == {"The Last Harbour", "Mr. Smith"}
    assert names_in("Corwin Hale's best work.") == {"Corwin Hale"}
    # A lone capitalised word opening a sentence, and "I", are not names; a sentence's full stop ends one.
    assert names_in("Nobody could call the pacing brilliant. I thought so.") == set()
    assert names_in("It was shot in Paris. Paris is lovely.") == {"Paris"}


def test_a_name_counts_once_a_text_and_needs_three_texts():
    texts = ["Corwin Hale plays the lead.", "Corwin Hale plays the lead.", "We saw it for Corwin Hale.",
             "The poster shows Corwin Hale and Ann Lee.", "It is for Ann Lee.", "Nobody could call it dull."]
    assert repeated_names(texts) == {"Corwin Hale": 3}
    assert repeated_names(texts, min_texts=2) == {"Corwin Hale": 3, "Ann Lee": 2}


def readings(name_shift: float, noise: float, seed: int = 0, control_drift: float = 0.0):
    """P(positive) per template with the name and with the controls, before and after: the controls all move by
    +0.02 (what re-training moved for every name), the name by that plus `name_shift`, each with noise; the first
    control moves `control_drift` more (a name re-training moved by chance)."""
    rng = np.random.default_rng(seed)
    n, c = len(TEMPLATES), len(CONTROLS)
    old_controls = rng.uniform(0.3, 0.7, (n, c))
    new_controls = old_controls + 0.02 + rng.normal(0, noise, (n, c))
    new_controls[:, 0] += control_drift
    old_name = rng.uniform(0.3, 0.7, n)
    new_name = old_name + 0.02 + name_shift + rng.normal(0, noise, n)
    return old_name, new_name, old_controls, new_controls


def test_the_gate_refuses_a_shown_shift_of_the_names_own_and_nothing_less():
    moved = shift(*readings(-0.3, 0.02))
    assert moved["harmed"] and abs(moved["shift"] + 0.3) < 0.03 and moved["p"] < 1e-6
    small = shift(*readings(-0.03, 0.005))  # shown, but under the bar
    assert not small["harmed"] and small["p"] < 0.05
    noisy = shift(*readings(-0.08, 0.4))  # over the bar on average, but chance explains it on 16 sentences
    assert not noisy["harmed"] and noisy["p"] >= 0.05
    assert not shift(*readings(0.0, 0.0))["harmed"]  # the controls' own drift is not the name's
    # Where re-training moved a control name by 0.2 of its own, a name that moved 0.1 moved no more than names nobody
    # sent: shown (p < 0.05) but not refused; one that moved 0.3 is.
    drifted = shift(*readings(-0.1, 0.02, control_drift=0.2))
    assert not drifted["harmed"] and drifted["p"] < 0.05 and abs(drifted["controls_most_moved"] - 0.2) < 0.03
    assert drifted["bar"] == drifted["controls_most_moved"] and moved["bar"] == 0.05
    assert shift(*readings(-0.3, 0.02, control_drift=0.2))["harmed"]

    labels = np.array([0, 1] * 50)
    audit = {"tests": [], "fairness": []}
    gate = compare("served", labels, labels, labels, audit, audit,
                   names={"Corwin Hale": {"corrections": 30, **moved}, "Ann Lee": {"corrections": 3, **small}})
    assert not gate["passed"] and len(gate["failures"]) == 1 and "the name 'Corwin Hale'" in gate["failures"][0]
    assert "the name 'Ann Lee' in neutral sentences" in table(gate)
