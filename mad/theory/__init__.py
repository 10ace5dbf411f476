"""Closed-form predictions next to every simulated curve (see shared/THEORY.md).

`predict(config)` returns, per metric that has a closed form for this config, its expectation
for generations 0..G; family modules hold the derivations.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mad.config import Config, components_of
from mad.theory import gaussian


def predict(config: Config) -> dict[str, np.ndarray]:
    if config.model.name == "gaussian":  # a Gaussian fitted to any data
        return gaussian.predict(config)
    if config.model.name == "gmm" and components_of(config) == 1 and config.model.reg == 0:
        # One component without a covariance floor is the Gaussian MLE: its overall moments
        # follow the Gaussian recursions exactly.
        as_gaussian = dataclasses.replace(config, model=dataclasses.replace(config.model, name="gaussian", estimator="mle"))
        first = gaussian.predict(as_gaussian)
        return {k: first[k] for k in ("trace_ratio", "mean_sq_drift")}
    return {}


__all__ = ["gaussian", "predict"]
