"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on validation logits, softmax(logits / T)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels].mean())


# The search runs over log T in [-4, 4] (T from 0.018 to 55). A fit that ends at either end found no minimum
# inside: the validation logits are separable (NLL keeps falling as T -> 0) or carry no signal, not a temperature.
LOG_T_BOUND = 4.0
# T is one number, but the few confident mistakes set it. At IMDb-level accuracy (~90%) 200 validation reviews hold
# ~20 of them, ~10 in each cross-validation half; with fewer, one review moves T by a large factor (a 7-review split
# once fitted T = 0.018 and took test ECE from 0.03 to 0.19: the case that set this rule).
MIN_REVIEWS = 200


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T that minimises validation negative log-likelihood; it never changes which class wins."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    result = minimize_scalar(lambda log_t: nll(logits, labels, float(np.exp(log_t))),
                             bounds=(-LOG_T_BOUND, LOG_T_BOUND), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def at_bound(temperature: float) -> bool:
    return abs(np.log(temperature)) > LOG_T_BOUND - 1e-2


def calibrate(logits: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict:
    """Temperature fitted on all validation reviews, kept only if it earns its place. Three rules, in order:
    at least MIN_REVIEWS validation reviews; a fit inside the search range, not at its bound; and in 2-fold
    cross-validation on the validation split, a T fitted on one half must lower the NLL of the other half.
    Otherwise T = 1. `decided_by` and `reason` say which rule decided, for the card.

    A T fitted and judged on the same reviews always "helps"; on a few hundred reviews it can still make test
    calibration worse, hence the held-out check.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    if len(labels) < MIN_REVIEWS:
        return {"temperature": 1.0, "fitted_on": int(len(labels)), "kept": False, "decided_by": "too few reviews",
                "reason": f"only {len(labels)} validation reviews, fewer than the {MIN_REVIEWS} a temperature "
                          "needs"}
    fitted = fit_temperature(logits, labels)
    if at_bound(fitted):
        return {"temperature": 1.0, "fitted_on": int(len(labels)), "kept": False, "decided_by": "search bound",
                "fitted": fitted, "reason": f"the fit ended at the edge of its search range (T = {fitted:.3g}): "
                                            "the validation logits define no temperature"}
    order = np.random.default_rng(seed).permutation(len(labels))
    halves = [order[: len(order) // 2], order[len(order) // 2:]]
    before = after = 0.0
    for fit, check in (halves, halves[::-1]):
        t = fit_temperature(logits[fit], labels[fit])
        before += nll(logits[check], labels[check], 1.0) / 2
        after += nll(logits[check], labels[check], t) / 2
    kept = after < before
    reason = (f"in 2-fold cross-validation a temperature {'lowered' if kept else 'did not lower'} held-out NLL "
              f"({before:.4f} without, {after:.4f} with)")
    return {"temperature": fitted if kept else 1.0, "fitted_on": int(len(labels)), "kept": bool(kept),
            "decided_by": "held-out NLL", "reason": reason, "heldout_nll_before": before, "heldout_nll_after": after}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.exp(log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1))
