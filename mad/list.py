"""What there is to run: ``python -m mad.list [group]``.

Models (from the family registry), loops (from the loop registry), and the data, grid and
experiment options shipped in conf/ (described by the first comment line of their YAML), each
with one line, models with the measured time of their default run (conf/timings.yaml, written by
`python -m benchmarks.defaults`); `group` (model, loop, data, grid, size, experiment) limits the listing to one of them.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from typing import Optional, Sequence

GROUPS = ("model", "loop", "data", "grid", "size", "experiment")
TITLES = {
    "model": "models", "loop": "loops", "data": "data", "grid": "grids", "size": "run sizes",
    "experiment": "experiments (python -m mad.paper runs them all)",
}  # fmt: skip


def _yaml_description(group: str, name: str) -> str:
    """The first sentence of the comment block that opens conf/<group>/<name>.yaml (after Hydra's
    `@package` directive)."""
    text = (resources.files("mad.conf") / group / f"{name}.yaml").read_text()
    words = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("# @package"):
            continue
        if not line.startswith("#"):
            break
        words.append(line.lstrip("#").strip())
    block = " ".join(words)
    end = re.search(r"(?<!\bal)(?<!\bsec)\.\s+(?=[A-Z])", block)  # "et al. 2023" ends no sentence
    return block if end is None else block[: end.start() + 1]


def entries(group: str) -> list[tuple[str, str]]:
    """(name, one-line description) of every option of a group."""
    from mad.grid import options

    if group == "model":
        from mad.families import FAMILIES

        return [(name, spec.doc) for name, spec in FAMILIES.items()]
    if group == "loop":
        from mad.loops import LOOPS

        return [(name, spec.doc) for name, spec in LOOPS.items()]
    return [(name, _yaml_description(group, name)) for name in options(group)]


def timings() -> tuple[str, dict[str, dict[str, float]]]:
    """(device, {model: {size: seconds}}) measured by `python -m benchmarks.defaults` (shipped as
    conf/timings.yaml); ("", {}) where none was measured."""
    from omegaconf import OmegaConf

    path = resources.files("mad.conf") / "timings.yaml"
    if not path.is_file():
        return "", {}
    record = OmegaConf.to_container(OmegaConf.create(path.read_text()))
    return str(record.get("device", "")), dict(record.get("seconds", {}))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mad.list", description=__doc__.splitlines()[0])
    parser.add_argument("group", nargs="?", choices=GROUPS, help="list only this group")
    args = parser.parse_args(argv)
    usage = {"model": "model=", "loop": "loop=", "data": "data=", "grid": "+grid=", "size": "size=", "experiment": "+experiment="}
    device, seconds = timings()
    for group in [args.group] if args.group else GROUPS:
        rows = entries(group)
        width = max(len(usage[group] + name) for name, _ in rows)
        title = TITLES[group] + (f" (time of a default run, and with size=tiny, on {device})" if group == "model" and seconds else "")
        print(f"{title}:")
        for name, doc in rows:
            took = seconds.get(name, {}) if group == "model" else {}
            when = f" [{took['full']:.0f} s; tiny {took['tiny']:.0f} s]" if "full" in took and "tiny" in took else ""
            print(f"  {usage[group] + name:<{width}}  {doc}{when}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
