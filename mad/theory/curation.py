"""Curation by reward in its idealised limit (Ferbach et al. 2024; docs/theory.md, curation).

With K -> infinity candidates chosen by a Bradley-Terry draw, a curated synthetic point has the
density p(x) exp(r(x)) / Z, and with n -> infinity the refit returns that distribution. For a
Gaussian N(mu, Sigma):
    quadratic   r = -gamma/2 ||x - x*||^2: precision P' = P + gamma I, P' mu' = P mu + gamma x*;
    linear      r = gamma <e_1, x>: mu' = mu + gamma Sigma e_1, Sigma unchanged;
    density     r = gamma log p(x): p^(1 + gamma), so Sigma' = Sigma / (1 + gamma), mu unchanged.
Generation 1 is the fit on real data; curation acts on every later step, so after t generations
t - 1 curated refits have happened. From N(0, s^2 I) the functions below give E tr Sigma_t /
tr Sigma_0 and ||mu_t - mu_0||^2 in that limit. Finite K and n stay below it (fewer candidates tilt
less; each MLE refit also shrinks the variance by (n - 1)/n): the simulation approaches these
curves as both grow, which the `curation_reward` experiment shows.
"""

from __future__ import annotations

import numpy as np

from mad.config import Config


def ideal(config: Config) -> dict[str, np.ndarray]:
    """{trace_ratio, mean_sq_drift} for t = 0..G in the K, n -> infinity limit (Gaussian data
    N(0, s^2 I), Bradley-Terry choice)."""
    cfg, s2 = config.curation, config.data.scale**2
    steps = np.maximum(np.arange(config.generations + 1) - 1, 0).astype(float)  # curated refits by generation t
    gamma = cfg.gamma
    if cfg.reward == "quadratic":
        precision = 1.0 / s2 + steps * gamma
        trace = 1.0 / (s2 * precision)
        drift = (steps * gamma * cfg.target / precision) ** 2  # only the first coordinate moves
    elif cfg.reward == "linear":
        trace = np.ones_like(steps)
        drift = (steps * gamma * s2) ** 2
    elif cfg.reward == "density":
        trace = (1.0 + gamma) ** -steps
        drift = np.zeros_like(steps)
    else:
        raise ValueError(f"curation.reward={cfg.reward!r} has no tilt")
    return {"trace_ratio": trace, "mean_sq_drift": drift}  # every coordinate shrinks alike: the ratio of one
