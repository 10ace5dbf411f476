"""Real distributions: a sampler, a held-out test set, and where known a density and modes.

A new data set is a function here returning `RealData`, registered in `make_data`. The test set
is drawn once with a fixed key (the same for every seed and grid point) and never trains a model.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from mad.config import Config
from mad.families import gmm

TEST_KEY = 0xDA7A  # the held-out sample's key: fixed, so all runs are scored on the same points


class RealData(NamedTuple):
    name: str
    dim: int
    sample: Callable[[jax.Array, int], jax.Array]  # (key, n) -> (n, d) real points
    test: np.ndarray  # (n_test, d) held-out real points
    log_prob: Optional[Callable[[jax.Array], jax.Array]]  # (n, d) -> (n,), None if unknown
    modes: Optional[np.ndarray]  # (M, d) mode centres of mixture data
    mixture: Optional[gmm.GmmParams]  # the true mixture, for mixture data


def mixture_params(centres: np.ndarray, std: float, rare_weight: float, dtype) -> gmm.GmmParams:
    """Isotropic components of standard deviation `std`; odd-numbered modes get relative weight
    `rare_weight` (1 = equal weights)."""
    m, d = centres.shape
    rel = np.where(np.arange(m) % 2 == 1, rare_weight, 1.0)
    return gmm.GmmParams(
        jnp.asarray(np.log(rel / rel.sum()), dtype),
        jnp.asarray(centres, dtype),
        jnp.broadcast_to(std * jnp.eye(d, dtype=dtype), (m, d, d)),
    )


def ring_centres(modes: int, radius: float) -> np.ndarray:
    angle = 2 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def grid_centres(side: int, spacing: float) -> np.ndarray:
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    return np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)


def make_data(config: Config) -> RealData:
    cfg, dtype = config.data, jnp.dtype(config.precision)
    if cfg.name == "gaussian":
        params = mixture_params(np.zeros((1, cfg.dim)), cfg.scale, 1.0, dtype)
        centres = None
    elif cfg.name in ("gmm_ring", "gmm_grid"):
        centres = ring_centres(8, cfg.spread) if cfg.name == "gmm_ring" else grid_centres(5, cfg.spread)
        params = mixture_params(centres, cfg.scale, cfg.rare_weight, dtype)
    else:
        raise ValueError(f"unknown data.name {cfg.name!r}")

    def sample(key, n):
        return gmm.sample(key, params, n)

    test = np.asarray(sample(jax.random.key(TEST_KEY), cfg.n_test))
    return RealData(cfg.name, cfg.dim, sample, test, lambda x: gmm.log_prob(params, x), centres, params)


__all__ = ["RealData", "make_data"]
