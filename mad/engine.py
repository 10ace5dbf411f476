"""Compiled kernels: one program per static configuration.

A loop's whole trajectory is a `lax.scan` over generations; loops are a `vmap`, and grid points
that differ only in traced knobs (lam, real_weight) are an outer `vmap` in the same program.
Loops run in chunks of bounded size. Every loop's key is
    fold_in(fold_in(key(seed), grid_point), loop_index)
and each generation's key is fold_in(loop_key, generation), so a trajectory depends only on
(seed, grid point, loop index): not on the chunk size, nor on which loops ran beside it.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.families import make_family
from mad.loops import Knobs, make_loop
from mad.metrics import make_metrics

# Device memory the point pools of accumulate_subsample may take per compiled call.
POOL_BYTES = 1 << 30


@dataclass(frozen=True)
class Program:
    """Everything that fixes shapes and code paths; hashable, one compiled program each."""

    data: DataConfig
    model: ModelConfig
    loop: LoopConfig  # with the traced knobs normalised away
    generations: int
    precision: str
    collapse_threshold: float

    @classmethod
    def of(cls, config: Config) -> "Program":
        weighted = config.loop.real_weight is not None
        loop = dataclasses.replace(config.loop, lam=1.0, real_weight=0.5 if weighted else None)
        return cls(config.data, config.model, loop, config.generations, config.precision, config.collapse_threshold)

    def config(self) -> Config:
        return Config(
            data=self.data,
            model=self.model,
            loop=self.loop,
            generations=self.generations,
            precision=self.precision,
            collapse_threshold=self.collapse_threshold,
        )

    @property
    def dtype(self):
        return jnp.dtype(self.precision)


def knobs_of(configs: Sequence[Config], dtype) -> Knobs:
    """Stack the traced knobs of grid points that share one program."""
    lam = [c.loop.lam for c in configs]
    weight = [c.loop.real_weight if c.loop.real_weight is not None else 0.0 for c in configs]
    return Knobs(jnp.asarray(lam, dtype), jnp.asarray(weight, dtype))


def trajectory_fn(program: Program) -> Callable[[jax.Array, Knobs], dict]:
    """(loop_key, knobs) -> {metric: (G + 1,)} for one loop, generation 0 (the real data) first."""
    config = program.config()
    family = make_family(config)
    loop = make_loop(family, program.loop, program.generations)
    metrics = make_metrics(config, family)

    def trajectory(key: jax.Array, knobs: Knobs) -> dict:
        state = loop.init(jax.random.fold_in(key, 1), knobs)

        def generation(state, t):
            state = loop.step(state, jax.random.fold_in(key, t), knobs)
            return state, metrics(state.params)

        _, later = jax.lax.scan(generation, state, jnp.arange(2, program.generations + 1))
        first = jax.tree.map(lambda a, b: jnp.stack([a, b]), metrics(family.reference), metrics(state.params))
        return jax.tree.map(lambda a, b: jnp.concatenate([a, b]), first, later)

    return trajectory


@functools.lru_cache(maxsize=None)
def kernel(program: Program) -> Callable:
    """jit((point_keys[P], knobs[P], loop_ids[C]) -> {metric: (P, C, G + 1)})."""
    trajectory = trajectory_fn(program)

    def one_point(point_key, knobs, loop_ids):
        keys = jax.vmap(jax.random.fold_in, (None, 0))(point_key, loop_ids)
        return jax.vmap(trajectory, (0, None))(keys, knobs)

    return jax.jit(jax.vmap(one_point, (0, 0, None)))


def loops_per_call(program: Program, points: int, chunk: int) -> int:
    """Loops per compiled call and grid point: `chunk` lanes in all, fewer if pools are large."""
    per_call = max(1, chunk // points)
    if program.loop.name == "accumulate_subsample":
        capacity = program.loop.init_size + (program.generations - 1) * program.loop.n_syn
        lane_bytes = capacity * program.data.dim * program.dtype.itemsize
        per_call = min(per_call, max(1, POOL_BYTES // (points * lane_bytes)))
    return per_call


def run_program(
    program: Program,
    point_ids: Sequence[int],
    knobs: Knobs,
    *,
    seed: int,
    loops: int,
    chunk: int,
    on_chunk: Optional[Callable[[int], None]] = None,
) -> dict[str, np.ndarray]:
    """Run `loops` loops at each of the given grid points; returns {metric: (P, loops, G + 1)}.

    `on_chunk(n)` is called after each chunk with the number of loop-generations it computed.
    """
    if program.precision == "float64" and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    fn = kernel(program)
    points = len(point_ids)
    per_call = min(loops_per_call(program, points, chunk), loops)
    point_keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(seed), jnp.asarray(point_ids, jnp.uint32))
    out: dict[str, np.ndarray] = {}
    pending = None
    starts = list(range(0, loops, per_call))
    # Dispatch the next chunk before copying the previous one back, so host and device overlap.
    for i, start in enumerate(starts + [None]):
        result = None
        if start is not None:
            ids = jnp.arange(start, start + per_call, dtype=jnp.uint32)
            result = fn(point_keys, knobs, ids)
        if pending is not None:
            prev_start, prev = pending
            valid = min(per_call, loops - prev_start)
            for name, value in prev.items():
                value = np.asarray(value)
                if name not in out:
                    out[name] = np.empty((points, loops, value.shape[-1]), value.dtype)
                out[name][:, prev_start : prev_start + valid] = value[:, :valid]
            if on_chunk is not None:
                on_chunk(points * valid * program.generations)
        pending = (start, result) if start is not None else None
    return out
