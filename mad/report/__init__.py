"""Figures and the static HTML report of a run directory.

    python -m mad.report RUN_DIR     # rebuilds RUN_DIR/figures/*.png and RUN_DIR/report.html
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from mad.report.figures import write_figures
from mad.report.html import write_report


def build(run_dir: str | Path, ds: xr.Dataset | None = None) -> Path:
    """Write the figures and report.html of a run directory (from its results.nc unless given)."""
    from mad.results import read_netcdf

    run_dir = Path(run_dir)
    ds = read_netcdf(run_dir / "results.nc") if ds is None else ds
    figures = write_figures(ds, run_dir / "figures")
    return write_report(ds, run_dir, figures)


__all__ = ["build", "write_figures", "write_report"]
