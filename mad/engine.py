"""Compiled kernels: one program per static configuration.

A loop's whole trajectory is a `lax.scan` over generations; loops are a `vmap`, and grid points
that differ only in traced knobs (lam, real_weight) are an outer `vmap` in the same program.
Loops run in chunks of bounded size. Every loop's key is
    fold_in(fold_in(key(seed), grid_point), loop_index)
and each generation's key is fold_in(loop_key, generation), so a trajectory draws the same random
numbers whatever the chunk size or the loops beside it; its values agree to rounding (XLA may
vectorise different batch shapes differently).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from mad.config import TRACED_KNOBS, Config, ConfigError, CorrectionConfig, CurationConfig, DataConfig, LoopConfig, MetricsConfig, ScheduleConfig, VerifierConfig
from mad.data import make_data
from mad.families import family_spec, make_family
from mad.loops import Knobs, loop_spec, make_loop, schedule
from mad.loops.curation import remedy_report
from mad.metrics import make_metrics

# Device memory one compiled call may give to per-loop working data (samples, pools).
LANE_BYTES_BUDGET = 1 << 30
# Lanes per vectorised block for cache-bound families on CPU, and for every family on several
# CPU devices (see lane_block).
CPU_LANE_BLOCK = 64
MULTI_CPU_LANE_BLOCK = 1024
# Sample-based metrics of generation t use fold_in(loop_key, METRIC_KEYS + t).
METRIC_KEYS = 1 << 30


class MemoryRefused(ConfigError):
    """A configuration that would not fit in memory, refused before compiling."""


class _Traced:
    """Stands in a program's static loop config for a knob whose values are traced (Knobs)."""

    def __repr__(self) -> str:
        return "traced"


TRACED = _Traced()
assert Knobs._fields == TRACED_KNOBS, "mad.loops.Knobs must hold exactly the traced LoopConfig fields"


@dataclass(frozen=True)
class Program:
    """Everything that fixes shapes and code paths; hashable, one compiled program each."""

    data: DataConfig
    model: Any  # the family's own config dataclass
    loop: LoopConfig  # every traced knob set to TRACED (or None where its absence is static)
    schedule: ScheduleConfig
    curation: CurationConfig
    correction: CorrectionConfig
    verifier: VerifierConfig
    generations: int
    precision: str
    collapse_threshold: float
    metrics: MetricsConfig

    @classmethod
    def of(cls, config: Config) -> "Program":
        # A traced knob's value lives in Knobs; only whether it is set (real_weight: weighted or
        # pooled by counts) shapes the program. A knob that starts a named schedule curve
        # (schedule.lam=linear, ...) stays static: the curve's values are the program's constants.
        curved = schedule.curved(config)
        traced = {name: None if getattr(config.loop, name) is None else TRACED for name in TRACED_KNOBS if name not in curved}
        loop = dataclasses.replace(config.loop, **traced)
        return cls(
            config.data, config.model, loop, config.schedule, config.curation, config.correction, config.verifier,
            config.generations, config.precision,
            config.collapse_threshold, config.metrics,
        )  # fmt: skip

    def config(self) -> Config:
        return Config(
            data=self.data,
            model=self.model,
            loop=self.loop,
            schedule=self.schedule,
            curation=self.curation,
            correction=self.correction,
            verifier=self.verifier,
            generations=self.generations,
            precision=self.precision,
            collapse_threshold=self.collapse_threshold,
            metrics=self.metrics,
        )

    @property
    def dtype(self):
        return jnp.dtype(self.precision)


def enable_precision(precision: str) -> None:
    """float64 needs JAX's x64 mode; turn it on before any float64 array is made."""
    if precision == "float64" and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


# The persistent cache's size limit (least recently used programs go first).
COMPILE_CACHE_BYTES = 2 << 30


def use_compile_cache(folder: str | None) -> str | None:
    """Keep compiled programs in `folder` (JAX's persistent compilation cache), so that the next
    process running the same program loads it instead of compiling it (the README's main job:
    about 5 s of its first run). Programs that compiled in under a second are not kept. A folder
    set by the user for JAX (JAX_COMPILATION_CACHE_DIR) is left as it is; a folder that cannot be
    made only costs the cache. Returns the folder in use, or None."""
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    if not folder:
        return None
    path = os.path.expanduser(folder)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    from jax.experimental.compilation_cache import compilation_cache

    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_compilation_cache_max_size", COMPILE_CACHE_BYTES)
    _quiet_cpu_cache_loads()
    # JAX settles whether it caches at its first compilation (config checks may have compiled
    # small programs already): start it over with the folder set.
    compilation_cache.reset_cache()
    return path


def _quiet_cpu_cache_loads() -> None:
    """jaxlib 0.9's CPU loader reports every program it loads from the cache as built for another
    machine ("Target machine feature +prefer-no-gather is not supported ... could lead to SIGILL",
    two error lines per program), because it counts LLVM's tuning hints among the CPU's features:
    the program was built here and runs (openxla/xla#44565). On the CPU backend XLA's C++ log is
    kept to fatal messages (real failures still raise Python errors), unless the user chose another
    level with TF_CPP_MIN_LOG_LEVEL (jax sets 1 when it is unset)."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "1") != "1" or jax.default_backend() != "cpu":
        return
    try:
        from jax._src.lib import utils

        utils.absl_set_min_log_level(3)
    except (ImportError, AttributeError):  # a jaxlib without it logs as it always did
        pass


def knobs_of(configs: Sequence[Config], dtype) -> Knobs:
    """Stack the traced knobs of grid points that share one program (an unset knob is 0, unused)."""

    def stacked(name):
        return jnp.asarray([0.0 if getattr(c.loop, name) is None else getattr(c.loop, name) for c in configs], dtype)

    return Knobs(**{name: stacked(name) for name in TRACED_KNOBS})


def trajectory_fn(program: Program) -> Callable[[jax.Array, Knobs], dict]:
    """(loop_key, knobs) -> {metric: (G + 1,)} for one loop, generation 0 (the real data) first."""
    config = program.config()
    data = make_data(config)
    family = make_family(config, data)
    loop = make_loop(family, program.loop, program.generations, schedule.of(config), config.curation, config.correction, schedule.steps_of(config))
    metrics = make_metrics(config, family, data)

    def metric_key(key, t):
        # Sample-based metrics draw with their own keys, apart from the loop's.
        return jax.random.fold_in(key, METRIC_KEYS + t)

    dtype = program.dtype
    family_report = family.diagnostics or (lambda params: {})
    remedies = remedy_report(config, family)

    def scored(key, state, knobs, test_key):
        # A loop whose numbers broke down is counted, not averaged: the summaries leave its
        # non-finite values out, and the mean of `nonfinite` is the share of such loops.
        values = metrics.model(key, state.params, test_key) if metrics.per_loop_test else metrics.model(key, state.params)
        broken = functools.reduce(jnp.logical_or, [~jnp.isfinite(v) for v in values.values()])
        report = {**family_report(state.params), **loop.diagnostics(state, knobs), **remedies(jax.random.fold_in(key, 1), state.params)}
        return {**values, "nonfinite": broken, **{k: jnp.asarray(v, dtype) for k, v in report.items()}}

    def real(key, fitted):
        # Generation 0 is the real distribution: no fit, so no diagnostics (NaN).
        values = {**metrics.real(key), "nonfinite": jnp.asarray(False)}
        return {**values, **{k: jnp.full_like(v, jnp.nan) for k, v in fitted.items() if k not in values}}

    def trajectory(key: jax.Array, knobs: Knobs) -> dict:
        state = loop.init(jax.random.fold_in(key, 1), knobs)
        test_key = metric_key(key, -1)  # a loop's own test set (metrics.test_set=per_loop)

        one = scored(metric_key(key, 1), state, knobs, test_key)
        every = program.metrics.every

        def generation(state, t):
            state = loop.step(state, jax.random.fold_in(key, t), knobs)
            if every == 1:
                return state, scored(metric_key(key, t), state, knobs, test_key)
            # t is the same for every loop, so under vmap this stays a branch: skipped metrics cost nothing.
            measure = (t % every == 0) | (t == program.generations)
            values = jax.lax.cond(
                measure, lambda: scored(metric_key(key, t), state, knobs, test_key), lambda: jax.tree.map(jnp.zeros_like, one)
            )
            return state, values

        _, later = jax.lax.scan(generation, state, jnp.arange(2, program.generations + 1))
        first = jax.tree.map(lambda a, b: jnp.stack([a, b]), real(metric_key(key, 0), one), one)
        out = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), first, later)
        if every == 1:
            return out
        kept = jnp.asarray(program.metrics.measured(program.generations))
        return jax.tree.map(lambda a: a[kept], out)

    return trajectory


def memory_maps() -> tuple[int, int] | None:
    """(memory maps this process holds, the most the kernel allows), or None where /proc does not say."""
    try:
        with open("/proc/self/maps", "rb") as held, open("/proc/sys/vm/max_map_count") as limit:
            return held.read().count(b"\n"), int(limit.read())
    except (OSError, ValueError):
        return None


def release_compiled(threshold: float = 0.5) -> bool:
    """Drop every compiled program once this process holds more than `threshold` of its memory maps.

    XLA's CPU backend maps each executable's code and data in several regions (about 7 for a small
    program) and keeps every executable while its function lives. A sweep, a notebook or a test
    session compiling thousands of programs in one process would reach Linux's vm.max_map_count
    (65530 by default), and the next compile would die inside LLVM (SIGSEGV or SIGABRT, no Python
    error). Clearing JAX's caches unmaps them; a program needed again is compiled again.
    Returns whether it released anything.
    """
    maps = memory_maps()
    if maps is None or maps[0] <= threshold * maps[1]:
        return False
    kernel.cache_clear()
    jax.clear_caches()
    gc.collect()
    return True


@functools.lru_cache(maxsize=None)
def kernel(program: Program, devices: int = 1) -> Callable:
    """jit((point_keys[P], knobs[P], loop_ids[C]) -> {metric: (P, C, G + 1)}).

    With several devices the loop axis is split across them (shard_map over a one-axis mesh):
    each device runs its C / devices loops, so C must be a multiple of `devices`. A loop's
    values do not depend on the device it runs on.
    """
    trajectory = trajectory_fn(program)
    block = lane_block(program, devices)

    def one_point(point_key, knobs, loop_ids):
        keys = jax.vmap(jax.random.fold_in, (None, 0))(point_key, loop_ids)
        if block is None or block >= keys.shape[0]:
            return jax.vmap(trajectory, (0, None))(keys, knobs)
        # Blocks of lanes one after another keep the working set in cache (see lane_block).
        return jax.lax.map(lambda k: trajectory(k, knobs), keys, batch_size=block)

    points = jax.vmap(one_point, (0, 0, None))
    if devices == 1:
        return jax.jit(points)
    mesh = Mesh(np.asarray(jax.local_devices()[:devices]), ("loops",))
    # check_vma=False: loop bodies start from constants (a while_loop's initial carry) that the
    # computation then makes device-varying; the loops never communicate, so nothing is lost.
    sharded = jax.shard_map(points, mesh=mesh, in_specs=(P(), P(), P("loops")), out_specs=P(None, "loops"), check_vma=False)
    return jax.jit(sharded)


def lane_block(program: Program, devices: int = 1) -> int | None:
    """Lanes vectorised together inside one call (the rest run as a sequential map), or None.

    On a CPU, a family's per-lane arrays (draws, EM's (k, n) responsibilities, the sample
    metrics' distance blocks) for 1000 lanes at once stream through memory; blocks of 64 lanes stay
    in the L2 cache (benchmarks/run.py, M1: EM 4x faster when it ran in lockstep; the engine at
    1,064 against 948 loop-generations/s now that each lane runs its own EM, mad.lanes).
    Accelerators want the widest batch, and the Gaussian family's working set is small, so both
    keep one vmap over the whole chunk, except on several forced CPU devices, where XLA can hang
    on a scan holding a Cholesky at 2048 or more lanes per device: there the Gaussian family runs
    in blocks of 1024.
    """
    if jax.default_backend() != "cpu":
        return None
    if not family_spec(program.model.name).cache_bound:
        return MULTI_CPU_LANE_BLOCK if devices > 1 else None
    return CPU_LANE_BLOCK


def lane_terms(program: Program) -> dict[str, int]:
    """Rough device memory of one loop's working data in one generation, in bytes, by the
    settings that drive it: parameters, metric outputs, the family's own working set (its spec's
    `lane_floats`) and the loop's point buffer."""
    config = program.config()
    loop, dim, size = program.loop, program.data.dim, program.dtype.itemsize
    family = family_spec(program.model.name)
    rows = loop_spec(loop.name).point_rows(loop, program.generations, family.exact_pooling)
    terms = {
        "data.dim (d x d parameters)": 4 * dim * dim,
        "generations (each metric's trajectory)": 16 * program.metrics.measured_count(program.generations),
        "loop.n_syn and loop.n_real (the loop's point pool)": rows * dim,
    }
    for key, floats in family.lane_floats(config).items():
        terms[key] = terms.get(key, 0) + floats
    return {key: floats * size for key, floats in terms.items()}


def lane_bytes(program: Program) -> int:
    return sum(lane_terms(program).values())


def memory_limit() -> tuple[int, str]:
    """(bytes, what) the default device can hold: its allocator's limit on an accelerator, the
    machine's physical memory on a CPU."""
    device = jax.devices()[0]
    stats = device.memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"]), f"{device.device_kind} memory"
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's memory"


def _gb(n: float) -> str:
    return f"{n / 1e9:.3g} GB"


def check_memory(program: Program, points: int, loops: int, kept_values: int = 0) -> None:
    """Refuse, before compiling, a program whose smallest call (one loop per grid point) or whose
    kept per-loop trajectories (`kept_values` numbers on the host) cannot fit in half the memory
    there is; the message names the estimate and the setting to lower."""
    limit, where = memory_limit()
    terms = lane_terms(program)
    need = points * sum(terms.values())
    if need > limit // 2:
        key, largest = max(terms.items(), key=lambda kv: kv[1])
        raise MemoryRefused(
            f"one loop at each of {points} grid point(s) needs about {_gb(need)}, more than half of {where} ({_gb(limit)}); "
            f"most of it ({_gb(points * largest)}) is {key}: lower it"
        )
    host = kept_values * 8
    host_limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if host > host_limit // 2:
        raise MemoryRefused(
            f"save.per_loop=true keeps {loops} loops' trajectories, about {_gb(host)} in memory and in loops.nc, more than half of "
            f"this machine's memory ({_gb(host_limit)}): lower loops or generations, or set save.per_loop=false"
        )


def loops_per_call(program: Program, points: int, chunk: int) -> int:
    """Loops per compiled call and grid point: `chunk` lanes in all, fewer if lanes are large."""
    per_call = max(1, chunk // points)
    return min(per_call, max(1, LANE_BYTES_BUDGET // (points * lane_bytes(program))))


def call_loops(program: Program, points: int, loops: int, chunk: int, devices: int) -> int:
    """Loops per compiled call and grid point as `run_program` makes them: at most `loops_per_call`,
    spread evenly over the calls that takes (10,000 loops in calls of at most 8192 run as two calls
    of 5000, not 8192 and a second 8192 of which 1808 are kept), rounded up to a multiple of the
    device count."""
    most = min(loops_per_call(program, points, chunk), loops)
    calls = -(-loops // most)
    per_call = -(-loops // calls)
    return -(-per_call // devices) * devices


def wait(values) -> None:
    """Block until a call's outputs are computed, in a way a signal can interrupt: the main thread
    waits on an event (interruptible) while another thread waits on the device (not interruptible),
    so SIGTERM or Ctrl-C act at once, not when a chunk of perhaps a minute ends."""
    done = threading.Event()

    def block():
        try:
            jax.block_until_ready(values)
        finally:
            done.set()

    threading.Thread(target=block, daemon=True, name="mad-wait").start()
    done.wait()


class Chunk(NamedTuple):
    start: int  # index of the first loop
    values: dict[str, np.ndarray]  # {metric: (P, loops in this chunk, G + 1)}


def run_program(
    program: Program, point_ids: Sequence[int], knobs: Knobs, *, seed: int, loops: int, chunk: int
) -> Iterator[Chunk]:
    """Run `loops` loops at each of the given grid points, yielding one Chunk per compiled call.

    The loops of a call are split across all local devices; a call's size is rounded up to a
    multiple of the device count (the extra loops are computed and dropped).
    """
    enable_precision(program.precision)
    devices = jax.local_device_count()
    release_compiled()
    fn = kernel(program, devices)
    per_call = call_loops(program, len(point_ids), loops, chunk, devices)
    point_keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(seed), jnp.asarray(point_ids, jnp.uint32))

    def launch(start: int):
        return start, fn(point_keys, knobs, jnp.arange(start, start + per_call, dtype=jnp.uint32))

    # Dispatch the next chunk before copying one back, so the host work overlaps the device's.
    starts = range(0, loops, per_call)
    pending = launch(starts[0])
    for following in list(starts[1:]) + [None]:
        current = pending
        pending = launch(following) if following is not None else None
        start, values = current
        wait(values)
        valid = min(per_call, loops - start)
        yield Chunk(start, {name: np.asarray(v)[:, :valid] for name, v in values.items()})
