"""mad.linalg's fused forms against the library (LAPACK on a CPU) for a batch of small matrices.

    python -m benchmarks.linalg [--batch 8192] [--dims 2,3,4,6,8,10,12,16,24,32] [--dtype float32]

Each routine runs jitted and vmapped over `--batch` matrices, as the engine calls it (one matrix
per loop); the time is the best of several calls, per matrix. The crossover (the largest d at
which the fused form is at least as fast) is what `mad.linalg.FUSED_UP_TO_ON_CPU` should hold.
Writes benchmarks/results/linalg-<backend>.json and prints a markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def routines():
    import jax.numpy as jnp
    from jax.scipy.linalg import solve_triangular

    from mad import linalg

    def eye_like(a):
        return jnp.eye(a.shape[-1], dtype=a.dtype)

    # name -> (input maker, fused form, library form)
    return {
        "matmul": ("general", lambda a: linalg.fused_matmul(a, a), lambda a: a @ a),
        "cholesky": ("spd", linalg.fused_cholesky, jnp.linalg.cholesky),
        "solve_lower": ("lower", lambda l: linalg.fused_solve_lower(l, eye_like(l)), lambda l: solve_triangular(l, eye_like(l), lower=True)),
        "svd": ("lower", lambda a: jnp.sum(linalg.fused_column_norms(a)), lambda a: jnp.sum(jnp.linalg.svd(a, compute_uv=False))),
    }


def inputs(kind: str, batch: int, dim: int, dtype):
    import jax
    import jax.numpy as jnp

    key = jax.random.key(dim)
    a = jax.random.normal(key, (batch, dim, dim), dtype)
    if kind == "general":
        return a
    lower = jnp.tril(a, -1) * 0.3 + jnp.eye(dim, dtype=dtype)
    if kind == "lower":  # a fitted Gaussian's factor: unit lower times spread scales
        return lower * jnp.exp(0.5 * jax.random.normal(jax.random.fold_in(key, 1), (batch, 1, dim), dtype))
    return lower @ jnp.swapaxes(lower, 1, 2)  # spd


def per_matrix_us(fn, x, repeats: int = 7) -> float:
    import jax

    compiled = jax.jit(jax.vmap(fn))
    jax.block_until_ready(compiled(x))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(x))
        best = min(best, time.perf_counter() - start)
    return best / x.shape[0] * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.linalg", description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8192)
    parser.add_argument("--dims", default="2,3,4,6,8,10,12,16,24,32")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    import jax

    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    dtype = jnp.dtype(args.dtype)
    backend = jax.default_backend()
    device = f"{jax.devices()[0].device_kind}, {os.cpu_count()} cores" if backend == "cpu" else jax.devices()[0].device_kind
    dims = [int(d) for d in args.dims.split(",")]
    rows = {}
    for name, (kind, fused, library) in routines().items():
        rows[name] = []
        for dim in dims:
            x = inputs(kind, args.batch, dim, dtype)
            row = {"dim": dim, "fused_us": per_matrix_us(fused, x), "library_us": per_matrix_us(library, x)}
            rows[name].append(row)
            print(f"{name:12s} d={dim:3d}  fused {row['fused_us']:9.3f} us  library {row['library_us']:9.3f} us", flush=True)
    crossover = {name: max([r["dim"] for r in rs if r["fused_us"] <= r["library_us"]], default=0) for name, rs in rows.items()}
    record = {
        "device": device, "backend": backend, "jax_version": jax.__version__, "date": time.strftime("%Y-%m-%d"),
        "batch": args.batch, "dtype": args.dtype, "routines": rows, "fused_up_to": crossover,
    }  # fmt: skip
    out = REPO / "benchmarks" / "results" / f"linalg-{backend}{'' if args.dtype == 'float32' else '-float64'}.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"\nwrote {out.relative_to(REPO)}\n")
    print(table(record))
    return 0


def table(record: dict) -> str:
    dims = [r["dim"] for r in next(iter(record["routines"].values()))]
    lines = [
        f"Measured on {record['device']}, jax {record['jax_version']}, {record['date']}: microseconds per matrix, "
        f"{record['batch']} {record['dtype']} matrices per call, fused / library (speed-up).",
        "",
        "| routine | " + " | ".join(f"d = {d}" for d in dims) + " | fused up to |",
        "| --- | " + " | ".join("---" for _ in dims) + " | --- |",
    ]
    for name, rows in record["routines"].items():
        cells = [f"{r['fused_us']:.2f} / {r['library_us']:.2f} ({r['library_us'] / r['fused_us']:.1f}x)" for r in rows]
        lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {record['fused_up_to'][name]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
