"""Join the results of grid slices into one run: ``python -m mad.merge OUT RUN_DIR [RUN_DIR ...]``.

Each slice is a run of the same config with a different `shard.index` (a Hydra multirun job, a
SLURM array task, another machine); it computed the grid points listed in its `grid_points`
attribute, with the same random keys a single process would have used. The merge checks that the
slices share one config (but for the shard) and cover every grid point exactly once, then writes
OUT/results.nc (and loops.nc if every slice kept them), figures and the report. A RUN_DIR
without results.nc is searched one level down (a multirun sweep dir holds one job per folder).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import xarray as xr
from omegaconf import OmegaConf

log = logging.getLogger("mad.merge")


class MergeError(ValueError):
    """Slices that do not form one grid."""


def _config_without_shard(ds: xr.Dataset) -> dict:
    config = OmegaConf.to_container(OmegaConf.create(ds.attrs["config"]))
    config.pop("shard", None)
    return config


def _grid_dims(ds: xr.Dataset, trailing: tuple[str, ...]) -> list[str]:
    var = next(v for v in ds.data_vars.values() if v.dims[-len(trailing):] == trailing)
    return [d for d in var.dims if d not in trailing]


def merge(slices: Sequence[xr.Dataset], trailing: tuple[str, ...] = ("stat", "generation")) -> xr.Dataset:
    """One Dataset from slices that each computed some grid points (attribute `grid_points`)."""
    if not slices:
        raise MergeError("nothing to merge (no results.nc in the given folders or one level below)")
    for ds in slices:
        if "grid_points" not in ds.attrs or "config" not in ds.attrs:
            raise MergeError("a slice has no 'grid_points' or 'config' attribute: it was not written by mad.sweep")
    reference = _config_without_shard(slices[0])
    for ds in slices[1:]:
        if _config_without_shard(ds) != reference:
            raise MergeError("the slices come from different configs (other than shard); refusing to merge them")
    dims = _grid_dims(slices[0], trailing)
    shape = tuple(slices[0].sizes[d] for d in dims)
    total = int(np.prod(shape)) if shape else 1
    out = slices[0].copy(deep=True)
    for name, var in out.data_vars.items():
        if var.dtype.kind in "US":  # text read back with a fixed width: longer values must fit
            out[name] = var.astype(object)
    for ds in slices[1:]:
        for name, var in ds.data_vars.items():
            if name not in out:  # a variable only some slices have (theory at some points)
                fill = np.nan if np.issubdtype(var.dtype, np.floating) else 0
                out[name] = xr.full_like(var, fill)
    owner: dict[int, int] = {}
    for k, ds in enumerate(slices):
        for index in np.atleast_1d(ds.attrs["grid_points"]).tolist():
            if index in owner:
                raise MergeError(f"grid point {index} was computed by two slices ({owner[index]} and {k})")
            owner[index] = k
            at = np.unravel_index(index, shape) if shape else ()
            for name, var in ds.data_vars.items():
                out[name].values[at] = var.values[at]
    missing = sorted(set(range(total)) - set(owner))
    if missing:
        raise MergeError(f"grid points {missing} are in no slice: run the missing shard.index values first")
    out.attrs["grid_points"] = list(range(total))
    config = OmegaConf.create(slices[0].attrs["config"])
    config.shard = {"index": 0, "count": 1}  # the merged result is the whole grid
    out.attrs["config"] = OmegaConf.to_yaml(config)
    return out


def run_dirs(paths: Sequence[Path]) -> list[Path]:
    found = []
    for path in paths:
        if (path / "results.nc").exists():
            found.append(path)
        else:
            found.extend(sorted(p.parent for p in path.glob("*/results.nc")))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    from mad.report import showcase
    from mad.report.figures import write_figures
    from mad.report.html import write_report
    from mad.results import ResultsError, read_netcdf, write_netcdf

    parser = argparse.ArgumentParser(prog="python -m mad.merge", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the joined results (created)")
    parser.add_argument("runs", type=Path, nargs="+", help="run dirs of the slices, or sweep dirs holding them")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    dirs = run_dirs(args.runs)
    try:
        summaries = [read_netcdf(d / "results.nc") for d in dirs]
        summary = merge(summaries)
        loops = None
        if dirs and all((d / "loops.nc").exists() for d in dirs):
            parts = [read_netcdf(d / "loops.nc") for d in dirs]
            index = "loop_index" if "loop_index" in parts[0].dims else "loop"  # a grid over loop options
            loops = merge(parts, (index, "generation"))
    except (MergeError, ResultsError) as err:
        log.error("cannot merge: %s", err)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    log.info("merged %d slices: %s", len(dirs), write_netcdf(summary, args.out / "results.nc"))
    if loops is not None:
        write_netcdf(loops, args.out / "loops.nc")
    figures = write_figures(summary, args.out / "figures")
    shown, extra = showcase(summary, args.out)
    log.info("report: %s", write_report(summary, args.out, [*figures, *shown], extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
