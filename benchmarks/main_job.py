"""The README's main job, `python -m mad.sweep +grid=lambda`, timed end to end and in parts.

    python -m benchmarks.main_job [--repeats 3]

Writes benchmarks/results/main_job-<device>.json: the command's wall time (process start to exit,
so imports, compilation, results.nc, figures, report.html and the offline W&B runs included; the
runs share a new compile cache, so the first compiles and the others load its program),
and through the Python API the
compile-and-run time of a first call, the run time of a second call, and loop-generations/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_seconds(repeats: int) -> list[float]:
    """Wall seconds of `repeats` runs of the command sharing one new compile cache: the first run
    compiles (as on a fresh machine), the others load its program (as every later run does)."""
    times = []
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as run_dir:
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "mad.sweep", "+grid=lambda", f"hydra.run.dir={run_dir}", f"compile_cache={cache}"],
                    cwd=REPO,
                    check=True,
                    capture_output=True,
                    env={k: v for k, v in os.environ.items() if k != "WANDB_MODE"},  # as a user runs it
                )
                times.append(time.perf_counter() - start)
    return times


def api_seconds() -> dict:
    import hydra
    import jax

    from mad.config import register_configs
    from mad.simulation import simulate
    from mad.config import from_hydra

    register_configs()
    with hydra.initialize_config_module("mad.conf", version_base="1.3"):
        config = from_hydra(hydra.compose("config", overrides=["+grid=lambda", "progress=false"]))
    start = time.perf_counter()
    simulate(config)
    first = time.perf_counter() - start
    start = time.perf_counter()
    simulate(config)
    second = time.perf_counter() - start
    loop_generations = config.loops * config.generations * len(config.grid["loop.lam"])
    return {
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
        "grid_points": len(config.grid["loop.lam"]),
        "loops_per_point": config.loops,
        "generations": config.generations,
        "first_call_s": round(first, 3),
        "second_call_s": round(second, 3),
        "compile_s_estimate": round(first - second, 3),
        "loop_generations_per_s": round(loop_generations / second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cli = cli_seconds(args.repeats)
    record = {
        **api_seconds(),
        "command": "python -m mad.sweep +grid=lambda",
        "command_wall_s": [round(t, 2) for t in cli],
        "command_wall_median_s": round(statistics.median(cli), 2),
        "command_wall_first_s": round(cli[0], 2),  # compiling: a fresh machine's first run
        "command_wall_cached_median_s": round(statistics.median(cli[1:]), 2) if len(cli) > 1 else None,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }
    out = REPO / "benchmarks" / "results" / f"main_job-{record['device'].lower().replace(' ', '_')}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
