"""python -m mad.report RUN_DIR: rebuild the figures and report.html from RUN_DIR/results.nc."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mad.report import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mad.report", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("run_dir", type=Path, help="a run directory holding results.nc")
    args = parser.parse_args(argv)
    if not (args.run_dir / "results.nc").is_file():
        print(f"error: {args.run_dir / 'results.nc'} does not exist", file=sys.stderr)
        return 2
    path = build(args.run_dir)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
