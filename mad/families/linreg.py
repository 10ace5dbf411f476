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
from jaxtyping import Array, Float

from mad.families.base import Family, FamilySpec, pool, summed_family
from mad.linalg import cho_solve, cholesky


class Labels(NamedTuple):
    xty: Float[Array, " d"]  # sum over copies of X^T y
    copies: Float[Array, ""]  # how many labelled copies of the design
    design: Float[Array, "t d"] | tuple = ()  # per-loop designs: the loop's own X (else unused)


class LinregParams(NamedTuple):
    weights: Float[Array, " d"]
    design: Float[Array, "t d"] | tuple = ()  # per-loop designs: the design this loop relabels


def merge(a: Labels, b: Labels, weight_a=None) -> Labels:
    return Labels(*pool(a.xty, a.copies, b.xty, b.copies, weight_a), a.design)


def family(*, design, weights, noise: float, dtype, per_loop: bool = False) -> Family:
    """Against the fixed `design` (T, d), true `weights` (d,) and label noise std `noise`; with
    per_loop each loop draws its own N(0, I) design of that shape with its real labels, and
    carries it in its parameters (peers' convention: a new design per seed)."""
    fixed = jnp.asarray(design, dtype)
    rows, dim = fixed.shape
    reference = LinregParams(jnp.asarray(weights, dtype), jnp.zeros((rows, dim), dtype) if per_loop else ())

    def label(key, x, w, lam):
        eps = jax.random.normal(key, (rows,), dtype)
        return Labels(x.T @ (x @ w + jnp.sqrt(lam) * noise * eps), jnp.asarray(1.0, dtype), x if per_loop else ())

    def real(key, n):
        k_design, k_label = jax.random.split(key)
        x = jax.random.normal(k_design, (rows, dim), dtype) if per_loop else fixed
        return label(k_label, x, reference.weights, 1.0)

    fixed_chol = None if per_loop else cholesky(fixed.T @ fixed)

    def fit(key, frame, stats: Labels) -> LinregParams:
        chol = cholesky(stats.design.T @ stats.design) if per_loop else fixed_chol
        return LinregParams(cho_solve(chol, stats.xty) / stats.copies, stats.design)

    def synthetic(key, params, n, lam):
        return label(key, params.design if per_loop else fixed, params.weights, lam)

    return summed_family(reference=reference, real=real, synthetic=synthetic, merge=merge, fit=fit, what="regression labels")


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class LinregConfig:
    """model=linreg: least squares on the design (no keys of its own; data.design says whose)."""

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
    if config.data.design == "per_loop":  # averaged over the loops' Gaussian designs
        return {"test_error": regression.random_design_test_error(
            config.generations, data.noise**2, config.data.dim, config.loop.n_syn, lam=config.loop.lam, accumulate=loop.accumulates)}  # fmt: skip
    return {"test_error": regression.test_error(data.design, data.noise, config.generations, lam=config.loop.lam, accumulate=loop.accumulates)}


def _docs():
    from mad.metrics.discrete import DOCS

    return {"test_error": DOCS["test_error"]}


SPEC = FamilySpec(
    name="linreg",
    doc="least squares on a fixed design relabelled by the previous model (Gerstgrasser et al.)",
    config=LinregConfig,
    data=("regression",),
    build=lambda config, data: family(
        design=data.design, weights=data.weights, noise=data.noise, dtype=jnp.dtype(config.precision), per_loop=config.data.design == "per_loop"
    ),
    metrics=_metrics,
    metric_docs=_docs,
    loops=("replace", "accumulate"),
    draws_points=False,
    min_fit=lambda config: (config.data.dim + 2, f"least squares with an unbiased noise variance needs data.dim + 2 = {config.data.dim + 2} rows"),
    validate=_validate,
    theory=_theory,
    lane_floats=lambda config: {"loop.n_syn x data.dim (the loop's own design)": 2 * config.loop.n_syn * config.data.dim}
    if config.data.design == "per_loop" else {},
)
