"""Work that iterates to convergence, shared by the lanes (loops) of a vmapped call.

Under `vmap`, a `while_loop` runs until its slowest lane is done: the others are masked and wait.
An EM fit that needs 8 iterations on average but 30 in its slowest lane of a block then costs 30
for every lane. On a CPU, where a lane's arrays are wide enough to vectorise on their own, it is
cheaper to run the lanes one after another (`lax.map`), each for exactly the iterations it needs.
On accelerators the wide batch wins, so the lanes stay in lockstep there.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

F = TypeVar("F", bound=Callable)


def lane_by_lane(fn: F) -> F:
    """`fn(*args)`, whose batching rule on a CPU runs the batch's lanes one after another.

    The values are those of `jax.vmap(fn)`: each lane computes the same function of its own
    arguments; only the schedule differs. Arguments that are not batched are broadcast.
    """
    if jax.default_backend() != "cpu":
        return fn

    @custom_vmap
    def run(*args):
        return fn(*args)

    @run.def_vmap
    def rule(axis_size, in_batched, *args):
        args = jax.tree.map(lambda a, b: a if b else jnp.broadcast_to(a, (axis_size,) + jnp.shape(a)), args, tuple(in_batched))
        out = jax.lax.map(lambda lane: fn(*lane), args)
        return out, jax.tree.map(lambda _: True, out)

    return run
