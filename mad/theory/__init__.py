"""Closed-form predictions next to every simulated curve (docs/theory.md derives each one).

`predict(config)` returns, per metric that has a closed form for this config, its expectation
for generations 0..G; family modules hold the derivations.
"""

from __future__ import annotations

import numpy as np

from mad.config import Config
from mad.theory import classification, curation, discrete, gaussian, kde, regression, truncation


def predict(config: Config) -> dict[str, np.ndarray]:
    """{metric: expectation per generation} from the family's theory for this loop (its spec's
    `theory` hook); a family or loop without a closed form gives {}, never another's."""
    from mad.families import family_spec
    from mad.loops import loop_spec

    spec = family_spec(config.model.name)
    reward = config.curation.reward
    if config.loop.keep < 1.0 or reward == "quadratic" or (reward == "linear" and config.curation.choice != "argmax"):
        return {}  # curated draws: none of the closed forms holds (mad.theory.curation: the K -> inf limit)
    if reward != "none" and f"{reward}_curation" not in spec.theory_remedies:
        return {}  # density curation, or the argmax of a linear reward (exact at every K and n)
    if config.correction.gamma > 0 and "correction" not in spec.theory_remedies:
        return {}  # this family's closed forms do not account for self-correction
    from mad.loops import schedule

    if schedule.steps_of(config) is not None and "schedules" not in spec.theory_remedies:
        return {}  # nor for schedules of n_real, lam or real_weight
    return spec.theory(config, loop_spec(config.loop.name))


__all__ = ["classification", "curation", "discrete", "gaussian", "kde", "predict", "regression", "truncation"]
