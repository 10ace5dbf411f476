"""Metrics: pure functions of (real distribution, fitted model), returned by the scan per generation.

`make_metrics(config, family, data)` gives the functions the engine calls: `model(key, params)`
each generation, and `real(key)` for generation 0 (the real distribution itself). Gaussian models
are scored in closed form (`gaussian.py`); other families from samples against the held-out test
set (`samples.py`).
"""

from __future__ import annotations

from typing import Callable, NamedTuple


import jax.numpy as jnp
import numpy as np

from mad.config import Config
from mad.families import gmm, kde, make_flow
from mad.families.base import Family
from mad.metrics import discrete, gaussian, samples


class Metrics(NamedTuple):
    model: Callable  # (key, params) -> {name: scalar}
    real: Callable  # (key) -> {name: scalar}, generation 0


SAMPLE_DOCS = {
    "nll_test": "negative log-likelihood of the held-out real data under the model",
    "precision": "share of model draws inside the real k-NN manifold (quality)",
    "recall": "share of held-out real points inside the model's k-NN manifold (diversity)",
    "density": "real k-NN balls per model draw, / k (Naeem et al.)",
    "coverage": "share of real k-NN balls holding a model draw (Naeem et al.)",
    "mmd": "squared MMD to the held-out real data (RBF kernel, median bandwidth)",
    "modes_covered": "true modes holding at least mode_share / M of the model's draws",
    "weight_entropy": "entropy of the mixture weights",
    "trace_ratio": "total variance ratio of the mixture to the data, tr Sigma_t / tr Sigma_0",
    "mean_sq_drift": "squared distance of the mixture's mean from the data's mean",
}


def make_metrics(config: Config, family: Family, data) -> Metrics:
    if config.model.name == "gaussian":
        # Diagonal shortcuts need both factors diagonal: a diag / iso model against N(0, s^2 I).
        diagonal = (config.model.covariance != "full" and config.data.name == "gaussian") or config.data.dim == 1

        def compare(params):
            return gaussian.compare(family.reference, params, diagonal=diagonal, collapse_threshold=config.collapse_threshold)

        return Metrics(model=lambda key, params: compare(params), real=lambda key: compare(family.reference))
    name = config.model.name
    if name in ("categorical", "poisson", "linreg"):
        measure = {"categorical": discrete.categorical, "poisson": discrete.poisson, "linreg": discrete.linreg}[name]
        reference = family.reference

        def score(params):
            return measure(reference[0], params[0])

        return Metrics(model=lambda key, params: score(params), real=lambda key: score(reference))
    if name in ("gmm", "kde", "flow"):
        return _point_metrics(config, data)
    raise ValueError(f"no metrics for model.name {config.model.name!r}")


def _point_metrics(config: Config, data) -> Metrics:
    """Sample-based metrics for the families that fit points, plus their overall moments against
    the data's (exact for gmm and kde, estimated from the metric draws for flows)."""
    m, share = config.metrics.samples, config.metrics.mode_share
    dtype = jnp.dtype(config.precision)
    real_side = samples.RealSide(data.test, config.metrics.k, data.modes, 3.0 * config.data.scale)
    data_mean = jnp.asarray(data.mean, dtype)
    data_trace = float(np.trace(data.cov))

    def spread(mean, cov):  # the model's overall moments against the data's exact ones
        return {"trace_ratio": jnp.trace(cov) / data_trace, "mean_sq_drift": jnp.sum((mean - data_mean) ** 2)}

    name = config.model.name
    if name == "gmm":
        draw, density, moments, extra = gmm.sample, gmm.log_prob, gmm.moments, lambda p: {"weight_entropy": gmm.weight_entropy(p)}
    elif name == "kde":
        draw, density, moments, extra = kde.sample, kde.log_prob, kde.moments, lambda p: {}
    else:
        flow = make_flow(config, data)[1]
        draw, density, moments, extra = flow.sample, flow.log_prob, None, lambda p: {}

    def model(key, params):
        y = draw(key, params, m)
        out = samples.sample_metrics(real_side, y, lambda x: density(params, x), mode_share=share)
        if moments is not None:
            mean, cov = moments(params)
        else:
            mean = jnp.mean(y, axis=0)
            centred = y - mean[None, :]
            cov = centred.T @ centred / m
        return {**out, **extra(params), **spread(mean, cov)}

    def real(key):
        out = samples.sample_metrics(real_side, data.sample(key, m), data.log_prob, mode_share=share)
        nan = jnp.asarray(jnp.nan, out["precision"].dtype)
        if data.log_prob is None:  # an empirical distribution has no density to score
            out["nll_test"] = nan
        if name == "gmm":
            out["weight_entropy"] = gmm.weight_entropy(data.mixture) if data.mixture is not None else nan
        return {**out, **spread(data_mean, jnp.asarray(data.cov, dtype))}

    return Metrics(model, real)


NONFINITE_DOC = "a metric of the loop is NaN or infinite (left out of every other statistic)"


def metric_docs(config: Config) -> dict[str, str]:
    """One-line descriptions of the metrics of this config's family, for result attributes."""
    if config.model.name == "gaussian":
        docs = gaussian.DOCS
    elif config.model.name in ("categorical", "poisson", "linreg"):
        docs = discrete.DOCS
    else:
        docs = SAMPLE_DOCS
    return {**docs, "nonfinite": NONFINITE_DOC}


__all__ = ["Metrics", "discrete", "gaussian", "make_metrics", "metric_docs", "samples"]
