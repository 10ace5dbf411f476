"""Real distributions: a sampler, a held-out test set, and where known a density and modes.

A new data set is a function here returning `RealData`, registered in `make_data`. The test set
is drawn once with a fixed key (the same for every seed and grid point) and never trains a model.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from mad import random
from mad.config import Config
from mad.data import discrete, images, text
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
    mean: np.ndarray  # (d,) exact mean of the real distribution
    cov: np.ndarray  # (d, d) exact covariance: with `mean`, the moment-matched Gaussian


def mixture_params(centres: np.ndarray, std: float, rare_weight: float, dtype) -> gmm.GmmParams:
    """Isotropic components of standard deviation `std`; odd-numbered modes get relative weight
    `rare_weight` (1 = equal weights)."""
    m, d = centres.shape
    rel = np.where(np.arange(m) % 2 == 1, rare_weight, 1.0)
    # Built in numpy and put on the device once: eager jnp here would compile a program per operation.
    return gmm.GmmParams(
        jnp.asarray(np.log(rel / rel.sum()).astype(dtype)),
        jnp.asarray(np.asarray(centres, dtype)),
        jnp.asarray(np.broadcast_to(std * np.eye(d, dtype=dtype), (m, d, d))),
    )


def ring_centres(modes: int, radius: float) -> np.ndarray:
    angle = 2 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)


def grid_centres(side: int, spacing: float) -> np.ndarray:
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    return np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2)


def moons(noise: float, dtype, spacing: str = "random") -> tuple[Callable, Callable]:
    """Two interleaved half circles plus N(0, noise^2 I) noise: arc positions uniform at random
    (`random`: each point on either arc with probability 1/2), or as scikit-learn's make_moons
    lays them out (`even`: n // 2 points evenly spaced on the upper arc, the rest on the lower,
    before the noise).

    Not a mixture, so any finite mixture misfits it (functional expressivity error). Its density
    is the arcs' uniform measure convolved with the noise, integrated on 512 points per arc.
    """

    def arcs(t):
        upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=-1)
        lower = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=-1)
        return upper, lower

    def sample(key, n):
        k_t, k_side, k_noise = jax.random.split(key, 3)
        if spacing == "even":
            upper_n = n // 2
            upper, _ = arcs(jnp.linspace(0.0, jnp.pi, upper_n, dtype=dtype))
            _, lower = arcs(jnp.linspace(0.0, jnp.pi, n - upper_n, dtype=dtype))
            on_arcs = jnp.concatenate([upper, lower])
        else:
            t = jax.random.uniform(k_t, (n,), dtype, 0.0, jnp.pi)
            upper, lower = arcs(t)
            side = jax.random.bernoulli(k_side, 0.5, (n,))[:, None]
            on_arcs = jnp.where(side, upper, lower)
        return on_arcs + noise * random.normal(k_noise, (n, 2), dtype)

    grid = jnp.linspace(0.0, jnp.pi, 512, dtype=dtype)
    nodes = jnp.concatenate(arcs(grid))  # (1024, 2), equal mass each

    def log_prob(x):
        d2 = jnp.sum((x[:, None, :] - nodes[None, :, :]) ** 2, axis=-1)
        log_kernel = -0.5 * d2 / noise**2 - jnp.log(2 * jnp.pi * noise**2)
        return jax.scipy.special.logsumexp(log_kernel, axis=1) - jnp.log(nodes.shape[0])

    return sample, log_prob


def digits(dim: int, dtype) -> tuple[Callable, np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits (shipped with the package, 1797 images of 8 x 8),
    standardised and projected by PCA to `dim` dimensions; a fixed 20% is held out. Real draws
    are rows of the training split, with replacement."""
    from sklearn.datasets import load_digits

    x = load_digits().data.astype(np.float64)
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    z = x @ vt[:dim].T
    order = np.random.default_rng(TEST_KEY).permutation(len(z))
    held_out = len(z) // 5
    test, train = z[order[:held_out]], jnp.asarray(z[order[held_out:]], dtype)

    def sample(key, n):
        return train[jax.random.randint(key, (n,), 0, train.shape[0])]

    return sample, test.astype(dtype), z[order[held_out:]]


def draw_test(sample: Callable[[jax.Array, int], jax.Array], n: int) -> np.ndarray:
    """The held-out sample: `n` draws with TEST_KEY, as one compiled program (drawn eagerly,
    each of its operations would compile on its own: most of a small run's set-up time)."""
    return np.asarray(jax.jit(sample, static_argnums=1)(jax.random.key(TEST_KEY), n))


def mixture_moments(params: gmm.GmmParams) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a mixture: sum w_k mu_k and sum w_k (Sigma_k + mu_k mu_k^T) - mu mu^T."""
    w = np.exp(np.asarray(params.log_weights, np.float64))
    mu = np.asarray(params.means, np.float64)
    chol = np.asarray(params.chols, np.float64)
    mean = w @ mu
    second = np.einsum("k,kij->ij", w, chol @ np.swapaxes(chol, 1, 2) + mu[:, :, None] * mu[:, None, :])
    return mean, second - np.outer(mean, mean)


def make_data(config: Config):
    """The real distribution of `config.data`: a RealData for point clouds, else the discrete
    description (mad.data.discrete) its family needs."""
    cfg, dtype = config.data, jnp.dtype(config.precision)
    if cfg.name == "zipf":
        return discrete.zipf(cfg.vocab, cfg.exponent)
    if cfg.name == "words":
        return discrete.words(cfg.vocab)
    if cfg.name == "text":
        return text.load(cfg.vocab, cfg.context, cfg.n_test, cfg.path)
    if cfg.name == "poisson":
        return discrete.PoissonData("poisson", cfg.rate)
    if cfg.name == "regression":
        return discrete.regression(config.loop.n_syn, cfg.dim, cfg.scale)
    if cfg.name == "two_classes":
        return discrete.two_classes(cfg.dim, cfg.spread, cfg.scale)
    if cfg.name == "moons":
        sample, log_prob = moons(cfg.scale, dtype, cfg.spacing)
        test = draw_test(sample, cfg.n_test)
        t = np.linspace(0.0, np.pi, 512)
        nodes = np.concatenate([np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)])
        cov = np.cov(nodes.T, ddof=0) + cfg.scale**2 * np.eye(2)
        return RealData(cfg.name, 2, sample, test, log_prob, None, None, nodes.mean(0), cov)
    if cfg.name == "digits":
        sample, test, train = digits(cfg.dim, dtype)
        return RealData(cfg.name, cfg.dim, sample, test, None, None, None, train.mean(0), np.cov(train.T, ddof=0).reshape(cfg.dim, cfg.dim))
    if cfg.name == "digit_images":
        pictures = images.split()
        train = jnp.asarray(pictures.train, dtype)

        def draw(key, n):
            return train[jax.random.randint(key, (n,), 0, train.shape[0])]

        cov = np.cov(pictures.train.T, ddof=0)
        return RealData(cfg.name, cfg.dim, draw, pictures.test.astype(dtype), None, None, None, pictures.train.mean(0), cov)
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

    test = draw_test(sample, cfg.n_test)
    mean, cov = mixture_moments(params)
    return RealData(cfg.name, cfg.dim, sample, test, lambda x: gmm.log_prob(params, x), centres, params, mean, cov)


__all__ = ["RealData", "discrete", "images", "make_data"]
