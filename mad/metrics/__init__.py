"""Metrics: pure functions of (real distribution, fitted model), returned by the scan per generation.

`make_metrics(config, family, data)` gives the functions the engine calls: `model(key, params)`
each generation, and `real(key)` for generation 0 (the real distribution itself). Gaussian models
are scored in closed form (`gaussian.py`); other families from samples against the held-out test
set (`samples.py`).
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from mad.config import Config
from mad.families.base import Family
from mad.metrics import discrete, gaussian, samples


class Metrics(NamedTuple):
    model: Callable  # (key, params) -> {name: scalar}; with per_loop_test (key, params, test_key)
    real: Callable  # (key) -> {name: scalar}, generation 0
    per_loop_test: bool = False  # model takes a third key, the same for every generation of a loop


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
    "collapsed": "trace_ratio below collapse_threshold: the model's total variance has shrunk to a point",
}


def make_metrics(config: Config, family: Family, data) -> Metrics:
    """The metric functions of this config's family (its spec's `metrics` hook)."""
    from mad.families import family_spec

    return family_spec(config.model.name).metrics(config, family, data)


def closed_form_metrics(family: Family, measure: Callable) -> Metrics:
    """Metrics computed in closed form from the parameters: measure(reference, params) -> {name: scalar}."""
    reference = family.reference
    return Metrics(model=lambda key, params: measure(reference, params), real=lambda key: measure(reference, reference))


def point_metrics(
    config: Config,
    data,
    *,
    draw: Callable,
    density: Callable,
    moments: Optional[Callable] = None,
    extra: Callable = lambda params: {},
    extra_real: Callable = lambda data, nan: {},
) -> Metrics:
    """Sample-based metrics for the families that fit points, plus their overall moments against
    the data's: exact where the family gives `moments(params) -> (mean, cov)`, else estimated from
    the metric draws. draw(key, params, m) samples the model, density(params, x) is its batched
    log-density; `extra(params)` adds family metrics, `extra_real(data, nan)` their generation-0
    values."""
    m, share = config.metrics.samples, config.metrics.mode_share
    dtype = jnp.dtype(config.precision)
    real_side = samples.RealSide(data.test, config.metrics.k, data.modes, 3.0 * config.data.scale)
    data_mean = jnp.asarray(data.mean, dtype)
    data_trace = float(np.trace(data.cov))
    threshold = config.collapse_threshold

    def spread(mean, cov):  # the model's overall moments against the data's exact ones
        ratio = jnp.trace(cov) / data_trace
        return {"trace_ratio": ratio, "mean_sq_drift": jnp.sum((mean - data_mean) ** 2), "collapsed": ratio < threshold}

    per_loop = config.metrics.test_set == "per_loop"
    test = jnp.asarray(data.test, dtype)
    n_test = test.shape[0]

    def loop_test_set(key):
        # A loop's own held-out set: fresh draws where the data have a known law, else a bootstrap
        # of the held-out split (its test-set variability then enters the loops' spread).
        if data.log_prob is not None:
            return data.sample(key, n_test)
        return test[jax.random.randint(key, (n_test,), 0, n_test)]

    def model(key, params, test_key=None):
        y = draw(key, params, m)
        # With a per-loop test set the fixed set's nll_test is not computed at all (it would be replaced).
        out = samples.sample_metrics(real_side, y, None if per_loop else (lambda x: density(params, x)), mode_share=share)
        if per_loop:
            own = loop_test_set(test_key)
            out["nll_test"] = jnp.minimum(-jnp.mean(density(params, own)), jnp.finfo(dtype).max)
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
        return {**out, **extra_real(data, nan), **spread(data_mean, jnp.asarray(data.cov, dtype))}

    return Metrics(model, real, per_loop)


NONFINITE_DOC = "a metric of the loop is NaN or infinite (left out of every other statistic)"


def metric_docs(config: Config) -> dict[str, str]:
    """One-line descriptions of the metrics of this config's family, for result attributes."""
    from mad.families import family_spec

    return {**family_spec(config.model.name).metric_docs(), "nonfinite": NONFINITE_DOC}


__all__ = ["Metrics", "closed_form_metrics", "discrete", "gaussian", "make_metrics", "metric_docs", "point_metrics", "samples"]
