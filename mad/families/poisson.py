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

from mad.families.base import Family, pool, summed_family


class CountSum(NamedTuple):
    total: Float[Array, ""]  # sum of the counts (weighted)
    n: Float[Array, ""]  # number of observations


class PoissonParams(NamedTuple):
    rate: Float[Array, ""]


def sample_sum(key: jax.Array, rate, n: int) -> CountSum:
    dtype = jnp.asarray(rate).dtype
    return CountSum(jax.random.poisson(key, n * rate, dtype=jnp.int32).astype(dtype), jnp.asarray(n, dtype))


def merge(a: CountSum, b: CountSum, weight_a=None) -> CountSum:
    return CountSum(*pool(a.total, a.n, b.total, b.n, weight_a))


def family(*, rate: float, dtype) -> Family:
    reference = PoissonParams(jnp.asarray(rate, dtype))
    return summed_family(
        reference=reference,
        real=lambda key, n: sample_sum(key, reference.rate, n),
        synthetic=lambda key, params, n, lam: sample_sum(key, params.rate, n),
        merge=merge,
        fit=lambda key, frame, stats: PoissonParams(stats.total / stats.n),
        what="Poisson counts",
    )
