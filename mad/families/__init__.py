"""Model families: parameter pytrees with pure fit / sample / log_prob functions.

A new family is a module here exposing `family(...) -> mad.families.base.Family`; register it in
`make_family`.
"""

from __future__ import annotations

import jax.numpy as jnp

from mad.config import Config, components_of
from mad.families import categorical, flow, gaussian, gmm, kde, linreg, poisson
from mad.families.base import Family


def make_family(config: Config, data=None) -> Family:
    """Build the family a config asks for (static settings closed over); `data` is the real
    distribution (mad.data.RealData), needed by families that fit samples of it."""
    dtype = jnp.dtype(config.precision)
    if config.model.name == "gaussian":
        return gaussian.family(
            dim=config.data.dim,
            scale=config.data.scale,
            covariance=config.model.covariance,
            estimator=config.model.estimator,
            backend=config.model.backend,
            dtype=dtype,
            data=data,
        )
    if config.model.name == "gmm":
        m = config.model
        return gmm.family(
            data=data, components=components_of(config), em_iters=m.em_iters, tol=m.tol, reg=m.reg,
            init=m.init, warm_start=m.warm_start, covariance=m.covariance, keep=config.loop.keep,
        )  # fmt: skip
    m = config.model
    if m.name == "kde":
        return kde.family(data=data, rows=largest_fit(config), bandwidth=m.bandwidth)
    if m.name == "flow":
        return make_flow(config, data)[0]
    if m.name == "categorical":
        return categorical.family(probs=data.probs, alpha=m.alpha, dtype=dtype)
    if m.name == "poisson":
        return poisson.family(rate=data.rate, dtype=dtype)
    if m.name == "linreg":
        return linreg.family(design=data.design, weights=data.weights, noise=data.noise, dtype=dtype)
    raise ValueError(f"unknown model.name {config.model.name!r}")


def make_flow(config: Config, data) -> tuple[Family, "flow.Flow"]:
    """The flow family and its architecture (the metrics need its density and sampler)."""
    m = config.model
    return flow.family(
        data=data, layers=m.layers, hidden=m.hidden, steps=m.steps, optimizer_name=m.optimizer, lr=m.lr,
        batch_size=m.batch_size, warm_start=m.warm_start, dtype=jnp.dtype(config.precision),
    )  # fmt: skip


def largest_fit(config: Config) -> int:
    """The most rows any fit of this loop sees (families that store their sample pad to it)."""
    loop = config.loop
    if loop.name == "accumulate":
        return loop.init_size + (config.generations - 1) * loop.n_syn
    if loop.name == "accumulate_subsample":
        return loop.fit_size
    return max(loop.init_size, loop.n_syn + loop.n_real)


__all__ = ["Family", "categorical", "flow", "gaussian", "gmm", "kde", "linreg", "make_family", "poisson"]
