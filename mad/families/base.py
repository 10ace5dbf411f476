"""The interface a model family offers to the loops.

Loops never look inside parameters or data summaries: they draw, move summaries between frames,
merge and fit through these functions, so a new family only has to provide them. A *frame* is the
coordinate system of a model; families with no numerical need for one use the identity.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax

Params = Any  # a family's parameter pytree
Stats = Any  # what a fit consumes: a summary of a weighted sample (or the sample itself)


class Family(NamedTuple):
    """Pure functions of one model family, with every shape-setting setting closed over."""

    reference: Params
    """The real distribution, as parameters of this family (generation 0)."""
    real: Callable[[jax.Array, int], Stats]
    """real(key, n): n fresh real points, summarised in the data frame."""
    synthetic: Callable[[jax.Array, Params, int, jax.Array], Stats]
    """synthetic(key, params, n, lam): n points from the model with sampling bias lam, in its frame."""
    into_frame: Callable[[Params, Stats], Stats]
    out_of_frame: Callable[[Params, Stats], Stats]
    merge: Callable[[Stats, Stats, Optional[jax.Array]], Stats]
    """merge(a, b, weight_a): union of two samples, a with total weight weight_a (None: by counts)."""
    fit: Callable[[jax.Array, Params, Stats], Params]
    """fit(key, frame, stats): refit on stats expressed in the frame of `frame` (the previous model,
    also the warm start of iterative fits); key for randomised initialisations."""
    draw: Callable[[jax.Array, Params, int, jax.Array], jax.Array]
    """draw(key, params, n, lam): n points in the data frame (for loops that keep points);
    params=None draws real points."""
    summarize: Callable[..., Stats]
    """summarize(points, mask=None): equal-weight summary of data-frame points (of the masked rows)."""
    exact_pooling: bool = True
    """True when merging summaries loses nothing (sufficient statistics), so a growing pool can be
    kept as one summary; False when fits need the points themselves (kept in a buffer)."""


def pool(a_sum, a_count, b_sum, b_count, weight_a=None):
    """Pool two summed samples (sum, count): by counts, or with the first carrying the share
    weight_a of the total (sums rescaled so that the pooled mean is the weighted mean)."""
    count = a_count + b_count
    if weight_a is None:
        return a_sum + b_sum, count
    return count * (weight_a * a_sum / a_count + (1 - weight_a) * b_sum / b_count), count


def summed_family(*, reference: Params, real: Callable, synthetic: Callable, merge: Callable, fit: Callable, what: str) -> Family:
    """A family fitted from exactly poolable sums (categorical counts, Poisson sums, X^T y): no
    frame (the identity) and no point pool, which validation keeps such families out of."""

    def no_points(*args):
        raise NotImplementedError(f"{what} pool as sums; point-pool loops are rejected by validation")

    return Family(
        reference=reference,
        real=real,
        synthetic=synthetic,
        into_frame=lambda params, stats: stats,
        out_of_frame=lambda params, stats: stats,
        merge=merge,
        fit=fit,
        draw=no_points,
        summarize=no_points,
        exact_pooling=True,
    )
