"""Least squares relabelled by its predecessor (Gerstgrasser et al. 2024; docs/theory.md section 4).

With a fixed design X, w_t = w_{t-1} + A eps_t (replace) or w_t = w_{t-1} + A eps_t / t
(accumulate: the fit on every copy so far averages the per-generation solutions), where
A = (X^T X)^{-1} X^T and eps_t has variance sigma^2 (the real labels) or lam sigma^2 (synthetic).
So the excess risk on isotropic inputs, E||w_t - w*||^2, is sigma^2 tr (X^T X)^{-1} times
    replace:    1 + lam (t - 1)
    accumulate: 1 + lam sum_{i=2..t} 1 / i^2   (bounded by pi^2 / 6 at lam = 1).
Averaged over Gaussian designs, E tr (X^T X)^{-1} = d / (T - d - 1).
"""

from __future__ import annotations

import numpy as np


def _growth(generations: int, lam: float, accumulate: bool) -> np.ndarray:
    t = np.arange(generations + 1, dtype=np.float64)
    if accumulate:
        inv_sq = np.concatenate([[0.0, 0.0], 1.0 / np.arange(2, generations + 1) ** 2])
        grow = 1.0 + lam * np.cumsum(inv_sq)
    else:
        grow = 1.0 + lam * np.maximum(t - 1, 0)
    grow[0] = 0.0  # generation 0: the true weights
    return grow


def test_error(design: np.ndarray, noise: float, generations: int, *, lam: float = 1.0, accumulate: bool) -> np.ndarray:
    """E ||w_t - w*||^2 for t = 0..G, exactly, for this design."""
    trace = float(np.trace(np.linalg.inv(design.T @ design)))
    return noise**2 * trace * _growth(generations, lam, accumulate)


def random_design_test_error(generations: int, sigma2: float, d: int, rows: int, *, lam: float = 1.0, accumulate: bool) -> np.ndarray:
    """The same averaged over N(0, I) designs of `rows` rows (E tr (X^T X)^{-1} = d / (rows - d - 1),
    the inverse Wishart mean), for t = 0..G."""
    return sigma2 * d / (rows - d - 1) * _growth(generations, lam, accumulate)
