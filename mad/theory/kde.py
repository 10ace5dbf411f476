"""Kernel density estimates in the replace loop: the model's variance, in closed form.

Let V_t = tr Sigma_t, the total variance of generation t's model, and S_t the total (MLE)
variance of its n training points, so V_t = S_t + d h_t^2. Drawing n points from the model with
sampling bias lam gives them total variance S_t + lam d h_t^2 in expectation over the draw's
distribution, and their MLE variance is (n-1)/n of it:
    fixed h:      E V_{t+1} = ((n-1)/n) (E V_t - (1 - lam) d h^2) + d h^2,
                  with fixed point V* = d h^2 (n - (n-1)(1-lam)) for lam = 1: n d h^2;
    Scott's rule: h_t^2 = c S_t / d with c = n^(-2/(d+4)), so V_t = (1 + c) S_t and
                  E S_{t+1} = ((n-1)/n) (1 + lam c) S_t: geometric (Silverman's rule alike, with
                  c = (n (d+2)/4)^(-2/(d+4)));
    scikit-learn's rules do not scale by the data: h_t^2 = c(n_t) is fixed by the fit's size, so
                  the fixed-h recursion holds with kernel d c(n_init) in generation 1 and d c(n)
                  after: E V_{t+1} = ((n-1)/n) (E V_t - (1 - lam) k_t) + k_{t+1}.
Generation 1 fits n_init real points: E S_1 = ((n_init - 1)/n_init) tr Sigma_0. In 1-D with a
fixed h and lam = 1 this is E sigma^2_{t+1} = ((n-1)/n) sigma^2_t + h^2.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def trace_ratio(
    generations: int, *, n: int, n_init: int, dim: int, trace0: float, bandwidth: Optional[float], lam: float = 1.0, rule: str = "scott"
) -> np.ndarray:
    """E tr Sigma_t / tr Sigma_0 for t = 0..G (generation 0 is the real distribution), with a
    fixed `bandwidth` or (None) the bandwidth `rule` (mad.families.kde.RULES)."""
    from mad.families.kde import rule_factor, scales_with_data

    out = np.empty(generations + 1)
    out[0] = 1.0
    shrink = (n - 1) / n
    s = (n_init - 1) / n_init * trace0
    if bandwidth is None and scales_with_data(rule):
        c_init, c = rule_factor(rule, n_init, dim), rule_factor(rule, n, dim)
        out[1] = (1 + c_init) * s / trace0
        s = shrink * (1 + lam * c_init) * s
        for t in range(2, generations + 1):
            out[t] = (1 + c) * s / trace0
            s = shrink * (1 + lam * c) * s
        return out
    if bandwidth is None:  # a kernel fixed by the fit's size
        kernel_init, kernel = dim * rule_factor(rule, n_init, dim), dim * rule_factor(rule, n, dim)
    else:
        kernel_init = kernel = dim * bandwidth**2
    v = s + kernel_init
    out[1] = v / trace0
    previous = kernel_init
    for t in range(2, generations + 1):
        v = shrink * (v - (1 - lam) * previous) + kernel
        previous = kernel
        out[t] = v / trace0
    return out


def fixed_point(*, n: int, dim: int, bandwidth: float, lam: float = 1.0) -> float:
    """The limit of E tr Sigma_t with a fixed bandwidth: V = ((n-1)/n)(V - (1-lam) k) + k."""
    kernel = dim * bandwidth**2
    return n * kernel * (1 - (n - 1) / n * (1 - lam))
