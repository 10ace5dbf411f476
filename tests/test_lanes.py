"""mad.lanes.lane_by_lane: the values of vmap, each lane iterating only as long as it needs."""

import jax
import jax.numpy as jnp
import numpy as np

from mad.lanes import lane_by_lane


def collatz_steps(start, cap):
    """(steps to reach 1, capped at cap), by a while_loop whose trip count differs by lane."""

    def body(state):
        x, steps = state
        return jnp.where(x % 2 == 0, x // 2, 3 * x + 1), steps + 1

    _, steps = jax.lax.while_loop(lambda s: (s[0] != 1) & (s[1] < cap), body, (start, jnp.int32(0)))
    return steps


def reference_steps(start: int, cap: int) -> int:
    steps = 0
    while start != 1 and steps < cap:
        start = start // 2 if start % 2 == 0 else 3 * start + 1
        steps += 1
    return steps


STARTS = np.array([1, 2, 3, 6, 7, 27, 97, 871], np.int32)


def test_values_are_those_of_vmap_for_batched_and_broadcast_arguments():
    expected = [reference_steps(int(s), 60) for s in STARTS]
    fn = lane_by_lane(collatz_steps)
    # batched start, broadcast cap (in_axes None), inside jit as the engine runs it
    got = jax.jit(jax.vmap(fn, (0, None)))(jnp.asarray(STARTS), jnp.int32(60))
    np.testing.assert_array_equal(got, expected)
    assert len(set(expected)) > 4  # the lanes need very different trip counts
    # batched cap, broadcast start
    caps = jnp.arange(1, 9, dtype=jnp.int32)
    np.testing.assert_array_equal(jax.vmap(fn, (None, 0))(jnp.int32(27), caps), [reference_steps(27, int(c)) for c in caps])
    # unbatched: the plain function
    assert int(fn(jnp.int32(27), jnp.int32(500))) == reference_steps(27, 500)


def test_nested_vmap_and_lane_blocks():
    # Grid points outside, lanes inside, in blocks of lanes as mad.engine.kernel runs them.
    starts = jnp.asarray(STARTS.reshape(2, 4))
    caps = jnp.array([5, 200], jnp.int32)
    fn = lane_by_lane(collatz_steps)
    got = jax.jit(jax.vmap(lambda s, c: jax.lax.map(lambda x: fn(x, c), s, batch_size=2)))(starts, caps)
    expected = [[reference_steps(int(s), int(c)) for s in row] for row, c in zip(STARTS.reshape(2, 4), caps)]
    np.testing.assert_array_equal(got, expected)


def test_on_a_cpu_each_lane_runs_only_its_own_iterations():
    # The loop body reports every time it runs: lane by lane it runs sum(steps) times, where
    # lockstep vmap runs max(steps) times for the whole batch (what accelerators keep).
    calls = []

    def counted(start, cap):
        def body(state):
            x, steps = state
            jax.debug.callback(lambda: calls.append(1))
            return jnp.where(x % 2 == 0, x // 2, 3 * x + 1), steps + 1

        return jax.lax.while_loop(lambda s: (s[0] != 1) & (s[1] < cap), body, (start, jnp.int32(0)))[1]

    steps = jax.vmap(lane_by_lane(counted), (0, None))(jnp.asarray(STARTS), jnp.int32(200))
    jax.effects_barrier()
    lane_by_lane_calls = int(np.sum(steps)) if jax.default_backend() == "cpu" else int(np.max(steps))
    assert len(calls) == lane_by_lane_calls
    assert int(np.sum(steps)) == sum(reference_steps(int(s), 200) for s in STARTS)
    calls.clear()
    jax.vmap(counted, (0, None))(jnp.asarray(STARTS), jnp.int32(200))
    jax.effects_barrier()
    assert len(calls) == int(np.max(steps))
