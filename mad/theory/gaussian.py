"""Closed forms and exact moment recursions for Gaussian self-consuming loops (docs/theory.md, sections 1-2).

Convention (as in the simulations): generation 0 is the real distribution N(mu_0, Sigma_0),
generation 1 the fit on n_init real points, generation t >= 2 the fit after t - 1 loop steps.
Arrays returned here have one entry per generation, 0..G, aligned with the simulated metrics.

First moments of every loop follow an exact *linear* recursion: each step's mean and scatter are
linear in the previous model's mean outer product and covariance and in the real data's moments.
Because every term is proportional to Sigma_0, two scalars carry it for any d and any
covariance structure (full, diag and iso fits all preserve traces):
    a_t = E tr Sigma_t / tr Sigma_0,    b_t = E ||mu_t - mu_0||^2 / tr Sigma_0,
plus the few cross moments a loop needs (the fixed real set's correlation with the model for
`augment`; the pool's moments for the accumulating loops).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Optional

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from mad.config import Config, LoopConfig


def _dof(n: int | float, estimator: str) -> float:
    """The divisor m of the covariance estimator: n (mle) or n - 1 (unbiased)."""
    return float(n) if estimator == "mle" else float(n) - 1.0


class Moments(NamedTuple):
    """Per-generation expectations, in units of tr Sigma_0."""

    trace_ratio: np.ndarray  # a_t
    mean_sq_drift: np.ndarray  # b_t


# ----------------------------------------------------------------------------- mixing loops
# `real` says how real data enter each generation: "none" (replace), "fixed" (augment: the same
# real set every generation) or "fresh" (new real points every generation).


def _mixing_weights(loop: LoopConfig, real: str) -> tuple[float, float]:
    n_r, n_s = loop.n_real, loop.n_syn
    if n_r == 0 or real == "none":
        return 0.0, 1.0
    if loop.real_weight is not None:
        return loop.real_weight, 1.0 - loop.real_weight
    return n_r / (n_r + n_s), n_s / (n_r + n_s)


def _synthetic(a: float, b: float, lam: float, share: float) -> tuple[float, float]:
    """(f, v) of one synthetic point: E[x | model] = f mu_t (mu_0 = 0) and E tr Var[x | model] / tr
    Sigma_0 = v. Self-correction (share s = gamma / (1 + gamma), mad.loops.correction) draws it
    from (1 - s) N(mu_t, lam Sigma_t) + s p*: f = 1 - s, v = (1 - s) lam a + s + s (1 - s) b."""
    return 1.0 - share, (1.0 - share) * lam * a + share + share * (1.0 - share) * b


def _mixing_step(state: np.ndarray, loop: LoopConfig, estimator: str, real: str, pooling: str = "moments", share: float = 0.0) -> np.ndarray:
    """One generation of a mixing loop on (a, b, c), c = E<mu_t, m_R> / tr Sigma_0.

    Weighted mean mu' = w_R m_R + w_S m_S, weighted covariance
    w_R S_R/n_r + w_S S_S/n_s + w_R w_S (m_R - m_S)(m_R - m_S)^T, divided by 1 - sum w_i^2 if unbiased;
    pooling="unbiased" (He et al.): w_R S_R/(n_r - 1) + w_S S_S/(n_s - 1), whose expectation is
    w_R Sigma_0 + w_S v. `share`: self-corrected synthetic points (`_synthetic`).
    """
    a, b, c = state
    n_s, n_r = loop.n_syn, loop.n_real
    w_r, w_s = _mixing_weights(loop, real)
    fixed = real == "fixed"
    f, v = _synthetic(a, b, loop.lam, share)
    syn_sq = f * f * b + v / n_s  # E ||m_S - mu_0||^2
    if w_r == 0.0:
        real_sq, cross, within_real = 0.0, 0.0, 0.0
    else:
        real_sq = 1.0 / n_r
        cross = f * c if fixed else 0.0  # E <m_S, m_R> = f E <mu_t, m_R>
        within_real = (n_r - 1) / n_r
    b_next = w_r**2 * real_sq + 2 * w_r * w_s * cross + w_s**2 * syn_sq
    cov = w_r * within_real + w_s * (n_s - 1) / n_s * v + w_r * w_s * (real_sq - 2 * cross + syn_sq)
    wsq = (w_r**2 / n_r if w_r else 0.0) + w_s**2 / n_s
    a_next = cov / (1.0 - wsq) if estimator == "unbiased" else cov
    if pooling == "unbiased" and w_r:
        a_next = w_r + w_s * v
    c_next = (w_r * real_sq + w_s * f * c) if fixed else 0.0
    return np.array([a_next, b_next, c_next])


def _mixing_start(loop: LoopConfig, estimator: str, real: str) -> np.ndarray:
    n0 = loop.init_size
    # c_1: the fixed real set is the first n_real of the n_init initial points.
    c = 1.0 / n0 if real == "fixed" else 0.0
    return np.array([(n0 - 1) / _dof(n0, estimator), 1.0 / n0, c])


def _per_step(loop: LoopConfig, generations: int, sizes, steps=None) -> list[LoopConfig]:
    """The loop config of each step 2..G: n_syn from the schedule `sizes` (None: constant), n_real,
    lam and real_weight from `steps` (mad.loops.schedule.Steps; None: constant)."""
    if steps is not None:
        return steps.configs(loop, sizes, generations)
    if sizes is None:
        return [loop] * (generations - 1)
    return [dataclasses.replace(loop, n_syn=int(n)) for n in sizes]


def mixing_moments(
    loop: LoopConfig, estimator: str, generations: int, sizes=None, *, real: str, pooling: str = "moments", share: float = 0.0,
    steps=None,
) -> "Moments":
    """a_t and b_t of a mixing loop (replace, augment, fresh) for t = 0..generations; `sizes`: a
    schedule of n_syn over the steps, `steps` those of n_real, lam, real_weight
    (mad.loops.schedule); `share`: self-correction's s."""
    states = [np.array([1.0, 0.0, 0.0]), _mixing_start(loop, estimator, real)]
    for step in _per_step(loop, generations, sizes, steps):
        states.append(_mixing_step(states[-1], step, estimator, real, pooling, share))
    s = np.stack(states)
    return Moments(s[:, 0], s[:, 1])


def mixing_fixed_point(loop: LoopConfig, estimator: str, *, real: str, share: float = 0.0) -> tuple[float, float]:
    """Limit (a_inf, b_inf) of a mixing loop, solving the affine recursion x' = M x + v exactly."""
    v = _mixing_step(np.zeros(3), loop, estimator, real, share=share)
    m = np.stack([_mixing_step(e, loop, estimator, real, share=share) - v for e in np.eye(3)], axis=1)
    x = np.linalg.solve(np.eye(3) - m, v)
    return float(x[0]), float(x[1])


# ----------------------------------------------------------------------------- accumulating loops


def accumulate_moments(loop: LoopConfig, estimator: str, generations: int, sizes=None, share: float = 0.0, steps=None) -> Moments:
    """Pool mean = model mean; pool scatter P grows by the batch scatter and the between term.
    A batch has E[m_S | model] = f mu_t and per-point variance v (`_synthetic`), so the pool mean
    moves to mu_t + n_s (m_S - mu_t) / N' with E = (1 - (1 - f) n_s / N') mu_t."""
    size = float(loop.init_size)
    scatter = size - 1.0
    a, b = [1.0, scatter / _dof(size, estimator)], [0.0, 1.0 / size]
    for step in _per_step(loop, generations, sizes, steps):
        n_s = step.n_syn
        grown = size + n_s
        f, v = _synthetic(a[-1], b[-1], step.lam, share)
        pull = 1.0 - (1.0 - f) * n_s / grown
        between = (1.0 - f) ** 2 * b[-1] + v / n_s  # E ||m_S - mu_t||^2
        b.append(pull**2 * b[-1] + n_s * v / grown**2)
        scatter += (n_s - 1) * v + (size * n_s / grown) * between
        size = grown
        a.append(scatter / _dof(size, estimator))
    return Moments(np.array(a), np.array(b))


def accumulate_subsample_moments(loop: LoopConfig, estimator: str, generations: int, sizes=None, share: float = 0.0) -> Moments:
    """Subsample of n_fit from a pool of N: E[mean^2] = Q + (N - n_fit) P / (N n_fit (N - 1)),
    E[scatter] = (n_fit - 1) P / (N - 1), with Q = E ||pool mean||^2 and P = E pool scatter.
    (No schedule: validation keeps loops without `schedules` at a constant n_syn.)"""
    assert sizes is None
    lam, n_s, n_f = loop.lam, loop.n_syn, loop.fit_size

    def fit(q, p, size):
        b_fit = q + (size - n_f) / (size * n_f * (size - 1)) * p if size > 1 else q
        a_fit = (n_f - 1) / (size - 1) * p / _dof(n_f, estimator) if size > 1 else 0.0
        return a_fit, b_fit

    size = float(loop.init_size)
    q, p = 1.0 / size, size - 1.0
    a1, b1 = fit(q, p, size)
    a, b = [1.0, a1], [0.0, b1]
    for _ in range(generations - 1):
        grown = size + n_s
        f, v = _synthetic(a[-1], b[-1], lam, share)
        syn_sq = f * f * b[-1] + v / n_s  # E ||m_S||^2
        cross = f * q  # E <m_S, pool mean>: the fit's mean is unbiased for the pool's
        p = p + (n_s - 1) * v + (size * n_s / grown) * (syn_sq - 2 * cross + q)
        q = (size**2 * q + 2 * size * n_s * cross + n_s**2 * syn_sq) / grown**2
        size = grown
        a_t, b_t = fit(q, p, size)
        a.append(a_t)
        b.append(b_t)
    return Moments(np.array(a), np.array(b))


def moments(
    loop: LoopConfig, estimator: str, generations: int, sizes=None, pooling: str = "moments", share: float = 0.0, steps=None
) -> Optional[Moments]:
    """E tr Sigma_t / tr Sigma_0 and E ||mu_t - mu_0||^2 / tr Sigma_0 for t = 0..generations, as the
    loop declares them (its spec's `moments`); None for a loop that declares no recursion.
    `sizes`: a schedule of n_syn over the steps (None: constant); `share`: the probability that
    self-correction replaces a synthetic point by a real one (mad.loops.correction)."""
    from mad.loops import loop_spec

    spec = loop_spec(loop.name)
    if spec.moments is None:
        return None
    # Only mixing loops with real data accept model.pooling=unbiased (validation).
    extra = ({} if pooling == "moments" else {"pooling": pooling}) | ({"share": share} if share else {}) | ({} if steps is None else {"steps": steps})
    return spec.moments(loop, estimator, generations, sizes, **extra)


def fixed_point(loop: LoopConfig, estimator: str) -> tuple[float, float]:
    """Limit (a_inf, b_inf) of a loop with a stationary law (replace, augment, fresh)."""
    from mad.loops import loop_spec

    spec = loop_spec(loop.name)
    if spec.fixed_point is None:
        raise ValueError(f"loop={loop.name} has no stationary law: its fixed point is not defined")
    return spec.fixed_point(loop, estimator)


# ----------------------------------------------------------------------------- replace: exact laws


def _step_sizes(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Sample size and sampling bias of the fit that produced each generation 1..G (replace)."""
    from mad.loops import schedule

    loop, generations = config.loop, config.generations
    scheduled = schedule.of(config)
    later = [loop.n_syn] * (generations - 1) if scheduled is None else list(scheduled)
    n = np.array([loop.init_size] + later, float)
    steps = schedule.steps_of(config)
    later_lam = [loop.lam] * (generations - 1) if steps is None or steps.lam is None else list(steps.lam)
    lam = np.array([1.0] + later_lam)
    return n, lam


def logdet_increment(n: float, lam: float, *, dim: int, covariance: str, estimator: str) -> tuple[float, float]:
    """Mean and variance of log det Sigma_{t+1} - log det Sigma_t in the replace loop.

    full: sum_i log(lam chi2(n - i) / m), i = 1..d (Bartlett); diag: d independent log(lam chi2(n-1)/m);
    iso: d log(lam chi2(d (n - 1)) / (m d)). E log chi2(k) = log 2 + psi(k/2), Var = psi1(k/2).
    """
    m = _dof(n, estimator)
    if covariance == "full":
        k = n - np.arange(1, dim + 1)
        mean = dim * math.log(lam / m) + np.sum(math.log(2.0) + digamma(k / 2))
        var = np.sum(polygamma(1, k / 2))
    elif covariance == "diag":
        mean = dim * (math.log(lam / m) + math.log(2.0) + digamma((n - 1) / 2))
        var = dim * polygamma(1, (n - 1) / 2)
    else:
        k = dim * (n - 1)
        mean = dim * (math.log(lam / (m * dim)) + math.log(2.0) + digamma(k / 2))
        var = dim**2 * polygamma(1, k / 2)
    return float(mean), float(var)


def logdet_walk(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of log det Sigma_t - log det Sigma_0 (replace loop)."""
    n, lam = _step_sizes(config)
    steps = [
        logdet_increment(ni, li, dim=config.data.dim, covariance=config.model.covariance, estimator=config.model.estimator)
        for ni, li in zip(n, lam)
    ]
    mean = np.concatenate([[0.0], np.cumsum([s[0] for s in steps])])
    var = np.concatenate([[0.0], np.cumsum([s[1] for s in steps])])
    return mean, np.sqrt(var)


def scale_moment(s: float, n: float, lam: float, *, estimator: str, dof_scale: int = 1) -> float:
    """E[(sigma_{t+1} / sigma_t)^{2s}] = lam^s (2/m)^s Gamma(k/2 + s) / Gamma(k/2), k = n - 1.

    For an isotropic fit of d coordinates set dof_scale = d: sigma^2 = lam chi2(d (n - 1)) / (m d).
    """
    k = dof_scale * (n - 1)
    m = _dof(n, estimator) * dof_scale
    return float(np.exp(s * math.log(2 * lam / m) + gammaln(k / 2 + s) - gammaln(k / 2)))


def mean_scale_ratio(config: Config) -> np.ndarray:
    """E[sigma_t / sigma_0] per coordinate (replace loop, diag / iso fits, or d = 1)."""
    dof_scale = config.data.dim if config.model.covariance == "iso" else 1
    n, lam = _step_sizes(config)
    factors = [scale_moment(0.5, ni, li, estimator=config.model.estimator, dof_scale=dof_scale) for ni, li in zip(n, lam)]
    return np.concatenate([[1.0], np.cumprod(factors)])


# ----------------------------------------------------------------------------- second moments


def _wishart_step(big_a: float, big_b: float, a: float, k: float, c: float) -> tuple[float, float, float]:
    """(E tr S^2, E (tr S)^2, E tr S) for S = c W, W ~ Wishart_d(k, Sigma) given (tr Sigma^2,
    (tr Sigma)^2, tr Sigma) = (A, B, a): E tr W^2 = k (k + 1) A + k B, E (tr W)^2 = 2 k A + k^2 B."""
    return c * c * (k * (k + 1) * big_a + k * big_b), c * c * (2 * k * big_a + k * k * big_b), c * k * a


def cov_frob_sq(config: Config, real: str, fully_synthetic: bool) -> Optional[np.ndarray]:
    """E ||Sigma_t - Sigma_0||_F^2 for t = 0..G (Sigma_0 = s^2 I, full covariance), or None.

    Exact for the replace loop (Sigma' = lam W / m, W ~ Wishart_d(n - 1, Sigma_t)) and for He et
    al.'s unbiased pooling with fresh real data (Sigma' = w R + (1 - w) S, R and S unbiased and
    independent given Sigma_t), through the linear recursion of (E tr Sigma^2, E (tr Sigma)^2,
    E tr Sigma) and E ||Sigma - s^2 I||_F^2 = E tr Sigma^2 - 2 s^2 E tr Sigma + d s^4.
    """
    loop, model, data = config.loop, config.model, config.data
    he = model.pooling == "unbiased" and real == "fresh"
    if data.name != "gaussian" or model.covariance != "full" or not (fully_synthetic or he):
        return None
    d, s2 = data.dim, data.scale**2
    n, lam = _step_sizes(config)
    state = (d * s2 * s2, (d * s2) ** 2, d * s2)  # Sigma_0 = s^2 I
    out = [0.0]
    for t, (n_t, lam_t) in enumerate(zip(n, lam)):
        k = n_t - 1.0
        if t == 0 or not he:
            state = _wishart_step(*state, k, lam_t / _dof(n_t, model.estimator))
        else:
            w = _mixing_weights(dataclasses.replace(loop, n_syn=int(n_t)), real)[0]
            k_r = loop.n_real - 1.0
            real_sq = _wishart_step(d * s2 * s2, (d * s2) ** 2, d * s2, k_r, 1.0 / k_r)
            syn = _wishart_step(*state, k, lam_t / k)
            cross = lam_t * state[2]  # E tr(R S) / s^2 and E tr R tr S / (d s^2): R is independent, E R = Sigma_0
            state = (
                w * w * real_sq[0] + (1 - w) ** 2 * syn[0] + 2 * w * (1 - w) * s2 * cross,
                w * w * real_sq[1] + (1 - w) ** 2 * syn[1] + 2 * w * (1 - w) * d * s2 * cross,
                w * d * s2 + (1 - w) * cross,
            )
        out.append(state[0] - 2 * s2 * state[2] + d * s2 * s2)
    return np.asarray(out)


# ----------------------------------------------------------------------------- literature helpers


def accumulate_limit(n: int, trace0: float = 1.0) -> float:
    """Gerstgrasser et al.: with accumulation E||mu_t - mu_0||^2 -> (pi^2/6) tr Sigma_0 / n."""
    return math.pi**2 / 6 * trace0 / n


def weighted_mean_mse(w: float, k: float, sigma2: float = 1.0, n: int = 1) -> float:
    """He et al.: stationary MSE of the mean with real weight w, k = n_real / n_syn, n = n_real
    (known variance): (sigma^2 / n) (w^2 + k (1 - w)^2) / (w (2 - w))."""
    return sigma2 / n * (w**2 + k * (1 - w) ** 2) / (w * (2 - w))


def golden_ratio_weight(k: float) -> float:
    """The w minimising `weighted_mean_mse`: (sqrt(k^2 + 4k) - k) / 2 (0.618... at k = 1)."""
    return (math.sqrt(k * k + 4 * k) - k) / 2


# ----------------------------------------------------------------------------- per-config predictions


def linear_argmax_trace(config: Config, spec) -> dict[str, np.ndarray]:
    """{trace_ratio} of the replace loop whose synthetic points are each the argmax of K candidates
    by a linear reward gamma x_1 (docs/theory.md, curation), exact at every K and n.

    The draw x = mu + sqrt(lam) L z with L lower triangular has x_1 = mu_1 + sqrt(lam) L_11 z_1, so
    the chosen point carries the largest of K normals in z_1 and fresh normals elsewhere: in the
    model's frame its covariance is lam diag(c, 1, ..., 1), c = Var M. The refit sees only the
    batch's scatter (the mean shift leaves it alone), so while Sigma stays diagonal (diag or iso,
    or d = 1) E tr Sigma_t is linear in the previous one: iso multiplies lam by (d - 1 + c)/d, diag
    moves the first coordinate at lam c and the rest at lam. A full Sigma at d > 1 mixes the
    first column into every coordinate (E tr needs E ||Sigma e_1||^2 / Sigma_11): no law, and no
    loop that pools batches (their between-batch means move by sqrt(Sigma_11) E M) has one.
    """
    from mad.loops import schedule
    from mad.theory.curation import linear_argmax_shares

    loop, model, d = config.loop, config.model, config.data.dim
    cur = config.curation
    diagonal = model.covariance in ("diag", "iso") or d == 1
    if cur.choice != "argmax" or not spec.fully_synthetic or not diagonal or config.correction.gamma > 0 or schedule.steps_of(config) is not None:
        return {}
    w, c = linear_argmax_shares(config)
    if cur.gamma == 0:
        c = 1.0  # every reward ties: the first candidate, an ordinary draw

    def ratio(factor: float) -> np.ndarray:
        mom = moments(dataclasses.replace(loop, lam=loop.lam * factor), model.estimator, config.generations, schedule.of(config))
        return mom.trace_ratio

    if model.covariance == "diag" and d > 1:
        return {"trace_ratio": w * ratio(c) + (1.0 - w) * ratio(1.0)}
    return {"trace_ratio": ratio((d - 1 + c) / d)}


def predict(config: Config) -> dict[str, np.ndarray]:
    """Closed-form expectation of each metric that has one, per generation (t = 0..G).

    Keys are metric names; `logdet_ratio_std` is the standard deviation of the log-det walk.
    A loop whose spec declares no moment recursion gets no prediction at all.
    """
    from mad.loops import loop_spec

    from mad.loops import schedule

    loop, model, data = config.loop, config.model, config.data
    from mad.loops.correction import share

    spec = loop_spec(loop.name)
    corrected = config.correction.gamma > 0
    steps = schedule.steps_of(config)
    curated = config.curation.reward == "density"
    if curated:  # a curated point is mu + sqrt(lam c) L z* with z* isotropic: lam -> lam c (mad.theory.curation)
        if steps is not None:
            return {}  # c depends on lam: a lam schedule would need one factor per step
        from mad.theory.curation import density_factor

        cur = config.curation
        c = density_factor(cur.gamma, cur.candidates, data.dim, cur.choice, loop.lam)
        loop = dataclasses.replace(loop, lam=loop.lam * c)
    if config.curation.reward == "linear":
        return linear_argmax_trace(config, spec)
    mom = moments(loop, model.estimator, config.generations, schedule.of(config), model.pooling, share(config.correction.gamma), steps)
    if mom is None:
        return {}
    if data.name == "gaussian":
        trace0 = data.dim * data.scale**2
    else:
        # Sample moments are unbiased whatever the data's law, and every later generation is
        # Gaussian: the first-moment recursions hold with Sigma_0 the moment-matched covariance.
        from mad.data import make_data

        trace0 = float(np.trace(make_data(config).cov))
    out = {"trace_ratio": mom.trace_ratio, "mean_sq_drift": mom.mean_sq_drift * trace0}
    if corrected or curated or (steps is not None and (steps.n_real is not None or steps.real_weight is not None)):
        return out  # the first moments are all that is derived for corrected or curated draws and scheduled real parts
    frob = cov_frob_sq(config, spec.real, spec.fully_synthetic)
    if frob is not None:
        out["cov_frob_sq"] = frob
    if spec.fully_synthetic and data.name == "gaussian":  # the Wishart laws need Gaussian data
        mean, std = logdet_walk(config)
        out["logdet_ratio"] = mean
        out["logdet_ratio_std"] = std
        d = data.dim
        out["kl_rev"] = 0.5 * d * (mom.trace_ratio + mom.mean_sq_drift - 1.0) - 0.5 * mean
        if model.covariance != "full" or d == 1:
            h = mean_scale_ratio(config)
            out["w2_sq"] = trace0 * (mom.mean_sq_drift + mom.trace_ratio - 2.0 * h + 1.0)
    return out

