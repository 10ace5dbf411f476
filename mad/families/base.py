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
