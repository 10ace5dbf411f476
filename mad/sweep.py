"""Command line: ``python -m mad.sweep [overrides] [+grid=NAME]``.

Composes the Hydra config (conf/, shipped as mad.conf), converts it once to the typed
`mad.config.Config`, validates every grid point, runs the sweep, and writes `results.nc`
(and `loops.nc` with save.per_loop=true) into the Hydra run directory.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf

from mad.config import GROUPS, Config, ConfigError, register_configs
from mad.results import write_netcdf
from mad.simulation import run

log = logging.getLogger("mad.sweep")
register_configs()


def flatten_grid(node: Any, prefix: str = "") -> dict[str, list]:
    """Nested grid config -> {dotted key: values}; a list at a group name chooses group options."""
    if isinstance(node, (list, tuple, ListConfig)):
        return {prefix: list(node)}
    if not isinstance(node, (dict, DictConfig)):
        raise ConfigError(f"grid.{prefix}={node!r}: a grid axis must be a list of values")
    out: dict[str, list] = {}
    for key, value in node.items():
        out.update(flatten_grid(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def to_config(cfg: DictConfig) -> Config:
    """The composed DictConfig as the typed Config, with the grid flattened to dotted keys."""
    grid = OmegaConf.to_container(cfg.grid, resolve=True)
    config: Config = OmegaConf.to_object(cfg)
    return Config(**{**config.__dict__, "grid": flatten_grid(grid) if grid else {}})


def compose_option(group: str, name: str) -> Any:
    """A group option composed with this run's other overrides (so `loop.lam=0.8` still applies)."""
    overrides = [o for o in HydraConfig.get().overrides.task if o.split("=")[0].lstrip("+~") != group]
    try:
        cfg = hydra.compose(config_name="config", overrides=overrides + [f"{group}={name}"])
    except Exception as err:  # Hydra reports a missing option with the list of available ones
        raise ConfigError(f"grid over {group}: {err}") from None
    return getattr(to_config(cfg), group)


@hydra.main(config_path="pkg://mad.conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)  # no "no TPU" noise
    out = Path(HydraConfig.get().runtime.output_dir)
    try:
        result = run(to_config(cfg), resolve=compose_option)
    except ConfigError as err:
        log.error("invalid config: %s", err)
        sys.exit(2)
    path = write_netcdf(result.summary, out / "results.nc")
    log.info("results: %s", path)
    if result.loops is not None:
        log.info("per-loop trajectories: %s", write_netcdf(result.loops, out / "loops.nc"))


if __name__ == "__main__":
    main()
