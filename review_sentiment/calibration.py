"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on validation logits, softmax(logits / T)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T that minimises validation negative log-likelihood; it never changes which class wins."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    result = minimize_scalar(lambda log_t: nll(logits, labels, float(np.exp(log_t))), bounds=(-4.0, 4.0),
                             method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def calibrate(logits: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict:
    """Temperature fitted on all validation reviews, kept only if it earns its place: in 2-fold cross-validation
    on the validation split, a T fitted on one half must lower the NLL of the other half. Otherwise T = 1.

    A T fitted and judged on the same reviews always "helps"; on a few hundred reviews it can still make test
    calibration worse, hence the held-out check.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=int)
    order = np.random.default_rng(seed).permutation(len(labels))
    halves = [order[: len(order) // 2], order[len(order) // 2:]]
    before = after = 0.0
    for fit, check in (halves, halves[::-1]):
        t = fit_temperature(logits[fit], labels[fit])
        before += nll(logits[check], labels[check], 1.0) / 2
        after += nll(logits[check], labels[check], t) / 2
    kept = after < before
    return {"temperature": fit_temperature(logits, labels) if kept else 1.0, "fitted_on": int(len(labels)),
            "kept": bool(kept), "heldout_nll_before": before, "heldout_nll_after": after}


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return np.exp(log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1))
