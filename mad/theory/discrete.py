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

Squared error of the refit (both families, every loop with fresh or pooled counts; Gerstgrasser et
al.'s accumulation laws). A fit is the mean of its points, so with e_t = E ||theta_t - theta*||^2
and V the variance of one real point (Poisson: lambda*; categorical: 1 - ||p||^2), a point drawn
from the model of generation t has expected variance V - s e_t (s = 0 for Poisson, whose variance
is linear in the rate; s = 1 for categorical, whose sum_i p_i (1 - p_i) loses ||p_t - p||^2):
  replace      e_t = e_{t-1} + (V - s e_{t-1}) / n
  accumulate   e_t = e_{t-1} + n (V - s e_{t-1}) / N_t^2,   N_t = n_init + (t - 1) n pooled points
  fresh        e_t = (1 - w)^2 (e_{t-1} + (V - s e_{t-1}) / n) + w^2 V / n_real   (w: real weight)
from e_1 = V / n_init. For Poisson with n_init = n, accumulation gives (lambda*/n) sum_{i<=t} 1/i^2,
bounded by pi^2/6 times the first error, while replacing grows linearly.
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


# The absorbing chain's transition matrix holds (n + 1)^2 float64 numbers: 128 MB at this n.
LARGEST_CHAIN = 4000


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


def refit_sq_error(
    generations: int, *, point_var: float, shrink: float, mode: str, n, n_init: int, n_real: int = 0, real_weight: float | None = None,
    first: float | None = None, real_batch: float | None = None,
) -> np.ndarray:
    """E ||theta_t - theta*||^2 for t = 0..G of a mean refitted in a loop (see the module doc).

    mode: "replace", "accumulate" or "fresh"; point_var = V, shrink = s; n: the synthetic sample
    size of every step, or one per step 2..G (a schedule); for "fresh" the real part has weight
    real_weight (None: its share of the points, n_real / (n_real + n_t)). Real data that are not
    independent points (windows of text) give their own variances: `first`, the error of the
    first fit (default V / n_init), and `real_batch`, that of a fresh real batch's mean (default
    V / n_real)."""  # fmt: skip
    out = np.zeros(generations + 1)
    if generations == 0:
        return out
    sizes = np.broadcast_to(np.asarray(n, np.float64), (generations - 1,))
    out[1] = point_var / n_init if first is None else first
    pooled = float(n_init)
    for t in range(2, generations + 1):
        e, n_t = out[t - 1], sizes[t - 2]
        drawn = (point_var - shrink * e) / n_t  # variance a synthetic batch's mean adds
        if mode == "replace":
            out[t] = e + drawn
        elif mode == "accumulate":
            pooled += n_t
            out[t] = e + drawn * (n_t / pooled) ** 2
        elif mode == "fresh":
            w = n_real / (n_real + n_t) if real_weight is None else float(real_weight)
            fresh = (point_var / n_real if real_batch is None else real_batch) if n_real else 0.0
            out[t] = (1 - w) ** 2 * (e + drawn) + w**2 * fresh
        else:
            raise ValueError(f"mode={mode!r}: one of replace, accumulate, fresh")
    return out


def refit_mode(loop) -> str | None:
    """Which squared-error recursion a loop spec follows (None: no closed form, e.g. a fixed real
    set, whose error is correlated across generations, or a subsampled pool)."""
    if loop.fully_synthetic:
        return "replace"
    if loop.accumulates:
        return "accumulate"
    if loop.real == "fresh":
        return "fresh"
    return None


def refit_error_for(config, loop, *, point_var: float, shrink: float) -> np.ndarray | None:
    """refit_sq_error for a config's loop (None where the loop has no closed form)."""
    mode = refit_mode(loop)
    if mode is None:
        return None
    from mad.loops import schedule

    c = config.loop
    scheduled = schedule.of(config)
    return refit_sq_error(
        config.generations, point_var=point_var, shrink=shrink, mode=mode,
        n=c.n_syn if scheduled is None else scheduled, n_init=c.init_size,
        n_real=c.n_real if mode == "fresh" else 0, real_weight=c.real_weight if mode == "fresh" else None,
    )  # fmt: skip
