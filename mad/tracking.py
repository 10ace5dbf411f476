"""Weights & Biases logging of a finished sweep: one W&B run per grid point, grouped by the sweep.

Each run holds the grid point's resolved config and the sweep's provenance (mad and jax versions,
git commit, command line, device), a `generation` step metric and per metric the
series `<metric>/mean`, `/q05`, `/q50`, `/q95` and, where a closed form exists, `/theory`; the final
generation as summary scalars; and the sweep's figures as images. Offline by default: the files
land in RUN_DIR/wandb and `wandb sync RUN_DIR/wandb/offline-run-*` publishes them. The
environment variable WANDB_MODE, when set, takes precedence over `logger.wandb.mode` (wandb's
own convention; the tests set it to disabled).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import xarray as xr

from mad.config import ConfigError, WandbConfig

# mad.report.figures (the dataset's metrics, grid axes and points) is imported where it is used:
# it loads matplotlib, and the command line imports this module for check_credentials before any
# compute, leaving matplotlib to the thread that warms the outputs up (mad.sweep._warm_up).

log = logging.getLogger("mad.tracking")
BANDS = ("mean", "q05", "q50", "q95")


def effective_mode(cfg: WandbConfig) -> str:
    return os.environ.get("WANDB_MODE", cfg.mode)


def check_credentials(cfg: WandbConfig) -> None:
    """Online logging needs an API key: look for one before any compute (WANDB_API_KEY, or a netrc
    entry for the W&B host as `wandb login` writes), not after it."""
    if effective_mode(cfg) != "online" or os.environ.get("WANDB_API_KEY"):
        return
    import netrc
    from urllib.parse import urlparse

    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        found = netrc.netrc(os.environ.get("NETRC")).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        found = None
    if not found:
        raise ConfigError(
            f"logger.wandb.mode=online needs a W&B API key for {host} (WANDB_API_KEY, or `wandb login`); "
            "none was found: log in, or use logger.wandb.mode=offline and `wandb sync` later"
        )


def point_history(ds: xr.Dataset, point: dict) -> list[dict]:
    """Per generation, the logged values of one grid point."""
    from mad.report.figures import metrics_of

    here = ds.sel(point)
    columns = {}  # one selection per (metric, band), then plain floats: xarray per value is slow
    for metric in metrics_of(ds):
        bands = here[metric].sel(stat=list(BANDS)).transpose("stat", "generation").values
        for band, values in zip(BANDS, bands):
            columns[f"{metric}/{band}"] = values.tolist()
        theory = f"{metric}_theory"
        if theory in ds:
            columns[f"{metric}/theory"] = here[theory].transpose("generation").values.tolist()
    rows = []
    for g, generation in enumerate(ds.generation.values.tolist()):
        row = {"generation": int(generation)}
        for name, values in columns.items():
            if not name.endswith("/theory") or np.isfinite(values[g]):
                row[name] = float(values[g])
        rows.append(row)
    return rows


def provenance_of(ds: xr.Dataset) -> dict:
    """Where a sweep's results came from: results.nc's attributes as mad.simulation writes them
    (versions, git commit, command, device, loops, seed, ...), but the config, logged on its own."""
    return {key: str(value) for key, value in ds.attrs.items() if key != "config"}


def log_sweep(
    ds: xr.Dataset,
    run_dir: Path,
    cfg: WandbConfig,
    figures: Sequence[Path],
    point_configs: Optional[dict] = None,
) -> Optional[Path]:
    """Log every grid point of a finished sweep; returns the W&B directory (None when disabled)."""
    mode = effective_mode(cfg)
    if mode == "disabled":
        return None
    from mad.report.figures import grid_points
    group = cfg.group or f"sweep-{run_dir.name}"
    base_config = ds.attrs.get("config", "")
    written: list[Path] = []  # this attempt's offline runs
    try:
        for point in grid_points(ds):
            written.append(_log_point(ds, point, run_dir, cfg, mode, group, base_config, figures, point_configs))
    except BaseException:
        # An interrupted attempt leaves no partial offline runs beside the next attempt's.
        if mode == "offline":
            for folder in written:
                shutil.rmtree(folder, ignore_errors=True)
        raise
    folder = run_dir / "wandb"
    log.info("W&B %s runs (%d, group %s): %s", mode, len(grid_points(ds)), group, folder)
    if mode == "offline":
        log.info("publish them with: wandb sync %s/offline-run-*", folder)
    if mode == "online":
        report = build_report(ds, cfg, group)
        report.save()
        log.info("W&B report: %s", report.url)
    return folder


def _log_point(ds, point, run_dir, cfg, mode, group, base_config, figures, point_configs) -> Path:
    """One grid point's W&B run; returns its folder."""
    import wandb

    label = ", ".join(f"{k}={v}" for k, v in point.items()) or "all"
    config = {"sweep_config": base_config, "grid_point": point, "provenance": provenance_of(ds)}
    if point_configs is not None:
        config["point"] = point_configs.get(tuple(point.items()))
    run = wandb.init(
        mode=mode,
        project=cfg.project,
        entity=cfg.entity,
        group=group,
        job_type="grid_point",
        name=label,
        tags=list(cfg.tags),
        dir=str(run_dir),
        config=config,
        reinit="finish_previous",
        # The versions that matter are in config.provenance; W&B's own list of every installed
        # package reads each package's metadata, a third of a run's logging time.
        settings=wandb.Settings(silent=True, console="off", x_save_requirements=False),
    )
    folder = Path(run.dir).parent
    try:
        run.define_metric("generation")
        run.define_metric("*", step_metric="generation")
        history = point_history(ds, point)
        for row in history:
            run.log(row)
        for key, value in history[-1].items():
            run.summary[f"final/{key}"] = value
        run.log({f"figures/{p.stem}": wandb.Image(str(p)) for p in figures})
    except BaseException:
        run.finish(exit_code=1)
        if mode == "offline":
            shutil.rmtree(folder, ignore_errors=True)
        raise
    run.finish()
    return folder


def build_report(ds: xr.Dataset, cfg: WandbConfig, group: str):
    """A W&B Report for a sweep (wandb-workspaces): per metric, a line plot of its median and
    closed form against generation, lines grouped by the first grid axis."""
    import wandb_workspaces.reports.v2 as wr

    from mad.report.figures import grid_axes, metrics_of

    axes = grid_axes(ds)
    runset = wr.Runset(
        entity=cfg.entity or "",
        project=cfg.project,
        name=group,
        filters=f"Metric('Group') == '{group}'",
        groupby=[f"grid_point.{a}" for a in axes[:1]],
    )
    panels = []
    for metric in metrics_of(ds):
        series = [f"{metric}/q50", f"{metric}/mean"] + ([f"{metric}/theory"] if f"{metric}_theory" in ds else [])
        panels.append(
            wr.LinePlot(
                title=f"{metric}: median, mean and closed form",
                x="generation",
                y=series,
                groupby=wr.Config(f"grid_point.{axes[0]}") if axes else None,
                log_y=metric in ("trace_ratio", "kl_fwd") or None,
            )
        )
    return wr.Report(
        project=cfg.project,
        entity=cfg.entity or "",
        title=f"mad sweep {group}",
        description=f"{ds.attrs.get('loops', '?')} loops per grid point; axes: {', '.join(axes) or 'none'}",
        blocks=[
            wr.H1(text=f"mad sweep {group}"),
            wr.P(text="Median and mean over loops per grid point; the closed form is the /theory series."),
            wr.PanelGrid(runsets=[runset], panels=panels),
        ],
    )


def point_configs_of(points) -> dict:
    """{(coords...): resolved config dict} for attaching each grid point's own config."""
    return {tuple(p.coords.items()): dataclasses.asdict(p.config) for p in points}
