"""What every self-consuming loop provides (an initial fit and a one-generation step), and the
spec through which the rest of mad knows a loop: its sizes, what it needs, and its theory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional

import jax

if TYPE_CHECKING:
    from mad.config import Config, LoopConfig


class Knobs(NamedTuple):
    """Per-grid-point scalars that keep every shape: vmapped inside one compiled program."""

    lam: jax.Array
    """Sampling bias: synthetic data are drawn with the model's covariance scaled by lam."""
    real_weight: jax.Array
    """Total weight of the real part of the training data (ignored when pooling by counts)."""


def _nothing_to_report(state: Any, knobs: Knobs) -> dict:
    return {}


class Loop(NamedTuple):
    """A loop as pure functions; the state carries the current model as `state.params`.

    init(key, knobs) -> state     generation 1: the fit on real data only
    step(state, key, knobs) -> state    one generation: draw, assemble training data, refit
    diagnostics(state, knobs) -> {name: scalar}    what the loop reports of the generation
    (pool size, real share), recorded beside the metrics
    """

    init: Callable[[jax.Array, Knobs], Any]
    step: Callable[[Any, jax.Array, Knobs], Any]
    diagnostics: Callable[[Any, Knobs], dict] = _nothing_to_report


def _accepts_nothing(config: "Config") -> None:
    return None


@dataclass(frozen=True)
class LoopSpec:
    """A self-consuming loop as the rest of mad sees it. Each loop module declares its specs and
    `mad.loops.LOOPS` lists them; nothing else in mad dispatches on a loop's name."""

    name: str
    doc: str
    build: Callable[..., Loop]
    """build(family, loop_config, generations, sizes=None) -> Loop; sizes: the schedule's n_t for
    the fits of generations 2..G (mad.loops.schedule), given only to loops with `schedules`."""
    real: str
    """How real data enter after generation 1: "none", "fixed" (a kept real set) or "fresh"."""
    fit_sizes: Callable[["LoopConfig"], dict[str, int]]
    """The number of points each kind of fit sees, keyed by the config keys that set it."""
    largest_fit: Callable[["LoopConfig", int], int]
    """largest_fit(loop, generations): the most points any fit sees (for families that store them)."""
    point_rows: Callable[["LoopConfig", int, bool], int]
    """point_rows(loop, generations, exact_pooling): rows of the point buffer a loop keeps (0: none)."""
    weighted: bool = False
    """Accepts loop.real_weight (He et al.'s weighted mix of the real and synthetic parts)."""
    needs_points: bool = False
    """Fits need the points themselves (not pooled sums): families that pool sums cannot run it."""
    fully_synthetic: bool = False
    """Every fit after the first sees only n_syn fresh draws from the previous model: the
    condition of the Wishart / absorbing-chain laws of the replace loop."""
    accumulates: bool = False
    """Every fit sees all the data so far (Gerstgrasser et al.'s sum-of-1/i^2 laws)."""
    moments: Optional[Callable[..., Any]] = None
    """moments(loop, estimator, generations, sizes) -> mad.theory.gaussian.Moments: the exact
    first-moment recursion of moment-matching fits in this loop (sizes: a schedule of n_syn, or
    None), or None (then no such theory is drawn)."""
    fixed_point: Optional[Callable[..., tuple[float, float]]] = None
    """fixed_point(loop, estimator) -> (a_inf, b_inf), for loops with a stationary law."""
    schedules: bool = False
    """Accepts a schedule of loop.n_syn over generations (config group `schedule`)."""
    validate: Callable[["Config"], None] = _accepts_nothing
    diagnostic_docs: Any = ()
    """(name, one-line description) pairs of the diagnostics its Loop reports."""
