"""Overlay finished runs: ``python -m mad.compare RUN_DIR [RUN_DIR ...] [--out DIR]``.

Runs of different configs side by side, metric by metric: one curve per run and grid point (the
mean over loops with its +-2 sem band, the closed form dashed where the run has one), for every
metric the runs share, and a table of final-generation values (mean +- sem, closed form, z). The
figures go to DIR (default: `compare/` in the working directory) as PNG, the table to
DIR/compare.md and to the terminal.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from mad.files import atomic_path  # noqa: E402
from mad.report.figures import FRACTIONS, _label, _wants_log, grid_points, metrics_of  # noqa: E402

log = logging.getLogger("mad.compare")


def curves(runs: dict[str, xr.Dataset], metric: str) -> list[tuple[str, np.ndarray, np.ndarray, Optional[np.ndarray]]]:
    """(label, mean, sem, closed form or None) per run and grid point, for one metric."""
    out = []
    for name, ds in runs.items():
        if metric not in ds:
            continue
        for point in grid_points(ds):
            var = ds[metric].sel(point)
            theory = f"{metric}_theory"
            expected = ds[theory].sel(point).values if theory in ds else None
            if expected is not None and not np.isfinite(expected).any():
                expected = None
            label = f"{name}: {_label(point)}" if point else name
            out.append((label, var.sel(stat="mean").values, var.sel(stat="sem").values, expected))
    return out


def figure(runs: dict[str, xr.Dataset], metric: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    lines = curves(runs, metric)
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, max(len(lines), 1)))
    for (label, mean, sem, expected), colour in zip(lines, colours):
        g = np.arange(mean.size)
        ax.plot(g, mean, color=colour, label=label)
        ax.fill_between(g, mean - 2 * sem, mean + 2 * sem, color=colour, alpha=0.2, linewidth=0)
        if expected is not None:
            ax.plot(g, expected, "--", color=colour, linewidth=1.2)
    if lines and metric not in FRACTIONS and _wants_log(np.concatenate([m for _, m, _, _ in lines])):
        ax.set_yscale("log")
    ax.set_xlabel("generation t")
    ax.set_ylabel(metric + (" (fraction of loops)" if metric in FRACTIONS else " (mean over loops)"))
    ax.set_title(f"{metric}: mean +- 2 sem per run" + ("; dashed: closed form" if any(e is not None for *_, e in lines) else ""), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def table(runs: dict[str, xr.Dataset], metrics: Sequence[str]) -> str:
    """Markdown: each run and grid point's final mean +- sem per metric, its closed form and z."""
    lines = ["| metric | run | final mean +- sem | closed form | z |", "| --- | --- | --- | --- | --- |"]
    for metric in metrics:
        for label, mean, sem, expected in curves(runs, metric):
            value = f"{mean[-1]:.4g} +- {sem[-1]:.2g}"
            if expected is None:
                lines.append(f"| {metric} | {label} | {value} | - | - |")
                continue
            z = (mean[-1] - expected[-1]) / sem[-1] if sem[-1] > 0 else np.nan
            lines.append(f"| {metric} | {label} | {value} | {expected[-1]:.4g} | {z:+.2f} |")
    return "\n".join(lines) + "\n"


def load(run_dirs: Sequence[Path]) -> dict[str, xr.Dataset]:
    """results.nc of each run dir, named by the dir (its parent's name added where names repeat)."""
    from mad.results import read_netcdf

    runs: dict[str, xr.Dataset] = {}
    for folder in run_dirs:
        path = folder / "results.nc"
        if not path.exists():
            raise FileNotFoundError(f"{folder} holds no results.nc (is it a run directory of python -m mad.sweep?)")
        name = folder.resolve().name
        if name in runs:
            name = f"{folder.resolve().parent.name}/{name}"
        runs[name] = read_netcdf(path)
    return runs


def compare(run_dirs: Sequence[Path], out: Path) -> tuple[list[Path], str]:
    """Write the overlay figures and the table; returns (figure paths, table)."""
    runs = load(run_dirs)
    shared = [m for m in metrics_of(next(iter(runs.values()))) if all(m in ds for ds in runs.values())]
    if not shared:
        raise ValueError("the runs share no metric (different model families?)")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in shared:
        fig = figure(runs, metric)
        try:
            with atomic_path(out / f"{metric}.png") as tmp:
                fig.savefig(tmp, format="png")
        finally:
            plt.close(fig)
        paths.append(out / f"{metric}.png")
    text = table(runs, shared)
    with atomic_path(out / "compare.md") as tmp:
        tmp.write_text("# " + " vs ".join(runs) + "\n\n" + text)
    return paths, text


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mad.compare", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (each holding results.nc)")
    parser.add_argument("--out", type=Path, default=Path("compare"), help="folder for the figures and compare.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        paths, text = compare(args.runs, args.out)
    except (FileNotFoundError, ValueError) as err:
        print(f"mad.compare: {err}", file=sys.stderr)
        return 2
    print(text)
    log.info("figures: %s (%d); table: %s", args.out, len(paths), args.out / "compare.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
