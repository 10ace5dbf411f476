"""Results on disk: statistics over loops, labelled xarray Datasets, atomic NetCDF writes.

summary (results.nc): one variable per metric with dims (grid axes..., stat, generation), the
    statistics over loops in float64; `<metric>_theory` (grid axes..., generation) holds the
    closed-form expectation where one exists (NaN at grid points that have none);
    `logdet_ratio_theory_std` the standard deviation of the log-det random walk.
loops (loops.nc): one variable per metric with dims (grid axes..., loop, generation).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr
from omegaconf import OmegaConf

STATS = ("mean", "std", "sem", "q05", "q25", "q50", "q75", "q95")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def loop_stats(values: np.ndarray) -> np.ndarray:
    """Statistics over the loop axis (-2) of (..., loop, generation) -> (..., stat, generation).

    Moments are taken of values divided by their largest magnitude, so that saturated
    divergences (up to the float64 maximum) neither overflow nor lose the others.
    """
    x = np.asarray(values, np.float64)
    loops = x.shape[-2]
    scale = np.max(np.abs(x), axis=-2, keepdims=True)
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    y = x / scale
    mean = np.mean(y, axis=-2) * scale[..., 0, :]
    std = (np.std(y, axis=-2, ddof=1) if loops > 1 else np.zeros_like(mean)) * scale[..., 0, :]
    quantiles = np.quantile(x, QUANTILES, axis=-2)
    return np.stack([mean, std, std / np.sqrt(loops), *quantiles], axis=-2)


def config_yaml(config: Any) -> str:
    """The resolved config as YAML (dataclasses, including grid values that are configs)."""
    return OmegaConf.to_yaml(OmegaConf.create(dataclasses.asdict(config)))


def _grid_array(axes: Sequence, by_point: Mapping[int, np.ndarray], tail: tuple[int, ...], dtype, fill) -> np.ndarray:
    shape = tuple(len(a.values) for a in axes)
    out = np.full(shape + tail, fill, dtype)
    for index, value in by_point.items():
        out[np.unravel_index(index, shape) if shape else ()] = value
    return out


def _coords(axes: Sequence) -> dict[str, list]:
    return {a.name: a.coords for a in axes}


def summary_dataset(
    axes: Sequence,
    stats: Mapping[int, Mapping[str, np.ndarray]],
    theory: Mapping[int, Mapping[str, np.ndarray]],
    *,
    generations: int,
    attrs: Mapping[str, Any],
    docs: Mapping[str, str],
) -> xr.Dataset:
    """Assemble per-point statistics (stat, generation) and theory (generation) into one Dataset."""
    dims = [a.name for a in axes]
    coords = {**_coords(axes), "stat": list(STATS), "generation": np.arange(generations + 1)}
    tail = (len(STATS), generations + 1)
    names = list(next(iter(stats.values())))
    data = {}
    for name in names:
        arr = _grid_array(axes, {i: s[name] for i, s in stats.items()}, tail, np.float64, np.nan)
        data[name] = xr.Variable(dims + ["stat", "generation"], arr, {"long_name": docs.get(name, name)})
    theory_names = sorted({k for t in theory.values() for k in t})
    for key in theory_names:
        metric = key.removesuffix("_std")
        spread = key != metric
        arr = _grid_array(axes, {i: t[key] for i, t in theory.items() if key in t}, (generations + 1,), np.float64, np.nan)
        what = "standard deviation" if spread else "expectation"
        label = f"{metric}_theory" + ("_std" if spread else "")
        data[label] = xr.Variable(dims + ["generation"], arr, {"long_name": f"closed-form {what} of {metric}"})
    return xr.Dataset(data, coords=coords, attrs=dict(attrs))


def loops_dataset(
    axes: Sequence, values: Mapping[int, Mapping[str, np.ndarray]], *, loops: int, generations: int, attrs: Mapping[str, Any]
) -> xr.Dataset:
    """Per-loop trajectories: (grid axes..., loop, generation)."""
    dims = [a.name for a in axes] + ["loop", "generation"]
    coords = {**_coords(axes), "loop": np.arange(loops), "generation": np.arange(generations + 1)}
    first = next(iter(values.values()))
    data = {}
    for name, sample in first.items():
        fill = False if sample.dtype == bool else np.nan
        arr = _grid_array(axes, {i: v[name] for i, v in values.items()}, (loops, generations + 1), sample.dtype, fill)
        data[name] = xr.Variable(dims, arr)
    return xr.Dataset(data, coords=coords, attrs=dict(attrs))


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write atomically: a complete file appears under `path` or nothing changes there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()
