"""How the cost of a sweep grows with each size, and what `--dry-run` estimates from it.

    python -m benchmarks.scaling [--only loops,dim,...,families] [--families vae,...] [--quick]

Each measurement is its own process (so that peak memory is its own): `mad.simulate` of one
config twice, the first call compiling, the second only running. Axes, around the Gaussian base
(d = 2, n = 200, 1000 loops, 10 generations, full covariance, samples backend, every metric):
loops 10^3..10^6, generations 10..1000, d 1..100, n 10..10^4 drawn point by point and 10..10^9
with sufficient statistics, mixture components 1..8 (gmm, its own defaults). For each axis the
exponent b of run seconds = t0 + c size^b is fitted by least squares in log-log on the growth above
the axis's quickest run t0 (a call's fixed cost), over the points where that growth is at least t0
(`--refit` refits a saved record without measuring).
Every family is also timed at its own default config (`model=NAME`): compile seconds and
loop-generations per second. Writes benchmarks/results/scaling-<backend>.json and the estimate
table conf/scaling.yaml (shipped as mad.conf, read by `mad.plan` for `python -m mad.sweep ... --dry-run`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BASE = ("data.dim=2", "loop.n_syn=200", "loop.n_init=200", "loops=1000", "generations=10", "progress=false", "loop.lam=1.0")

AXES = {
    "loops": ("loops", [250, 1_000, 4_000, 16_000, 100_000, 1_000_000], ()),
    "generations": ("generations", [10, 100, 1000], ()),
    "dim": ("data.dim", [1, 3, 10, 30, 100], ()),
    "n_samples": ("loop.n_syn", [10, 100, 1_000, 10_000], ("loop.n_init=200",)),
    "n_suffstats": ("loop.n_syn", [10, 1_000, 1_000_000, 1_000_000_000], ("model.backend=suffstats",)),
    "components": ("model.components", [1, 2, 4, 8], ("model=gmm", "loops=256", "generations=5")),
}
MIN_RUN = 0.1  # seconds: shorter runs are mostly a call's fixed cost, not growth


def measure(overrides: list[str]) -> dict:
    """In this process: compile-and-run, run again (the median of up to three), peak RSS."""
    import resource

    import mad

    config, resolve = mad.compose(*overrides)
    start = time.perf_counter()
    ds = mad.simulate(config, resolve)
    first = time.perf_counter() - start
    runs = []
    while len(runs) < 3 and sum(runs) < 10.0:  # the median of three calls, or one call of 10 s or more
        start = time.perf_counter()
        mad.simulate(config, resolve)
        runs.append(time.perf_counter() - start)
    run = float(np.median(runs))
    points = int(np.prod([len(v) for v in config.grid.values()])) if config.grid else 1
    return {
        "overrides": overrides,
        "compile_s": round(max(first - run, 0.0), 3),
        "run_s": round(run, 4),
        "loop_generations": config.loops * config.generations * points,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "lanes": min(config.loops * points, config.chunk),  # per compiled call, progress off
        "chunk": config.chunk,
        "dim": config.data.dim,
        "n_syn": config.loop.n_syn,
        "finite": bool(np.isfinite(ds.trace_ratio.sel(stat="mean").values).all()) if "trace_ratio" in ds else True,
    }


def merged(*groups) -> list[str]:
    """Overrides with later keys replacing earlier ones (Hydra refuses a key given twice)."""
    out: dict[str, str] = {}
    for group in groups:
        for item in group:
            out[item.split("=", 1)[0]] = item
    return list(out.values())


def in_process(overrides: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.scaling", "--one", json.dumps(overrides)], cwd=REPO, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(points) -> float | None:
    """b of value ~ size^b over (size, value) points, least squares in log-log; None under two points."""
    if len(points) < 2:
        return None
    x, y = np.log([s for s, _ in points]), np.log([v for _, v in points])
    return float(np.polyfit(x, y, 1)[0])


def exponent(sizes, values) -> float | None:
    """b of values ~ size^b over the values of at least MIN_RUN (the memory exponent)."""
    return slope([(s, t) for s, t in zip(sizes, values) if t >= MIN_RUN])


def time_exponent(sizes, seconds) -> float | None:
    """b of run seconds = t0 + c size^b, t0 the axis's quickest run (a call's fixed cost): fitted on
    the growth above t0 where it is at least t0 and the run at least MIN_RUN. None where the axis
    never grows that much (its cost is the fixed cost)."""
    t0 = min(seconds)
    return slope([(s, t - t0) for s, t in zip(sizes, seconds) if t >= max(2 * t0, MIN_RUN)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="comma-separated axes (and 'families') to (re)measure; the others keep their record")
    parser.add_argument("--families", default=None, help="with --only families: comma-separated families to (re)measure, the others keep their record")
    parser.add_argument("--quick", action="store_true", help="drop the largest size of each axis")
    parser.add_argument("--refit", action="store_true", help="measure nothing: refit the saved record's exponents, rewrite its table and conf/scaling.yaml")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(json.loads(args.one))))
        return 0
    if args.refit:
        return refit()
    import jax

    from mad.families import FAMILIES

    backend = jax.default_backend()
    device = f"{jax.devices()[0].device_kind}, {os.cpu_count()} cores" if backend == "cpu" else jax.devices()[0].device_kind
    out = REPO / "benchmarks" / "results" / f"scaling-{backend}.json"
    record = json.loads(out.read_text()) if out.exists() and args.only else {"axes": {}, "families": {}}
    only = set(args.only.split(",")) if args.only else set(AXES) | {"families"}
    for axis, (key, sizes, extra) in AXES.items():
        if axis not in only:
            continue
        sizes = sizes[:-1] if args.quick else sizes
        rows = []
        for size in sizes:
            row = in_process(merged(BASE, extra, [f"{key}={size}"]))
            row["size"] = size
            rows.append(row)
            print(f"{axis:12s} {size:>13,}  compile {row['compile_s']:6.2f} s  run {row['run_s']:8.3f} s  peak {row['peak_rss_mb']:7.0f} MB", flush=True)
        record["axes"][axis] = {
            "key": key, "rows": rows,
            "time_exponent": time_exponent(sizes, [r["run_s"] for r in rows]),
            "memory_exponent": exponent(sizes, [max(r["peak_rss_mb"] - rows[0]["peak_rss_mb"], 1e-9) + MIN_RUN for r in rows]),
        }  # fmt: skip
    if "families" in only:
        chosen = set(args.families.split(",")) if args.families else set(FAMILIES)
        record["families"] = {name: row for name, row in record["families"].items() if name in FAMILIES}
        for name in sorted(chosen & set(FAMILIES), key=list(FAMILIES).index):
            row = in_process([f"model={name}", "progress=false"])
            row["rate"] = row["loop_generations"] / row["run_s"]
            record["families"][name] = row
            print(f"{name:12s} compile {row['compile_s']:6.2f} s  {row['rate']:12,.0f} loop-generations/s  peak {row['peak_rss_mb']:7.0f} MB", flush=True)
    record.update(device=device, date=time.strftime("%Y-%m-%d"), jax_version=jax.__version__)
    save(record, out)
    return 0


def refit() -> int:
    import jax

    out = REPO / "benchmarks" / "results" / f"scaling-{jax.default_backend()}.json"
    record = json.loads(out.read_text())
    for entry in record["axes"].values():
        entry["time_exponent"] = time_exponent([r["size"] for r in entry["rows"]], [r["run_s"] for r in entry["rows"]])
    save(record, out)
    return 0


def save(record: dict, out: Path) -> None:
    """The record to `out`, its estimates to conf/scaling.yaml, its table to stdout."""
    out.write_text(json.dumps(record, indent=1) + "\n")
    write_estimates(record)
    print(table(record))


def write_estimates(record: dict) -> None:
    """conf/scaling.yaml: per family its compile seconds, loop-generations per second and the sizes
    of its default run; the exponents of d and n (from the Gaussian axes) that scale it."""
    axes = record["axes"]
    lines = [
        "# Cost model of `python -m mad.sweep ... --dry-run` (mad.plan), written by `python -m benchmarks.scaling`.",
        "# seconds = compile + loop-generations / (rate * speed(lanes) / speed(family lanes)) * (d / dim)^dim_exponent * (n / n_syn)^n_exponent",
        f"device: '{record['device']}'",
        "exponents:",
    ]
    for name, axis in (("dim", "dim"), ("n_samples", "n_samples"), ("n_suffstats", "n_suffstats"), ("loops", "loops"), ("generations", "generations"), ("components", "components")):
        value = axes.get(axis, {}).get("time_exponent")
        lines.append(f"  {name}: {round(value, 3) if value is not None else 'null'}")
    # Loop-generations per second against lanes (loops x grid points) per compiled call, from the
    # loops axis (one grid point, progress off: min(loops, chunk) lanes per call).
    by_lanes: dict[int, list[float]] = {}
    for row in axes.get("loops", {}).get("rows", []):
        by_lanes.setdefault(min(row["size"], row["chunk"]), []).append(row["loop_generations"] / row["run_s"])
    lines.append(f"lanes: {[[lanes, round(float(np.max(rates)))] for lanes, rates in sorted(by_lanes.items())]}")
    # Compile seconds against d, from the dim axis (the fused algebra unrolls with d).
    dim_rows = axes.get("dim", {}).get("rows", [])
    lines.append(f"dim_compile: {[[row['size'], round(row['compile_s'], 2)] for row in dim_rows]}")
    lines.append("curves_of: gaussian  # the family the dim_compile curve was measured on")
    lines.append("families:")
    for name in sorted(record["families"], key=_registry_order):
        row = record["families"][name]
        lanes = row.get("lanes") or default_lanes(name)  # records older than the lanes column
        lines.append(
            f"  {name}: {{compile: {row['compile_s']}, rate: {round(row['rate'])}, dim: {row['dim']}, n_syn: {row['n_syn']}, lanes: {lanes}}}"
        )
    (REPO / "conf" / "scaling.yaml").write_text("\n".join(lines) + "\n")


def default_lanes(name: str) -> int:
    """Lanes per compiled call of a family's default run with progress off."""
    import mad

    config, _ = mad.compose(f"model={name}", "progress=false")
    return min(config.loops, config.chunk)


def _registry_order(name: str) -> int:
    from mad.families import FAMILIES

    return list(FAMILIES).index(name)


def table(record: dict) -> str:
    """The scaling table of benchmarks/README.md."""
    lines = [
        f"Measured on {record['device']}, jax {record['jax_version']}, {record['date']}.",
        "",
        "| axis | sizes | run seconds | compile seconds | peak RSS (MB) | time exponent |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    def joined(rows, fmt) -> str:
        return ", ".join(fmt(r) for r in rows)

    for axis, entry in record["axes"].items():
        rows, b = entry["rows"], entry["time_exponent"]
        sizes = joined(rows, lambda r: f"{r['size']:.0e}" if r["size"] >= 10_000 else str(r["size"]))
        run = joined(rows, lambda r: format(r["run_s"], ".3g"))
        compile_s = joined(rows, lambda r: format(r["compile_s"], ".2g"))
        peak = joined(rows, lambda r: format(r["peak_rss_mb"], ".0f"))
        fitted = "-" if b is None else format(b, ".2f")
        lines.append(f"| {axis} (`{entry['key']}`) | {sizes} | {run} | {compile_s} | {peak} | {fitted} |")
    lines += ["", "| family (its default run) | compile s | loop-generations / s | peak RSS (MB) |", "| --- | --- | --- | --- |"]
    for name in sorted(record["families"], key=_registry_order):
        row = record["families"][name]
        lines.append(f"| {name} | {row['compile_s']:.1f} | {row['rate']:,.0f} | {row['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
