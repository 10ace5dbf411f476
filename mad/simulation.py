"""`simulate(config) -> xarray.Dataset`: the Python API behind the command line.

Grid points are validated first (nothing compiles or is written if any is impossible), grouped by
the compiled program they need (points differing only in lam or real_weight share one), run in
loop chunks, and summarised into one Dataset.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Optional

import jax
import numpy as np
import xarray as xr

from mad import grid as grids
from mad import results, theory
from mad.config import Config
from mad.engine import Program, knobs_of, run_program
from mad.metrics import metric_docs
from mad.progress import sweep_progress


@dataclass
class Result:
    summary: xr.Dataset
    loops: Optional[xr.Dataset] = None


def run(config: Config, *, resolve: Optional[grids.Resolver] = None, keep_loops: Optional[bool] = None) -> Result:
    """Run every grid point of `config`; keep per-loop trajectories if asked (default: save.per_loop)."""
    keep_loops = config.save.per_loop if keep_loops is None else keep_loops
    axes, points = grids.expand(config, resolve)
    programs: dict[Program, list[grids.GridPoint]] = {}
    for point in points:
        programs.setdefault(Program.of(point.config), []).append(point)

    stats, loop_values, predictions = {}, {}, {}
    total = config.loops * config.generations * len(points)
    with sweep_progress(total, len(points), config.progress) as progress:
        for program, members in programs.items():
            knobs = knobs_of([p.config for p in members], program.dtype)
            accumulators: dict[str, results.LoopStats] = {}
            kept: dict[str, list[np.ndarray]] = {}
            for chunk in run_program(
                program, [p.index for p in members], knobs, seed=config.seed, loops=config.loops, chunk=config.chunk
            ):
                for name, values in chunk.values.items():
                    accumulators.setdefault(name, results.LoopStats()).update(values)
                    if keep_loops:
                        kept.setdefault(name, []).append(values)
                progress.chunk(values.shape[0] * values.shape[1] * config.generations)
            summaries = {name: acc.result() for name, acc in accumulators.items()}
            everything = {name: np.concatenate(parts, axis=1) for name, parts in kept.items()}
            for i, point in enumerate(members):
                stats[point.index] = {name: summary[i] for name, summary in summaries.items()}
                predictions[point.index] = theory.predict(point.config)
                if keep_loops:
                    loop_values[point.index] = {name: values[i] for name, values in everything.items()}
            progress.points_done(len(members))

    attrs = {
        "config": results.config_yaml(config),
        "mad_version": _version(),
        "jax_version": jax.__version__,
        "device": str(jax.devices()[0].device_kind),
        "platform": platform.platform(),
        "loops": config.loops,
        "seed": config.seed,
    }
    summary = results.summary_dataset(
        axes, stats, predictions, generations=config.generations, attrs=attrs, docs=metric_docs(config)
    )
    loops = None
    if keep_loops:
        loops = results.loops_dataset(axes, loop_values, loops=config.loops, generations=config.generations, attrs=attrs)
    return Result(summary, loops)


def simulate(config: Config, *, resolve: Optional[grids.Resolver] = None) -> xr.Dataset:
    """Simulate all grid points of `config`; statistics over loops and theory, as one Dataset."""
    return run(config, resolve=resolve, keep_loops=False).summary


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mad")
    except PackageNotFoundError:
        return "unknown"


__all__ = ["Result", "run", "simulate"]
