"""What every experiment of the paper is made of: a result row, the experiment record, and the
plotting and reading helpers its module uses. Numbers an experiment states (dimensions, sample
sizes, rates) are read from the run's recorded config (`recorded`), never written twice."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from mad.config import Config  # noqa: E402

K = 5.0  # agreement: within this many standard errors


@dataclass
class Row:
    result: str
    quantity: str
    simulated: float
    se: float
    closed_form: Optional[float] = None
    published: Optional[str] = None  # a number or a statement
    source: str = ""
    published_agrees: Optional[bool] = None
    note: str = ""
    interval: Optional[tuple[float, float]] = None  # for a simulated argmin: the values tied with it

    @property
    def closed_form_agrees(self) -> Optional[bool]:
        if self.closed_form is None or not np.isfinite(self.closed_form):
            return None
        if self.interval is not None:
            return bool(self.interval[0] <= self.closed_form <= self.interval[1])
        return bool(abs(self.simulated - self.closed_form) <= K * self.se + 1e-12 * abs(self.closed_form))


@dataclass(frozen=True)
class Experiment:
    """One experiment: its Hydra option conf/experiment/<name>.yaml, a figure drawn from the run's
    Dataset, the table rows it yields, and the overrides of its tiny (pipeline-check) size."""

    name: str
    title: str
    figure: Callable[[xr.Dataset, plt.Figure], None]
    rows: Callable[[xr.Dataset], list[Row]]
    tiny: Sequence[str] = ("loops=16", "generations=4")
    wide: bool = False  # two or three panels side by side
    height: float = 4.2  # inches (a second row of panels needs about twice)


def recorded(ds: xr.Dataset, **point) -> Config:
    """The typed config a grid point of this run was computed with (the first point if none is
    named), from the Dataset's stored `point_config`."""
    from mad.config import from_yaml

    text = ds.point_config.sel(point) if point else ds.point_config
    return from_yaml(str(np.ravel(text.values)[0]))


def final(ds: xr.Dataset, metric: str, **sel) -> tuple[float, float]:
    """(mean, sem) of a metric at the last generation."""
    var = ds[metric].sel(**sel).isel(generation=-1)
    return float(var.sel(stat="mean")), float(var.sel(stat="sem"))


def rise(ds: xr.Dataset, metric: str, start: int = 1, **sel) -> tuple[float, float]:
    """(value at the last generation minus value at `start`, a bound on its standard error: the
    two sems summed, as the loops' values at two generations are correlated)."""
    var = ds[metric].sel(**sel)
    first, last = var.sel(generation=start), var.isel(generation=-1)
    return float(last.sel(stat="mean") - first.sel(stat="mean")), float(last.sel(stat="sem") + first.sel(stat="sem"))


def theory_final(ds: xr.Dataset, metric: str, **sel) -> Optional[float]:
    name = f"{metric}_theory"
    if name not in ds:
        return None
    return float(ds[name].sel(**sel).isel(generation=-1))


def curves(
    ax, ds: xr.Dataset, metric: str, axis: Optional[str], *, log: bool = False, stat: str = "mean", fixed: Optional[dict] = None, label: str = "", style: str = "-"
):
    """One curve per value of `axis` (mean +- 2 sem band, or a quantile), theory dashed beside it."""
    fixed = fixed or {}
    values = list(ds[axis].values) if axis else [None]
    colours = plt.cm.viridis(np.linspace(0.0, 0.85, len(values)))
    g = ds.generation.values
    for value, colour in zip(values, colours):
        sel = {**fixed, **({axis: value} if axis else {})}
        var = ds[metric].sel(**sel)
        y = var.sel(stat=stat).values
        name = f"{label}{axis}={value:g}" if isinstance(value, float) else (f"{label}{axis}={value}" if axis else label or metric)
        ax.plot(g, y, style, color=colour, label=name)
        if stat == "mean":
            se = var.sel(stat="sem").values
            ax.fill_between(g, y - 2 * se, y + 2 * se, color=colour, alpha=0.2, linewidth=0)
        theory = f"{metric}_theory"
        if theory in ds and stat == "mean":
            t = ds[theory].sel(**sel).values
            if np.any(np.isfinite(t)):
                ax.plot(g, t, "--", color=colour, linewidth=1.2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("generation t")
    ax.grid(alpha=0.3)


def dashed_legend(ax):
    """The legend, with an entry for the dashed closed forms where the axes show any."""
    handles, labels = ax.get_legend_handles_labels()
    if any(line.get_linestyle() == "--" for line in ax.get_lines()):
        handles.append(plt.Line2D([], [], color="k", linestyle="--"))
        labels.append("closed form")
    ax.legend(handles, labels, fontsize=7)


def metric_panels(axes, ds: xr.Dataset, axis: str, metrics: Sequence[tuple[str, str]]) -> None:
    """One panel per (metric, y label): curves for every value of `axis`, with the legend."""
    for ax, (metric, label) in zip(axes, metrics):
        curves(ax, ds, metric, axis)
        ax.set_ylabel(label)
        dashed_legend(ax)


def single(metric: str, axis: str, ylabel: str, title: Callable[[xr.Dataset], str] | str, *, log: bool = False):
    """A one-panel figure: `metric` against generation, one curve per value of `axis`; the title
    may be a function of the Dataset (to state its recorded numbers)."""

    def figure(ds, fig):
        ax = fig.subplots()
        curves(ax, ds, metric, axis, log=log)
        ax.set_ylabel(ylabel)
        ax.set_title(title(ds) if callable(title) else title)
        dashed_legend(ax)

    return figure


def monotone_rows(name: str, axis: str, statement: str, source: str, better_when_larger: bool = True):
    """Rows for a held-out NLL that should order with `axis`: each value, and first minus last."""

    def rows(ds):
        values = list(ds[axis].values)
        out = [Row(name, f"held-out NLL at G, {axis} = {v}", *final(ds, "nll_test", **{axis: v})) for v in values]
        (lo, slo), (hi, shi) = final(ds, "nll_test", **{axis: values[0]}), final(ds, "nll_test", **{axis: values[-1]})
        diff, se = lo - hi, math.hypot(slo, shi)
        out.append(Row(name, f"NLL({axis}={values[0]}) - NLL({axis}={values[-1]}) at G", diff, se, None, statement, source,
                       bool(diff > K * se) if better_when_larger else bool(diff < -K * se)))  # fmt: skip
        return out

    return rows
