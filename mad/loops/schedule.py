"""Schedules over generations: the synthetic sample size of each loop step (config group `schedule`).

Shumailov et al. (2024) remark that a sample size growing superlinearly with the generation stops
the variance collapse of the fully synthetic loop; a schedule makes that, and the synthetic share of
a growing web, one config key. `sizes` turns a `ScheduleConfig` into the static array n_t of the
fits of generations 2..G; loops that accept a schedule (their spec's `schedules`) index it with a
traced step counter, and families draw samples of a traced size in law (their spec's `sized_draws`),
so one compiled program serves every generation and a fit on 10^6 points costs what one on 100 does.
The closed forms take the same array (mad.theory.gaussian, mad.theory.discrete).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from mad.config import Config, ConfigError, ScheduleConfig

KINDS = ("constant", "linear", "power", "logistic")
# Sizes are float32-exact integers below 2^24; a fit on more points gains nothing a run can see.
LARGEST = 2**24


def _curve(schedule: ScheduleConfig, n_syn: int, generations: int) -> np.ndarray:
    """The real-valued sizes of a named growing schedule (not constant, not a list)."""
    t = np.arange(2, generations + 1, dtype=np.float64)
    kind = schedule.n_syn
    if kind == "linear":
        return n_syn * t
    if kind == "power":
        return n_syn * t**schedule.power
    top = schedule.n_max
    mid = generations / 2 if schedule.midpoint is None else schedule.midpoint
    width = generations / 10 if schedule.width is None else schedule.width
    return n_syn + (top - n_syn) / (1.0 + np.exp(-(t - mid) / width))


def sizes(schedule: ScheduleConfig, n_syn: int, generations: int) -> Optional[np.ndarray]:
    """n_t for the fits of generations 2..G (int64, G - 1 entries), or None for a constant size."""
    if schedule.n_syn == "constant":
        return None
    if isinstance(schedule.n_syn, (list, tuple)):
        return np.asarray(schedule.n_syn, np.int64)
    return np.rint(_curve(schedule, n_syn, generations)).astype(np.int64)


def of(config: Config) -> Optional[np.ndarray]:
    """The schedule of a config's loop (None: every step draws loop.n_syn)."""
    return sizes(config.schedule, config.loop.n_syn, config.generations)


def check_keys(config: Config) -> None:
    """The schedule's own keys (before families read the schedule): ConfigError naming the key."""
    schedule, generations = config.schedule, config.generations
    kind = schedule.n_syn
    if isinstance(kind, (list, tuple)):
        if len(kind) != generations - 1:
            raise ConfigError(
                f"schedule.n_syn has {len(kind)} entries; a list needs one size per loop step, generations - 1 = {generations - 1}"
            )
        for size in kind:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ConfigError(f"schedule.n_syn: {size!r} must be an integer >= 1 (one sample size per loop step)")
    elif kind not in KINDS:
        raise ConfigError(f"schedule.n_syn={kind!r} is not allowed; choose one of {', '.join(KINDS)} or a list of sizes")
    if not (isinstance(schedule.power, (int, float)) and math.isfinite(schedule.power) and schedule.power >= 0):
        raise ConfigError(f"schedule.power={schedule.power!r} must be a finite number >= 0 (n_t = loop.n_syn * t^power)")
    if kind == "logistic":
        if schedule.n_max is None or isinstance(schedule.n_max, bool) or not isinstance(schedule.n_max, int) or schedule.n_max < 1:
            raise ConfigError(f"schedule.n_max={schedule.n_max!r} must be an integer >= 1 for schedule.n_syn=logistic (the size it tends to)")
        if schedule.width is not None and not (isinstance(schedule.width, (int, float)) and schedule.width > 0):
            raise ConfigError(f"schedule.width={schedule.width!r} must be > 0 (generations over which the size turns)")
    if kind != "constant":
        curve = np.asarray(kind, np.float64) if isinstance(kind, (list, tuple)) else _curve(schedule, config.loop.n_syn, generations)
        if curve.size and not np.max(curve) <= LARGEST:
            step = int(np.argmax(curve)) + 2
            raise ConfigError(f"schedule.n_syn reaches {np.max(curve):.3g} points (generation {step}); keep every size <= 2^24 = {LARGEST}")


def validate(config: Config, need: int, why: str) -> None:
    """Whether the loop and family can follow the schedule, and every size is valid: ConfigError
    naming the key, before anything compiles (after `check_keys`)."""
    from mad.families import FAMILIES, family_spec
    from mad.loops import LOOPS, loop_spec

    schedule, generations = config.schedule, config.generations
    kind = schedule.n_syn
    if kind == "constant":
        return
    spec, family = loop_spec(config.loop.name), family_spec(config.model.name)
    if not spec.schedules:
        takes = ", ".join(name for name, s in LOOPS.items() if s.schedules)
        raise ConfigError(f"schedule.n_syn={kind!r} is not available for loop={config.loop.name}; loops with a schedule: {takes}")
    if not family.sized_draws(config):
        able = "; ".join(f"model={name}" + (f" ({s.sized_draws_note})" if s.sized_draws_note else "") for name, s in FAMILIES.items() if s.sized_draws_note is not None)
        raise ConfigError(
            f"schedule.n_syn={kind!r} needs a family that draws samples of any size in law, so that one compiled "
            f"program serves every generation: {able} (got model={config.model.name})"
        )
    if config.loop.keep < 1.0:
        raise ConfigError(f"loop.keep={config.loop.keep} (curation) draws a static number of candidates: use it with schedule.n_syn=constant")
    n = sizes(schedule, config.loop.n_syn, generations)
    if n.size and n.min() < need:
        step = int(np.argmin(n)) + 2
        raise ConfigError(f"schedule.n_syn gives {int(n.min())} points in generation {step}, too few: {why}")
    if spec.accumulates and config.loop.init_size + int(n.sum()) >= 2**31:
        raise ConfigError(f"schedule.n_syn pools {config.loop.init_size + int(n.sum())} points by the last generation; the pool must stay below 2^31")
