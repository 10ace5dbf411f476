"""Linear regression relabelled by its predecessor (Gerstgrasser et al. 2024).

A fixed design X (T rows, d columns) is labelled once by the true weights, y = X w* + noise, and
every later generation by the current model, y = X w_t + noise (noise variance lam sigma^2 for
synthetic labels: sampling bias). A fit is least squares on every labelled copy of the design it
is given. Since X is fixed, a sample is summarised exactly by X^T y summed over its copies and the
number of copies c: w = (c X^T X)^{-1} sum X^T y, so accumulating keeps O(d) state.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve
from jaxtyping import Array, Float

from mad.families.base import Family, pool, summed_family


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
