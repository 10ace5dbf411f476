"""Closed-form predictions next to every simulated curve (see shared/THEORY.md).

`predict(config)` returns, per metric that has a closed form for this config, its expectation
for generations 0..G; family modules hold the derivations.
"""

from __future__ import annotations

import numpy as np

from mad.config import Config
from mad.theory import gaussian


def predict(config: Config) -> dict[str, np.ndarray]:
    if config.model.name == "gaussian":  # a Gaussian fitted to any data
        return gaussian.predict(config)
    return {}


__all__ = ["gaussian", "predict"]
