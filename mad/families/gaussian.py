"""Multivariate Gaussian family: parameters, weighted sufficient statistics, fitting and sampling.

A Gaussian is stored as N(mean, L L^T) with L = U diag(exp(log_scale)) and U unit lower
triangular (an LDL^T factorisation kept in log space). Under collapse the scales shrink
geometrically; keeping their logarithms apart from U means log det Sigma = 2 sum(log_scale) stays
exact far below what a float32 covariance could hold.

Summaries keep a factor too: a sample's scatter is held as a lower-triangular L with L L^T = S,
computed from the centred points by Gram-Schmidt (the R of their QR), never by forming x^T x and
factoring it. Forming x^T x squares the condition number: at n = d + 1 points in float32 about one
sample in a thousand has a scatter whose Cholesky factorisation fails (NaN), while the factor of the
points themselves always exists and is exact for data perturbed at rounding level.

The same idea keeps fitting exact: synthetic data are drawn and summarised in the *frame* of the
model that generated them (y = L^{-1}(x - mean), i.e. N(0, lam I)), the new fit is computed in that
frame and composed back onto the old one. Refitting never multiplies tiny numbers by tiny numbers.

Two backends share one law. `samples` draws the n points and summarises them; `suffstats` draws the
summary directly: the mean from N(0, lam I / n) and the scatter from Wishart_d(n - 1, lam I) by the
Bartlett decomposition, so a generation costs O(d^3) whatever n is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mad import random
from mad.linalg import matmul, solve_lower, tril_of_rows
from mad.families.base import Family, FamilySpec


class GaussianParams(NamedTuple):
    """N(mean, L L^T) with L = unit_tril @ diag(exp(log_scale))."""

    mean: Float[Array, " d"]
    log_scale: Float[Array, " d"]
    unit_tril: Float[Array, "d d"]


class Moments(NamedTuple):
    """Weighted summary of a sample (weights w_i >= 0 summing to one).

    mean = sum w_i x_i, tril lower triangular with tril tril^T = cov = sum w_i (x_i - mean)(x_i -
    mean)^T, wsq = sum w_i^2 (1 / count for equal weights), count = number of points.
    """

    count: Float[Array, ""]
    mean: Float[Array, " d"]
    tril: Float[Array, "d d"]
    wsq: Float[Array, ""]

    @property
    def cov(self) -> Float[Array, "d d"]:
        """The weighted covariance (for inspection: the family never forms it)."""
        return self.tril @ self.tril.T


def standard(dim: int, scale: float = 1.0, dtype=jnp.float32) -> GaussianParams:
    """N(0, scale^2 I), built in numpy (eager jnp would compile a program per array)."""
    dtype = np.dtype(dtype)
    return GaussianParams(
        mean=jnp.asarray(np.zeros(dim, dtype)),
        log_scale=jnp.asarray(np.full(dim, np.log(scale), dtype)),
        unit_tril=jnp.asarray(np.eye(dim, dtype=dtype)),
    )


def scale_tril(params: GaussianParams) -> Float[Array, "d d"]:
    """L with Sigma = L L^T (underflows to zero under deep collapse; use log_scale there)."""
    return params.unit_tril * jnp.exp(params.log_scale)[None, :]


def logdet(params: GaussianParams) -> Float[Array, ""]:
    return 2.0 * jnp.sum(params.log_scale)


# ----------------------------------------------------------------------------- sufficient statistics


def moments_of_points(x: Float[Array, "n d"], mask=None) -> Moments:
    """Equal-weight moments of the rows of x (of the rows where `mask` is true, if given)."""
    if mask is None:
        n = x.shape[0]
        mean = jnp.mean(x, axis=0)
        centred = (x - mean[None, :]) / jnp.sqrt(jnp.asarray(n, x.dtype))
        return Moments(jnp.asarray(n, x.dtype), mean, tril_of_rows(centred), jnp.asarray(1.0 / n, x.dtype))
    n = jnp.sum(mask).astype(x.dtype)
    w = mask.astype(x.dtype) / n
    mean = w @ x
    centred = (x - mean[None, :]) * jnp.sqrt(w)[:, None]
    return Moments(n, mean, tril_of_rows(centred), 1.0 / n)


def merge(a: Moments, b: Moments, weight_a: Optional[Float[Array, ""]] = None) -> Moments:
    """Moments of the union of two samples; a carries total weight `weight_a` (default: by counts).

    cov = w S_a + (1 - w) S_b + w (1 - w) (m_a - m_b)(m_a - m_b)^T  (Chan et al.'s pairwise update),
    factored as the triangle of the stacked rows [sqrt(w) L_a^T; sqrt(1 - w) L_b^T; sqrt(w (1 - w)) delta^T].
    """
    count = a.count + b.count
    w = a.count / count if weight_a is None else jnp.asarray(weight_a, a.mean.dtype)
    delta = a.mean - b.mean
    rows = jnp.concatenate([jnp.sqrt(w) * a.tril.T, jnp.sqrt(1 - w) * b.tril.T, jnp.sqrt(w * (1 - w)) * delta[None, :]])
    return Moments(
        count=count,
        mean=w * a.mean + (1 - w) * b.mean,
        tril=tril_of_rows(rows),
        wsq=w**2 * a.wsq + (1 - w) ** 2 * b.wsq,
    )


def merge_unbiased(a: Moments, b: Moments, weight_a: Optional[Float[Array, ""]] = None) -> Moments:
    """He et al.'s estimator: the weighted mean, and the weighted average of the two samples'
    *unbiased* covariances, w S_a / (1 - wsq_a) + (1 - w) S_b / (1 - wsq_b), with no between-sample
    term (default weight: by counts). The result is already unbiased: wsq = 0 tells the fit so."""
    count = a.count + b.count
    w = a.count / count if weight_a is None else jnp.asarray(weight_a, a.mean.dtype)
    rows = jnp.concatenate([jnp.sqrt(w / (1 - a.wsq)) * a.tril.T, jnp.sqrt((1 - w) / (1 - b.wsq)) * b.tril.T])
    return Moments(count=count, mean=w * a.mean + (1 - w) * b.mean, tril=tril_of_rows(rows), wsq=jnp.zeros_like(a.wsq))


def bartlett(key: jax.Array, df: int, dim: int, dtype) -> Float[Array, "d d"]:
    """Lower-triangular A with A A^T ~ Wishart_dim(df, I), also for a singular df < dim.

    A_jj = sqrt(chi2(df - j)) and A_ij ~ N(0, 1) below the diagonal, for columns j < df
    (zero-based); the remaining columns are zero (the Cholesky factor of a rank-df scatter).
    """
    k_diag, k_off = jax.random.split(key)
    rank = min(df, dim)
    diag = jnp.exp(0.5 * random.log_chisquare(k_diag, [df - j for j in range(rank)], dtype))
    if rank < dim:
        diag = jnp.concatenate([diag, jnp.zeros(dim - rank, dtype)])
    return _strictly_lower_normals(k_off, dim, rank, dtype) + np.eye(dim, dtype=dtype) * diag[None, :]


def _strictly_lower_normals(key: jax.Array, dim: int, rank: int, dtype) -> Float[Array, "d d"]:
    """A d x d matrix with independent N(0, 1) entries below the diagonal in its first `rank`
    columns and zeros elsewhere. Only those entries are drawn (random numbers are most of a
    generation's cost), and placed by a gather with constant indices (no scatter under vmap)."""
    live = np.tril(np.ones((dim, dim), bool), k=-1) & (np.arange(dim)[None, :] < rank)
    count = int(live.sum())
    index = np.full((dim, dim), count)
    index[live] = np.arange(count)
    z = random.normal(key, (count,), dtype)
    return jnp.concatenate([z, jnp.zeros(1, dtype)])[index]


def standard_moments(
    key: jax.Array, n: int, lam: Float[Array, ""], *, dim: int, covariance: str, backend: str, dtype
) -> Moments:
    """Moments of n points from N(0, lam I), drawn point by point or directly in law.

    With `suffstats`, only what the fit of `covariance` uses is drawn: the whole scatter (full),
    its diagonal (diag: independent chi2(n - 1)), or its trace (iso: chi2(d (n - 1))).
    """
    lam = jnp.asarray(lam, dtype)
    if not isinstance(n, (int, np.integer)):
        return _sized_moments(key, n, lam, dim=dim, covariance=covariance, dtype=dtype)
    if backend == "samples":
        z = random.normal(key, (n, dim), dtype)
        return moments_of_points(jnp.sqrt(lam) * z)
    k_mean, k_scatter = jax.random.split(key)
    mean = jnp.sqrt(lam / n) * jax.random.normal(k_mean, (dim,), dtype)
    if covariance == "full":
        root = bartlett(k_scatter, n - 1, dim, dtype)  # the scatter's Cholesky factor itself
    elif covariance == "diag":
        root = jnp.diag(jnp.exp(0.5 * random.log_chisquare(k_scatter, [n - 1] * dim, dtype)))
    else:
        log_total = random.log_chisquare(k_scatter, dim * (n - 1), dtype)[0]
        root = jnp.exp(0.5 * (log_total - jnp.log(float(dim)))) * jnp.eye(dim, dtype=dtype)
    return Moments(jnp.asarray(n, dtype), mean, jnp.sqrt(lam / n) * root, jnp.asarray(1.0 / n, dtype))


def _sized_moments(key: jax.Array, n: jax.Array, lam: Float[Array, ""], *, dim: int, covariance: str, dtype) -> Moments:
    """`standard_moments` in law (suffstats) for a traced size n >= 2 (a schedule's n_t): the same
    laws, with every chi-square drawn as 2 Gamma(df / 2) since its degrees of freedom are traced."""
    n = jnp.asarray(n, dtype)
    k_mean, k_scatter, k_off = jax.random.split(key, 3)
    mean = jnp.sqrt(lam / n) * jax.random.normal(k_mean, (dim,), dtype)
    if covariance == "full":  # Bartlett: df n - 1 - j on the diagonal (n > dim by validation)
        log_diag = random.log_chisquare_traced(k_scatter, n - 1.0 - jnp.arange(dim, dtype=dtype), dtype)
        root = _strictly_lower_normals(k_off, dim, dim, dtype) + jnp.diag(jnp.exp(0.5 * log_diag))
    elif covariance == "diag":
        root = jnp.diag(jnp.exp(0.5 * random.log_chisquare_traced(k_scatter, jnp.full(dim, n - 1.0), dtype)))
    else:
        log_total = random.log_chisquare_traced(k_scatter, (dim * (n - 1.0))[None], dtype)[0]
        root = jnp.exp(0.5 * (log_total - jnp.log(float(dim)))) * jnp.eye(dim, dtype=dtype)
    return Moments(n, mean, jnp.sqrt(lam / n) * root, 1.0 / n)


# ----------------------------------------------------------------------------- frames


def into_frame(params: GaussianParams, m: Moments) -> Moments:
    """Express data-frame moments in the frame of `params`: y = L^{-1}(x - mean)."""
    inv_scale = jnp.exp(-params.log_scale)
    mean = inv_scale * solve_lower(params.unit_tril, m.mean - params.mean, unit_diagonal=True)
    # L^{-1} T is lower triangular with the diagonal of T scaled by exp(-s): still a factor.
    tril = inv_scale[:, None] * solve_lower(params.unit_tril, m.tril, unit_diagonal=True)
    return m._replace(mean=mean, tril=tril)


def out_of_frame(params: GaussianParams, m: Moments) -> Moments:
    """Inverse of `into_frame`: x = mean + L y."""
    tril = scale_tril(params)
    return m._replace(mean=params.mean + tril @ m.mean, tril=matmul(tril, m.tril))


# ----------------------------------------------------------------------------- fit and sample


def fit(frame: GaussianParams, m: Moments, *, covariance: str, estimator: str) -> GaussianParams:
    """Maximum-likelihood (or unbiased) fit to moments given in the frame of `frame`.

    Sigma_hat = cov (mle) or cov / (1 - sum w_i^2) (unbiased; n/(n-1) for equal weights),
    projected on the family (full, diagonal, or isotropic), then composed with the frame:
    mean' = mean + L m_y and L' = L C, where C C^T = Sigma_hat.
    """
    dim = m.mean.shape[0]
    c = m.tril / jnp.sqrt(1.0 - m.wsq) if estimator == "unbiased" else m.tril  # C C^T = Sigma_hat
    mean = frame.mean + frame.unit_tril @ (jnp.exp(frame.log_scale) * m.mean)
    if covariance == "full":
        c_diag = jnp.diagonal(c)
        log_c = jnp.log(c_diag)
        # L' = U1 D1 U2 D2 = U1 (D1 U2 D1^-1) D1 D2: the middle factor is unit lower triangular.
        # Later coordinates shrink faster under collapse (Bartlett's chi(n - i)), so the scale
        # ratios exp(s_i - s_j), i > j, go to zero; the clip only guards the masked upper half.
        s = frame.log_scale
        ratio = jnp.exp(jnp.minimum(s[:, None] - s[None, :], 60.0))
        lower = jnp.tril(jnp.ones((dim, dim), bool), k=-1)
        middle = jnp.eye(dim, dtype=c.dtype) + jnp.where(lower, (c / c_diag[None, :]) * ratio, 0.0)
        return GaussianParams(mean, frame.log_scale + log_c, matmul(frame.unit_tril, middle))
    variances = jnp.sum(c * c, axis=1)  # the diagonal of C C^T
    if covariance == "diag":
        log_c = 0.5 * jnp.log(variances)
    else:
        log_c = jnp.full(dim, 0.5 * jnp.log(jnp.sum(variances) / dim), c.dtype)
    return GaussianParams(mean, frame.log_scale + log_c, frame.unit_tril)


def sample(key: jax.Array, params: GaussianParams, n: int, lam=1.0) -> Float[Array, "n d"]:
    """n points from N(mean, lam Sigma), in the data frame."""
    z = random.normal(key, (n, params.mean.shape[0]), params.mean.dtype)
    y = jnp.sqrt(jnp.asarray(lam, params.mean.dtype)) * z * jnp.exp(params.log_scale)[None, :]
    return params.mean[None, :] + y @ params.unit_tril.T


def log_prob(params: GaussianParams, x: Float[Array, " d"]) -> Float[Array, ""]:
    """log N(x; mean, Sigma), evaluated through the factor (no covariance is formed)."""
    dim = x.shape[-1]
    w = solve_lower(params.unit_tril, x - params.mean, unit_diagonal=True)
    w = w * jnp.exp(-params.log_scale)
    return -0.5 * jnp.sum(w**2) - jnp.sum(params.log_scale) - 0.5 * dim * jnp.log(2 * jnp.pi)


# ----------------------------------------------------------------------------- the family


def from_moments(mean, cov, dtype) -> GaussianParams:
    """The Gaussian with this mean and covariance (host arrays, e.g. a data set's exact moments),
    in the family's factorised form; factorised in float64 numpy, like `standard` (eager jnp
    would compile a program per operation)."""
    chol = np.linalg.cholesky(np.asarray(cov, np.float64))
    diag = np.diagonal(chol)
    dtype = np.dtype(dtype)
    return GaussianParams(
        jnp.asarray(np.asarray(mean, dtype)), jnp.asarray(np.log(diag).astype(dtype)), jnp.asarray((chol / diag[None, :]).astype(dtype))
    )


POOLINGS = ("moments", "unbiased")


def family(*, dim: int, scale: float, covariance: str, estimator: str, backend: str, dtype, data=None, pooling: str = "moments") -> Family:
    """The Gaussian family with its static settings closed over.

    pooling: how a real and a synthetic sample are combined: `moments` (the moments of their
    weighted union, `merge`) or `unbiased` (He et al.'s average of unbiased covariances,
    `merge_unbiased`).
    Against data=gaussian the real distribution is N(0, scale^2 I_dim) and real data can be drawn
    in law (suffstats). Against other data (a mad.data.RealData) real points are drawn from it and
    the reference is its moment-matched Gaussian: the best a Gaussian can do (expressivity error).
    """
    gaussian_data = data is None or data.name == "gaussian"
    reference = standard(dim, scale, dtype) if gaussian_data else from_moments(data.mean, data.cov, dtype)

    def draw_standard(key, n, lam):
        return standard_moments(key, n, lam, dim=dim, covariance=covariance, backend=backend, dtype=dtype)

    def draw_real(key, n):
        return sample(key, reference, n) if gaussian_data else data.sample(key, n)

    def real(key, n):
        if gaussian_data:
            return out_of_frame(reference, draw_standard(key, n, 1.0))
        return moments_of_points(data.sample(key, n))

    return Family(
        reference=reference,
        real=real,
        synthetic=lambda key, params, n, lam: draw_standard(key, n, lam),
        into_frame=into_frame,
        out_of_frame=out_of_frame,
        merge=merge if pooling == "moments" else merge_unbiased,
        fit=lambda key, frame, m: fit(frame, m, covariance=covariance, estimator=estimator),
        draw=lambda key, params, n, lam: draw_real(key, n) if params is None else sample(key, params, n, lam),
        summarize=moments_of_points,
        log_prob=jax.vmap(log_prob, (None, 0)),
    )


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class GaussianConfig:
    """model=gaussian: covariance full | diag | iso; estimator mle (divide by n) | unbiased (n - 1);
    backend samples (draw the points) | suffstats (draw mean and Wishart scatter in law, O(d^3));
    pooling of real and synthetic data (augment, fresh): moments (of their weighted union) |
    unbiased (He et al.: the weighted average of the two unbiased covariances)."""

    name: str = "gaussian"
    covariance: str = "full"
    estimator: str = "mle"
    backend: str = "samples"
    pooling: str = "moments"


def _build(config, data) -> Family:
    m = config.model
    return family(
        dim=config.data.dim, scale=config.data.scale, covariance=m.covariance, estimator=m.estimator,
        backend=m.backend, dtype=jnp.dtype(config.precision), data=data, pooling=m.pooling,
    )  # fmt: skip


def _metrics(config, fam: Family, data):
    from mad.metrics import Metrics
    from mad.metrics import gaussian as scores

    # Diagonal shortcuts need both factors diagonal: a diag / iso model against N(0, s^2 I).
    diagonal = (config.model.covariance != "full" and config.data.name == "gaussian") or config.data.dim == 1
    # A reference whose unit factor is the identity (N(mu, diag), such as data=gaussian) needs no solves.
    ref_diagonal = bool(np.array_equal(np.asarray(fam.reference.unit_tril), np.eye(config.data.dim)))

    def compare(params):
        return scores.compare(
            fam.reference, params, diagonal=diagonal, collapse_threshold=config.collapse_threshold, ref_diagonal=ref_diagonal
        )

    return Metrics(model=lambda key, params: compare(params), real=lambda key: compare(fam.reference))


def _validate(config) -> None:
    from mad.config import BACKENDS, COVARIANCES, ESTIMATORS, ConfigError, choice

    m = config.model
    choice("model.covariance", m.covariance, COVARIANCES)
    choice("model.estimator", m.estimator, ESTIMATORS)
    choice("model.backend", m.backend, BACKENDS)
    choice("model.pooling", m.pooling, POOLINGS)
    if m.pooling == "unbiased":
        from mad.loops import LOOPS, loop_spec

        if not loop_spec(config.loop.name).weighted or config.loop.n_real == 0:
            mixing = " or ".join(f"loop={name}" for name, spec in LOOPS.items() if spec.weighted)
            raise ConfigError(f"model.pooling=unbiased combines real and synthetic samples: it needs {mixing} with loop.n_real >= 1 (got loop={config.loop.name})")
        if m.estimator != "unbiased":
            raise ConfigError("model.pooling=unbiased averages unbiased covariances (He et al.): use it with model.estimator=unbiased")
    if config.data.name != "gaussian" and m.backend != "samples":
        raise ConfigError(f"data={config.data.name} is not Gaussian: model=gaussian needs model.backend=samples to draw it")


def _min_fit(config) -> tuple[int, str]:
    if config.model.covariance == "full":
        return config.data.dim + 1, f"a fit needs more than data.dim={config.data.dim} points for a full covariance"
    return 2, "a fit needs at least 2 points"


def _theory(config, loop) -> dict:
    from mad.theory import gaussian as theory

    return theory.predict(config)


def _lane_floats(config) -> dict[str, int]:
    if config.model.backend != "samples":
        return {}
    return {"loop.n_syn (draws, scaled and centred)": 3 * config.loop.draw_size * config.data.dim}


def _docs():
    from mad.metrics.gaussian import DOCS

    return DOCS


SPEC = FamilySpec(
    name="gaussian",
    doc="multivariate Gaussian refit by maximum likelihood (full, diag or iso covariance), scored in closed form",
    config=GaussianConfig,
    data=("gaussian", "gmm_ring", "gmm_grid", "moons", "digits"),
    build=_build,
    metrics=_metrics,
    metric_docs=_docs,
    min_fit=_min_fit,
    curation=True,
    cache_bound=False,
    validate=_validate,
    theory=_theory,
    theory_remedies=("correction", "schedules", "density_curation", "linear_curation"),
    lane_floats=_lane_floats,
    sized_draws=lambda config: config.model.backend == "suffstats",
    sized_draws_note="model.backend=suffstats",
)
