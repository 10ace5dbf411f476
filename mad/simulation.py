"""`simulate(config) -> xarray.Dataset`: the Python API behind the command line.

Grid points are validated first (nothing compiles or is written if any is impossible), grouped by
the compiled program they need (points differing only in lam or real_weight share one), run in
loop chunks, and summarised into one Dataset.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import jax
import numpy as np
import xarray as xr

from mad import grid as grids
from mad import results, theory
from mad.config import Config, ConfigError
from mad.engine import Program, check_memory, enable_precision, knobs_of, run_program
from mad.metrics import metric_docs
from mad.progress import sweep_progress

log = logging.getLogger("mad.simulation")


@dataclass
class Result:
    summary: xr.Dataset
    loops: Optional[xr.Dataset] = None
    points: tuple = ()  # the grid points (index, coords, config) behind the datasets


def run(
    config: Config,
    *,
    resolve: Optional[grids.Resolver] = None,
    keep_loops: Optional[bool] = None,
    checkpoint: Optional[Path] = None,
    before: Optional[Callable[[], None]] = None,
) -> Result:
    """Run every grid point of `config`; keep per-loop trajectories if asked (default: save.per_loop).

    With a `checkpoint` folder every finished grid point is saved there; with `config.resume`
    grid points already saved for the same config are loaded instead of recomputed. `before()` is
    called once every grid point is valid, before anything is loaded or computed.
    """
    keep_loops = config.save.per_loop if keep_loops is None else keep_loops
    axes, points = grids.expand(config, resolve)
    if before is not None:
        before()
    programs = programs_of(config, points)
    points = [p for members in programs.values() for p in members]
    for program, members in programs.items():
        # Every metric and diagnostic of a loop is one (generations + 1) trajectory.
        per_loop = (len(_docs(members[:1])) + 1) * (config.generations + 1)
        check_memory(program, len(members), config.loops, per_loop * config.loops * len(members) if keep_loops else 0)

    log.info(
        "%d grid point(s) in %d compiled program(s), %d loops x %d generations each", len(points), len(programs), config.loops, config.generations
    )
    stats, loop_values = {}, {}
    stamps = {p.index: results.fingerprint(p.config, p.index, keep_loops) for p in points}
    total = config.loops * config.generations * len(points)
    with sweep_progress(total, len(points), config.progress) as progress:
        for program, members in programs.items():
            saved = {}
            if checkpoint is not None and config.resume:
                saved = {p.index: results.load_point(checkpoint, p.index, stamps[p.index], keep_loops) for p in members}
            if saved and all(v is not None for v in saved.values()):
                for index, (point_stats, point_loops) in saved.items():
                    stats[index] = point_stats
                    if keep_loops:
                        loop_values[index] = point_loops
                progress.chunk(len(members) * config.loops * config.generations)
                progress.points_done(len(members))
                log.info("resumed %d of %d grid point(s) from %s", len(members), len(points), checkpoint)
                continue
            computed = _run_points(program, members, config, keep_loops, progress)
            for point, (point_stats, point_loops) in zip(members, computed):
                stats[point.index] = point_stats
                if keep_loops:
                    loop_values[point.index] = point_loops
                if checkpoint is not None:
                    results.save_point(checkpoint, point.index, stamps[point.index], point_stats, point_loops)
            progress.points_done(len(members))
    measured = config.metrics.measured(config.generations)  # metrics.every: a subset of 0..G
    predictions = {p.index: {k: np.asarray(v)[measured] for k, v in theory.predict(p.config).items()} for p in points}

    attrs = {
        "config": results.config_yaml(config),
        "mad_version": _version(),
        **provenance(),
        "jax_version": jax.__version__,
        "device": str(jax.devices()[0].device_kind),
        "platform": platform.platform(),
        "loops": config.loops,
        "seed": config.seed,
        "grid_points": [p.index for p in points],  # the grid points this run computed
    }
    summary = results.summary_dataset(
        axes, stats, predictions, generations=measured, attrs=attrs, docs=_docs(points),
        configs={p.index: results.point_yaml(p.config) for p in points},
    )  # fmt: skip
    loops = None
    if keep_loops:
        loops = results.loops_dataset(axes, loop_values, loops=config.loops, generations=measured, attrs=attrs)
    return Result(summary, loops, tuple(points))


def programs_of(config: Config, points: list[grids.GridPoint]) -> dict[Program, list[grids.GridPoint]]:
    """This process's grid points (its shard's slice) grouped by the compiled program they share,
    in grid order; precision switched on for each."""
    # A slice of the grid (shard.count processes): points keep their index, hence their keys.
    mine = [p for p in points if p.index % config.shard.count == config.shard.index]
    if not mine:
        raise ConfigError(f"shard.index={config.shard.index} of shard.count={config.shard.count} has no grid points (the grid has {len(points)})")
    programs: dict[Program, list[grids.GridPoint]] = {}
    for point in mine:
        enable_precision(point.config.precision)
        programs.setdefault(Program.of(point.config), []).append(point)
    return programs


# With progress on, a program's loops are split into at least this many compiled calls.
PROGRESS_CALLS = 4


def call_chunk(config: Config, points: int) -> int:
    """Lanes (loops x grid points) per compiled call asked of a program of `points` grid points."""
    if config.progress:  # a few calls at least, so that the bar moves within a program (results do not change)
        return min(config.chunk, points * -(-config.loops // PROGRESS_CALLS))
    return config.chunk


def _run_points(program: Program, members, config: Config, keep_loops: bool, progress) -> list:
    """Run one compiled program over its grid points: [(stats, loops or None)] per point."""
    knobs = knobs_of([p.config for p in members], program.dtype)
    accumulators: dict[str, results.LoopStats] = {}
    kept: dict[str, list[np.ndarray]] = {}
    chunk = call_chunk(config, len(members))
    chunks = run_program(program, [p.index for p in members], knobs, seed=config.seed, loops=config.loops, chunk=chunk)
    for chunk in chunks:
        for name, values in chunk.values.items():
            accumulators.setdefault(name, results.LoopStats()).update(values)
            if keep_loops:
                kept.setdefault(name, []).append(values)
        progress.chunk(values.shape[0] * values.shape[1] * config.generations)
    summaries = {name: acc.result() for name, acc in accumulators.items()}
    everything = {name: np.concatenate(parts, axis=1) for name, parts in kept.items()}
    return [
        ({n: s[i] for n, s in summaries.items()}, {n: v[i] for n, v in everything.items()} if keep_loops else None)
        for i in range(len(members))
    ]


def _docs(points) -> dict[str, str]:
    """Metric descriptions of every family in the grid."""
    from mad.loops import loop_spec
    from mad.loops.curation import remedy_docs

    docs: dict[str, str] = {}
    for point in points:
        docs.update(metric_docs(point.config))
        docs.update(dict(loop_spec(point.config.loop.name).diagnostic_docs))
        docs.update(remedy_docs(point.config))
    return docs


def simulate(config: Config, resolve: Optional[grids.Resolver] = None) -> xr.Dataset:
    """Simulate all grid points of `config`; statistics over loops and theory, as one Dataset.
    `resolve(group, name)` loads the grid's group options (default: the shipped YAML as it is;
    `mad.compose` gives the one the command line would use)."""
    return run(config, resolve=resolve, keep_loops=False).summary


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mad")
    except PackageNotFoundError:
        return "unknown"


def _command() -> str:
    """The command line of this process, `python -m mad.<module> ...` for mad's own entry points."""
    import shlex
    import sys

    argv = list(sys.argv)
    here = Path(__file__).resolve().parent
    if argv and argv[0] == "-c":
        argv = ["python", "-c", "..."]
    elif argv and argv[0].endswith(".py") and Path(argv[0]).resolve().parent == here:
        argv = ["python", "-m", f"mad.{Path(argv[0]).stem}", *argv[1:]]
    return shlex.join(argv) if argv and argv[0] else "python (interactive)"


def provenance() -> dict[str, str]:
    """Where a result came from: the git commit of mad's source and whether it had uncommitted
    changes (`unknown` outside a git checkout, e.g. an installed wheel), and the command line."""
    import subprocess

    source = Path(__file__).resolve().parent.parent
    commit, dirty = "unknown", "unknown"
    try:
        git = ["git", "-C", str(source)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        changes = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "--", "mad", "conf"],
                                 capture_output=True, text=True, timeout=5, check=True).stdout  # fmt: skip
        dirty = "true" if changes.strip() else "false"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"git_commit": commit, "git_dirty": dirty, "command": _command()}


__all__ = ["Result", "provenance", "run", "simulate"]
