"""Self-consuming loops: how each generation's training data is assembled from real and synthetic
data. A new loop is a function `(family, loop_config, ...) -> mad.loops.base.Loop` registered in
`make_loop`; loops only use the `mad.families.base.Family` interface, so every family runs in
every loop.
"""

from __future__ import annotations

from mad.config import LoopConfig
from mad.families.base import Family
from mad.loops.accumulating import accumulate_loop, accumulate_subsample_loop
from mad.loops.base import Knobs, Loop
from mad.loops.mixing import mixing_loop


def make_loop(family: Family, cfg: LoopConfig, generations: int) -> Loop:
    if cfg.name in ("replace", "augment", "fresh"):
        return mixing_loop(family, cfg)
    if cfg.name == "accumulate":
        return accumulate_loop(family, cfg, generations)
    if cfg.name == "accumulate_subsample":
        return accumulate_subsample_loop(family, cfg, generations)
    raise ValueError(f"unknown loop.name {cfg.name!r}")


__all__ = ["Knobs", "Loop", "make_loop"]
