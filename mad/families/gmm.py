"""Gaussian mixture family: batched EM with a fixed number of iterations and a convergence mask.

Parameters are log-weights, means and Cholesky factors of the component covariances. EM follows
scikit-learn's GaussianMixture step for step (so that it can serve as an oracle): the E-step gives
responsibilities and the mean log-likelihood, the M-step the weighted moments plus `reg` on the
diagonal, and iteration stops once the mean log-likelihood changes by less than `tol`. Under vmap
on a CPU each lane runs its own EM (mad.lanes); elsewhere "stops" means a lane's parameters stop
changing while the other lanes iterate (a convergence mask), and the batch leaves the loop when
all its lanes have converged, or after `iters`.

Data are weighted points (mad.families.points: w_i >= 0, summing to one; zero weights mask
empty rows of a buffer).
A component whose responsibility mass vanishes is *frozen*: it keeps its mean and covariance and
gets weight ~0, so nothing divides by zero; a fresh k-means++ initialisation (the default,
warm_start=false) re-seeds it in the next generation.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jaxtyping import Array, Float

from mad import random
from mad.lanes import lane_by_lane
from mad.linalg import cholesky, solve_lower
from mad.families.base import Family, FamilySpec
from mad.families.points import POINT_DATA, Points, point_family, point_lane_floats, resample_rows, sample_docs, validate_points

# Mass below which a component counts as empty (relative to a total weight of one).
EMPTY = 1e-8


class GmmParams(NamedTuple):
    log_weights: Float[Array, " k"]
    means: Float[Array, "k d"]
    chols: Float[Array, "k d d"]  # lower Cholesky factors of the covariances
    iterations: Optional[jax.Array] = None  # of the EM run that fitted it (a diagnostic)
    converged: Optional[jax.Array] = None


# Up to this dimension the per-point algebra is written out coordinate by coordinate: XLA fuses
# it into one pass over the (k, n) grid, where batched d x d matrix products of tiny d would each
# be a separate, slow library call under vmap. Above it, matrix products are the faster form.
UNROLL_DIM = 8


def _mahalanobis_sq(chols, means, xt):
    """||L_k^{-1} (x_i - mu_k)||^2 as a (k, n) array; xt is the (d, n) transposed sample."""
    dim = xt.shape[0]
    if dim <= UNROLL_DIM:
        # Forward substitution, coordinate by coordinate, over the whole (k, n) grid at once.
        zs, sq = [], 0.0
        for i in range(dim):
            r = xt[i][None, :] - means[:, i][:, None]
            for j in range(i):
                r = r - chols[:, i, j][:, None] * zs[j]
            zs.append(r / chols[:, i, i][:, None])
            sq = sq + zs[-1] ** 2
        return sq
    # As scikit-learn does: invert each factor once (k small solves), whiten by matrix products.
    eye = jnp.eye(dim, dtype=xt.dtype)
    inv_chols = jax.vmap(lambda c: solve_lower(c, eye))(chols)  # (k, d, d)
    shifted = jnp.einsum("kij,jn->kin", inv_chols, xt) - jnp.einsum("kij,kj->ki", inv_chols, means)[:, :, None]
    return jnp.sum(shifted**2, axis=1)


def _component_log_prob_t(params: GmmParams, xt) -> Float[Array, "k n"]:
    dim = xt.shape[0]
    log_det = jnp.sum(jnp.log(jnp.diagonal(params.chols, axis1=1, axis2=2)), axis=1)
    return -0.5 * _mahalanobis_sq(params.chols, params.means, xt) - log_det[:, None] - 0.5 * dim * jnp.log(2 * jnp.pi)


def component_log_prob(params: GmmParams, x: Float[Array, "n d"]) -> Float[Array, "n k"]:
    """log N(x_i; mean_k, Sigma_k) for every point and component."""
    return _component_log_prob_t(params, x.T).T


def log_prob(params: GmmParams, x: Float[Array, "n d"]) -> Float[Array, " n"]:
    """log density of the mixture at each row of x."""
    return logsumexp(_component_log_prob_t(params, x.T) + params.log_weights[:, None], axis=0)


def _m_step_t(xt, weighted, *, reg: float, covariance: str, previous: GmmParams, total) -> GmmParams:
    """M-step from (k, n) weighted responsibilities and the (d, n) sample."""
    dim = xt.shape[0]
    nk = jnp.sum(weighted, axis=1) + 10 * jnp.finfo(xt.dtype).eps * total / xt.shape[1]
    means = jnp.sum(weighted[None] * xt[:, None, :], axis=2).T / nk[:, None]  # a fused reduction, not a matmul
    # Two-pass (centred) second moments: collapse makes components tight far from the origin,
    # where E[x x^T] - mu mu^T would cancel catastrophically.
    centred = xt[:, None, :] - means.T[:, :, None]  # (d, k, n)
    if covariance == "full" and dim <= UNROLL_DIM:
        cols = [[jnp.sum(weighted * centred[i] * centred[j], axis=1) for j in range(i + 1)] for i in range(dim)]
        covs = jnp.stack([jnp.stack([cols[max(i, j)][min(i, j)] for j in range(dim)], -1) for i in range(dim)], -2)
    elif covariance == "full":
        covs = jnp.einsum("kn,ikn,jkn->kij", weighted, centred, centred)
    else:
        covs = jax.vmap(jnp.diag)(jnp.sum(weighted[None] * centred**2, axis=2).T)
    covs = covs / nk[:, None, None]
    # reg on the diagonal, plus a rounding-level floor relative to each component's own scale: a
    # component holding fewer than d + 1 distinct points has a singular covariance, which
    # rounding can make indefinite in float32 (scikit-learn raises there; here the fit goes on).
    scale = jnp.trace(covs, axis1=1, axis2=2) / dim
    floor = reg + 16 * dim * jnp.finfo(xt.dtype).eps * scale
    covs = covs + floor[:, None, None] * jnp.eye(dim, dtype=xt.dtype)[None]
    chols = jax.vmap(cholesky)(covs)  # fused for small d (mad.linalg); NaN where not positive definite
    # A component that is empty, or whose factor still failed, keeps its previous parameters.
    alive = (nk > EMPTY * total) & jnp.all(jnp.isfinite(chols), axis=(1, 2))
    means = jnp.where(alive[:, None], means, previous.means)
    chols = jnp.where(alive[:, None, None], chols, previous.chols)
    log_weights = jnp.log(nk) - jnp.log(jnp.sum(nk))
    return GmmParams(log_weights, means, chols)


def m_step(x, w, resp, *, reg: float, covariance: str, previous: GmmParams) -> GmmParams:
    """Weighted moments of each component plus `reg` on the diagonal (scikit-learn's M-step);
    resp is (n, k)."""
    return _m_step_t(x.T, resp.T * w[None, :], reg=reg, covariance=covariance, previous=previous, total=jnp.sum(w))


class EmResult(NamedTuple):
    params: GmmParams
    log_likelihood: Float[Array, ""]  # mean log-likelihood at the last E-step that ran
    iterations: jax.Array  # EM iterations that changed the parameters
    converged: jax.Array


def em(data: Points, init: GmmParams, *, iters: int, tol: float, reg: float, covariance: str) -> EmResult:
    """At most `iters` EM iterations from `init`, stopping once |change of mean log-lik| < tol.

    Under vmap on a CPU the lanes run one after another, each for the iterations it needs
    (mad.lanes.lane_by_lane: a block of 64 lockstep lanes took 20.7 iterations per fit where its
    fits needed 7.7). Elsewhere the lanes stay in step: a converged lane's parameters stop changing
    while others iterate, and the batch leaves the loop once all its lanes have converged (or after
    `iters`). Either way a fit's result is that of exactly `iters` masked iterations.
    """
    run = functools.partial(_em, iters=iters, tol=tol, reg=reg, covariance=covariance)
    return lane_by_lane(run)(data, init)


def _e_step_t(params: GmmParams, xt, w) -> tuple[Float[Array, "k n"], Float[Array, " n"]]:
    """(responsibilities times the point weights as a (k, n) array, log density of each point),
    with one exponential per point and component (logsumexp and then exp(log_joint - log_norm)
    would take two)."""
    log_joint = _component_log_prob_t(params, xt) + params.log_weights[:, None]  # (k, n)
    top = jnp.max(log_joint, axis=0)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    scaled = jnp.exp(log_joint - top[None, :])
    total = jnp.sum(scaled, axis=0)
    return scaled * (w / total)[None, :], top + jnp.log(total)


def _em(data: Points, init: GmmParams, *, iters: int, tol: float, reg: float, covariance: str) -> EmResult:
    xt, total = data.x.T, jnp.sum(data.w)

    def step(state):
        params, lower, done, count, i = state
        weighted, log_norm = _e_step_t(params, xt, data.w)
        new_lower = jnp.sum(data.w * log_norm) / total
        updated = _m_step_t(xt, weighted, reg=reg, covariance=covariance, previous=params, total=total)
        params = jax.tree.map(lambda new, old: jnp.where(done, old, new), updated, params)
        count = count + (~done).astype(count.dtype)
        lower_out = jnp.where(done, lower, new_lower)
        done = done | (jnp.abs(new_lower - lower) < tol)
        return params, lower_out, done, count, i + 1

    dtype = data.x.dtype
    zero = jnp.asarray(0, jnp.int32)
    start = (init, jnp.asarray(-jnp.inf, dtype), jnp.asarray(False), zero, zero)
    params, lower, done, count, _ = jax.lax.while_loop(lambda s: (s[4] < iters) & ~s[2], step, start)
    return EmResult(params, lower, count, done)


def params_from_resp(data: Points, resp, *, reg: float, covariance: str) -> GmmParams:
    """Parameters from given responsibilities (scikit-learn's _initialize)."""
    k, dim = resp.shape[1], data.x.shape[1]
    placeholder = GmmParams(
        jnp.zeros(k, data.x.dtype), jnp.zeros((k, dim), data.x.dtype), jnp.broadcast_to(jnp.eye(dim, dtype=data.x.dtype), (k, dim, dim))
    )
    return m_step(data.x, data.w, resp, reg=reg, covariance=covariance, previous=placeholder)


def kmeans_plusplus(key: jax.Array, data: Points, k: int) -> Float[Array, "k d"]:
    """k centres by D^2 sampling (Arthur & Vassilvitskii 2007), weighting points by w.

    Each centre takes one uniform number (inverse CDF, `resample_rows`), where a Gumbel draw per
    point (jax.random.categorical) made the initialisation cost more than the EM it starts."""
    keys = jax.random.split(key, k)
    first = data.x[resample_rows(keys[0], data.w, 1)[0]]
    centres = jnp.zeros((k, data.x.shape[1]), data.x.dtype).at[0].set(first)
    d2 = jnp.sum((data.x - first[None, :]) ** 2, axis=1)

    def pick(carry, i):
        centres, d2 = carry
        # D^2 weighting; where every point sits on a centre, fall back to the weights alone.
        score = d2 * data.w
        c = data.x[resample_rows(keys[i], jnp.where(jnp.sum(score) > 0, score, data.w), 1)[0]]
        return (centres.at[i].set(c), jnp.minimum(d2, jnp.sum((data.x - c[None, :]) ** 2, axis=1))), None

    (centres, _), _ = jax.lax.scan(pick, (centres, d2), jnp.arange(1, k))
    return centres


def initialise(key: jax.Array, data: Points, k: int, *, method: str, reg: float, covariance: str) -> GmmParams:
    """kmeans++: hard assignment to k-means++ centres; random: random responsibilities."""
    if method == "kmeans++":
        centres = kmeans_plusplus(key, data, k)
        d2 = jnp.sum((data.x[:, None, :] - centres[None, :, :]) ** 2, axis=2)
        resp = jax.nn.one_hot(jnp.argmin(d2, axis=1), k, dtype=data.x.dtype)
    else:
        resp = jax.random.uniform(key, (data.x.shape[0], k), data.x.dtype)
        resp = resp / jnp.sum(resp, axis=1, keepdims=True)
    return params_from_resp(data, resp, reg=reg, covariance=covariance)


def sample(key: jax.Array, params: GmmParams, n: int, lam=1.0) -> Float[Array, "n d"]:
    """n points; each component's covariance scaled by lam (MAD's truncation analogue).

    Components are chosen with a one-hot mask and a matrix product rather than a gather, which
    vectorises over thousands of loops on every accelerator.
    """
    k, dim = params.means.shape
    k_comp, k_z = jax.random.split(key)
    # One uniform per point picks its component (inverse CDF); a Gumbel draw would take k.
    weights = jnp.exp(params.log_weights - jnp.max(params.log_weights))
    onehot = jax.nn.one_hot(resample_rows(k_comp, weights, n), k, dtype=params.means.dtype)
    z = jnp.sqrt(jnp.asarray(lam, params.means.dtype)) * random.normal(k_z, (n, dim), params.means.dtype)
    shifted = jnp.einsum("kij,nj->nki", params.chols, z)  # every component's draw, then masked
    return onehot @ params.means + jnp.einsum("nk,nki->ni", onehot, shifted)


def moments(params: GmmParams) -> tuple[Float[Array, " d"], Float[Array, "d d"]]:
    """Overall mean and covariance: sum w_k mu_k and sum w_k (Sigma_k + mu_k mu_k^T) - mu mu^T."""
    w = jnp.exp(params.log_weights)
    mean = w @ params.means
    covs = params.chols @ jnp.swapaxes(params.chols, 1, 2)
    second = jnp.einsum("k,kij->ij", w, covs + params.means[:, :, None] * params.means[:, None, :])
    return mean, second - jnp.outer(mean, mean)


def weight_entropy(params: GmmParams) -> Float[Array, ""]:
    """Entropy of the mixture weights (log K for equal weights, 0 for one component)."""
    p = jnp.exp(params.log_weights)
    return -jnp.sum(jnp.where(p > 0, p * params.log_weights, 0.0))


# ----------------------------------------------------------------------------- the family


def family(
    *, data, components: int, em_iters: int, tol: float, reg: float, init: str, warm_start: bool, covariance: str
) -> Family:
    """The mixture family against `data` (a mad.data.RealData). It fits on points, so there is no
    frame to move data into (identity) and pools keep points (exact_pooling=False). The first fit
    always starts from `init`; later ones from the previous model when warm_start is set."""
    def fit(key, frame, stats: Points) -> GmmParams:
        if warm_start and frame is not None:
            start = frame
        else:
            start = initialise(key, stats, components, method=init, reg=reg, covariance=covariance)
        start = start._replace(iterations=None, converged=None)
        result = em(stats, start, iters=em_iters, tol=tol, reg=reg, covariance=covariance)
        return result.params._replace(iterations=result.iterations, converged=result.converged)

    family = point_family(data=data, sample=sample, fit=fit, log_prob=log_prob)
    return family._replace(diagnostics=lambda p: {"em_iterations": p.iterations, "em_converged": p.converged})


# ----------------------------------------------------------------------------- spec

# Modes of the mixture data sets, and the component count used for data without modes.
DATA_MODES = {"gmm_ring": 8, "gmm_grid": 25}
DEFAULT_COMPONENTS = 8


def components_of(config) -> int:
    """model.components, or the data's number of modes when it is null."""
    if config.model.components is not None:
        return config.model.components
    return DATA_MODES.get(config.data.name, DEFAULT_COMPONENTS)


@dataclass(frozen=True)
class GmmConfig:
    """model=gmm: K = `components` (None: the data's number of modes), `covariance` full | diag,
    EM of at most `em_iters` iterations stopping at `tol`, covariance floor `reg`, `init` kmeans++ |
    random, `warm_start` from the previous generation's fit."""

    name: str = "gmm"
    components: Optional[int] = None
    covariance: str = "full"
    em_iters: int = 30
    tol: float = 1e-3
    reg: float = 1e-6
    init: str = "kmeans++"
    warm_start: bool = False


def _build(config, data) -> Family:
    m = config.model
    return family(
        data=data, components=components_of(config), em_iters=m.em_iters, tol=m.tol, reg=m.reg,
        init=m.init, warm_start=m.warm_start, covariance=m.covariance,
    )  # fmt: skip


def _metrics(config, fam, data):
    from mad.metrics import point_metrics

    def entropy_of_data(data, nan):
        return {"weight_entropy": weight_entropy(data.mixture) if data.mixture is not None else nan}

    return point_metrics(
        config, data, draw=sample, density=log_prob, moments=moments,
        extra=lambda p: {"weight_entropy": weight_entropy(p)}, extra_real=entropy_of_data,
    )  # fmt: skip


def _validate(config) -> None:
    from mad.config import ConfigError, choice, integer

    m = config.model
    choice("model.covariance", m.covariance, ("full", "diag"))
    choice("model.init", m.init, INITS)
    if m.components is not None:
        integer("model.components", m.components, 1)
    integer("model.em_iters", m.em_iters, 1)
    for key, value in (("model.reg", m.reg), ("model.tol", m.tol)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ConfigError(f"{key}={value!r} must be a finite number >= 0")
    eps = float(jnp.finfo(config.precision).eps)
    if 0 < m.tol < eps:
        raise ConfigError(
            f"model.tol={m.tol!r} is below the resolution of {config.precision} ({eps:.3g}): no change of the log-likelihood "
            "can be that small; use model.tol=0 to always run model.em_iters iterations"
        )
    validate_points(config)


def _min_fit(config) -> tuple[int, str]:
    k = components_of(config)
    if config.model.covariance == "full" and config.data.dim + 1 > k:
        return config.data.dim + 1, f"a fit needs more than data.dim={config.data.dim} points for a full covariance"
    return max(k, 2), f"EM with model.components={k} needs as many points"


def _theory(config, loop) -> dict:
    # One component without a covariance floor is the Gaussian MLE: its overall moments follow the
    # Gaussian recursions exactly.
    import dataclasses

    from mad.theory import gaussian as theory

    if components_of(config) != 1 or config.model.reg != 0:
        return {}
    from mad.config import ModelConfig

    as_mle = dataclasses.replace(config, model=ModelConfig("gaussian", covariance=config.model.covariance, estimator="mle"))
    first = theory.predict(as_mle)
    return {k: first[k] for k in ("trace_ratio", "mean_sq_drift") if k in first}


def _lane_floats(config) -> dict[str, int]:
    terms = dict(point_lane_floats(config))
    terms["loop.n_syn (draws)"] += 3 * config.loop.draw_size * components_of(config)  # responsibilities
    return terms


def _docs():
    return {
        **sample_docs(),
        "em_iterations": "EM iterations of the fit that changed its parameters (diagnostic)",
        "em_converged": "the fit's EM converged within model.em_iters (diagnostic; mean: share of loops)",
    }


INITS = ("kmeans++", "random")
SPEC = FamilySpec(
    name="gmm",
    doc="Gaussian mixture refit by batched EM, scored from samples against held-out data",
    config=GmmConfig,
    data=POINT_DATA,
    build=_build,
    metrics=_metrics,
    metric_docs=_docs,
    exact_pooling=False,
    min_fit=_min_fit,
    curation=True,
    validate=_validate,
    theory=_theory,
    lane_floats=_lane_floats,
)
