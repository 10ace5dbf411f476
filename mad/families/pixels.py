"""What the image generators share: an MLP, the standardisation of a training sample, and the
spec pieces of families fitted to pictures (data, validation, memory, metrics, the report's
sample grids).

Both image families (mad.families.vae, mad.families.diffusion) work on standardised pixels: a fit
first takes the training sample's per-pixel mean and one overall log standard deviation (kept in
the parameters, so collapse shrinks a log-scale instead of underflowing; pixels that never vary
stay exactly at their mean), trains its network there, and maps draws back to pixels.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad.families.base import Family
from mad.families.points import Points, point_family, resample_rows

# The picture data sets an image family can be fitted to.
IMAGE_DATA = ("digit_images",)


class MLP(nn.Module):
    """`widths` SiLU layers, then a linear map to `out` units (zero-initialised when `zero_last`:
    the network starts as the constant 0). No hidden layer: a linear (affine) map."""

    widths: Sequence[int]
    out: int
    zero_last: bool = False

    @nn.compact
    def __call__(self, x):
        for width in self.widths:
            x = nn.silu(nn.Dense(width)(x))
        init = nn.initializers.zeros if self.zero_last else nn.initializers.lecun_normal()
        return nn.Dense(self.out, kernel_init=init)(x)


def standardisation(data: Points) -> tuple[Float[Array, " d"], Float[Array, ""]]:
    """Per-pixel weighted mean and the log of the overall standard deviation around it."""
    loc = data.w @ data.x
    var = jnp.mean(data.w @ (data.x - loc[None, :]) ** 2)
    return loc, 0.5 * jnp.log(var + jnp.finfo(var.dtype).tiny)


def standardise(x, loc, log_scale):
    return (x - loc[None, :]) * jnp.exp(-log_scale)


def unstandardise(x, loc, log_scale):
    return loc[None, :] + jnp.exp(log_scale) * x


def train_standardised(loss: Callable, key: jax.Array, net, data: Points, *, steps: int, batch_size: int, opt):
    """`steps` optimiser steps of loss(net, rows, key) on minibatches of the standardised sample,
    drawn by its weights (each step its own key for the loss's noise): (net, loc, log_scale)."""
    from mad.families.flow import descend

    loc, log_scale = standardisation(data)
    x = standardise(data.x, loc, log_scale)

    def batch(k):
        k_rows, k_noise = jax.random.split(k)
        return x[resample_rows(k_rows, data.w, batch_size)], k_noise

    return descend(lambda net, b: loss(net, *b), net, opt, key, steps, batch), loc, log_scale


def image_family(config, data, model, train: Callable) -> Family:
    """The point family of an image generator: each fit trains a fresh network (or, with
    model.warm_start, the previous generation's) with train(model, key, net, points, steps=,
    batch_size=, opt=); draws are model.sample."""
    from mad.families.flow import optimizer

    m = config.model
    opt = optimizer(m.optimizer, m.lr)

    def fit(key, frame, stats: Points):
        k_init, k_train = jax.random.split(key)
        net = frame.net if m.warm_start and frame is not None else model.init_net(k_init)
        return train(model, k_train, net, stats, steps=m.steps, batch_size=m.batch_size, opt=opt)

    return point_family(data=data, sample=model.sample, fit=fit)


def image_spec(architecture: Callable) -> dict:
    """The FamilySpec fields every image family shares (architecture(config) builds its model)."""
    return dict(
        data=IMAGE_DATA,
        exact_pooling=False,
        min_fit=lambda config: (2, "a fit standardises its sample, which needs two images"),
        showcase=showcase(lambda config, data: architecture(config).sample),
        showcase_points=4,
    )


def validate_images(config) -> None:
    """Checks every image family needs: network sizes, the optimiser and the metrics' sizes."""
    from mad.config import choice, integer, positive
    from mad.families.flow import OPTIMIZERS

    m = config.model
    integer("model.hidden", m.hidden, 1)
    integer("model.depth", m.depth, 0)
    integer("model.steps", m.steps, 1)
    integer("model.batch_size", m.batch_size, 1)
    positive("model.lr", m.lr)
    choice("model.optimizer", m.optimizer, OPTIMIZERS)
    choice("metrics.test_set", config.metrics.test_set, ("fixed",))  # the digits' held-out split is one set
    integer("metrics.k", config.metrics.k, 1)
    integer("metrics.samples", config.metrics.samples, config.metrics.k + 1)


def network_floats(config, inputs: int, outputs: int) -> int:
    """Weights, gradients and Adam moments of an MLP of model.depth x model.hidden units."""
    m = config.model
    widths = [inputs, *([m.hidden] * m.depth), outputs]
    return 4 * sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def image_lane_floats(config, networks: int) -> dict[str, int]:
    """Working floats of one loop of an image family beyond its networks."""
    m, dim = config.model, config.data.dim
    k = config.metrics.samples
    return {
        "model.batch_size, model.hidden, model.depth (training activations)": 4 * networks * m.batch_size * (m.hidden * max(m.depth, 1) + dim),
        "loop.n_syn (draws and their activations)": config.loop.draw_size * (3 * dim + 2 * m.hidden * max(m.depth, 1)),
        "metrics.samples (pairwise distances in pixel and feature space)": 4 * k * (k + 400),
    }


def showcase(draw_of):
    """The report's hook for an image family: sample grids and the embedding (mad.report.images);
    draw_of(config, data) -> draw(key, params, n, lam)."""

    def hook(config, run_dir, point=0):
        from mad.report.images import showcase as show

        return show(config, run_dir, draw_of, point)

    return hook
