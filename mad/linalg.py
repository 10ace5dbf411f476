"""Small-matrix linear algebra written for vectorisation: one d x d matrix per loop, thousands of loops.

Under `vmap`, a LAPACK routine (Cholesky, triangular solve, SVD) becomes one library call per
matrix on a CPU; for d of a few to a few tens that call's overhead is most of its cost. The routines
here are written in plain `jnp` over rows or columns, so that XLA fuses every batch dimension into a
few passes over the whole batch. Each one takes the fused form up to a size and the library
form above it, where the O(d^3) work dominates and LAPACK wins (`fused(dim, routine)`); both forms
agree to rounding (tests/test_linalg.py checks them against numpy and scipy in float32 and float64).

The sizes are measured (`python -m benchmarks.linalg`, benchmarks/results/linalg-cpu.json): on 2
CPU cores, 8192 float32 matrices per call, the fused Cholesky is 1.3 to 14x faster than LAPACK's up
to d = 24, the fused triangular solve 1.3 to 16x up to d = 32 at least, and the Jacobi SVD 43x at
d = 2, 3x at d = 8, 1.1 to 1.4x at d = 10 to 12 and slower beyond (its sweeps cost O(d^3) each,
seven or eight of them). Products of tiny matrices are as fast either way in isolation; inside the
engine's programs the fused form was about 2x faster. On accelerators the fused forms are used up to SMALL_DIM: they are elementwise
passes over a wide batch, which is what a GPU does best (not measured: no GPU was lent so far).

- `matmul`: a @ b as a broadcast multiply and sum.
- `cholesky`: lower factor of a symmetric positive-definite matrix (NaN where it is not, as LAPACK).
- `solve_lower`: forward substitution with a lower-triangular matrix (optionally unit diagonal);
  `cho_solve`: (l l^T) x = b from the Cholesky factor l.
- `tril_of_rows`: the lower factor L of a^T a from the rows of a (modified Gram-Schmidt), no Gram matrix.
- `singular_values`, `nuclear_norm`: one-sided (Hestenes) Jacobi sweeps until every pair of
  columns is orthogonal to rounding; the nuclear norm is what the Wasserstein distance between
  Gaussians needs, tr (S_r^1/2 S_p S_r^1/2)^1/2 = ||L_r^T L_p||_*.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

# Up to this dimension the fused forms are used on accelerators (see the module docstring).
SMALL_DIM = 16
# On a CPU, each routine's measured crossover (benchmarks/results/linalg-cpu.json: the largest d
# at which the fused form was at least as fast as LAPACK for 8192 float32 matrices).
FUSED_UP_TO_ON_CPU = {"matmul": SMALL_DIM, "qr": SMALL_DIM, "cholesky": 24, "solve_lower": 32, "svd": 12}
# Up to this dimension Gram-Schmidt is written out column by column (fastest for tiny d; beyond it
# the unrolled program grows as d^2 and compiles slowly, so a scan over columns takes over).
UNROLLED_DIM = 4
# One-sided Jacobi stops after a sweep in which |a_p . a_q| <= JACOBI_TOL * eps ||a_p|| ||a_q|| for
# every pair of columns, or after JACOBI_MAX_SWEEPS sweeps (see _jacobi_columns).
JACOBI_TOL = 4.0
JACOBI_MAX_SWEEPS = 30


def fused(dim: int, routine: str) -> bool:
    """Whether `routine` takes its fused (plain jnp) form for d x d matrices on this backend."""
    if jax.default_backend() == "cpu":
        return dim <= FUSED_UP_TO_ON_CPU[routine]
    return dim <= SMALL_DIM


def matmul(a: Float[Array, "i k"], b: Float[Array, "k j"]) -> Float[Array, "i j"]:
    """a @ b, as a broadcast multiply and sum for small matrices."""
    if not fused(max(a.shape + b.shape), "matmul"):
        return a @ b
    return fused_matmul(a, b)


def fused_matmul(a: Float[Array, "i k"], b: Float[Array, "k j"]) -> Float[Array, "i j"]:
    """`matmul` in plain jnp, whatever the sizes."""
    return jnp.sum(a[:, :, None] * b[None, :, :], axis=1)


def cholesky(a: Float[Array, "d d"]) -> Float[Array, "d d"]:
    """Lower-triangular L with L L^T = a (a symmetric positive definite; only its lower half is
    read). Column by column (left-looking): column j is a's column j less the projections on the
    columns before it, divided by the square root of its pivot. A non-positive pivot gives NaN,
    as LAPACK's factor does under JAX."""
    if not fused(a.shape[0], "cholesky"):
        return jnp.linalg.cholesky(a)
    return fused_cholesky(a)


def fused_cholesky(a: Float[Array, "d d"]) -> Float[Array, "d d"]:
    """`cholesky` in plain jnp, whatever d (unrolled: compile time grows as d^2)."""
    dim = a.shape[0]
    rows = np.arange(dim)
    cols = []
    for j in range(dim):
        c = a[:, j]
        for k, l_k in enumerate(cols):
            c = c - l_k * l_k[j]
        pivot = c[j]
        c = jnp.where(rows >= j, c, 0.0) / jnp.sqrt(pivot)
        cols.append(c)
    return jnp.stack(cols, axis=1)


def solve_lower(l: Float[Array, "d d"], b: Float[Array, "d ..."], *, unit_diagonal: bool = False) -> Float[Array, "d ..."]:
    """x with l x = b for lower-triangular l (entries above the diagonal are not read), by forward
    substitution row by row; b is a vector or a matrix of right-hand sides."""
    if not fused(l.shape[0], "solve_lower"):
        from jax.scipy.linalg import solve_triangular

        return solve_triangular(l, b, lower=True, unit_diagonal=unit_diagonal)
    return fused_solve_lower(l, b, unit_diagonal=unit_diagonal)


def fused_solve_lower(l: Float[Array, "d d"], b: Float[Array, "d ..."], *, unit_diagonal: bool = False) -> Float[Array, "d ..."]:
    """`solve_lower` in plain jnp, whatever d."""
    dim = l.shape[0]
    xs = []
    for i in range(dim):
        r = b[i]
        for j in range(i):
            r = r - l[i, j] * xs[j]
        xs.append(r if unit_diagonal else r / l[i, i])
    return jnp.stack(xs)


def cho_solve(l: Float[Array, "d d"], b: Float[Array, "d ..."]) -> Float[Array, "d ..."]:
    """x with (l l^T) x = b, given the lower Cholesky factor l: forward then back substitution."""
    if not fused(l.shape[0], "solve_lower"):
        from jax.scipy.linalg import cho_solve as library

        return library((l, True), b)
    z = fused_solve_lower(l, b)
    # l^T x = z is upper triangular: reversing rows and columns makes it a forward substitution
    return fused_solve_lower(l.T[::-1, ::-1], z[::-1])[::-1]


def tril_of_rows(a: Float[Array, "m d"]) -> Float[Array, "d d"]:
    """Lower-triangular L with L L^T = a^T a and a non-negative diagonal: R^T of a = QR.

    Modified Gram-Schmidt over the columns (its R is backward stable, as Householder's is: the
    exact factor of a + E, |E| ~ eps |a|): written out for d <= UNROLLED_DIM, a scan over columns up
    to SMALL_DIM (one small program whatever d), LAPACK's QR beyond. Either way no Gram matrix is
    formed, so no rounding can make it indefinite, and a rank-deficient a gives zero diagonal
    entries rather than NaN.
    """
    m, dim = a.shape
    if not fused(dim, "qr"):
        if m < dim:  # zero rows change nothing in a^T a
            a = jnp.concatenate([a, jnp.zeros((dim - m, dim), a.dtype)])
        r = jnp.linalg.qr(a, mode="r")[:dim]
        sign = jnp.where(jnp.diagonal(r) < 0, -1.0, 1.0).astype(a.dtype)
        return (r * sign[:, None]).T

    def unit(v):
        norm = jnp.sqrt(jnp.sum(v * v))
        return norm, v / jnp.where(norm > 0, norm, 1.0)

    if dim > UNROLLED_DIM:
        columns = jnp.arange(dim)

        def step(rest, j):
            norm, q = unit(jax.lax.dynamic_index_in_dim(rest, j, axis=1, keepdims=False))
            r = jnp.where(columns > j, q @ rest, 0.0)  # row j of R right of the diagonal
            return rest - q[:, None] * r[None, :], jnp.where(columns == j, norm, r)

        _, rows = jax.lax.scan(step, a, columns)
        return rows.T
    cols = [a[:, j] for j in range(dim)]
    rows = []
    for j in range(dim):
        norm, q = unit(cols[j])
        entries = [jnp.zeros((), a.dtype)] * j + [norm]
        for k in range(j + 1, dim):
            r_jk = jnp.sum(q * cols[k])
            cols[k] = cols[k] - r_jk * q
            entries.append(r_jk)
        rows.append(jnp.stack(entries))
    return jnp.stack(rows).T


def _rotate(ap, aq, alpha, beta, tol_sq):
    """One Jacobi rotation making columns ap and aq orthogonal, given their squared norms alpha
    and beta; returns the rotated columns, their new squared norms and whether the pair was
    further from orthogonal than the tolerance."""
    gamma = jnp.sum(ap * aq)
    open_ = gamma * gamma > tol_sq * alpha * beta
    zeta = (beta - alpha) / (2.0 * jnp.where(gamma == 0, 1.0, gamma))
    # the smaller root of t^2 + 2 zeta t - 1 = 0: |t| <= 1, rotation angle <= pi / 4
    t = jnp.where(zeta >= 0, 1.0, -1.0) / (jnp.abs(zeta) + jnp.sqrt(1.0 + zeta * zeta))
    t = jnp.where(open_, t, 0.0)
    c = jax.lax.rsqrt(1.0 + t * t)
    s = c * t
    # the rotation moves t gamma of squared norm from the one column to the other (Hestenes)
    return c * ap - s * aq, s * ap + c * aq, alpha - t * gamma, beta + t * gamma, open_


def _jacobi_columns(a: Float[Array, "m d"]) -> list:
    """The columns of a V, V orthogonal, pairwise orthogonal to rounding (cyclic sweeps).

    A sweep rotates every pair once; the squared norms are recomputed at each sweep's start and
    updated in closed form within it. Sweeps stop after one in which no pair's cosine exceeded
    JACOBI_TOL * eps. (A looser rule, cosines below sqrt(eps), saves a sweep but leaves errors of
    order sqrt(eps) sigma in clustered singular values: two columns of equal norm sigma and cosine r
    have singular values sigma sqrt(1 +- r).)
    """
    dim = a.shape[1]
    tol_sq = (JACOBI_TOL * jnp.finfo(a.dtype).eps) ** 2

    def sweep(state):
        cols, _, done = state
        cols = list(cols)
        norms = [jnp.sum(c * c) for c in cols]
        busy = jnp.asarray(False)
        for p in range(dim):
            for q in range(p + 1, dim):
                cols[p], cols[q], norms[p], norms[q], open_ = _rotate(cols[p], cols[q], norms[p], norms[q], tol_sq)
                busy = busy | open_
        return tuple(cols), busy, done + 1

    start = (tuple(a[:, j] for j in range(dim)), jnp.asarray(dim > 1), jnp.asarray(0))
    cols, _, _ = jax.lax.while_loop(lambda s: s[1] & (s[2] < JACOBI_MAX_SWEEPS), sweep, start)
    return list(cols)


def singular_values(a: Float[Array, "m d"]) -> Float[Array, " d"]:
    """Singular values of a (m >= d), largest first. Fused: the column norms of a V after
    one-sided Jacobi, accurate to eps ||a|| like LAPACK's (and to high relative accuracy for
    columns of very different scales, as under collapse)."""
    if not fused(max(a.shape), "svd"):
        return jnp.linalg.svd(a, compute_uv=False)
    return -jnp.sort(-fused_column_norms(a))


def nuclear_norm(a: Float[Array, "m d"]) -> Float[Array, ""]:
    """||a||_* = the sum of the singular values of a (m >= d); no sort needed."""
    if not fused(max(a.shape), "svd"):
        return jnp.sum(jnp.linalg.svd(a, compute_uv=False))
    return jnp.sum(fused_column_norms(a))


def fused_column_norms(a: Float[Array, "m d"]) -> Float[Array, " d"]:
    """The singular values of a, unsorted, by one-sided Jacobi in plain jnp, whatever d."""
    return jnp.stack([jnp.sqrt(jnp.sum(c * c)) for c in _jacobi_columns(a)])
