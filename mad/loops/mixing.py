"""Loops whose training data is a real part plus a fresh synthetic batch each generation.

replace   n_syn synthetic points only (fully synthetic loop).
augment   a fixed real set (the first n_real points of the initial sample) plus n_syn synthetic.
fresh     n_real new real points plus n_syn synthetic each generation (MAD sec. 5).

With `real_weight` w the real part carries total weight w and the synthetic part 1 - w
(He et al.'s weighted estimator); otherwise points are pooled by their counts.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from mad.config import ConfigError, LoopConfig
from mad.families.base import Family
from mad.loops.base import Knobs, Loop, LoopSpec
from mad.theory import gaussian as theory


class MixState(NamedTuple):
    params: Any
    real: Any  # augment: the fixed real set's summary (data frame); otherwise unused
    real_share: jax.Array  # share of real data in the fit that gave params (1 in generation 1)
    steps: jax.Array = 0  # loop steps taken (indexes a schedule of n_syn)


def mixing_loop(family: Family, cfg: LoopConfig, generations: int = 0, *, real: str, sizes=None, steps=None) -> Loop:
    """real: "none" (replace), "fixed" (augment) or "fresh" (fresh); sizes: a schedule of n_syn
    (the family then draws samples of a traced size); steps: schedules of n_real, lam and
    real_weight (mad.loops.schedule.Steps), each replacing the knob in every step."""
    n_init = cfg.init_size
    schedule = None if sizes is None else jnp.asarray(sizes, jnp.int32)
    listed = {} if steps is None else {k: jnp.asarray(v) for k, v in steps._asdict().items() if v is not None}
    weighted = cfg.real_weight is not None or "real_weight" in listed
    keeps_real = real == "fixed" and cfg.n_real > 0
    draws_real = real == "fresh" and cfg.n_real > 0

    def knob(name, state, default):
        """The value of a knob in this step: its schedule's entry, or the loop's own."""
        if name not in listed:
            return default
        return listed[name][jnp.minimum(state.steps, listed[name].shape[0] - 1)].astype(jnp.asarray(default).dtype)

    def fit_real(key, stats):
        return family.fit(key, family.reference, family.into_frame(family.reference, stats))

    def init(key: jax.Array, knobs: Knobs) -> MixState:
        k_fixed, k_rest, k_fit = jax.random.split(key, 3)
        everything, start = jnp.ones_like(knobs.lam), jnp.zeros((), jnp.int32)
        if not keeps_real:
            return MixState(fit_real(k_fit, family.real(k_fixed, n_init)), (), everything, start)
        fixed = family.real(k_fixed, cfg.n_real)
        initial = fixed if n_init == cfg.n_real else family.merge(fixed, family.real(k_rest, n_init - cfg.n_real), None)
        return MixState(fit_real(k_fit, initial), fixed, everything, start)

    def step(state: MixState, key: jax.Array, knobs: Knobs) -> MixState:
        k_syn, k_real, k_fit = jax.random.split(key, 3)
        params = state.params
        n_syn = cfg.n_syn if schedule is None else schedule[jnp.minimum(state.steps, schedule.shape[0] - 1)]
        lam = knob("lam", state, knobs.lam)
        data = family.synthetic(k_syn, params, n_syn, lam)
        share = jnp.zeros_like(knobs.lam)
        if keeps_real or draws_real:
            n_real = knob("n_real", state, cfg.n_real)
            real = state.real if keeps_real else family.real(k_real, n_real)
            weight = knob("real_weight", state, knobs.real_weight) if weighted else None
            data = family.merge(family.into_frame(params, real), data, weight)
            share = weight if weighted else jnp.asarray(n_real, knobs.lam.dtype) / (n_real + n_syn)
        return MixState(family.fit(k_fit, params, data), state.real, share, state.steps + 1)

    def diagnostics(state: MixState, knobs: Knobs) -> dict:
        report = {"real_share": state.real_share} if keeps_real or draws_real else {}
        if schedule is not None:  # the size of the step that gave params (none before the first)
            size = jnp.where(state.steps > 0, schedule[jnp.maximum(state.steps - 1, 0)], 0)
            report["syn_size"] = size.astype(knobs.lam.dtype)
        return report

    return Loop(init, step, diagnostics)


def _fit_sizes(loop: LoopConfig) -> dict[str, int]:
    mixed = "loop.n_syn" if loop.n_real == 0 else "loop.n_syn + loop.n_real"
    return {mixed: loop.n_syn + loop.n_real, "loop.n_init": loop.init_size}


def _validate_augment(config) -> None:
    loop = config.loop
    if loop.init_size < loop.n_real:
        raise ConfigError(
            f"loop.n_init={loop.init_size} must be >= loop.n_real={loop.n_real} for loop=augment: "
            "the fixed real set is part of the initial sample"
        )


def _spec(name: str, doc: str, real: str, **kwargs) -> LoopSpec:
    return LoopSpec(
        name=name,
        doc=doc,
        build=functools.partial(mixing_loop, real=real),
        schedules=True,
        real=real,
        fit_sizes=_fit_sizes,
        largest_fit=lambda loop, generations: loop.draw_size,
        point_rows=lambda loop, generations, exact_pooling: 0,
        moments=functools.partial(theory.mixing_moments, real=real),
        fixed_point=functools.partial(theory.mixing_fixed_point, real=real),
        **kwargs,
    )


SCHEDULED = (("syn_size", "synthetic points in the fit of this generation (with a schedule; 0 in generation 1)"),)
REPLACE = _spec("replace", "fully synthetic: each fit sees n_syn points of the previous model", "none", fully_synthetic=True, diagnostic_docs=SCHEDULED)
REAL_SHARE = (("real_share", "share of the real part in the training data: its weight, or its share of the points"), *SCHEDULED)
AUGMENT = _spec(
    "augment", "a fixed real set plus n_syn synthetic points", "fixed", weighted=True, validate=_validate_augment,
    diagnostic_docs=REAL_SHARE,
)  # fmt: skip
FRESH = _spec(
    "fresh", "n_real new real points plus n_syn synthetic points each generation", "fresh", weighted=True,
    diagnostic_docs=REAL_SHARE,
)  # fmt: skip
SPECS = (REPLACE, AUGMENT, FRESH)
