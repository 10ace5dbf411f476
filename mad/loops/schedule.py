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
from typing import NamedTuple, Optional

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
    return n_syn + (schedule.n_max - n_syn) * _turn(schedule, generations)


def _turn(schedule: ScheduleConfig, generations: int) -> np.ndarray:
    """The logistic share 1 / (1 + exp(-(t - midpoint) / width)) for t = 2..G."""
    t = np.arange(2, generations + 1, dtype=np.float64)
    mid = generations / 2 if schedule.midpoint is None else schedule.midpoint
    width = generations / 10 if schedule.width is None else schedule.width
    return 1.0 / (1.0 + np.exp(-(t - mid) / width))


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


# ----------------------------------------------------------------------------- the other knobs

KNOBS = ("n_real", "lam", "real_weight")


class Steps(NamedTuple):
    """Per-step values of the knobs a schedule lists (None: the loop's own, constant value), for
    the fits of generations 2..G."""

    n_real: Optional[np.ndarray] = None
    lam: Optional[np.ndarray] = None
    real_weight: Optional[np.ndarray] = None

    def configs(self, loop, sizes, generations: int) -> list:
        """The LoopConfig of each step 2..G, with n_syn from `sizes` (None: constant)."""
        import dataclasses

        out = []
        for i in range(generations - 1):
            keys = {} if sizes is None else {"n_syn": int(sizes[i])}
            for name in KNOBS:
                values = getattr(self, name)
                if values is not None:
                    keys[name] = int(values[i]) if name == "n_real" else float(values[i])
            out.append(dataclasses.replace(loop, **keys))
        return out


def _knob_curve(config: Config, name: str) -> np.ndarray:
    """A named curve of a knob for steps 2..G: from the loop's value in the first step (generation 2)
    to schedule.<name>_end in the last (generation G); logistic turns at `midpoint` over `width`."""
    schedule, generations = config.schedule, config.generations
    start, end = float(getattr(config.loop, name)), float(getattr(schedule, f"{name}_end"))
    kind = getattr(schedule, name)
    if kind == "logistic":
        share = _turn(schedule, generations)
    else:
        share = np.arange(generations - 1, dtype=np.float64) / max(generations - 2, 1)
        if kind == "power":
            share = share**schedule.power
    values = start + (end - start) * share
    return np.rint(values).astype(np.int64) if name == "n_real" else values


def curved(config: Config) -> set[str]:
    """The knobs that follow a named curve: their loop value is the curve's start, a static setting."""
    return {name for name in KNOBS if getattr(config.schedule, name) in KINDS and getattr(config.schedule, name) != "constant"}


def _knob_values(config: Config, name: str) -> np.ndarray:
    values = getattr(config.schedule, name)
    if isinstance(values, (list, tuple)):
        return np.asarray(values, np.int64 if name == "n_real" else np.float64)
    return _knob_curve(config, name)


def steps_of(config: Config) -> Optional[Steps]:
    """The knob schedules of a config (None when n_real, lam and real_weight are all constant)."""
    scheduled = [name for name in KNOBS if getattr(config.schedule, name) != "constant"]
    if not scheduled:
        return None
    return Steps(**{name: _knob_values(config, name) for name in scheduled})


def _check_knobs(config: Config) -> None:
    """Lists of the right length and range, or named curves with an end, for schedule.n_real, .lam,
    .real_weight."""
    from mad.loops import loop_spec

    generations, loop, schedule = config.generations, config.loop, config.schedule
    spec = loop_spec(loop.name)
    for name in KNOBS:
        kind, end = getattr(schedule, name), getattr(schedule, f"{name}_end")
        if kind == "constant" or isinstance(kind, (list, tuple)):
            if end is not None:
                raise ConfigError(f"schedule.{name}_end={end!r} is read only by a named schedule.{name} (linear, power, logistic)")
        if kind == "constant":
            continue
        if isinstance(kind, (list, tuple)):
            if len(kind) != generations - 1:
                raise ConfigError(f"schedule.{name} has {len(kind)} entries; a list needs one value per loop step, generations - 1 = {generations - 1}")
            values = list(kind)
        elif kind in KINDS:
            if end is None:
                raise ConfigError(f"schedule.{name}={kind} runs from loop.{name} to schedule.{name}_end: set schedule.{name}_end")
            _check_value(f"schedule.{name}_end={end!r}", name, end)  # the curve lies between the loop's value and its end
            if name == "real_weight" and loop.real_weight is None:
                raise ConfigError("schedule.real_weight runs from loop.real_weight to schedule.real_weight_end: set loop.real_weight (the first step's weight)")
            values = _knob_curve(config, name).tolist()
        else:
            raise ConfigError(f"schedule.{name}={kind!r} is not allowed; choose one of {', '.join(KINDS)} or a list of one value per loop step")
        if not spec.schedules:
            raise ConfigError(f"schedule.{name} is not available for loop={loop.name}: it follows no schedule")
        for v in values:
            _check_value(f"schedule.{name}: {v!r}", name, v)
    listed = {name: isinstance(getattr(schedule, name), (list, tuple)) for name in KNOBS}
    if listed["lam"] and loop.lam != 1.0:
        raise ConfigError(f"schedule.lam lists every step's value and replaces loop.lam: leave loop.lam=1 (got {loop.lam})")
    if schedule.real_weight != "constant":
        if not spec.weighted or loop.n_real == 0:
            raise ConfigError("schedule.real_weight weighs a real part: use loop=augment or loop=fresh with loop.n_real >= 1")
        if listed["real_weight"] and loop.real_weight is not None:
            raise ConfigError(f"schedule.real_weight lists every step's weight and replaces loop.real_weight: leave loop.real_weight null (got {loop.real_weight})")
    if schedule.n_real != "constant":
        if spec.real != "fresh" or loop.n_real == 0:
            raise ConfigError("schedule.n_real sets the fresh real points of each step: use loop=fresh with loop.n_real >= 1 (the first value's default)")


def _check_value(label: str, name: str, v) -> None:
    """One value of knob `name` in its range: ConfigError starting with `label`."""
    if name == "n_real":
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{label} must be an integer >= 1 (real points of one step)")
    elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"{label} must be a finite number")
    elif name == "lam" and not 0.0 < v <= 1.0:
        raise ConfigError(f"{label} must lie in (0, 1] (1 = unbiased sampling)")
    elif name == "real_weight" and not 0.0 <= v <= 1.0:
        raise ConfigError(f"{label} must lie in [0, 1]")


def check_keys(config: Config) -> None:
    """The schedule's own keys (before families read the schedule): ConfigError naming the key."""
    schedule, generations = config.schedule, config.generations
    if not (isinstance(schedule.power, (int, float)) and math.isfinite(schedule.power) and schedule.power >= 0):
        raise ConfigError(f"schedule.power={schedule.power!r} must be a finite number >= 0 (n_t = loop.n_syn * t^power)")
    if schedule.width is not None and not (isinstance(schedule.width, (int, float)) and schedule.width > 0):
        raise ConfigError(f"schedule.width={schedule.width!r} must be > 0 (generations over which a logistic schedule turns)")
    _check_knobs(config)
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
    if kind == "logistic":
        if schedule.n_max is None or isinstance(schedule.n_max, bool) or not isinstance(schedule.n_max, int) or schedule.n_max < 1:
            raise ConfigError(f"schedule.n_max={schedule.n_max!r} must be an integer >= 1 for schedule.n_syn=logistic (the size it tends to)")
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
    family = family_spec(config.model.name)
    if schedule.lam != "constant" and not family.sampling_bias:
        raise ConfigError(f"schedule.lam has no meaning for model={config.model.name} (it has no sampling bias); leave it constant")
    if schedule.n_real != "constant":
        if not family.sized_draws(config):
            able = "; ".join(f"model={name}" + (f" ({s.sized_draws_note})" if s.sized_draws_note else "") for name, s in FAMILIES.items() if s.sized_draws_note is not None)
            raise ConfigError(f"schedule.n_real needs a family that draws samples of any size in law: {able} (got model={config.model.name})")
        smallest = int(steps_of(config).n_real.min()) + (config.loop.n_syn if kind == "constant" else 0)
        if smallest < need:
            raise ConfigError(f"schedule.n_real gives a fit of {smallest} points, too few: {why}")
    if kind == "constant":
        return
    spec = loop_spec(config.loop.name)
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
