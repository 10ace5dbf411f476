"""Closed-form predictions next to every simulated curve (see shared/THEORY.md).

`predict(config)` returns, per metric that has a closed form for this config, its expectation
for generations 0..G; family modules hold the derivations.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mad.config import Config, components_of
from mad.data import make_data
from mad.theory import discrete, gaussian, kde, regression


def predict(config: Config) -> dict[str, np.ndarray]:
    if config.model.name == "gaussian":  # a Gaussian fitted to any data
        return gaussian.predict(config)
    if config.model.name == "gmm" and components_of(config) == 1 and config.model.reg == 0:
        # One component without a covariance floor is the Gaussian MLE: its overall moments
        # follow the Gaussian recursions exactly.
        as_gaussian = dataclasses.replace(config, model=dataclasses.replace(config.model, name="gaussian", estimator="mle"))
        first = gaussian.predict(as_gaussian)
        return {k: first[k] for k in ("trace_ratio", "mean_sq_drift")}
    return _counting_and_kde(config)


def _counting_and_kde(config: Config) -> dict[str, np.ndarray]:
    model, loop, g = config.model, config.loop, config.generations
    lam = loop.lam
    if model.name == "linreg":
        data = make_data(config)
        return {"test_error": regression.test_error(data.design, data.noise, g, lam=lam, accumulate=loop.name == "accumulate")}
    if loop.name != "replace":
        return {}
    if model.name == "poisson":
        n = loop.n_syn
        return {"alive": discrete.poisson_survival(g, rate=config.data.rate, n=n, n_init=loop.init_size), "rate_ratio": np.ones(g + 1)}
    if model.name == "categorical" and model.alpha == 0 and lam == 1.0:
        support, lost = discrete.categorical_loss(make_data(config).probs, g, n=loop.n_syn, n_init=loop.init_size)
        return {"support_size": support, "tail_mass_lost": lost}
    if model.name == "kde":
        data = make_data(config)
        ratio = kde.trace_ratio(
            g, n=loop.n_syn, n_init=loop.init_size, dim=config.data.dim, trace0=float(np.trace(data.cov)),
            bandwidth=model.bandwidth, lam=lam,
        )  # fmt: skip
        return {"trace_ratio": ratio}
    return {}


__all__ = ["discrete", "gaussian", "kde", "predict", "regression"]
