"""Command line: ``python -m mad.sweep [overrides] [+grid=NAME] [--dry-run]``.

Composes the Hydra config (conf/, shipped as mad.conf), converts it once to the typed
`mad.config.Config`, validates every grid point, runs the sweep, and writes into the Hydra run
directory: `results.nc` (and `loops.nc` with save.per_loop=true), `figures/*.png`, `report.html`
and the W&B runs (offline by default, in `wandb/`). Finished grid points are kept in `.partial/`,
so an interrupted sweep rerun with the same run dir and `resume=true` continues; once results.nc
is written, `.partial/` is removed. With ``--dry-run`` it validates the grid and prints the plan
(`mad.plan`: programs, loops per call, memory, estimated time), compiling and writing nothing.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from mad.config import Config, ConfigError, from_hydra, register_configs
from mad.files import FolderBusy, run_lock
from mad.grid import load_option

# The simulation, figures and W&B are imported once the config is valid (a typo costs no more
# than composing and validating it).

log = logging.getLogger("mad.sweep")
register_configs()

# Run directories are named by time and by the overrides that made the run (conf/config.yaml):
# outputs/<date>/<time>_<overrides>, so a folder of runs can be read without opening them.
LONGEST_NAME = 120


def run_name_suffix(overrides: str) -> str:
    """`_<overrides>` for a run dir name ('' without overrides): characters a file name cannot
    hold replaced by '-', cut to LONGEST_NAME characters."""
    if not overrides:
        return ""
    safe = "".join(c if c.isalnum() or c in "+=,._-[]" else "-" for c in overrides)
    return "_" + safe[:LONGEST_NAME]


if not OmegaConf.has_resolver("mad_run_name"):
    OmegaConf.register_new_resolver("mad_run_name", run_name_suffix)

CHECKPOINTS = ".partial"  # finished grid points of this run dir, for resume=true
# Errors of a disk that cannot take the output: reported in one line, not as a traceback.
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EIO, errno.EFBIG}


def compose_option(group: str, name: str) -> Any:
    """A group option composed with this run's other overrides (so `loop.lam=0.8` still applies)."""
    return load_option(group, name, HydraConfig.get().overrides.task)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@hydra.main(config_path="pkg://mad.conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    for name in ("jax._src.xla_bridge", "jax._src.compilation_cache"):  # no "no TPU", "Resetting cache" noise
        logging.getLogger(name).setLevel(logging.WARNING)
    global SINGLE_RUN
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    SINGLE_RUN = HydraConfig.get().mode == RunMode.RUN
    out = Path(HydraConfig.get().runtime.output_dir)
    fresh = not (out / "results.nc").exists() and not (out / CHECKPOINTS).exists()
    try:
        with run_lock(out):
            config = from_hydra(cfg)
            log.info("run directory: %s", out)
            from mad.tracking import check_credentials

            check_credentials(config.logger.wandb)
            if DRY_RUN:
                from mad.plan import describe, plan

                print(describe(config, plan(config, resolve=compose_option)), flush=True)
                raise _Planned
            from mad.engine import use_compile_cache
            from mad.simulation import run

            use_compile_cache(config.compile_cache)
            _warm_up(config)
            # Earlier results are judged once every grid point is valid (an invalid config is
            # reported as such), before anything is computed; the grid is expanded once.
            judge = lambda: _check_earlier_results(out, config)  # noqa: E731
            result = run(config, resolve=compose_option, checkpoint=out / CHECKPOINTS, before=judge)
            _write(result, out, config)
    except _Finished as done:
        log.info("%s", done)
    except _Planned:
        if fresh:
            _remove_if_only_hydra(out)  # a dry run leaves nothing behind
    except (ConfigError, FolderBusy) as err:
        log.error("invalid config: %s" if isinstance(err, ConfigError) else "%s", err)
        if fresh and isinstance(err, ConfigError):
            _remove_if_only_hydra(out)
        sys.exit(2)
    except KeyboardInterrupt:
        log.error("interrupted; finished grid points are saved in %s: rerun with hydra.run.dir=%s resume=true", out / CHECKPOINTS, out)
        logging.shutdown()
        # Exit now: a chunk still computing on another thread (see mad.engine.wait) is not waited for.
        os._exit(130)
    except OSError as err:
        if err.errno not in WRITE_ERRORS:
            raise
        log.error("cannot write to %s: %s (finished grid points are kept in %s; free space and rerun with resume=true)", out, err, out / CHECKPOINTS)
        sys.exit(1)


def _warm_up(config: Config) -> None:
    """Import what writes the outputs (matplotlib and the figures, W&B) and start W&B's service on
    another thread while the simulation runs: the main thread mostly waits on XLA then, and the
    outputs follow sooner (about 0.5 s of the main job: 7.2 s against 7.7 s, medians of 3). A
    failure here is left to the real imports to report."""
    from mad.tracking import effective_mode

    def work():
        try:
            import mad.report  # noqa: F401

            if effective_mode(config.logger.wandb) != "disabled":
                import wandb

                wandb.setup()
        except Exception:  # noqa: BLE001
            pass

    threading.Thread(target=work, daemon=True, name="mad-warm-up").start()


class _Planned(Exception):
    """--dry-run printed the plan: nothing to compute."""


class _Finished(Exception):
    """The run dir already holds this config's complete results: resume=true has nothing to do."""


def _check_earlier_results(out: Path, config: Config) -> None:
    """A run dir holding the results of another config keeps them unless overwrite=true; the same
    config with resume=true finds them complete and computes nothing (raises _Finished)."""
    from mad.config import from_yaml
    from mad.results import ResultsError, fingerprint, read_netcdf

    path = out / "results.nc"
    if config.overwrite or not path.exists():
        return
    try:
        earlier = read_netcdf(path).attrs.get("config", "")
    except ResultsError:
        earlier = ""
    same = False
    if earlier:
        try:
            same = fingerprint(from_yaml(earlier), 0, False) == fingerprint(config, 0, False)
        except ConfigError:
            same = False
    if same and config.resume:
        raise _Finished(f"{path} already holds this config's results: nothing to compute (resume=true); pass overwrite=true to compute them again")
    if not (same and config.resume):
        what = "another config's" if not same else "this config's"
        raise ConfigError(
            f"{out} already holds {what} results ({path.name}); choose another hydra.run.dir, "
            f"{'continue with resume=true, ' if same else ''}or pass overwrite=true to replace them"
        )


def _remove_if_only_hydra(out: Path) -> None:
    """A config rejected in a new run dir leaves no directory behind (Hydra made it before us)."""
    import shutil

    leftovers = {p.name for p in out.iterdir()} - {".hydra", ".lock", "sweep.log"}
    if leftovers:
        return
    shutil.rmtree(out, ignore_errors=True)
    # and the empty date folder of outputs/<date>/<time> (never above the working directory)
    here, parent = Path.cwd().resolve(), out.resolve().parent
    while parent != here and here in parent.parents and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _write(result, out: Path, config: Config) -> None:
    """results.nc first (and loops.nc), then the figures, the report and the W&B runs."""
    from mad.report import showcase
    from mad.report.figures import write_figures
    from mad.report.html import write_report
    from mad.results import write_netcdf
    from mad.tracking import log_sweep, point_configs_of

    log.info("results: %s", write_netcdf(result.summary, out / "results.nc"))
    if result.loops is not None:
        log.info("per-loop trajectories: %s", write_netcdf(result.loops, out / "loops.nc"))
    _remove_checkpoints(out)
    figures = write_figures(result.summary, out / "figures", tuple(config.save.formats))
    shown, extra = showcase(result.summary, out)  # what the models write, for the families that show it
    figures = [*figures, *shown]
    log.info("figures: %s (%d)", out / "figures", len(figures))
    log.info("report: %s", write_report(result.summary, out, figures, extra))
    log_sweep(result.summary, out, _wandb_settings(config), figures, point_configs_of(result.points))


def _remove_checkpoints(out: Path) -> None:
    """The finished grid points of .partial/ are in results.nc now: they go (a rerun with
    resume=true and the same config finds results.nc complete and computes nothing)."""
    import shutil

    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)


def _wandb_settings(config: Config):
    """The W&B group defaults to the run dir's name, or the sweep dir's in a multirun (one group
    for all its jobs)."""
    wandb = config.logger.wandb
    if wandb.group is not None:
        return wandb
    hc = HydraConfig.get()
    folder = Path(hc.sweep.dir) if hc.mode == RunMode.MULTIRUN else Path(hc.runtime.output_dir)
    return dataclasses.replace(wandb, group=f"sweep-{folder.name}")


def _leave() -> None:
    """Exit 0 at once: logs and streams flushed, the W&B service (if any) shut down first."""
    if "wandb" in sys.modules:
        sys.modules["wandb"].teardown()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# `--dry-run` is ours, not Hydra's: taken off the command line before Hydra parses it.
DRY_RUN = False
SINGLE_RUN = False  # set by main() in Hydra's RUN mode (a multirun's jobs may run in other processes)

if __name__ == "__main__":
    if "--dry-run" in sys.argv:
        sys.argv.remove("--dry-run")
        DRY_RUN = True
    main()
    # A single run has written, closed and flushed everything (W&B runs are finished in
    # mad.tracking): it leaves without the interpreter's teardown of JAX, XLA and matplotlib, 0.6 s
    # of the main job. A multirun exits as usual: a launcher's worker processes must be shut down.
    if SINGLE_RUN:
        _leave()
