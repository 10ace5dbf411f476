"""A variational autoencoder (Kingma and Welling 2014) on pictures, trained each generation with
optax: Shumailov et al.'s image model (they train a VAE on MNIST on its own samples).

Encoder and decoder are MLPs of `depth` hidden layers of `hidden` units (depth 0: both linear, a
VAE whose optimum is probabilistic PCA); the encoder gives a diagonal Gaussian q(z | x) over
`latent` dimensions, the decoder the mean of a Gaussian p(x | z) with one learned standard
deviation per pixel. Training maximises the single-sample reparameterised ELBO

    ELBO(x) = E_q log N(x; decoder(z), diag sigma^2) - KL(q(z | x) || N(0, I))

on minibatches of the weighted training sample, `steps` steps of optax (fresh each generation or
from the previous network, `warm_start`). The model's distribution, which the next generation is
trained on, is x = decoder(z) + sigma * eps with z ~ N(0, lam I): sampling bias lam is the latent
temperature, MAD's truncation for latent-variable models. `decoder_noise=false` writes the decoder
means instead (the usual picture of a VAE's samples, and a sharper, less diverse loop).

Pixels are standardised per fit (mad.families.pixels): the ELBO in pixel units subtracts
64 log(scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad import random
from mad.families.base import Family, FamilySpec
from mad.families.pixels import (
    MLP, image_family, image_lane_floats, image_spec, network_floats, standardise, train_standardised, unstandardise, validate_images,
)  # fmt: skip
from mad.families.points import Points

LOG_SIGMA_RANGE = (-7.0, 3.0)  # the decoder's per-pixel log standard deviation, in standardised units
# The encoder's log standard deviation: a collapsed model (a fit on copies of one picture has a
# standardisation scale near the smallest float) sees held-out pictures at 1e150 standardised
# units; unclipped, exp(log_sd) overflows and z = mean + inf * eps turns the ELBO into NaN.
LOG_SD_RANGE = (-10.0, 10.0)


class VaeParams(NamedTuple):
    net: Any  # {"encoder", "decoder": flax parameters, "log_sigma": (d,)}
    loc: Float[Array, " d"]  # standardisation of the training sample
    log_scale: Float[Array, ""]


class VAE:
    """Pure functions of one VAE architecture (static: sizes, depth, dtype, how it draws)."""

    def __init__(self, *, dim: int, latent: int, hidden: int, depth: int, decoder_noise: bool, dtype):
        self.dim, self.latent, self.dtype, self.decoder_noise = dim, latent, dtype, decoder_noise
        self.encoder = MLP((hidden,) * depth, 2 * latent)
        self.decoder = MLP((hidden,) * depth, dim)

    def init_net(self, key: jax.Array):
        k_enc, k_dec = jax.random.split(key)
        net = {
            "encoder": self.encoder.init(k_enc, jnp.zeros((1, self.dim), self.dtype)),
            "decoder": self.decoder.init(k_dec, jnp.zeros((1, self.latent), self.dtype)),
            "log_sigma": jnp.zeros(self.dim, self.dtype),
        }
        return jax.tree.map(lambda a: a.astype(self.dtype), net)

    def encode(self, net, x: Float[Array, "n d"]) -> tuple[Float[Array, "n q"], Float[Array, "n q"]]:
        """Mean and log standard deviation of q(z | x)."""
        mean, log_sd = jnp.split(self.encoder.apply(net["encoder"], x), 2, axis=-1)
        return mean, jnp.clip(log_sd, *LOG_SD_RANGE)

    def decode(self, net, z: Float[Array, "n q"]) -> Float[Array, "n d"]:
        return self.decoder.apply(net["decoder"], z)

    @staticmethod
    def log_sigma(net) -> Float[Array, " d"]:
        return jnp.clip(net["log_sigma"], *LOG_SIGMA_RANGE)

    def elbo_std(self, net, x: Float[Array, "n d"], key: jax.Array) -> Float[Array, " n"]:
        """Single-sample reparameterised ELBO of each row of standardised pixels."""
        mean, log_sd = self.encode(net, x)
        z = mean + jnp.exp(log_sd) * random.normal(key, mean.shape, mean.dtype)
        log_sigma = self.log_sigma(net)
        resid = (x - self.decode(net, z)) * jnp.exp(-log_sigma)[None, :]
        log_lik = -0.5 * jnp.sum(resid**2 + 2 * log_sigma[None, :] + jnp.log(2 * jnp.pi), axis=1)
        kl = 0.5 * jnp.sum(mean**2 + jnp.exp(2 * log_sd) - 1.0 - 2 * log_sd, axis=1)
        return log_lik - kl

    def elbo(self, params: VaeParams, x: Float[Array, "n d"], key: jax.Array) -> Float[Array, " n"]:
        """ELBO of rows of pixels (a lower bound of the model's log-density there)."""
        return self.elbo_std(params.net, standardise(x, params.loc, params.log_scale), key) - self.dim * params.log_scale

    def sample(self, key: jax.Array, params: VaeParams, n: int, lam=1.0) -> Float[Array, "n d"]:
        k_z, k_x = jax.random.split(key)
        z = jnp.sqrt(jnp.asarray(lam, self.dtype)) * random.normal(k_z, (n, self.latent), self.dtype)
        x = self.decode(params.net, z)
        if self.decoder_noise:
            x = x + jnp.exp(self.log_sigma(params.net))[None, :] * random.normal(k_x, x.shape, self.dtype)
        return unstandardise(x, params.loc, params.log_scale)


def train(vae: VAE, key: jax.Array, net, data: Points, *, steps: int, batch_size: int, opt) -> VaeParams:
    """`steps` optimiser steps of the negative ELBO on minibatches drawn by the sample's weights."""
    loss = lambda net, rows, k_eps: -jnp.mean(vae.elbo_std(net, rows, k_eps))  # noqa: E731
    return VaeParams(*train_standardised(loss, key, net, data, steps=steps, batch_size=batch_size, opt=opt))


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class VaeConfig:
    """model=vae: encoder and decoder MLPs of `depth` hidden layers of `hidden` units around a
    `latent`-dimensional Gaussian latent, trained `steps` steps of `optimizer` (learning rate `lr`,
    minibatches of `batch_size`), afresh or from the previous network (`warm_start`); draws add the
    decoder's noise (`decoder_noise`) or are its means."""

    name: str = "vae"
    latent: int = 8
    hidden: int = 128
    depth: int = 2
    steps: int = 400
    optimizer: str = "adam"
    lr: float = 2e-3
    batch_size: int = 64
    warm_start: bool = False
    decoder_noise: bool = True


def architecture(config) -> VAE:
    m = config.model
    return VAE(dim=config.data.dim, latent=m.latent, hidden=m.hidden, depth=m.depth, decoder_noise=m.decoder_noise, dtype=jnp.dtype(config.precision))


def build(config, data) -> Family:
    return image_family(config, data, architecture(config), train)


def _metrics(config, fam, data):
    from mad.metrics.images import image_metrics

    vae = architecture(config)
    return image_metrics(config, data, draw=vae.sample, elbo=vae.elbo)


def _docs():
    from mad.metrics.images import IMAGE_DOCS, VAE_DOCS

    return {**IMAGE_DOCS, **VAE_DOCS}


def _validate(config) -> None:
    from mad.config import integer

    integer("model.latent", config.model.latent, 1)
    validate_images(config)


def _lane_floats(config) -> dict[str, int]:
    dim, latent = config.data.dim, config.model.latent
    networks = {"model.hidden, model.depth, model.latent (the networks and their optimiser)": network_floats(config, dim, 2 * latent) + network_floats(config, latent, dim)}
    return {**image_lane_floats(config, networks=2), **networks}


SPEC = FamilySpec(
    name="vae",
    doc="variational autoencoder (flax MLPs) on 8 x 8 digit images, trained each generation with optax",
    config=VaeConfig,
    build=build,
    metrics=_metrics,
    metric_docs=_docs,
    validate=_validate,
    lane_floats=_lane_floats,
    **image_spec(architecture),
)
