"""Figures and the static HTML report of a run directory.

    python -m mad.report RUN_DIR     # rebuilds RUN_DIR/figures/*.png and RUN_DIR/report.html
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from mad.report.figures import write_figures
from mad.report.html import write_report


def showcase(ds: xr.Dataset, run_dir: str | Path) -> tuple[list[Path], str]:
    """(figures, HTML) of what the first computed grid point's models write or draw, where its
    family shows that (FamilySpec.showcase: the language models); ([], "") otherwise. The loop is
    recomputed from the point's recorded config."""
    from mad.config import from_yaml
    from mad.families import family_spec

    points = np.atleast_1d(ds.attrs.get("grid_points", []))
    configs = np.ravel(ds["point_config"].values) if "point_config" in ds else np.array([])
    if not len(points) or not len(configs):
        return [], ""
    first = int(min(points))
    if not str(configs[first]):
        return [], ""
    config = from_yaml(str(configs[first]))
    hook = family_spec(config.model.name).showcase
    return hook(config, Path(run_dir), first) if hook is not None else ([], "")


def build(run_dir: str | Path, ds: xr.Dataset | None = None, force: bool = False) -> Path:
    """Write the figures and report.html of a run directory (from its results.nc unless given).
    Read from results.nc, figures newer than it are kept (`force`: draw every one again)."""
    from mad.results import read_netcdf

    run_dir = Path(run_dir)
    newer_than = None
    if ds is None:
        ds = read_netcdf(run_dir / "results.nc")
        newer_than = None if force else (run_dir / "results.nc").stat().st_mtime
    figures = write_figures(ds, run_dir / "figures", newer_than=newer_than)
    shown, extra = showcase(ds, run_dir)
    return write_report(ds, run_dir, [*figures, *shown], extra)


__all__ = ["build", "showcase", "write_figures", "write_report"]
