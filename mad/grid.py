"""Grids: crossing config axes into grid points, each a complete, validated Config.

An axis is
- a dotted key with its values:               {"loop.lam": [1.0, 0.5]}
- a config group with a list of its options:  {"loop": ["replace", "fresh"]} (names are resolved
  from conf/, or config objects are used as they are)
- a linked axis, whose values set several keys together:
      {"real_fraction": {"values": [0.0, 0.5], "loop.n_real": [0, 50], "loop.n_syn": [100, 50]}}
Points are numbered in C order over the axes as given; a point's number is part of its loops'
random keys.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable, Optional, Sequence

from omegaconf.errors import OmegaConfBaseException

from mad.config import GROUPS, Config, ConfigError, axis_name, option_name, replace_path, validate

# Dimension names of results.nc other than grid axes: an axis may not take them.
RESERVED_NAMES = ("stat", "generation")
# Keys a grid may not vary: they set the size of the result arrays or how the run is organised.
FIXED_KEYS = ("loops", "generations", "seed", "chunk", "progress", "save", "grid", "logger", "resume", "shard", "metrics.every")

Resolver = Callable[[str, str], Any]


@dataclass(frozen=True)
class Axis:
    path: str  # a dotted key, a group name, or a linked axis's name
    values: tuple
    links: tuple[tuple[str, tuple], ...] = ()  # linked axis: (dotted key, its values) pairs

    @property
    def name(self) -> str:
        return self.path if self.links else axis_name(self.path)

    @property
    def coords(self) -> list:
        return [option_name(v) for v in self.values]

    def settings(self, i: int) -> list[tuple[str, Any]]:
        """The (dotted key, value) pairs the i-th value of this axis sets."""
        if self.links:
            return [(path, values[i]) for path, values in self.links]
        return [(self.path, self.values[i])]


def _linked_axis(name: str, spec: dict) -> Axis:
    if "values" not in spec or len(spec) < 2:
        raise ConfigError(f"linked grid axis {name!r} needs 'values' and at least one dotted key with a list of values")
    values = tuple(spec["values"])
    links = tuple((path, tuple(v)) for path, v in spec.items() if path != "values")
    for path, v in links:
        if len(v) != len(values):
            raise ConfigError(f"linked grid axis {name!r}: {path} has {len(v)} values, 'values' has {len(values)}")
    return Axis(name, values, links)


@dataclass(frozen=True)
class GridPoint:
    index: int
    coords: dict[str, Any]
    config: Config


def options(group: str) -> list[str]:
    """Names of the options shipped in conf/<group>/."""
    folder = resources.files("mad.conf") / group
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_option(group: str, name: str, overrides: Sequence[str] = ()) -> Any:
    """A group option as its typed dataclass: the `group` part of the config Hydra composes with
    `group=name` (and the run's other `overrides`, so that `loop.lam=0.8` still applies).

    The command line and the Python API both load options here, so a grid over `model` (whose
    options are `@package _global_` files that may also choose data or run sizes) gives the same
    grid points either way: each point takes the option's `group` node, and the other grid axes
    refine it.
    """
    return _load_option(group, name, tuple(overrides))


@functools.lru_cache(maxsize=256)
def _load_option(group: str, name: str, overrides: tuple[str, ...]) -> Any:
    """load_option, cached: options are immutable once composed."""
    if name not in options(group):
        raise ConfigError(f"{group}={name!r} is not a shipped option; choose one of {', '.join(options(group))}")
    overrides = [o for o in overrides if o.split("=")[0].lstrip("+~") != group] + [f"{group}={name}"]
    return getattr(_composed(tuple(overrides), f"{group}={name}"), group)


def _composed(overrides: tuple[str, ...], what: str) -> Config:
    """The typed Config Hydra composes from conf/ with these command-line overrides."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from mad.config import from_hydra, register_configs

    register_configs()
    try:
        if GlobalHydra.instance().is_initialized():
            cfg = compose(config_name="config", overrides=list(overrides))
        else:
            with initialize_config_module(config_module="mad.conf", version_base="1.3"):
                cfg = compose(config_name="config", overrides=list(overrides))
    except (OmegaConfBaseException, Exception) as err:  # Hydra names the option and the problem
        raise ConfigError(f"{what}: {err}") from None
    return from_hydra(cfg)


def compose(*overrides: str) -> tuple[Config, Resolver]:
    """(config, resolve): exactly what `python -m mad.sweep OVERRIDES...` runs, for the Python API:
    `mad.simulate(*mad.compose("model=gmm", "+grid=lambda"))` (the family's run sizes and data
    included, which a bare Config does not choose). `resolve` loads the grid's group options
    with the same overrides, as the command line does."""
    config = _composed(tuple(overrides), " ".join(overrides) or "the defaults")
    return config, lambda group, name: load_option(group, name, overrides)


def axes_of(config: Config) -> list[Axis]:
    out = []
    for path, values in config.grid.items():
        head = path.split(".")[0]
        if head in FIXED_KEYS or path in FIXED_KEYS:
            raise ConfigError(f"grid axis {path!r} is not allowed: the grid cannot vary {', '.join(FIXED_KEYS)}")
        if isinstance(values, dict):
            axis = _linked_axis(path, values)
            for linked, _ in axis.links:
                if linked.split(".")[0] in FIXED_KEYS or linked in FIXED_KEYS:
                    raise ConfigError(f"grid axis {path!r} may not set {linked!r}")
            out.append(axis)
            continue
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ConfigError(f"grid axis {path!r} must list its values, got {values!r}")
        values = tuple(values)
        if not values:
            raise ConfigError(f"grid axis {path!r} has no values")
        out.append(Axis(path, values))
    names = [a.name for a in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"grid axes must have distinct last keys; {sorted(dupes)} appears twice")
    for axis in out:
        if not axis.name or "/" in axis.name or axis.name in RESERVED_NAMES:
            raise ConfigError(
                f"grid axis {axis.path!r} cannot be stored under the name {axis.name!r}: "
                f"axis names must be non-empty, without '/', and not one of {', '.join(RESERVED_NAMES)}"
            )
        coords = [repr(c) for c in axis.coords]
        repeated = sorted({c for c in coords if coords.count(c) > 1})
        if repeated:
            raise ConfigError(f"grid axis {axis.path!r} lists {', '.join(repeated)} more than once; each value may appear once")
    setters: dict[str, str] = {}
    for axis in out:
        for key in [path for path, _ in axis.links] or [axis.path]:
            if key in setters:
                raise ConfigError(
                    f"grid axes {setters[key]!r} and {axis.path!r} both set {key!r}: "
                    "one axis per key (a linked axis sets all of its keys itself)"
                )
            setters[key] = axis.path
    return out


def expand(config: Config, resolve: Optional[Resolver] = None) -> tuple[list[Axis], list[GridPoint]]:
    """All grid points of `config`, validated; no grid gives one point."""
    resolve = resolve or load_option
    axes = axes_of(config)
    base = dataclasses.replace(config, grid={})
    points = []
    for index, combo in enumerate(itertools.product(*(range(len(a.values)) for a in axes))):
        point = base
        coords = {}
        # Group axes first, so that other axes refine the chosen option.
        for axis, i in sorted(zip(axes, combo), key=lambda ai: ai[0].path not in GROUPS or bool(ai[0].links)):
            for path, value in axis.settings(i):
                if path in GROUPS and isinstance(value, str):
                    value = resolve(path, value)
                point = replace_path(point, path, value)
            coords[axis.name] = axis.coords[i]
        coords = {a.name: coords[a.name] for a in axes}
        try:
            validate(point)
        except ConfigError as err:
            where = ", ".join(f"{k}={v}" for k, v in coords.items())
            raise ConfigError(f"{err} (at grid point {where})" if where else str(err)) from None
        points.append(GridPoint(index, coords, point))
    return axes, points
