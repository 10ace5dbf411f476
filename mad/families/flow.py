"""A RealNVP normalizing flow (Dinh et al. 2017) in flax, trained each generation with optax.

The third of Shumailov et al.'s error sources, functional approximation, needs a model fitted by
stochastic gradient descent: this one. Every loop has its own small network; the parameter pytree
carries a leading loop axis under vmap, and a generation's whole training run (model.steps optax
steps on minibatches drawn from the weighted training sample) is a `lax.scan`, so thousands of
networks train in one compiled program.

The flow works on standardised data: a fit first takes the training sample's per-coordinate mean
and log standard deviation (kept in the parameters, so collapse shrinks a log-scale rather than
underflowing), then trains `layers` affine couplings with alternating checkerboard masks. The last
layer of each coupling network starts at zero, so a fresh network is the identity and the model
starts as the moment-matched diagonal Gaussian. Sampling bias lam draws the latent from
N(0, lam I), MAD's choice for flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from mad import random
from mad.families.base import Family, FamilySpec
from mad.families.points import POINT_DATA, Points, point_family, point_lane_floats, resample_rows, sample_docs, validate_points


class Conditioner(nn.Module):
    """(masked input) -> (log-scale, shift) of the coordinates the mask leaves free."""

    hidden: int
    dim: int

    @nn.compact
    def __call__(self, x):
        h = nn.tanh(nn.Dense(self.hidden)(x))
        h = nn.tanh(nn.Dense(self.hidden)(h))
        out = nn.Dense(2 * self.dim, kernel_init=nn.initializers.zeros)(h)
        raw_scale, shift = jnp.split(out, 2, axis=-1)
        return 2.0 * jnp.tanh(raw_scale / 2.0), shift  # |log-scale| < 2 per layer keeps steps tame


class FlowParams(NamedTuple):
    net: Any  # tuple of per-layer flax parameter dicts
    loc: Float[Array, " d"]  # standardisation of the training sample
    log_scale: Float[Array, " d"]


def masks(layers: int, dim: int, dtype) -> jax.Array:
    """Alternating checkerboard masks: 1 marks the coordinates a layer conditions on."""
    parity = (jnp.arange(dim)[None, :] + jnp.arange(layers)[:, None]) % 2
    return (parity == 0).astype(dtype)


class Flow:
    """Pure functions of one flow architecture (static: layers, hidden width, dimension)."""

    def __init__(self, *, dim: int, layers: int, hidden: int, dtype):
        self.dim, self.layers, self.dtype = dim, layers, dtype
        self.conditioner = Conditioner(hidden, dim)
        self.masks = masks(layers, dim, dtype)

    def init_net(self, key: jax.Array):
        dummy = jnp.zeros((1, self.dim), self.dtype)
        keys = jax.random.split(key, self.layers)
        nets = tuple(self.conditioner.init(k, dummy) for k in keys)
        return jax.tree.map(lambda a: a.astype(self.dtype), nets)

    def forward(self, net, x: Float[Array, "n d"]) -> tuple[Float[Array, "n d"], Float[Array, " n"]]:
        """Standardised data -> latent, with log |det Jacobian|."""
        log_det = jnp.zeros(x.shape[0], x.dtype)
        for layer in range(self.layers):
            m = self.masks[layer]
            s, t = self.conditioner.apply(net[layer], x * m[None, :])
            s, t = s * (1 - m)[None, :], t * (1 - m)[None, :]
            x = x * jnp.exp(s) + t
            log_det = log_det + jnp.sum(s, axis=1)
        return x, log_det

    def inverse(self, net, z: Float[Array, "n d"]) -> Float[Array, "n d"]:
        for layer in reversed(range(self.layers)):
            m = self.masks[layer]
            s, t = self.conditioner.apply(net[layer], z * m[None, :])  # the masked part is unchanged
            free = (1 - m)[None, :]
            z = (z - t * free) * jnp.exp(-s * free)
        return z

    def log_prob_std(self, net, x):
        z, log_det = self.forward(net, x)
        return -0.5 * jnp.sum(z**2, axis=1) - 0.5 * self.dim * jnp.log(2 * jnp.pi) + log_det

    def log_prob(self, params: FlowParams, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        std = (x - params.loc[None, :]) * jnp.exp(-params.log_scale)[None, :]
        return self.log_prob_std(params.net, std) - jnp.sum(params.log_scale)

    def sample(self, key: jax.Array, params: FlowParams, n: int, lam=1.0) -> Float[Array, "n d"]:
        z = jnp.sqrt(jnp.asarray(lam, self.dtype)) * random.normal(key, (n, self.dim), self.dtype)
        return params.loc[None, :] + jnp.exp(params.log_scale)[None, :] * self.inverse(params.net, z)


def optimizer(name: str, lr: float) -> optax.GradientTransformation:
    make = {"adam": optax.adam, "adamw": optax.adamw, "sgd": optax.sgd}[name]
    return optax.chain(optax.clip_by_global_norm(10.0), make(lr))


def descend(loss, net, opt: optax.GradientTransformation, key: jax.Array, steps: int, batch):
    """`steps` optimiser steps of loss(net, batch(k)), a fresh minibatch per step's key, as one
    scan (the training run of every network family)."""

    def step(carry, k):
        net, state = carry
        grads = jax.grad(loss)(net, batch(k))
        updates, state = opt.update(grads, state, net)
        return (optax.apply_updates(net, updates), state), None

    (net, _), _ = jax.lax.scan(step, (net, opt.init(net)), jax.random.split(key, steps))
    return net


def standardisation(data: Points) -> tuple[Float[Array, " d"], Float[Array, " d"]]:
    loc = data.w @ data.x
    var = data.w @ (data.x - loc[None, :]) ** 2
    return loc, 0.5 * jnp.log(var + jnp.finfo(var.dtype).tiny)


def train(flow: Flow, key: jax.Array, net, data: Points, *, steps: int, batch_size: int, opt) -> FlowParams:
    """`steps` optimiser steps on minibatches drawn (with replacement) by the sample's weights."""
    loc, log_scale = standardisation(data)
    x = (data.x - loc[None, :]) * jnp.exp(-log_scale)[None, :]

    def loss(net, batch):
        return -jnp.mean(flow.log_prob_std(net, batch))

    net = descend(loss, net, opt, key, steps, lambda k: x[resample_rows(k, data.w, batch_size)])
    return FlowParams(net, loc, log_scale)


def family(
    *, data, layers: int, hidden: int, steps: int, optimizer_name: str, lr: float, batch_size: int, warm_start: bool, dtype
) -> tuple[Family, Flow]:
    """The flow family against `data` (a mad.data.RealData), and its architecture."""
    flow = Flow(dim=data.dim, layers=layers, hidden=hidden, dtype=dtype)
    opt = optimizer(optimizer_name, lr)

    def fit(key, frame, stats: Points) -> FlowParams:
        k_init, k_train = jax.random.split(key)
        net = frame.net if warm_start and frame is not None else flow.init_net(k_init)
        return train(flow, k_train, net, stats, steps=steps, batch_size=batch_size, opt=opt)

    return point_family(data=data, sample=flow.sample, fit=fit, log_prob=flow.log_prob), flow


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class FlowConfig:
    """model=flow: RealNVP with `layers` affine couplings of `hidden` units, trained `steps` steps of
    `optimizer` (adam | adamw | sgd, learning rate `lr`, minibatches of `batch_size`), afresh or from
    the previous generation's network (`warm_start`)."""

    name: str = "flow"
    layers: int = 4
    hidden: int = 16
    steps: int = 200
    optimizer: str = "adam"
    lr: float = 3e-3
    batch_size: int = 128
    warm_start: bool = False


OPTIMIZERS = ("adam", "adamw", "sgd")


def build(config, data) -> tuple[Family, Flow]:
    """The flow family of a config and its architecture (the metrics need its density and sampler)."""
    m = config.model
    return family(
        data=data, layers=m.layers, hidden=m.hidden, steps=m.steps, optimizer_name=m.optimizer, lr=m.lr,
        batch_size=m.batch_size, warm_start=m.warm_start, dtype=jnp.dtype(config.precision),
    )  # fmt: skip


def _metrics(config, fam, data):
    from mad.metrics import point_metrics

    flow = build(config, data)[1]
    return point_metrics(config, data, draw=flow.sample, density=flow.log_prob)


def _validate(config) -> None:
    from mad.config import choice, integer, positive

    m = config.model
    integer("model.layers", m.layers, 1)
    integer("model.hidden", m.hidden, 1)
    integer("model.steps", m.steps, 1)
    integer("model.batch_size", m.batch_size, 1)
    positive("model.lr", m.lr)
    choice("model.optimizer", m.optimizer, OPTIMIZERS)
    validate_points(config)


def _lane_floats(config) -> dict[str, int]:
    m, dim = config.model, config.data.dim
    network = 8 * m.layers * (m.hidden * (m.hidden + 2 * dim + 4) + m.batch_size * (m.hidden + dim))
    return {**point_lane_floats(config), "model.hidden, model.layers, model.batch_size (the network and its optimiser)": network}


SPEC = FamilySpec(
    name="flow",
    doc="RealNVP normalizing flow (flax), trained each generation with optax, scored from samples",
    config=FlowConfig,
    data=POINT_DATA,
    build=lambda config, data: build(config, data)[0],
    metrics=_metrics,
    metric_docs=sample_docs,
    exact_pooling=False,
    curation=True,
    min_fit=lambda config: (config.data.dim + 1, f"a fit needs more than data.dim={config.data.dim} points to standardise"),
    validate=_validate,
    lane_floats=_lane_floats,
)
