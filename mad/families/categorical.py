"""Categorical distributions over a vocabulary, refitted by counting: discrete data lose their tails.

The fitted model is p = (counts + alpha) / (n + V alpha) (additive smoothing alpha; 0 = the MLE).
Without smoothing a symbol whose count reaches zero is never drawn again: lost symbols are
absorbing states, and the rarest go first. Data are summarised by symbol counts, which pool
exactly, so every loop keeps O(V) state. Sampling bias lam is a temperature: symbols are drawn
from p^(1 / lam), normalised (lam < 1 favours frequent symbols: quality over diversity).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad.families.base import Family, pool, summed_family


class Counts(NamedTuple):
    """A sample summarised by (possibly weighted) symbol counts and its size."""

    counts: Float[Array, " v"]
    total: Float[Array, ""]


class CategoricalParams(NamedTuple):
    probs: Float[Array, " v"]  # exactly zero for lost symbols


def tempered(probs: Float[Array, " v"], lam) -> Float[Array, " v"]:
    """p^(1/lam) normalised, computed in log space; zero stays zero."""
    alive = probs > 0
    log_p = jnp.log(jnp.where(alive, probs, 1.0))
    top = jnp.max(jnp.where(alive, log_p, -jnp.inf))
    scaled = jnp.where(alive, jnp.exp((log_p - top) / lam), 0.0)
    return scaled / jnp.sum(scaled)


def sample_counts(key: jax.Array, probs: Float[Array, " v"], n: int, lam=1.0) -> Counts:
    """Counts of n draws, by inverse CDF (a binary search per draw) and a scatter-add. A symbol of
    probability zero occupies an empty CDF step and is never drawn."""
    cdf = jnp.cumsum(tempered(probs, lam))
    u = jax.random.uniform(key, (n,), probs.dtype) * cdf[-1]
    symbols = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), probs.shape[0] - 1)
    counts = jnp.zeros_like(probs).at[symbols].add(1.0)
    return Counts(counts, jnp.asarray(n, probs.dtype))


def merge(a: Counts, b: Counts, weight_a=None) -> Counts:
    """Pooled counts; with weight_a the first sample carries that share of the total."""
    return Counts(*pool(a.counts, a.total, b.counts, b.total, weight_a))


def fit(stats: Counts, alpha: float) -> CategoricalParams:
    v = stats.counts.shape[0]
    return CategoricalParams((stats.counts + alpha) / (stats.total + v * alpha))


def family(*, probs, alpha: float, dtype) -> Family:
    """The categorical family against the real distribution `probs` (V,)."""
    reference = CategoricalParams(jnp.asarray(probs, dtype))
    return summed_family(
        reference=reference,
        real=lambda key, n: sample_counts(key, reference.probs, n),
        synthetic=lambda key, params, n, lam: sample_counts(key, params.probs, n, lam),
        merge=merge,
        fit=lambda key, frame, stats: fit(stats, alpha),
        what="categorical counts",
    )
