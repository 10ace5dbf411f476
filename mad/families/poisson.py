"""Poisson counts refitted by their mean (Suresh et al. 2024): the rate hits zero and stays there.

A sample of n counts is summarised by its sum, S ~ Poisson(n rate), so a generation draws one
number per loop whatever n is; the fit is rate = S / n. Lambda_t is a martingale that is
absorbed at zero; mad.theory.discrete has its exact survival probability.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad.families.base import Family


class CountSum(NamedTuple):
    total: Float[Array, ""]  # sum of the counts (weighted)
    n: Float[Array, ""]  # number of observations


class PoissonParams(NamedTuple):
    rate: Float[Array, ""]


def sample_sum(key: jax.Array, rate, n: int) -> CountSum:
    dtype = jnp.asarray(rate).dtype
    return CountSum(jax.random.poisson(key, n * rate, dtype=jnp.int32).astype(dtype), jnp.asarray(n, dtype))


def merge(a: CountSum, b: CountSum, weight_a=None) -> CountSum:
    if weight_a is None:
        return CountSum(a.total + b.total, a.n + b.n)
    n = a.n + b.n
    return CountSum(n * (weight_a * a.total / a.n + (1 - weight_a) * b.total / b.n), n)


def _points_unsupported(*args):
    raise NotImplementedError("Poisson data pool as sums; point-pool loops are rejected by validation")


def family(*, rate: float, dtype) -> Family:
    reference = PoissonParams(jnp.asarray(rate, dtype))
    return Family(
        reference=reference,
        real=lambda key, n: sample_sum(key, reference.rate, n),
        synthetic=lambda key, params, n, lam: sample_sum(key, params.rate, n),
        into_frame=lambda params, stats: stats,
        out_of_frame=lambda params, stats: stats,
        merge=merge,
        fit=lambda key, frame, stats: PoissonParams(stats.total / stats.n),
        draw=_points_unsupported,
        summarize=_points_unsupported,
        exact_pooling=True,
    )
