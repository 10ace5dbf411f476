"""Weighted samples: what families that fit points (mixtures, kernel densities, flows) consume.

A Points pytree holds rows x with weights w >= 0 summing to one; zero weights mask the empty rows
of a fixed-size buffer, so that shapes stay static across generations.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad.families.base import Family


class Points(NamedTuple):
    """A weighted sample: rows of x with weights w (summing to one; zero rows are masked out)."""

    x: Float[Array, "n d"]
    w: Float[Array, " n"]


def points(x: Float[Array, "n d"]) -> Points:
    n = x.shape[0]
    return Points(x, jnp.full(n, 1.0 / n, x.dtype))


def merge(a: Points, b: Points, weight_a=None) -> Points:
    """The union of two weighted samples; a carries total weight weight_a (default: by rows)."""
    na, nb = a.x.shape[0], b.x.shape[0]
    w = na / (na + nb) if weight_a is None else weight_a
    return Points(jnp.concatenate([a.x, b.x]), jnp.concatenate([w * a.w, (1 - w) * b.w]))


def summarize(x: Float[Array, "n d"], mask=None) -> Points:
    """Equal weights on every row (or on the masked rows only)."""
    if mask is None:
        return points(x)
    return Points(x, mask.astype(x.dtype) / jnp.sum(mask).astype(x.dtype))


def pad(data: Points, rows: int) -> Points:
    """The same weighted sample in a buffer of `rows` rows (zero-weight rows appended): families
    whose parameters hold the sample keep one shape whatever the loop feeds them."""
    extra = rows - data.x.shape[0]
    if extra < 0:
        raise ValueError(f"a sample of {data.x.shape[0]} rows does not fit a buffer of {rows}")
    if extra == 0:
        return data
    return Points(jnp.pad(data.x, ((0, extra), (0, 0))), jnp.pad(data.w, (0, extra)))


def resample_rows(key: jax.Array, w: Float[Array, " n"], size: int) -> jax.Array:
    """`size` row indices drawn with replacement with probabilities w, by inverse CDF (a binary
    search per draw, where jax.random.categorical would draw size x n Gumbel numbers). Rows of
    zero weight are never drawn, not even where u * total rounds up to the total."""
    cdf = jnp.cumsum(w)
    u = jax.random.uniform(key, (size,), w.dtype) * cdf[-1]
    last = jnp.max(jnp.where(w > 0, jnp.arange(w.shape[0]), 0))  # the last row that can be drawn
    return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), last)


def point_family(*, data, sample, fit, log_prob=None) -> Family:
    """A family fitted on weighted points against `data` (a mad.data.RealData, or anything with
    `sample(key, n)` giving real rows): no frame (the
    identity), pools keep the points (exact_pooling=False). `sample(key, params, n, lam)` draws
    from a fit; `fit(key, previous, points)` refits (previous: the warm start, None at first);
    `log_prob(params, x)` scores rows (for curation)."""
    def draw(key, params, n, lam):
        return data.sample(key, n) if params is None else sample(key, params, n, lam)

    return Family(
        reference=None,
        real=lambda key, n: points(data.sample(key, n)),
        synthetic=lambda key, params, n, lam: points(sample(key, params, n, lam)),
        into_frame=lambda params, stats: stats,
        out_of_frame=lambda params, stats: stats,
        merge=merge,
        fit=fit,
        draw=draw,
        summarize=summarize,
        exact_pooling=False,
        log_prob=log_prob,
    )


# ----------------------------------------------------------------------------- shared spec pieces

# The continuous data sets a point family can be fitted to.
POINT_DATA = ("gaussian", "gmm_ring", "gmm_grid", "moons", "digits")


def validate_points(config) -> None:
    """Checks every family fitted on points needs: data shapes and the sample metrics' sizes."""
    from mad.config import ConfigError, integer

    data, metrics = config.data, config.metrics
    if not data.rare_weight > 0:
        raise ConfigError(f"data.rare_weight={data.rare_weight!r} must be > 0")
    integer("data.n_test", data.n_test, metrics.k + 1)
    integer("metrics.samples", metrics.samples, metrics.k + 1)
    integer("metrics.k", metrics.k, 1)


def sample_docs():
    """Descriptions of the sample-based metrics every point family reports."""
    from mad.metrics import SAMPLE_DOCS

    return SAMPLE_DOCS


def point_lane_floats(config) -> dict[str, int]:
    """Working floats of one loop of a point family: draws and copies, and the sample metrics'
    pairwise distances."""
    m = config.metrics.samples
    return {
        "loop.n_syn (draws)": 3 * config.loop.draw_size * config.data.dim,
        "metrics.samples and data.n_test (pairwise distances)": 3 * m * (m + config.data.n_test),
    }
