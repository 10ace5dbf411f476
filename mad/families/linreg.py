"""Linear regression relabelled by its predecessor (Gerstgrasser et al. 2024).

A fixed design X (T rows, d columns) is labelled once by the true weights, y = X w* + noise, and
every later generation by the current model, y = X w_t + noise (noise variance lam sigma^2 for
synthetic labels: sampling bias). A fit is least squares on every labelled copy of the design it
is given. Since X is fixed, a sample is summarised exactly by X^T y summed over its copies and the
number of copies c: w = (c X^T X)^{-1} sum X^T y, so accumulating keeps O(d) state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve
from jaxtyping import Array, Float

from mad.families.base import Family, FamilySpec, pool, summed_family


class Labels(NamedTuple):
    xty: Float[Array, " d"]  # sum over copies of X^T y
    copies: Float[Array, ""]  # how many labelled copies of the design


class LinregParams(NamedTuple):
    weights: Float[Array, " d"]


def merge(a: Labels, b: Labels, weight_a=None) -> Labels:
    return Labels(*pool(a.xty, a.copies, b.xty, b.copies, weight_a))


def family(*, design, weights, noise: float, dtype) -> Family:
    """Against the fixed `design` (T, d), true `weights` (d,) and label noise std `noise`."""
    x = jnp.asarray(design, dtype)
    gram_chol = jnp.linalg.cholesky(x.T @ x)
    reference = LinregParams(jnp.asarray(weights, dtype))

    def label(key, params, lam):
        eps = jax.random.normal(key, (x.shape[0],), dtype)
        return Labels(x.T @ (x @ params.weights + jnp.sqrt(lam) * noise * eps), jnp.asarray(1.0, dtype))

    def fit(key, frame, stats: Labels) -> LinregParams:
        return LinregParams(cho_solve((gram_chol, True), stats.xty) / stats.copies)

    return summed_family(
        reference=reference,
        real=lambda key, n: label(key, reference, 1.0),
        synthetic=lambda key, params, n, lam: label(key, params, lam),
        merge=merge,
        fit=fit,
        what="regression labels",
    )


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class LinregConfig:
    """model=linreg: least squares on the fixed design (no keys of its own)."""

    name: str = "linreg"


def _metrics(config, fam, data):
    from mad.metrics import closed_form_metrics, discrete

    return closed_form_metrics(fam, lambda ref, p: discrete.linreg(ref.weights, p.weights, config.collapse_threshold))


def _validate(config) -> None:
    from mad.config import ConfigError

    loop = config.loop
    if loop.init_size != loop.n_syn:
        raise ConfigError(
            f"loop.n_init={loop.init_size} must equal loop.n_syn={loop.n_syn} for model=linreg: "
            "every generation relabels the same fixed design of n_syn rows"
        )


def _theory(config, loop) -> dict:
    from mad.data import make_data
    from mad.theory import regression

    if not (loop.fully_synthetic or loop.accumulates):
        return {}
    data = make_data(config)
    return {"test_error": regression.test_error(data.design, data.noise, config.generations, lam=config.loop.lam, accumulate=loop.accumulates)}


def _docs():
    from mad.metrics.discrete import DOCS

    return {"test_error": DOCS["test_error"]}


SPEC = FamilySpec(
    name="linreg",
    doc="least squares on a fixed design relabelled by the previous model (Gerstgrasser et al.)",
    config=LinregConfig,
    data=("regression",),
    build=lambda config, data: family(design=data.design, weights=data.weights, noise=data.noise, dtype=jnp.dtype(config.precision)),
    metrics=_metrics,
    metric_docs=_docs,
    loops=("replace", "accumulate"),
    draws_points=False,
    min_fit=lambda config: (config.data.dim + 2, f"least squares with an unbiased noise variance needs data.dim + 2 = {config.data.dim + 2} rows"),
    validate=_validate,
    theory=_theory,
)
