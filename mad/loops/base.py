"""What every self-consuming loop provides: an initial fit and a one-generation step."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax


class Knobs(NamedTuple):
    """Per-grid-point scalars that keep every shape: vmapped inside one compiled program."""

    lam: jax.Array
    """Sampling bias: synthetic data are drawn with the model's covariance scaled by lam."""
    real_weight: jax.Array
    """Total weight of the real part of the training data (ignored when pooling by counts)."""


class Loop(NamedTuple):
    """A loop as two pure functions; the state carries the current model as `state.params`.

    init(key, knobs) -> state     generation 1: the fit on real data only
    step(state, key, knobs) -> state    one generation: draw, assemble training data, refit
    """

    init: Callable[[jax.Array, Knobs], Any]
    step: Callable[[Any, jax.Array, Knobs], Any]
