"""Figures from a results Dataset: every metric against generation, theory dashed beside it.

Like is compared with like. Per metric, one curve per grid point: the mean over loops with its
+-2 sem confidence band, and the closed-form expectation (dashed, same colour) where one exists;
the q05-q95 range of the loops is drawn faintly behind as context (how far single loops stray),
never as the thing the theory predicts. Indicator metrics (0 or 1 per loop) show their mean, the
fraction of loops. The y axis is logarithmic when the metric is positive and spans more than two
decades. For every numeric grid axis, a second figure shows the final generation's mean (with
+-2 sem) against that axis, theory beside it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Optional

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from mad.files import atomic_path  # noqa: E402

STAT_DIMS = ("stat", "generation")
# Indicator metrics (0 or 1 per loop): their mean is the fraction of loops, the statistic shown.
FRACTIONS = ("collapsed", "nonfinite", "em_converged", "alive")


def metrics_of(ds: xr.Dataset) -> list[str]:
    """Metric variables (those with a `stat` dimension), in file order."""
    return [name for name, var in ds.data_vars.items() if "stat" in var.dims]


def grid_axes(ds: xr.Dataset) -> list[str]:
    var = ds[metrics_of(ds)[0]]
    return [d for d in var.dims if d not in STAT_DIMS]


def grid_points(ds: xr.Dataset) -> list[dict]:
    """Every grid point as a selection dict ({} for a run without a grid)."""
    axes = grid_axes(ds)
    if not axes:
        return [{}]
    grids = np.meshgrid(*(ds[a].values for a in axes), indexing="ij")
    return [{a: g.flat[i].item() for a, g in zip(axes, grids)} for i in range(grids[0].size)]


def _label(point: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items()) or "all loops"


def _wants_log(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.any(finite <= 0):
        return False
    return finite.max() / finite.min() > 100.0


def plotted(ds: xr.Dataset, metric: str, point: dict) -> dict[str, np.ndarray]:
    """What a metric's figure draws at one grid point, per generation: the mean and its +-2 sem
    confidence band (`mean`, `low`, `high`), the loops' q05-q95 range as context (`q05`, `q95`;
    absent for fractions), and the closed-form expectation (`theory`) where there is one."""
    var = ds[metric].sel(point)
    mean, sem = var.sel(stat="mean").values, var.sel(stat="sem").values
    out = {"mean": mean, "low": mean - 2 * sem, "high": mean + 2 * sem}
    if metric not in FRACTIONS:
        out.update(q05=var.sel(stat="q05").values, q95=var.sel(stat="q95").values)
    theory = f"{metric}_theory"
    if theory in ds and np.isfinite(ds[theory].sel(point).values).any():
        out["theory"] = ds[theory].sel(point).values
    return out


# A grid of several axes is drawn as panels, one per value of the other axes, up to this many.
MAX_PANELS = 6


def _panels(ds: xr.Dataset) -> list[tuple[dict, list[dict]]]:
    """[(what the panel fixes, the grid points it draws)]: one panel for a grid of one axis; with
    more axes, one panel per combination of the axes after the first (when there are few)."""
    axes = grid_axes(ds)
    points = grid_points(ds)
    if len(axes) < 2:
        return [({}, points)]
    rest = grid_points(ds.isel({axes[0]: 0}, drop=True))
    if len(rest) > MAX_PANELS:
        return [({}, points)]
    return [(fixed, [p for p in points if all(p[k] == v for k, v in fixed.items())]) for fixed in rest]


def metric_figure(ds: xr.Dataset, metric: str) -> plt.Figure:
    panels = _panels(ds)
    theory = f"{metric}_theory"
    columns = min(len(panels), 3)
    rows = -(-len(panels) // columns)
    fig, grid = plt.subplots(rows, columns, figsize=(4.2 * columns + 1.5 if columns > 1 else 7.5, 3.6 * rows + 0.9), dpi=110, sharey=True, squeeze=False)
    for ax in grid.flat[len(panels):]:
        ax.set_visible(False)
    shown = []
    for ax, (fixed, points) in zip(grid.flat, panels):
        shown += _draw_panel(ax, ds, metric, points, fixed)
    if metric not in FRACTIONS and _wants_log(np.concatenate(shown)):
        for ax in grid.flat:
            ax.set_yscale("log")
    what = "fraction of loops (+-2 sem)" if metric in FRACTIONS else "mean over loops (+-2 sem); faint: q05-q95 of the loops"
    if theory in ds:
        what += "; dashed: closed-form expectation"
    fig.suptitle(f"{ds[metric].attrs.get('long_name', metric)}\n{what}", fontsize=9)
    fig.tight_layout()
    return fig


def _draw_panel(ax, ds: xr.Dataset, metric: str, points: list[dict], fixed: dict) -> list[np.ndarray]:
    """One panel: a curve per grid point (labelled by what the panel does not fix); returns the
    values drawn, for the choice of scale."""
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(points)))
    generation = ds.generation.values
    shown = []
    for point, colour in zip(points, colours):
        drawn = plotted(ds, metric, point)
        if "q05" in drawn:  # context: where single loops go
            ax.fill_between(generation, drawn["q05"], drawn["q95"], color=colour, alpha=0.08, lw=0)
            shown.append(np.concatenate([drawn["q05"][1:], drawn["q95"][1:]]))
        label = _label({k: v for k, v in point.items() if k not in fixed})
        ax.plot(generation, drawn["mean"], color=colour, lw=1.6, label=label)
        ax.fill_between(generation, drawn["low"], drawn["high"], color=colour, alpha=0.35, lw=0)
        shown.append(drawn["mean"][1:])
        if "theory" in drawn:
            ax.plot(generation, drawn["theory"], color=colour, lw=1.2, ls="--")
            shown.append(drawn["theory"][1:])
    ax.set_xlabel("generation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    if fixed:
        ax.set_title(_label(fixed), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2 if len(points) > 6 else 1, loc="best")
    return shown


def final_figure(ds: xr.Dataset, metric: str, axis: str) -> plt.Figure:
    """Final-generation mean +- 2 sem against a numeric grid axis (other axes as separate lines)."""
    others = [a for a in grid_axes(ds) if a != axis]
    rest = grid_points(ds.isel({axis: 0}, drop=True)) if others else [{}]
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(rest)))
    final = ds.isel(generation=-1)
    x = ds[axis].values.astype(float)
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=110)
    theory = f"{metric}_theory"
    for i, (point, colour) in enumerate(zip(rest, colours)):
        var = final[metric].sel(point)
        mean, sem = var.sel(stat="mean").values, var.sel(stat="sem").values
        ax.errorbar(x, mean, yerr=2 * sem, color=colour, marker="o", ms=4, capsize=3, label=_label(point) if point else "simulation")
        if theory in ds and np.isfinite(final[theory].sel(point).values).any():
            ax.plot(x, final[theory].sel(point).values, color=colour, ls="--", marker="x", label="closed-form expectation" if i == 0 else None)
    if _wants_log(final[metric].sel(stat="mean").values):
        ax.set_yscale("log")
    if np.all(x > 0) and x.max() / x.min() >= 10:  # values spread over decades (n = 10 ... 1000)
        ax.set_xscale("log")
    ax.set_xlabel(axis)
    ax.set_ylabel(f"{metric} at generation {int(ds.generation.values[-1])}")
    ax.set_title(f"{metric} after the last generation: mean +- 2 sem" + ("; dashed: closed form" if theory in ds else ""), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


FORMATS = ("png", "pdf", "svg")


def write_figures(
    ds: xr.Dataset, folder: str | Path, formats: tuple[str, ...] = ("png",), newer_than: Optional[float] = None
) -> list[Path]:
    """Write every figure into `folder`, as PNG (the report shows those) and in the other
    `formats` beside it (pdf, svg: vector graphics for papers and slides); returns the PNG paths in
    display order. With `newer_than` (a modification time, that of the results the figures show) a
    figure whose every file is newer is kept as it is, not drawn again."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = tuple(dict.fromkeys(("png", *formats)))

    def current(name: str) -> bool:
        files = [folder / f"{name}.{kind}" for kind in kinds]
        return newer_than is not None and all(f.exists() and f.stat().st_mtime > newer_than for f in files)

    def save(draw: Callable[[], plt.Figure], name: str) -> Path:
        if not current(name):
            fig = draw()
            try:
                for kind in kinds:
                    with atomic_path(folder / f"{name}.{kind}") as tmp:
                        fig.savefig(tmp, format=kind)
            finally:
                plt.close(fig)
        return folder / f"{name}.png"

    # A run in which no loop broke down needs no figure saying so (the report's table does).
    shown = [m for m in metrics_of(ds) if not (m == "nonfinite" and not np.any(ds[m].sel(stat="mean").values > 0))]
    paths = [save(functools.partial(metric_figure, ds, metric), metric) for metric in shown]
    numeric = [a for a in grid_axes(ds) if np.issubdtype(ds[a].dtype, np.number) and ds.sizes[a] > 1]
    for axis in numeric:
        for metric in shown:
            if metric not in FRACTIONS:
                paths.append(save(functools.partial(final_figure, ds, metric, axis), f"final_{metric}_vs_{axis}"))
    return paths
