"""Wall time of every family's default run, as `python -m mad.list` shows it.

    python -m benchmarks.defaults [--sizes tiny,full] [--only classifier,...]

Runs `python -m mad.sweep model=NAME size=SIZE` for every registered family (its own data and run
sizes, W&B offline as a user runs it), start to finish: imports, compilation, results.nc, figures,
report. Writes the seconds to benchmarks/results/defaults-<device>.json and to conf/timings.yaml
(shipped as mad.conf, read by `python -m mad.list`), each with the device they were measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def seconds(model: str, size: str) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mad.sweep", f"model={model}", f"size={size}", "progress=false", f"hydra.run.dir={run_dir}"],
            cwd=REPO, check=True, capture_output=True, env={k: v for k, v in os.environ.items() if k != "WANDB_MODE"},
        )  # fmt: skip
        return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.defaults", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,full")
    parser.add_argument("--only", default=None, help="comma-separated families to (re)measure; the others keep their recorded times")
    args = parser.parse_args(argv)
    import jax

    from mad.families import FAMILIES

    device = jax.devices()[0].device_kind
    cores = os.cpu_count()
    where = f"{device}, {cores} cores" if jax.default_backend() == "cpu" else device
    out = REPO / "benchmarks" / "results" / f"defaults-{jax.default_backend()}.json"
    earlier = json.loads(out.read_text())["seconds"] if args.only and out.exists() else {}
    only = set(args.only.split(",")) if args.only else set(FAMILIES)
    table: dict[str, dict[str, float]] = {}
    for name in FAMILIES:
        if name not in only:
            if name in earlier:
                table[name] = earlier[name]
            continue
        table[name] = {}
        for size in args.sizes.split(","):
            table[name][size] = round(seconds(name, size), 1)
            print(f"{name:12s} size={size:5s} {table[name][size]:7.1f} s", flush=True)
    record = {"device": where, "platform": platform.platform(), "seconds": table}
    out.write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        "# Wall time of `python -m mad.sweep model=NAME size=SIZE`, start to finish (python -m benchmarks.defaults).",
        f"device: {where!r}",
        "seconds:",
    ] + [f"  {name}: {{{', '.join(f'{s}: {v}' for s, v in sizes.items())}}}" for name, sizes in table.items()]
    (REPO / "conf" / "timings.yaml").write_text("\n".join(lines) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
