"""Model families: parameter pytrees with pure fit / sample / log_prob functions.

A new family is a module here exposing `family(...) -> mad.families.base.Family`; register it in
`make_family`.
"""

from __future__ import annotations

import jax.numpy as jnp

from mad.config import Config
from mad.families import gaussian
from mad.families.base import Family


def make_family(config: Config) -> Family:
    """Build the family a config asks for (static settings closed over)."""
    dtype = jnp.dtype(config.precision)
    if config.model.name == "gaussian":
        return gaussian.family(
            dim=config.data.dim,
            scale=config.data.scale,
            covariance=config.model.covariance,
            estimator=config.model.estimator,
            backend=config.model.backend,
            dtype=dtype,
        )
    raise ValueError(f"unknown model.name {config.model.name!r}")


__all__ = ["Family", "gaussian", "make_family"]
