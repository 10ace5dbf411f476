"""Self-consuming loops: how each generation's training data is assembled from real and synthetic
data. A loop module declares `LoopSpec`s (mad.loops.base) and is listed in `LOOPS` below; loops
only use the `mad.families.base.Family` interface, so every family runs in every loop its
capabilities allow.
"""

from __future__ import annotations

from mad.families.base import Family
from mad.loops import accumulating, mixing
from mad.loops.base import Knobs, Loop, LoopSpec
from mad.loops.correction import corrected
from mad.loops.curation import curated, rewarded

LOOPS: dict[str, LoopSpec] = {spec.name: spec for spec in (*mixing.SPECS, *accumulating.SPECS)}


def loop_spec(name: str) -> LoopSpec:
    """The registered loop called `name` (ConfigError naming the choices otherwise)."""
    from mad.config import ConfigError

    if name not in LOOPS:
        raise ConfigError(f"loop.name={name!r} is not allowed; choose one of {', '.join(LOOPS)}")
    return LOOPS[name]


def make_loop(family: Family, cfg, generations: int, sizes=None, curation=None, correction=None, steps=None) -> Loop:
    """The loop `cfg` names over `family`, its synthetic draws cherry-picked when cfg.keep < 1 or
    chosen by reward (`curation`, a mad.config.CurationConfig), then self-corrected
    (`correction`, a mad.config.CorrectionConfig); `sizes` is the schedule of n_syn and `steps`
    those of n_real, lam and real_weight (mad.loops.schedule; None: constant)."""
    spec = loop_spec(cfg.name)
    extra = ({} if sizes is None else {"sizes": sizes}) | ({} if steps is None else {"steps": steps})
    synthetic = curated(family, cfg.keep)
    if curation is not None:
        synthetic = rewarded(synthetic, curation)
    if correction is not None:
        synthetic = corrected(synthetic, correction.gamma)
    return spec.build(synthetic, cfg, generations, **extra)


__all__ = ["LOOPS", "Knobs", "Loop", "LoopSpec", "loop_spec", "make_loop"]
