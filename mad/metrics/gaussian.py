"""Distances between a fitted Gaussian and the real one, from their factors and in log space.

Every quantity that diverges under collapse is assembled from logarithms (log-scales and
log-sum-exp), so nothing becomes NaN. The only values that can outgrow the floating-point range
are the KL divergences of a loop whose variance has vanished (KL(real || model) grows like
1 / sigma^2): they saturate at the dtype's largest finite number, and such loops are flagged
`collapsed`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jaxtyping import Array, Float

from mad.families.gaussian import GaussianParams, logdet
from mad.linalg import matmul, nuclear_norm, solve_lower

DOCS = {
    "mean_sq_drift": "squared distance of the model mean from the real mean, ||mu_t - mu_0||^2",
    "trace_ratio": "total variance ratio, tr Sigma_t / tr Sigma_0",
    "logdet_ratio": "log det Sigma_t - log det Sigma_0",
    "w2_sq": "squared 2-Wasserstein (Frechet) distance to the real distribution",
    "kl_fwd": "KL(real || model), saturating at the largest finite number",
    "kl_rev": "KL(model || real)",
    "cov_frob_sq": "squared Frobenius distance of the covariance to the real one, ||Sigma_t - Sigma_0||_F^2 (He et al.)",
    "collapsed": "geometric-mean variance ratio below collapse_threshold",
}
METRICS = tuple(DOCS)


def _saturating_exp(log_x: Float[Array, ""]) -> Float[Array, ""]:
    """exp(log_x), or the largest finite number where that overflows (log(max) rounds up)."""
    biggest = jnp.finfo(log_x.dtype).max
    limit = jnp.log(biggest) - 1e-3
    return jnp.where(log_x < limit, jnp.exp(jnp.minimum(log_x, limit)), biggest)


def log_trace(p: GaussianParams, diagonal: bool = False) -> Float[Array, ""]:
    """log tr Sigma = log sum_j exp(2 s_j) ||U[:, j]||^2."""
    if diagonal:
        return logsumexp(2.0 * p.log_scale)
    return logsumexp(2.0 * p.log_scale + jnp.log(jnp.sum(p.unit_tril**2, axis=0)))


def _whiten(outer: GaussianParams, x: Float[Array, "d ..."], diagonal: bool) -> Float[Array, "d ..."]:
    """U_outer^{-1} x (identity for a diagonal factor)."""
    return x if diagonal else solve_lower(outer.unit_tril, x, unit_diagonal=True)


def _log_trace_whitened(outer: GaussianParams, inner: GaussianParams, diagonal: bool, outer_diagonal: bool) -> Float[Array, ""]:
    """log tr(Sigma_outer^{-1} Sigma_inner), through L_outer^{-1} L_inner."""
    if diagonal:
        return logsumexp(2.0 * (inner.log_scale - outer.log_scale))
    a = _whiten(outer, inner.unit_tril, outer_diagonal)
    # (L_o^{-1} L_i)_{ij} = exp(-s^o_i) a_ij exp(s^i_j)
    log_terms = -2.0 * outer.log_scale[:, None] + 2.0 * inner.log_scale[None, :] + jnp.log(a**2)
    return logsumexp(log_terms)


def _log_mahalanobis(p: GaussianParams, delta: Float[Array, " d"], diagonal: bool) -> Float[Array, ""]:
    """log delta^T Sigma_p^{-1} delta."""
    v = _whiten(p, delta, diagonal)
    return logsumexp(-2.0 * p.log_scale + jnp.log(v**2))


def kl(p: GaussianParams, q: GaussianParams, *, diagonal: bool = False, q_diagonal: bool = False) -> Float[Array, ""]:
    """KL(p || q) = (tr(S_q^-1 S_p) + dmu^T S_q^-1 dmu - d + log det S_q - log det S_p) / 2.

    `diagonal`: both factors are diagonal (unit_tril = I), which skips the triangular solves;
    `q_diagonal`: q's is (a reference N(mu, diag)), which skips them too.
    """
    dim = p.mean.shape[0]
    q_diagonal = q_diagonal or diagonal
    log_trace_term = _log_trace_whitened(q, p, diagonal, q_diagonal)
    log_quadratic = jnp.logaddexp(log_trace_term, _log_mahalanobis(q, p.mean - q.mean, q_diagonal))
    return _saturating_exp(log_quadratic + jnp.log(0.5)) + 0.5 * (logdet(q) - logdet(p) - dim)


def w2_sq(p: GaussianParams, ref: GaussianParams, *, diagonal: bool, ref_diagonal: bool = False) -> Float[Array, ""]:
    """||dmu||^2 + tr S_p + tr S_r - 2 tr (S_r^1/2 S_p S_r^1/2)^1/2.

    The last trace is the nuclear norm of L_r^T L_p (its singular values are the square roots
    of the eigenvalues of S_r S_p), by Jacobi sweeps (mad.linalg); for two diagonal factors it is
    sum_j |L_r,jj L_p,jj|, and for a diagonal reference L_r^T L_p = D_r L_p (rows scaled).
    """
    if diagonal:
        cross = jnp.sum(jnp.exp(p.log_scale + ref.log_scale))
    else:
        l_p = p.unit_tril * jnp.exp(p.log_scale)[None, :]
        if ref_diagonal:
            cross = nuclear_norm(jnp.exp(ref.log_scale)[:, None] * l_p)
        else:
            l_ref = ref.unit_tril * jnp.exp(ref.log_scale)[None, :]
            cross = nuclear_norm(matmul(l_ref.T, l_p))
    spread = jnp.exp(log_trace(p, diagonal)) + jnp.exp(log_trace(ref, diagonal)) - 2.0 * cross
    return jnp.sum((p.mean - ref.mean) ** 2) + jnp.maximum(spread, 0.0)


def cov_frob_sq(p: GaussianParams, ref: GaussianParams, *, diagonal: bool) -> Float[Array, ""]:
    """||Sigma_p - Sigma_r||_F^2, from the factors (finite under collapse: Sigma_p -> 0)."""
    if diagonal:
        return jnp.sum((jnp.exp(2.0 * p.log_scale) - jnp.exp(2.0 * ref.log_scale)) ** 2)
    l_p, l_r = (q.unit_tril * jnp.exp(q.log_scale)[None, :] for q in (p, ref))
    # fused products (mad.families.gaussian.matmul): no batched dot under vmap
    return jnp.sum((matmul(l_p, l_p.T) - matmul(l_r, l_r.T)) ** 2)


def compare(
    ref: GaussianParams, p: GaussianParams, *, diagonal: bool, collapse_threshold: float, ref_diagonal: bool = False
) -> dict[str, Float[Array, ""]]:
    """All Gaussian metrics of model p against the real distribution `ref`.

    `diagonal`: both factors are diagonal (diag / iso models against N(0, scale^2 I));
    `ref_diagonal`: the reference's is (a full model against N(mu, diag)), so no metric solves with it.
    `collapsed` is true once the geometric-mean variance ratio (det S_p / det S_r)^(1/d) falls
    below `collapse_threshold`.
    """
    dim = p.mean.shape[0]
    logdet_ratio = logdet(p) - logdet(ref)
    return {
        "mean_sq_drift": jnp.sum((p.mean - ref.mean) ** 2),
        "trace_ratio": jnp.exp(log_trace(p, diagonal) - log_trace(ref, diagonal)),
        "logdet_ratio": logdet_ratio,
        "w2_sq": w2_sq(p, ref, diagonal=diagonal, ref_diagonal=ref_diagonal),
        "cov_frob_sq": cov_frob_sq(p, ref, diagonal=diagonal),
        "kl_fwd": kl(ref, p, diagonal=diagonal),
        "kl_rev": kl(p, ref, diagonal=diagonal, q_diagonal=ref_diagonal),
        "collapsed": logdet_ratio / dim < jnp.log(collapse_threshold),
    }
