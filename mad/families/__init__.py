"""Model families: parameter pytrees with pure fit / sample / log_prob functions.

A new family is a module here exposing `family(...) -> mad.families.base.Family`; register it in
`make_family`.
"""

from __future__ import annotations

import jax.numpy as jnp

from mad.config import Config, components_of
from mad.families import gaussian, gmm
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
    raise ValueError(f"unknown model.name {config.model.name!r}")


__all__ = ["Family", "gaussian", "gmm", "make_family"]
