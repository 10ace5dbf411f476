"""Results on disk: statistics over loops, labelled xarray Datasets, atomic NetCDF writes.

summary (results.nc): one variable per metric with dims (grid axes..., stat, generation), the
    statistics over loops in float64; `<metric>_theory` (grid axes..., generation) holds the
    closed-form expectation where one exists (NaN at grid points that have none);
    `logdet_ratio_theory_std` the standard deviation of the log-det random walk.
loops (loops.nc): one variable per metric with dims (grid axes..., loop, generation).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr
from omegaconf import OmegaConf

from mad.files import atomic_path

log = logging.getLogger("mad.results")

STATS = ("mean", "std", "sem", "q05", "q25", "q50", "q75", "q95", "top1_share")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# A checkpoint of another layout (say, fewer statistics) is never reused: part of its fingerprint.
CHECKPOINT_FORMAT = 2
# Quantiles are taken over the first this many loops, so memory stays bounded for any number of
# loops (the standard error of a 5% quantile from 65536 loops is under 0.1% of the spread).
QUANTILE_LOOPS = 1 << 16


class LoopStats:
    """Statistics over loops of (..., loop, generation) values, fed chunk by chunk.

    Mean and variance are exact over all loops (Chan et al.'s pairwise merge in float64). They are
    kept relative to the running largest magnitude, so saturated divergences (up to the float64
    maximum) neither overflow nor swamp the rest. Quantiles use the first QUANTILE_LOOPS loops, and
    so does `top1_share`, the share of sum |x| carried by the largest 1% of |x|: a tail
    diagnostic (about 0.01 to 0.03 for a light-tailed metric; towards 1 when a few loops carry the
    mean, whose sem is then unreliable).
    A non-finite value (a loop whose numbers broke down) is left out of every statistic rather
    than making it NaN; the engine counts such loops in the `nonfinite` metric.
    """

    def __init__(self, quantile_loops: int = QUANTILE_LOOPS):
        self.quantile_loops = quantile_loops
        self.count = None  # finite values per (..., generation)
        self.scale = self.mean = self.m2 = None  # m2 is the centred sum of squares / scale^2
        self.head: list[np.ndarray] = []
        self.head_count = 0

    def update(self, values: np.ndarray) -> None:
        x = np.asarray(values, np.float64)
        finite = np.isfinite(x)
        everywhere = bool(finite.all())  # the common case: no masking needed
        if not everywhere:
            x = np.where(finite, x, 0.0)
        n = np.sum(finite, axis=-2)
        peak = np.max(np.abs(x), axis=-2)
        scale = peak if self.scale is None else np.maximum(self.scale, peak)
        scale = np.where(scale > 0, scale, 1.0)
        y = x / scale[..., None, :]
        mean_y = np.sum(y, axis=-2) / np.maximum(n, 1)
        centred = y - mean_y[..., None, :]
        m2_y = np.sum((centred if everywhere else np.where(finite, centred, 0.0)) ** 2, axis=-2)
        if self.count is not None:
            ratio = self.scale / scale
            old_mean, old_m2 = self.mean / scale, self.m2 * ratio**2
            total = np.maximum(self.count + n, 1)
            delta = mean_y - old_mean
            mean_y = old_mean + delta * (n / total)
            m2_y = old_m2 + m2_y + delta**2 * (self.count * n / total)
            n = self.count + n
        self.count = n
        self.scale, self.mean, self.m2 = scale, mean_y * scale, m2_y
        if self.head_count < self.quantile_loops:
            take = min(values.shape[-2], self.quantile_loops - self.head_count)
            self.head.append(np.asarray(values)[..., :take, :])
            self.head_count += take

    def result(self) -> np.ndarray:
        """(..., stat, generation), stats in the order of STATS (NaN where no loop is finite)."""
        count = self.count.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(count > 1, self.m2 / np.maximum(count - 1, 1), 0.0)
            std = np.sqrt(var) * self.scale
            mean = np.where(count > 0, self.mean, np.nan)
            std = np.where(count > 0, std, np.nan)
            sem = std / np.sqrt(count)
        head = np.concatenate(self.head, axis=-2).astype(np.float64)
        finite = np.isfinite(head)
        if finite.all():
            quantiles = np.quantile(head, QUANTILES, axis=-2)
        else:
            with warnings.catch_warnings():  # an all-NaN slice (no finite loop) is NaN, as it should be
                warnings.simplefilter("ignore", RuntimeWarning)
                quantiles = np.nanquantile(np.where(finite, head, np.nan), QUANTILES, axis=-2)
        tail = np.where(np.any(finite, axis=-2), top_share(np.where(finite, np.abs(head), 0.0)), np.nan)  # NaN: no finite loop
        return np.stack([mean, std, sem, *quantiles, tail], axis=-2)


def top_share(magnitudes: np.ndarray, share: float = 0.01) -> np.ndarray:
    """(..., loop, generation) -> (..., generation): the part of the sum carried by the largest
    `share` of the loops (at least one loop); where every value is zero the loops are all equal,
    and the top ones carry their even part."""
    loops = magnitudes.shape[-2]
    k = max(1, int(np.ceil(share * loops)))
    top = np.partition(magnitudes, loops - k, axis=-2)[..., loops - k :, :]
    total = np.sum(magnitudes, axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.sum(top, axis=-2) / np.where(total > 0, total, 1.0), k / loops)


POINT_CONFIG = "point_config"


def point_yaml(config: Any) -> str:
    """A grid point's config as YAML, with the settings that change neither its values nor what is
    kept (progress, resume, overwrite, chunk, compile_cache, logger, shard) at their defaults: a
    resumed point, or one computed by a grid slice, records the same config as an uninterrupted single run."""
    plain = dataclasses.replace(
        config, progress=True, resume=False, overwrite=False, chunk=0, compile_cache=None,
        logger=type(config.logger)(), shard=type(config.shard)(),
    )  # fmt: skip
    return config_yaml(plain)


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
    generations: int | np.ndarray,
    attrs: Mapping[str, Any],
    docs: Mapping[str, str],
    configs: Mapping[int, str] | None = None,
) -> xr.Dataset:
    """Assemble per-point statistics (stat, generation) and theory (generation) into one Dataset,
    with each grid point's resolved config (YAML) as the string variable `point_config`.
    `generations`: G (generations 0..G) or the generations measured (metrics.every), which the
    statistics and the theory give in that order."""
    dims = [a.name for a in axes]
    generation = _generation_axis(generations)
    coords = {**_coords(axes), "stat": list(STATS), "generation": generation}
    tail = (len(STATS), len(generation))
    # Points of different families (a grid over `model`) report different metrics: each variable
    # is NaN at the points that do not report it.
    names = list(dict.fromkeys(name for s in stats.values() for name in s))
    data = {}
    for name in names:
        arr = _grid_array(axes, {i: s[name] for i, s in stats.items() if name in s}, tail, np.float64, np.nan)
        data[name] = xr.Variable(dims + ["stat", "generation"], arr, {"long_name": docs.get(name, name)})
    theory_names = sorted({k for t in theory.values() for k in t})
    for key in theory_names:
        metric = key.removesuffix("_std")
        spread = key != metric
        arr = _grid_array(axes, {i: t[key] for i, t in theory.items() if key in t}, (len(generation),), np.float64, np.nan)
        what = "standard deviation" if spread else "expectation"
        label = f"{metric}_theory" + ("_std" if spread else "")
        data[label] = xr.Variable(dims + ["generation"], arr, {"long_name": f"closed-form {what} of {metric}"})
    if configs:
        arr = _grid_array(axes, configs, (), object, "")
        data[POINT_CONFIG] = xr.Variable(dims, arr, {"long_name": "the grid point's resolved config (YAML; empty where not computed)"})
    return xr.Dataset(data, coords=coords, attrs=dict(attrs))


def _generation_axis(generations) -> np.ndarray:
    return np.arange(generations + 1) if np.ndim(generations) == 0 else np.asarray(generations)


def loops_dataset(
    axes: Sequence, values: Mapping[int, Mapping[str, np.ndarray]], *, loops: int, generations: int | np.ndarray, attrs: Mapping[str, Any]
) -> xr.Dataset:
    """Per-loop trajectories: (grid axes..., loop, generation); the loop index is `loop_index`
    when a grid axis is itself named `loop` (a grid over loop options)."""
    index = "loop_index" if any(a.name == "loop" for a in axes) else "loop"
    dims = [a.name for a in axes] + [index, "generation"]
    generation = _generation_axis(generations)
    coords = {**_coords(axes), index: np.arange(loops), "generation": generation}
    samples = {}
    for v in values.values():
        for name, arr in v.items():
            samples.setdefault(name, arr)
    data = {}
    for name, sample in samples.items():
        fill = False if sample.dtype == bool else np.nan
        by_point = {i: v[name] for i, v in values.items() if name in v}
        arr = _grid_array(axes, by_point, (loops, len(generation)), sample.dtype, fill)
        data[name] = xr.Variable(dims, arr)
    return xr.Dataset(data, coords=coords, attrs=dict(attrs))


def write_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write atomically: a complete file appears under `path` or nothing changes there."""
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


class ResultsError(ValueError):
    """A results file that is missing, unreadable or not written by mad."""


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """The Dataset in a results.nc or loops.nc; a ResultsError naming the file if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path} does not exist")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as err:  # h5py and xarray raise many kinds for a damaged file
        raise ResultsError(f"{path} is not a readable netCDF file ({type(err).__name__}: {err})") from err
    return ds


# ----------------------------------------------------------------------------- checkpoints


def fingerprint(config: Any, index: int, keep_loops: bool) -> str:
    """What a saved grid point must match to be reused: its resolved config (group options read
    from their YAML files, so an edited option invalidates it), grid index and contents."""
    import hashlib

    text = f"{point_yaml(config)}|{index}|{keep_loops}|{CHECKPOINT_FORMAT}"
    return hashlib.sha256(text.encode()).hexdigest()


def save_point(folder: Path, index: int, stamp: str, stats: Mapping[str, np.ndarray], loops: Mapping[str, np.ndarray] | None) -> None:
    """Save one finished grid point atomically (a complete file or none)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {f"stats/{k}": v for k, v in stats.items()}
    arrays.update({f"loops/{k}": v for k, v in (loops or {}).items()})
    with atomic_path(folder / f"point-{index:06d}.npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, fingerprint=np.array(stamp), **arrays)


def load_point(folder: Path, index: int, stamp: str, need_loops: bool):
    """(stats, loops) of a saved grid point whose fingerprint matches, else None."""
    path = folder / f"point-{index:06d}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            if str(data["fingerprint"]) != stamp:
                return None
            stats = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("stats/")}
            loops = {k.split("/", 1)[1]: data[k] for k in data.files if k.startswith("loops/")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        # A damaged file (truncated by hand, a disk error): the point is computed again.
        log.warning("ignoring unreadable checkpoint %s (%s: %s); computing the grid point again", path, type(err).__name__, err)
        return None
    if need_loops and not loops:
        return None
    return stats, (loops or None)
