"""Discrete distributions refitted from their own samples: exact survival laws.

Poisson (Suresh et al. 2024; docs/theory.md section 5). Lambda_{t+1} = S / n with S ~ Poisson(n Lambda_t).
If Pr(alive after k more fits | Lambda = l) = 1 - exp(-n l a_k), one more fit gives
E[1 - exp(-S a_k)] = 1 - exp(-n l g(a_k)) with g(x) = 1 - exp(-x): so a_k = g^(k)(inf), a_1 = 1,
and Pr(Lambda_t != 0) = 1 - exp(-n lambda_0 a_t). A first fit on n_init != n points is one more
such step with its own size. E Lambda_t = lambda_0 at every t (a martingale absorbed at zero).

Categorical (replace loop, no smoothing, lam = 1). Each symbol's count is a Wright-Fisher chain:
c_1 ~ Bin(n_init, p_i), c_{t+1} ~ Bin(n, c_t / n_t), absorbed at 0. Pr(c_t = 0 | c) satisfies a
backward recursion through the (n + 1) x (n + 1) binomial transition matrix, which is the same
for every symbol, so the expected support size and lost tail mass of a V-symbol vocabulary cost
O(n^2 G + V n_init G), exactly.
"""

from __future__ import annotations

import numpy as np


def poisson_survival(generations: int, *, rate: float, n: int, n_init: int) -> np.ndarray:
    """Pr(Lambda_t > 0) for t = 0..G."""
    out = np.ones(generations + 1)
    a = 1.0  # a_k for k more fits of size n after the first
    for t in range(1, generations + 1):
        if t == 1:
            out[t] = -np.expm1(-n_init * rate)
        else:
            out[t] = -np.expm1(-n_init * rate * -np.expm1(-(n / n_init) * a))
            a = -np.expm1(-a)
    return out


def _transition(size_from: int, size_to: int) -> np.ndarray:
    """T[c, c'] = Pr(c' | c): c' ~ Bin(size_to, c / size_from)."""
    c = np.arange(size_from + 1)[:, None]
    from scipy import stats  # imported on use: scipy.stats costs a second at start-up

    return stats.binom.pmf(np.arange(size_to + 1)[None, :], size_to, c / size_from)


def categorical_loss(probs: np.ndarray, generations: int, *, n: int, n_init: int) -> tuple[np.ndarray, np.ndarray]:
    """(E support size, E lost real mass) for t = 0..G."""
    probs = np.asarray(probs, np.float64)
    from scipy import stats

    first = stats.binom.pmf(np.arange(n_init + 1)[None, :], n_init, probs[:, None])  # (V, n_init + 1)
    later = _transition(n, n)
    bridge = _transition(n_init, n)
    dead = np.zeros(n + 1)
    dead[0] = 1.0  # Pr(count is 0 after 0 more steps | count c)
    support, lost = np.empty(generations + 1), np.empty(generations + 1)
    support[0], lost[0] = len(probs), 0.0
    for t in range(1, generations + 1):
        if t == 1:
            gone = first[:, 0]
        else:
            gone = first @ (bridge @ dead)
            dead = later @ dead
        support[t] = np.sum(1.0 - gone)
        lost[t] = np.sum(probs * gone)
    return support, lost
