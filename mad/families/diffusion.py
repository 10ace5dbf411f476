"""A denoising diffusion model (DDPM, Ho et al. 2020) on pictures, trained each generation with
optax: the kind of model MAD loops on MNIST (Alemohammad et al. 2024).

DDPM rather than flow matching because it is the model the MAD paper loops; its sampler is the
ancestral one. The forward process over `diffusion_steps` steps T follows the cosine schedule of
Nichol and Dhariwal (2021), x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps; an MLP of `depth`
hidden layers of `hidden` units predicts v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0 from (x_t,
sinusoidal features of t / T) and is trained on E || v - v_theta(x_t, t) ||^2 with t uniform on
1..T (Salimans and Ho 2022: the same minimiser as Ho et al.'s eps loss up to a weight per t). The
predicted image is then x_0 = sqrt(abar) x_t - sqrt(1 - abar) v_theta, with no division: the eps
form divides the network's error by sqrt(abar_T), about 5e-4 here, and its unclipped draws
diverge (measured: pixel values in the hundreds after 1000 training steps). Sampling walks
`sample_steps` S evenly spaced steps of the schedule back from T (respaced as in Nichol and
Dhariwal: beta_i = 1 - abar_{tau_i} / abar_{tau_{i-1}}), each drawing from the forward process's
posterior mean given the predicted x_0 and the variance `sampler_variance`: `beta` (beta_i) or `posterior` (beta_i (1 - abar_{tau_{i-1}}) /
(1 - abar_{tau_i})), Ho et al.'s two choices (Section 3.2). They matter for collapse: even with the
exact score of a Gaussian target, the posterior choice draws a narrower law than the target (by
20% in variance with 25 of 100 steps; tests/test_images.py computes the sampler's exact law),
so each generation would shrink for the sampler's sake alone; `beta` keeps unit variance exactly
(and standardised pixels have unit overall variance).

Sampling bias lam is the sampler's temperature: the starting noise and every step's noise have
variance lam times their usual one (with lam = 1 the plain sampler). Guidance, the other way to
bias a diffusion model's sampling, needs a conditional model; for this unconditional one the
temperature is the analogue of the latent temperature of the flow and the VAE (quality over
diversity), and for a Gaussian target with the exact score it shrinks the variance by a factor
the tests compute step by step.

Pixels are standardised per fit (mad.families.pixels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mad import random
from mad.families.base import Family, FamilySpec
from mad.families.pixels import MLP, image_family, image_lane_floats, image_spec, network_floats, train_standardised, unstandardise, validate_images
from mad.families.points import Points

TIME_FEATURES = 8  # sinusoidal frequencies of t / T fed to the denoiser (sine and cosine each)
MAX_BETA = 0.999
SAMPLER_VARIANCES = ("beta", "posterior")


def cosine_alpha_bar(steps: int) -> np.ndarray:
    """abar_t for t = 0..T of the cosine schedule (s = 0.008, betas clipped at 0.999); abar_0 = 1."""
    s = 0.008
    f = np.cos((np.arange(steps + 1) / steps + s) / (1 + s) * np.pi / 2) ** 2
    betas = np.minimum(1.0 - f[1:] / f[:-1], MAX_BETA)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def respaced(steps: int, sample_steps: int) -> np.ndarray:
    """The S + 1 timesteps 0 = tau_0 < ... < tau_S = T the sampler visits."""
    return np.unique(np.round(np.linspace(0, steps, sample_steps + 1)).astype(int))


class DiffusionParams(NamedTuple):
    net: Any  # the denoiser's flax parameters
    loc: Float[Array, " d"]  # standardisation of the training sample
    log_scale: Float[Array, ""]


class Diffusion:
    """Pure functions of one DDPM (static: schedule, sampler steps, network sizes, dtype)."""

    def __init__(self, *, dim: int, hidden: int, depth: int, steps: int, sample_steps: int, dtype, variance: str = "beta"):
        self.dim, self.steps, self.dtype, self.variance = dim, steps, dtype, variance
        self.alpha_bar = cosine_alpha_bar(steps)
        self.taus = respaced(steps, sample_steps)
        self.denoiser = MLP((hidden,) * depth, dim, zero_last=True)

    def init_net(self, key: jax.Array):
        dummy = jnp.zeros((1, self.dim + 2 * TIME_FEATURES), self.dtype)
        return jax.tree.map(lambda a: a.astype(self.dtype), self.denoiser.init(key, dummy))

    def features(self, t: jax.Array) -> jax.Array:
        """Sinusoidal features of t / T, (n,) -> (n, 2 * TIME_FEATURES)."""
        angle = (t.astype(self.dtype) / self.steps)[:, None] * (jnp.pi * 2.0 ** jnp.arange(TIME_FEATURES, dtype=self.dtype))[None, :]
        return jnp.concatenate([jnp.sin(angle), jnp.cos(angle)], axis=1)

    def velocity(self, net, x: Float[Array, "n d"], t: jax.Array) -> Float[Array, "n d"]:
        """The network's v prediction at integer times t (n,)."""
        return self.denoiser.apply(net, jnp.concatenate([x, self.features(t)], axis=1))

    def denoise(self, net, x: Float[Array, "n d"], t: jax.Array) -> Float[Array, "n d"]:
        """The predicted clean image x_0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v_theta(x_t, t)."""
        ab = jnp.asarray(self.alpha_bar, self.dtype)[t][:, None]
        return jnp.sqrt(ab) * x - jnp.sqrt(1.0 - ab) * self.velocity(net, x, t)

    def loss(self, net, x0: Float[Array, "n d"], key: jax.Array) -> Float[Array, ""]:
        """Mean over rows of || v - v_theta(x_t, t) ||^2, t uniform on 1..T."""
        k_t, k_eps = jax.random.split(key)
        t = jax.random.randint(k_t, (x0.shape[0],), 1, self.steps + 1)
        ab = jnp.asarray(self.alpha_bar, self.dtype)[t][:, None]
        eps = random.normal(k_eps, x0.shape, x0.dtype)
        xt = jnp.sqrt(ab) * x0 + jnp.sqrt(1.0 - ab) * eps
        v = jnp.sqrt(ab) * eps - jnp.sqrt(1.0 - ab) * x0
        return jnp.mean(jnp.sum((v - self.velocity(net, xt, t)) ** 2, axis=1))

    def coefficients(self) -> dict[str, np.ndarray]:
        """Per sampler step i = S..1 (in that order): its time tau_i, abar there, the posterior
        mean's weights on x_0 and on x_t, and the step's variance (float64)."""
        taus = self.taus
        ab_t, ab_s = self.alpha_bar[taus[1:]], self.alpha_bar[taus[:-1]]
        beta = 1.0 - ab_t / ab_s
        out = {
            "t": taus[1:],
            "abar": ab_t,
            "on_x0": np.sqrt(ab_s) * beta / (1.0 - ab_t),
            "on_xt": np.sqrt(1.0 - beta) * (1.0 - ab_s) / (1.0 - ab_t),
            "var": beta if self.variance == "beta" else beta * (1.0 - ab_s) / (1.0 - ab_t),
        }
        return {name: a[::-1] for name, a in out.items()}

    def reverse(self, denoise: Callable, key: jax.Array, n: int, lam=1.0) -> Float[Array, "n d"]:
        """Ancestral sampling of n rows of standardised pixels at temperature lam, with
        denoise(x_t, t) the predicted x_0."""
        lam = jnp.asarray(lam, self.dtype)
        c = {name: jnp.asarray(a, jnp.int32 if name == "t" else self.dtype) for name, a in self.coefficients().items()}
        k_start, k_steps = jax.random.split(key)
        x = jnp.sqrt(lam) * random.normal(k_start, (n, self.dim), self.dtype)

        def step(x, inputs):
            c, k = inputs
            mean = c["on_x0"] * denoise(x, jnp.full((n,), c["t"])) + c["on_xt"] * x
            return mean + jnp.sqrt(lam * c["var"]) * random.normal(k, x.shape, x.dtype), None

        keys = jax.random.split(k_steps, len(self.taus) - 1)
        x, _ = jax.lax.scan(step, x, (c, keys))
        return x

    def sample(self, key: jax.Array, params: DiffusionParams, n: int, lam=1.0) -> Float[Array, "n d"]:
        x = self.reverse(lambda x, t: self.denoise(params.net, x, t), key, n, lam)
        return unstandardise(x, params.loc, params.log_scale)


def train(model: Diffusion, key: jax.Array, net, data: Points, *, steps: int, batch_size: int, opt) -> DiffusionParams:
    """`steps` optimiser steps of the DDPM loss on minibatches drawn by the sample's weights."""
    return DiffusionParams(*train_standardised(model.loss, key, net, data, steps=steps, batch_size=batch_size, opt=opt))


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class DiffusionConfig:
    """model=diffusion: a DDPM over `diffusion_steps` noise levels (cosine schedule) sampled in
    `sample_steps` ancestral steps of variance `sampler_variance` (beta | posterior); its v-predicting MLP has `depth` hidden layers of `hidden`
    units, trained `steps` steps of `optimizer` (learning rate `lr`, minibatches of `batch_size`),
    afresh or from the previous network (`warm_start`)."""

    name: str = "diffusion"
    hidden: int = 128
    depth: int = 2
    diffusion_steps: int = 100
    sample_steps: int = 25
    sampler_variance: str = "beta"
    steps: int = 400
    optimizer: str = "adam"
    lr: float = 2e-3
    batch_size: int = 64
    warm_start: bool = False


def architecture(config) -> Diffusion:
    m = config.model
    return Diffusion(
        dim=config.data.dim, hidden=m.hidden, depth=m.depth, steps=m.diffusion_steps, sample_steps=m.sample_steps,
        dtype=jnp.dtype(config.precision), variance=m.sampler_variance,
    )  # fmt: skip


def build(config, data) -> Family:
    return image_family(config, data, architecture(config), train)


def _metrics(config, fam, data):
    from mad.metrics.images import image_metrics

    return image_metrics(config, data, draw=architecture(config).sample)


def _docs():
    from mad.metrics.images import IMAGE_DOCS

    return IMAGE_DOCS


def _validate(config) -> None:
    from mad.config import ConfigError, choice, integer

    m = config.model
    choice("model.sampler_variance", m.sampler_variance, SAMPLER_VARIANCES)
    integer("model.diffusion_steps", m.diffusion_steps, 1)
    integer("model.sample_steps", m.sample_steps, 1)
    if m.sample_steps > m.diffusion_steps:
        raise ConfigError(f"model.sample_steps={m.sample_steps} must be at most model.diffusion_steps={m.diffusion_steps} (the sampler visits steps of the schedule)")
    validate_images(config)


def _lane_floats(config) -> dict[str, int]:
    dim = config.data.dim
    networks = {"model.hidden, model.depth (the denoiser and its optimiser)": network_floats(config, dim + 2 * TIME_FEATURES, dim)}
    return {**image_lane_floats(config, networks=1), **networks}


SPEC = FamilySpec(
    name="diffusion",
    doc="denoising diffusion model (DDPM, flax MLP denoiser) on 8 x 8 digit images, trained each generation with optax",
    config=DiffusionConfig,
    build=build,
    metrics=_metrics,
    metric_docs=_docs,
    validate=_validate,
    lane_floats=_lane_floats,
    **image_spec(architecture),
)
