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
    """(figures, HTML) of what the first computed grid points' models write or draw, where their
    family shows that (FamilySpec.showcase: language models, image generators; as many points as
    its showcase_points); ([], "") otherwise. Loops are recomputed from each point's recorded config."""
    from mad.config import from_yaml
    from mad.families import family_spec

    points = sorted(int(p) for p in np.atleast_1d(ds.attrs.get("grid_points", [])))
    configs = np.ravel(ds["point_config"].values) if "point_config" in ds else np.array([])
    if not points or not len(configs) or not str(configs[points[0]]):
        return [], ""
    spec = family_spec(from_yaml(str(configs[points[0]])).model.name)
    if spec.showcase is None:
        return [], ""
    shown, sections = [], []
    for point in points[: spec.showcase_points]:
        if str(configs[point]):
            paths, section = spec.showcase(from_yaml(str(configs[point])), Path(run_dir), point)
            shown.extend(paths)
            sections.append(section)
    return shown, "\n".join(sections)


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
