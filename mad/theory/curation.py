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

Two choices are exact at every K and n because they do not depend on the model's scale: the
density reward (the chosen z* is isotropic, `density_factor`) and the argmax of the linear reward
(the chosen point is the candidate of largest first coordinate, so its standardised first
coordinate is the maximum of K standard normals, `max_normal_moments`, the others untouched).
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


# ----------------------------------------------------------------------------- finite K: the density reward


def density_factor(gamma: float, candidates: int, dim: int, choice: str, lam: float = 1.0) -> float:
    """c such that a point curated by its model density has covariance lam c Sigma (and mean mu).

    Candidates are x = mu + sqrt(lam) L z (L L^T = Sigma, z ~ N(0, I_d)) and the reward
    gamma log p(x) = -gamma lam ||z||^2 / 2 + const depends on q = ||z||^2 ~ chi2_d alone, so the
    chosen point is mu + sqrt(lam) L z* with z* isotropic: c = E||z*||^2 / d, whatever the model.
    Bradley-Terry over K candidates with weights w = exp(-beta q / 2), beta = gamma lam:
    E||z*||^2 = K E[q_1 w_1 / (w_1 + S)], S the other K - 1 weights, and with
    1 / a = int_0^inf exp(-t a) dt this is K int_0^inf E[q w e^{-t w}] E[e^{-t w}]^{K - 1} dt,
    one-dimensional integrals (generalised Gauss-Laguerre in q, trapezoid in log t).
    argmax: the candidate of smallest q, E min = int_0^inf P(q > x)^K dx.
    As K -> infinity with Bradley-Terry, c -> 1 / (1 + beta) (the tilt p^(1 + gamma)).
    """
    from scipy.special import gamma as gamma_fn
    from scipy.special import roots_genlaguerre
    from scipy.stats import chi2

    if candidates == 1 or gamma == 0:
        return 1.0
    if choice == "argmax":
        u = np.linspace(np.log(1e-12), np.log(chi2.isf(1e-16, dim)), 20_001)  # x = e^u resolves the minimum of many
        return float(np.trapezoid(chi2.sf(np.exp(u), dim) ** candidates * np.exp(u), u)) / dim
    beta = gamma * lam
    nodes, weights = roots_genlaguerre(200, dim / 2 - 1)  # y = q / 2 ~ Gamma(d / 2)
    weights = weights / gamma_fn(dim / 2)
    q = 2 * nodes
    w = np.exp(-beta * q / 2)
    u = np.linspace(-40.0, 40.0, 8001)
    t = np.exp(u)[:, None]
    decay = np.exp(-t * w[None, :])
    first = (decay * (q * w)[None, :]) @ weights  # E[q w e^{-t w}]
    rest = (decay @ weights) ** (candidates - 1)  # E[e^{-t w}]^(K - 1)
    return float(candidates * np.trapezoid(first * rest * t[:, 0], u)) / dim


# ----------------------------------------------------------------------------- finite K: argmax of a linear reward


def max_normal_moments(candidates: int) -> tuple[float, float]:
    """(E M, Var M) of M, the largest of K independent standard normals, by quadrature of its
    density K phi(x) Phi(x)^(K - 1) (log space, so K up to 10^9 stays exact to ~1e-10).
    K = 2: (1/sqrt(pi), 1 - 1/pi); K = 3: (3 / (2 sqrt(pi)), 1 + sqrt(3)/(2 pi) - 9/(4 pi))."""
    from scipy.special import log_ndtr

    if candidates == 1:
        return 0.0, 1.0
    x = np.linspace(-12.0, 12.0, 48_001)
    density = np.exp(np.log(candidates) - 0.5 * x * x - 0.5 * np.log(2 * np.pi) + (candidates - 1) * log_ndtr(x))
    mean = float(np.trapezoid(x * density, x))
    return mean, float(np.trapezoid((x - mean) ** 2 * density, x))


def linear_argmax_shares(config: Config) -> tuple[float, float]:
    """(w, c): the argmax of K candidates by r = gamma x_1 (any gamma > 0) keeps every coordinate's
    law but the first, whose standardised value becomes the maximum of K normals: its variance is
    multiplied by c = Var M (`max_normal_moments`). w is the first coordinate's share of tr Sigma_0."""
    from mad.data import make_data

    _, c = max_normal_moments(config.curation.candidates)
    if config.data.name == "gaussian":
        return 1.0 / config.data.dim, c
    cov = np.atleast_2d(make_data(config).cov)
    return float(cov[0, 0] / np.trace(cov)), c
