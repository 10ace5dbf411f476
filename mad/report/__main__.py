"""python -m mad.report RUN_DIR [--force]: rebuild the figures and report.html from RUN_DIR/results.nc."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mad.report import build
from mad.results import ResultsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mad.report", description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("run_dir", type=Path, help="a run directory holding results.nc")
    parser.add_argument("--force", action="store_true", help="draw every figure again (by default those newer than results.nc are kept)")
    args = parser.parse_args(argv)
    try:
        path = build(args.run_dir, force=args.force)
    except ResultsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
