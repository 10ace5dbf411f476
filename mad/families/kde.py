"""Gaussian kernel density estimate: the fitted model is the training sample itself.

p(x) = sum_i w_i N(x; x_i, h^2 I). Fitting stores the weighted sample (padded to a fixed number
of rows, so that every generation has one shape) and the bandwidth h: fixed, or Scott's rule
h^2 = n^(-2 / (d + 4)) * (mean per-coordinate variance of the sample), refitted each
generation. Sampling picks a training point by its weight and adds kernel noise N(0, lam h^2 I):
with lam = 1 the model's variance grows by h^2 per generation on top of the sample's, which is
the KDE's own self-consuming drift (mad.theory.kde).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jaxtyping import Array, Float

log = logging.getLogger("mad.kde")

from mad import random
from mad.families.base import Family, FamilySpec
from mad.families.points import POINT_DATA, Points, pad, point_family, point_lane_floats, resample_rows, sample_docs, validate_points


class KdeParams(NamedTuple):
    sample: Points  # the training points (rows of zero weight are padding)
    log_bandwidth: Float[Array, ""]


# Bandwidth rules for model.bandwidth=null: h^2 = factor(n, d) * (mean per-coordinate variance of
# the sample, or 1 for scikit-learn's rules, which do not scale by the data).
RULES = ("scott", "silverman", "scott_sklearn", "silverman_sklearn")


def rule_factor(rule: str, n, dim: int):
    """h^2 / scale^2 of a bandwidth rule for n points in d dimensions: Scott's n^(-2/(d+4)),
    Silverman's (n (d + 2) / 4)^(-2/(d+4)); works on numbers and arrays."""
    if rule.startswith("silverman"):
        n = n * (dim + 2) / 4
    return n ** (-2.0 / (dim + 4))


def scales_with_data(rule: str) -> bool:
    """Whether a rule multiplies its factor by the sample's variance (scikit-learn's do not)."""
    return not rule.endswith("_sklearn")


def scott_factor(n: int, dim: int) -> float:
    """Scott's rule: h^2 = scott_factor * per-coordinate variance."""
    return rule_factor("scott", n, dim)


def weighted_moments(data: Points) -> tuple[Float[Array, " d"], Float[Array, "d d"]]:
    mean = data.w @ data.x
    centred = data.x - mean[None, :]
    return mean, (centred * data.w[:, None]).T @ centred


def fit(data: Points, *, rows: int, bandwidth: Optional[float], rule: str = "scott") -> KdeParams:
    data = pad(data, rows)
    dtype = data.x.dtype
    if bandwidth is not None:
        return KdeParams(data, jnp.log(jnp.asarray(bandwidth, dtype)))
    n = jnp.sum(data.w > 0).astype(dtype)
    dim = data.x.shape[1]
    h_sq = rule_factor(rule, n, dim)
    if scales_with_data(rule):
        _, cov = weighted_moments(data)
        h_sq = h_sq * jnp.trace(cov) / dim
    return KdeParams(data, 0.5 * jnp.log(h_sq))


def sample(key: jax.Array, params: KdeParams, n: int, lam=1.0) -> Float[Array, "n d"]:
    k_rows, k_noise = jax.random.split(key)
    x = params.sample.x
    centres = x[resample_rows(k_rows, params.sample.w, n)]
    scale = jnp.sqrt(jnp.asarray(lam, x.dtype)) * jnp.exp(params.log_bandwidth)
    return centres + scale * random.normal(k_noise, (n, x.shape[1]), x.dtype)


def log_prob(params: KdeParams, x: Float[Array, "m d"]) -> Float[Array, " m"]:
    centres, w = params.sample.x, params.sample.w
    dim = x.shape[1]
    log_h = params.log_bandwidth
    d2 = jnp.sum((x[:, None, :] - centres[None, :, :]) ** 2, axis=-1)  # (m, rows)
    log_w = jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)), -jnp.inf)
    log_kernel = -0.5 * d2 * jnp.exp(-2 * log_h) - dim * log_h - 0.5 * dim * jnp.log(2 * jnp.pi)
    return logsumexp(log_kernel + log_w[None, :], axis=1)


def moments(params: KdeParams) -> tuple[Float[Array, " d"], Float[Array, "d d"]]:
    """The model's exact mean and covariance: the sample's plus h^2 I."""
    mean, cov = weighted_moments(params.sample)
    return mean, cov + jnp.exp(2 * params.log_bandwidth) * jnp.eye(cov.shape[0], dtype=cov.dtype)


def family(*, data, rows: int, bandwidth: Optional[float], rule: str = "scott") -> Family:
    """The KDE family against `data` (a mad.data.RealData); `rows` is the largest sample any fit
    of the loop sees."""

    return point_family(data=data, sample=sample, fit=lambda key, frame, stats: fit(stats, rows=rows, bandwidth=bandwidth, rule=rule), log_prob=log_prob)


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class KdeConfig:
    """model=kde: Gaussian kernels of standard deviation `bandwidth`, or (None) the bandwidth `rule`
    refitted each generation: scott or silverman (scaled by the sample's variance, as scipy's
    gaussian_kde), scott_sklearn or silverman_sklearn (unscaled, as scikit-learn's KernelDensity)."""

    name: str = "kde"
    bandwidth: Optional[float] = None
    rule: str = "scott"


def _rows(config) -> int:
    from mad.loops import loop_spec

    return loop_spec(config.loop.name).largest_fit(config.loop, config.generations)


def _metrics(config, fam, data):
    from mad.metrics import point_metrics

    return point_metrics(config, data, draw=sample, density=log_prob, moments=moments)


def _validate(config) -> None:
    from mad.config import SCALE_RANGE, ConfigError, choice, positive

    choice("model.rule", config.model.rule, RULES)
    if config.model.bandwidth is not None:
        positive("model.bandwidth", config.model.bandwidth)
        low, high = SCALE_RANGE[config.precision]
        if not low <= config.model.bandwidth <= high:
            raise ConfigError(f"model.bandwidth={config.model.bandwidth!r} must lie in [{low:g}, {high:g}] with precision={config.precision} (a length, like data.scale)")
    validate_points(config)
    _warn_of_overflow(config)


def _warn_of_overflow(config) -> None:
    """The fully synthetic KDE's variance grows geometrically (docs/theory.md section 3): say so
    before the run if the closed form passes the precision's range, where its loops will be
    counted by `nonfinite` rather than averaged."""
    import numpy as np

    from mad.loops import loop_spec

    if not loop_spec(config.loop.name).fully_synthetic:
        return
    ratio = _theory(config, loop_spec(config.loop.name))["trace_ratio"]
    data_trace = config.data.dim * config.data.scale**2  # the order of the data's variance
    too_large = np.flatnonzero(ratio * data_trace > float(jnp.finfo(config.precision).max) / 1e6)
    if too_large.size:
        log.warning(
            "model=kde: the closed form puts the variance beyond %s's range by generation %d of %d; loops that get there are "
            "counted in `nonfinite` and left out of the statistics (use %sfewer generations or a smaller model.bandwidth)",
            config.precision, too_large[0], config.generations, "precision=float64, " if config.precision == "float32" else "",
        )  # fmt: skip


def _theory(config, loop) -> dict:
    import numpy as np

    from mad.data import make_data
    from mad.theory import kde as theory

    if not loop.fully_synthetic:
        return {}
    ratio = theory.trace_ratio(
        config.generations, n=config.loop.n_syn, n_init=config.loop.init_size, dim=config.data.dim,
        trace0=float(np.trace(make_data(config).cov)), bandwidth=config.model.bandwidth, lam=config.loop.lam, rule=config.model.rule,
    )  # fmt: skip
    return {"trace_ratio": ratio}


def _lane_floats(config) -> dict[str, int]:
    rows = _rows(config)  # the stored sample, and nll_test's distances to it
    return {**point_lane_floats(config), "loop.n_syn, loop.n_real and data.n_test (the stored sample, its distances to the test set)": rows * (config.data.dim + 1 + 2 * config.data.n_test)}


SPEC = FamilySpec(
    name="kde",
    doc="Gaussian kernel density estimate (fixed bandwidth or Scott's rule), scored from samples",
    config=KdeConfig,
    data=POINT_DATA,
    build=lambda config, data: family(data=data, rows=_rows(config), bandwidth=config.model.bandwidth, rule=config.model.rule),
    metrics=_metrics,
    metric_docs=sample_docs,
    exact_pooling=False,
    curation=True,
    min_fit=lambda config: (2, "a fit needs at least 2 points (Scott's rule needs a variance)"),
    validate=_validate,
    theory=_theory,
    lane_floats=_lane_floats,
)
