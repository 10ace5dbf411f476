"""Curation: the synthetic points a loop trains on are picked among more candidates.

Cherry-picking (MAD, sec. 5: quality over diversity) draws ceil(n / keep) candidates from the
model and keeps the n it finds most likely (the highest log-density). It is a loop concern, not a
family's: any family that can draw points and score them (`Family.draw`, `Family.log_prob`) can be
curated, and the loop sees a family whose synthetic draws are the kept points.
"""

from __future__ import annotations

import math

import jax

from mad.families.base import Family


def curated(family: Family, keep: float) -> Family:
    """`family` with synthetic data cherry-picked: the share `keep` in (0, 1] of its draws with the
    highest model log-density (keep = 1: the family itself). Real draws are never curated."""
    if keep >= 1.0:
        return family
    if family.log_prob is None:
        raise ValueError("curation needs a family that scores its draws (Family.log_prob)")

    def pick(key, params, n, lam):
        candidates = family.draw(key, params, int(math.ceil(n / keep)), lam)
        _, rows = jax.lax.top_k(family.log_prob(params, candidates), n)
        return candidates[rows]

    def draw(key, params, n, lam):
        return family.draw(key, None, n, lam) if params is None else pick(key, params, n, lam)

    def synthetic(key, params, n, lam):
        # Kept points summarised in the model's frame, as the family's own synthetic draws are.
        return family.into_frame(params, family.summarize(pick(key, params, n, lam)))

    return family._replace(draw=draw, synthetic=synthetic)
