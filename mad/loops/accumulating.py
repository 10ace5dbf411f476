"""Loops that keep every batch of data (Gerstgrasser et al. 2024; Kazdan et al. 2024).

accumulate            fit generation t on the initial real sample plus every synthetic batch so far.
                      Only the pooled summary is kept, so memory per loop does not grow with t.
accumulate_subsample  keep the pool of points, refit on n_fit of them drawn without replacement.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mad.config import ConfigError, LoopConfig
from mad.families.base import Family
from mad.loops.base import Knobs, Loop, LoopSpec
from mad.theory import gaussian as theory


class PoolState(NamedTuple):
    params: Any
    pool: Any  # summary of all data so far (data frame)
    size: jax.Array  # points pooled so far


def _pool_diagnostics(n_init: int):
    def diagnostics(state, knobs: Knobs) -> dict:
        size = state.size.astype(knobs.lam.dtype)
        return {"pool_size": size, "real_share": n_init / size}

    return diagnostics


POOL_DOCS = (
    ("pool_size", "points pooled so far (the initial real sample and every synthetic batch)"),
    ("real_share", "share of the pool that is real data"),
)


class PointPoolState(NamedTuple):
    params: Any
    points: jax.Array  # (capacity, d) data-frame points; rows >= size are empty
    size: jax.Array


def accumulate_loop(family: Family, cfg: LoopConfig, generations: int, sizes=None, steps=None) -> Loop:
    """sizes: a schedule of n_syn (the family then draws batches of a traced size); steps: a
    schedule of lam (mad.loops.schedule.Steps; validation allows no other knob here)."""
    schedule = None if sizes is None else jnp.asarray(sizes, jnp.int32)
    lams = None if steps is None or steps.lam is None else jnp.asarray(steps.lam)
    if not family.exact_pooling:
        # The fit needs the points: the subsampling loop with every pooled point in the fit.
        return _point_pool_loop(family, cfg, generations, fit_all=True)

    if schedule is not None:  # pool size before each step
        pooled = jnp.asarray(cfg.init_size + np.concatenate([[0], np.cumsum(sizes)[:-1]]), jnp.int32)

    def init(key: jax.Array, knobs: Knobs) -> PoolState:
        k_real, k_fit = jax.random.split(key)
        pool = family.real(k_real, cfg.init_size)
        size = jnp.asarray(cfg.init_size, jnp.int32)
        return PoolState(family.fit(k_fit, family.reference, family.into_frame(family.reference, pool)), pool, size)

    def step(state: PoolState, key: jax.Array, knobs: Knobs) -> PoolState:
        k_syn, k_fit = jax.random.split(key)
        params = state.params
        if schedule is None:
            n_syn, index = cfg.n_syn, (state.size - cfg.init_size) // cfg.n_syn
        else:  # the step index, recovered from the pool's size (sizes are static)
            index = jnp.minimum(jnp.searchsorted(pooled, state.size), schedule.shape[0] - 1)
            n_syn = schedule[index]
        lam = knobs.lam if lams is None else lams[jnp.minimum(index, lams.shape[0] - 1)].astype(knobs.lam.dtype)
        batch = family.out_of_frame(params, family.synthetic(k_syn, params, n_syn, lam))
        pool = family.merge(state.pool, batch, None)
        return PoolState(family.fit(k_fit, params, family.into_frame(params, pool)), pool, state.size + n_syn)

    return Loop(init, step, _pool_diagnostics(cfg.init_size))


def accumulate_subsample_loop(family: Family, cfg: LoopConfig, generations: int) -> Loop:
    return _point_pool_loop(family, cfg, generations, fit_all=False)


def _point_pool_loop(family: Family, cfg: LoopConfig, generations: int, *, fit_all: bool) -> Loop:
    """Keep every point in a buffer of static size; fit on all of them (masked by weight) or on
    n_fit drawn without replacement."""
    n_init, n_syn, n_fit = cfg.init_size, cfg.n_syn, cfg.fit_size
    capacity = n_init + (generations - 1) * n_syn

    def pool_fit(key, frame, points, size):
        k_pick, k_fit = jax.random.split(key)
        if fit_all:
            stats = family.summarize(points, jnp.arange(capacity) < size)
        else:
            # n_fit distinct rows, uniformly among the first `size`: the smallest of i.i.d. scores.
            scores = jnp.where(jnp.arange(capacity) < size, jax.random.uniform(k_pick, (capacity,)), 2.0)
            _, rows = jax.lax.top_k(-scores, n_fit)
            stats = family.summarize(points[rows])
        return family.fit(k_fit, frame, family.into_frame(frame, stats))

    def init(key: jax.Array, knobs: Knobs) -> PointPoolState:
        k_real, k_fit = jax.random.split(key)
        real = family.draw(k_real, None, n_init, 1.0)
        points = jnp.zeros((capacity, real.shape[1]), real.dtype).at[:n_init].set(real)
        size = jnp.asarray(n_init, jnp.int32)
        return PointPoolState(pool_fit(k_fit, family.reference, points, size), points, size)

    def step(state: PointPoolState, key: jax.Array, knobs: Knobs) -> PointPoolState:
        k_syn, k_fit = jax.random.split(key)
        batch = family.draw(k_syn, state.params, n_syn, knobs.lam)
        points = jax.lax.dynamic_update_slice(state.points, batch, (state.size, jnp.zeros_like(state.size)))
        size = state.size + n_syn
        return PointPoolState(pool_fit(k_fit, state.params, points, size), points, size)

    return Loop(init, step, _pool_diagnostics(n_init))


def _capacity(loop: LoopConfig, generations: int) -> int:
    return loop.init_size + (generations - 1) * loop.n_syn


def _validate_subsample(config) -> None:
    loop = config.loop
    backend = getattr(config.model, "backend", "samples")  # families with a suffstats backend
    if backend != "samples":
        raise ConfigError(f"loop=accumulate_subsample draws points from a pool and needs model.backend=samples (got {backend})")
    if loop.fit_size > loop.init_size:
        raise ConfigError(
            f"loop.n_fit={loop.fit_size} must be <= loop.n_init={loop.init_size}: the first "
            "fit draws n_fit points from the initial pool"
        )


ACCUMULATE = LoopSpec(
    name="accumulate",
    doc="each fit sees the initial real sample and every synthetic batch so far",
    build=accumulate_loop,
    real="none",
    fit_sizes=lambda loop: {"loop.n_init": loop.init_size},
    largest_fit=_capacity,
    point_rows=lambda loop, generations, exact_pooling: 0 if exact_pooling else _capacity(loop, generations),
    accumulates=True,
    schedules=True,
    moments=theory.accumulate_moments,
    diagnostic_docs=POOL_DOCS,
)
ACCUMULATE_SUBSAMPLE = LoopSpec(
    name="accumulate_subsample",
    doc="keep every point; each fit sees n_fit of them drawn without replacement",
    build=accumulate_subsample_loop,
    real="none",
    fit_sizes=lambda loop: {"loop.n_fit": loop.fit_size},
    largest_fit=lambda loop, generations: loop.fit_size,
    point_rows=lambda loop, generations, exact_pooling: _capacity(loop, generations),
    needs_points=True,
    moments=theory.accumulate_subsample_moments,
    validate=_validate_subsample,
    diagnostic_docs=POOL_DOCS,
)
SPECS = (ACCUMULATE, ACCUMULATE_SUBSAMPLE)
