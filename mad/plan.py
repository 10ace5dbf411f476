"""What a sweep will do, before anything compiles: `python -m mad.sweep ... --dry-run`.

For every compiled program of the grid: its family and loop, the grid points it runs, loops per
compiled call and the number of calls, the device memory of one call (`mad.engine.lane_terms`,
the estimate that sizes the calls) and an estimated time from the cost model that
`python -m benchmarks.scaling` measures and ships as conf/scaling.yaml:

    seconds = compile + loop-generations / (rate * speed(lanes) / speed(lanes0)) * (d / d0)^a * (n / n0)^b

with the family's compile seconds, loop-generations per second, lanes per call and sizes
(d0, n0, lanes0) of its default run; speed(lanes), the Gaussian's loop-generations per second
against the loops x grid points of one compiled call (small calls pay a fixed cost per
generation; calls larger than the family's default run are not counted faster); the exponents
a, b of d and n fitted on the Gaussian family (n with the backend's own exponent); and for the
Gaussian family its compile seconds against d (the fused algebra's programs grow with d up to
where LAPACK takes over). It is an estimate for the machine the model was measured on, not a
promise.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import NamedTuple, Optional

import numpy as np

from mad.config import Config


class ProgramPlan(NamedTuple):
    family: str
    loop: str
    points: int  # grid points sharing the program
    loops_per_call: int  # per grid point
    calls: int
    call_bytes: int  # device memory of one call
    compile_s: Optional[float]
    run_s: Optional[float]


def cost_model() -> dict:
    """conf/scaling.yaml as a dict ({} where none was measured)."""
    from omegaconf import OmegaConf

    path = resources.files("mad.conf") / "scaling.yaml"
    if not path.is_file():
        return {}
    return OmegaConf.to_container(OmegaConf.create(path.read_text()))


def speed(model: dict, lanes: float) -> float:
    """Relative loop-generations per second at `lanes` loops x grid points per compiled call (small
    calls pay a fixed cost per generation), interpolated in log-log on the measured curve."""
    curve = model.get("lanes") or []
    return curve_at(curve, lanes) if len(curve) >= 2 else 1.0


def curve_at(curve, x: float) -> float:
    """A measured [[size, value], ...] curve at x, interpolated in log-log (clamped at its ends)."""
    sizes, values = np.log([c[0] for c in curve]), np.log([c[1] for c in curve])
    return float(np.exp(np.interp(np.log(max(x, 1)), sizes, values)))


def estimate(config: Config, loop_generations: int, model: dict, lanes: Optional[int] = None) -> tuple[Optional[float], Optional[float]]:
    """(compile seconds, run seconds) of `loop_generations` of one program like `config`, run in
    calls of `lanes` loops x grid points (default: as many as the family's default run).

    Calls smaller than the family's default run take the lanes curve's slow-down (a fixed cost
    per call and generation); larger ones are not counted faster: the curve's gain from 1000 to
    8192 lanes (measured over 10 generations, where that fixed cost weighs most) did not show in
    the main job at 100 generations, whose 100,000 loops ran no faster per loop-generation than its
    1000. The compile-seconds-against-d curve was measured on the Gaussian family and scales only
    its compile time."""
    family = model.get("families", {}).get(config.model.name)
    if family is None:
        return None, None
    exponents = model.get("exponents", {})
    scale = max(speed(model, family.get("lanes", 1)) / speed(model, lanes), 1.0) if lanes else 1.0
    compile_s = float(family["compile"])
    # The cost model names the family its d curve was measured on (`curves_of`).
    if config.model.name == model.get("curves_of") and len(model.get("dim_compile") or []) >= 2:
        compile_s *= curve_at(model["dim_compile"], config.data.dim) / curve_at(model["dim_compile"], family["dim"])
    dim_exponent = exponents.get("dim")
    if dim_exponent is not None:
        scale *= (config.data.dim / family["dim"]) ** dim_exponent
    backend = getattr(config.model, "backend", "samples")
    n_exponent = exponents.get("n_suffstats" if backend == "suffstats" else "n_samples")
    if n_exponent is not None:
        scale *= (max(config.loop.n_syn, 1) / family["n_syn"]) ** n_exponent
    return compile_s, loop_generations / float(family["rate"]) * scale


def plan(config: Config, resolve=None) -> list[ProgramPlan]:
    """The programs `mad.simulate(config)` would compile and how it would call them; validates every
    grid point (a ConfigError names the key at fault) and compiles nothing."""
    import jax

    from mad import grid as grids
    from mad.engine import call_loops, check_memory, lane_bytes
    from mad.simulation import call_chunk, programs_of

    _, points = grids.expand(config, resolve)
    model, devices = cost_model(), jax.local_device_count()
    out = []
    for program, members in programs_of(config, points).items():
        check_memory(program, len(members), config.loops)  # MemoryRefused, as the run would say
        per_call = call_loops(program, len(members), config.loops, call_chunk(config, len(members)), devices)
        compile_s, run_s = estimate(members[0].config, config.loops * config.generations * len(members), model, per_call * len(members))
        out.append(
            ProgramPlan(
                program.model.name, program.loop.name, len(members), per_call, math.ceil(config.loops / per_call),
                per_call * len(members) * lane_bytes(program), compile_s, run_s,
            )
        )  # fmt: skip
    return out


def describe(config: Config, plans: list[ProgramPlan]) -> str:
    """The plan as the table `--dry-run` prints, with the totals and what the estimate rests on."""
    from mad.engine import memory_limit

    model = cost_model()
    rows = [("program", "family", "loop", "grid points", "loops / call", "calls", "memory / call", "compile", "run")]
    for i, p in enumerate(plans, 1):
        rows.append(
            (str(i), p.family, p.loop, str(p.points), f"{p.loops_per_call:,}", str(p.calls), _size(p.call_bytes),
             _seconds(p.compile_s), _seconds(p.run_s))
        )  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if c >= 3 else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    points = sum(p.points for p in plans)
    lines.append("")
    lines.append(f"{points} grid point(s) x {config.loops:,} loops x {config.generations} generations = "
                 f"{points * config.loops * config.generations:,} loop-generations in {len(plans)} program(s)")  # fmt: skip
    known = [p for p in plans if p.run_s is not None]
    limit, where = memory_limit()
    lines.append(f"largest call: {_size(max(p.call_bytes for p in plans))} of {_size(limit)} ({where})")
    if known:
        total = sum(p.compile_s + p.run_s for p in known)
        missing = f" (no estimate for {len(plans) - len(known)} program(s) of a family not in the cost model)" if len(known) < len(plans) else ""
        lines.append(f"estimated time: {_seconds(total)} compiling and running{missing}, plus imports, results and figures; "
                     f"from conf/scaling.yaml ({model.get('device', 'unknown device')}), good to a factor of about two")  # fmt: skip
    else:
        lines.append("estimated time: none (no cost model: run python -m benchmarks.scaling)")
    return "\n".join(lines)


def _size(n: float) -> str:
    for unit, step in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= step:
            return f"{n / step:.3g} {unit}"
    return f"{n:.0f} B"


def _seconds(s: Optional[float]) -> str:
    if s is None:
        return "?"
    return f"{s:.3g} s" if s < 120 else f"{s / 60:.3g} min"
