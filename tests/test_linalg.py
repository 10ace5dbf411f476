"""mad.linalg against numpy and scipy, in float32 and float64, fused (d <= SMALL_DIM) and LAPACK forms.

Tolerances are rounding-level bounds of backward-stable algorithms: a residual of a few d eps
times the norms involved, and a forward error of that times the condition number.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from mad import linalg

jax.config.update("jax_enable_x64", True)

DTYPES = [np.float32, np.float64]
DIMS = [1, 2, 3, 5, 10, linalg.SMALL_DIM, 20, 40]  # 20: the SVD is LAPACK's on a CPU; 40: every routine is


def forms(public, fused):
    """(form, dim) pairs: the public routine at every size, its fused form up to SMALL_DIM (the
    largest an accelerator fuses; larger unrolled programs only cost compile time here)."""
    return [(public, d) for d in DIMS] + [(fused, d) for d in DIMS if d <= linalg.SMALL_DIM]


def eps(dtype) -> float:
    return float(np.finfo(dtype).eps)


def spd(rng, dim: int, cond: float) -> np.ndarray:
    """A symmetric positive-definite matrix with condition number `cond`."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return (q * np.geomspace(1.0, 1.0 / cond, dim)[None, :]) @ q.T


def batched(fn, *arrays):
    """fn vmapped over a batch of matrices, as the engine calls it."""
    return np.asarray(jax.jit(jax.vmap(fn))(*arrays))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form,dim", forms(linalg.cholesky, linalg.fused_cholesky))
def test_cholesky_matches_numpy(dim, dtype, form):
    rng = np.random.default_rng(dim)
    cond = 1e3 if dtype == np.float32 else 1e8
    a = np.stack([spd(rng, dim, cond) for _ in range(8)])
    l = batched(form, jnp.asarray(a, dtype)).astype(np.float64)
    a32 = a.astype(dtype).astype(np.float64)  # the matrix actually factored
    want = np.linalg.cholesky(a32)
    e = 4 * dim * eps(dtype)
    for got, ref, m in zip(l, want, a32):
        assert np.array_equal(got, np.tril(got))
        assert np.linalg.norm(got @ got.T - m) <= e * np.linalg.norm(m)  # backward error
        assert np.linalg.norm(got - ref) <= e * cond * np.linalg.norm(ref)  # forward error


@pytest.mark.parametrize("dim", [2, 5, 10])
def test_cholesky_of_an_indefinite_matrix_is_nan_as_lapacks(dim):
    a = np.eye(dim)
    a[-1, -1] = -1.0
    got = np.asarray(linalg.cholesky(jnp.asarray(a)))
    assert np.isnan(got[-1, -1])
    assert np.isnan(np.asarray(jnp.linalg.cholesky(jnp.asarray(a)))[-1, -1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("unit,rhs", [(False, None), (True, 3)])  # a vector / several right-hand sides
@pytest.mark.parametrize("form,dim", forms(linalg.solve_lower, linalg.fused_solve_lower))
def test_solve_lower_matches_scipy(dim, dtype, unit, rhs, form):
    rng = np.random.default_rng(10 * dim + unit)
    l = np.tril(rng.normal(size=(6, dim, dim)), -1) * 0.5 + np.eye(dim) * rng.uniform(0.5, 2.0, size=(6, 1, dim))
    l = l + np.triu(rng.normal(size=(6, dim, dim)), 1)  # garbage above the diagonal is never read
    b = rng.normal(size=(6, dim) if rhs is None else (6, dim, rhs))
    got = batched(lambda m, v: form(m, v, unit_diagonal=unit), jnp.asarray(l, dtype), jnp.asarray(b, dtype))
    for x, m, v in zip(got.astype(np.float64), l.astype(dtype).astype(np.float64), b.astype(dtype).astype(np.float64)):
        want = scipy.linalg.solve_triangular(m, v, lower=True, unit_diagonal=unit)
        low = np.tril(m, -1) + (np.eye(dim) if unit else np.diag(np.diag(m)))
        cond = np.linalg.cond(low)
        e = 4 * dim * eps(dtype)
        assert np.linalg.norm(low @ x - v) <= e * np.linalg.norm(low) * np.linalg.norm(x)  # backward error
        assert np.linalg.norm(x - want) <= e * cond * np.linalg.norm(want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", DIMS)
def test_cho_solve_matches_scipy(dim, dtype):
    rng = np.random.default_rng(dim)
    cond = 1e2 if dtype == np.float32 else 1e6
    a = np.stack([spd(rng, dim, cond) for _ in range(6)])
    l = np.linalg.cholesky(a)
    b = rng.normal(size=(6, dim))
    got = batched(linalg.cho_solve, jnp.asarray(l, dtype), jnp.asarray(b, dtype)).astype(np.float64)
    for x, f, v in zip(got, l.astype(dtype).astype(np.float64), b.astype(dtype).astype(np.float64)):
        want = scipy.linalg.cho_solve((f, True), v)
        assert np.linalg.norm(x - want) <= 8 * dim * eps(dtype) * cond * np.linalg.norm(want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form,dim", forms(linalg.matmul, linalg.fused_matmul))
def test_matmul_matches_numpy(dim, dtype, form):
    rng = np.random.default_rng(dim)
    a, b = rng.normal(size=(4, dim, dim)), rng.normal(size=(4, dim, dim))
    got = batched(form, jnp.asarray(a, dtype), jnp.asarray(b, dtype))
    np.testing.assert_allclose(got, a @ b, atol=4 * dim * eps(dtype) * np.max(np.abs(a)) * np.max(np.abs(b)) * dim)


@pytest.mark.parametrize("m,d", [(5, 3), (3, 5), (12, 8), (40, 20), (7, 20)])
def test_tril_of_rows_is_the_cholesky_factor_of_the_gram_matrix(m, d):
    # Gram-Schmidt (d <= 16) and LAPACK QR (larger d) against numpy, also for rank-deficient rows.
    a = np.random.default_rng(m * d).normal(size=(m, d))
    t = np.asarray(linalg.tril_of_rows(jnp.asarray(a)))
    assert np.allclose(t, np.tril(t)) and np.all(np.diag(t) >= 0)
    np.testing.assert_allclose(t @ t.T, a.T @ a, atol=1e-10)
    if m >= d:
        np.testing.assert_allclose(t, np.linalg.cholesky(a.T @ a), rtol=1e-8, atol=1e-10)


def general(rng, dim):
    return rng.normal(size=(dim, dim))


def lower_like_a_fit(rng, dim):
    """L = U diag(exp(s)), as a fitted Gaussian's factor: unit lower U, scales spread over e^-3..e^3."""
    return (np.tril(rng.normal(size=(dim, dim)), -1) * 0.5 + np.eye(dim)) * np.exp(rng.uniform(-3, 3, size=dim))[None, :]


def clustered(rng, dim):
    """Singular values 1 and 1 + 1e-6 repeated: Jacobi's hard case for convergence."""
    u, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    v, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return (u * (1.0 + 1e-6 * (np.arange(dim) % 2))[None, :]) @ v.T


def rank_deficient(rng, dim):
    a = rng.normal(size=(dim, dim))
    a[:, -1] = 0.0
    if dim > 2:
        a[:, 0] = a[:, 1]
    return a


KINDS = [general, lower_like_a_fit, clustered, rank_deficient]


def check_singular_values(dim, dtype, values_and_nuclear):
    rng = np.random.default_rng(dim)
    a = np.stack([kind(rng, dim) for kind in KINDS for _ in range(4)])
    got, nuc = (np.asarray(v, np.float64) for v in jax.jit(jax.vmap(values_and_nuclear))(jnp.asarray(a, dtype)))
    want = np.linalg.svd(a.astype(dtype).astype(np.float64), compute_uv=False)
    # Weyl: a backward-stable SVD moves each singular value by at most ||E||_2 ~ d eps ||a||_2
    bound = 4 * dim * eps(dtype) * want[:, :1]
    assert np.all(np.abs(got - want) <= bound)
    assert np.all(np.abs(nuc - want.sum(1)) <= dim * bound[:, 0])
    assert np.all(np.isfinite(got)) and np.all(got >= 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", DIMS)
def test_singular_values_and_nuclear_norm_match_numpy(dim, dtype):
    # fused (Jacobi) on a CPU up to FUSED_UP_TO_ON_CPU["svd"], LAPACK beyond
    check_singular_values(dim, dtype, lambda a: (linalg.singular_values(a), linalg.nuclear_norm(a)))


@pytest.mark.slow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [linalg.SMALL_DIM])
def test_jacobi_matches_numpy_up_to_the_accelerators_size(dim, dtype):
    # what an accelerator runs up to SMALL_DIM (each of these compiles for 5 to 15 s on a CPU)
    check_singular_values(dim, dtype, lambda a: (-jnp.sort(-linalg.fused_column_norms(a)), jnp.sum(linalg.fused_column_norms(a))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_singular_values_of_graded_columns_keep_their_relative_accuracy(dtype):
    # a = Q D with orthogonal Q: the singular values are exactly |D|, here spread over 30 (float64)
    # or 15 (float32) orders of magnitude, as a collapsing fit's scales spread. One-sided Jacobi
    # gets each to a few eps relative; an absolute eps ||a|| bound would say nothing of the small ones.
    dim = 8
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    scales = np.geomspace(1.0, 1e-30 if dtype == np.float64 else 1e-15, dim)
    a = (q * scales[None, :]).astype(dtype)
    got = np.sort(np.asarray(linalg.fused_column_norms(jnp.asarray(a))).astype(np.float64))[::-1]
    want = np.linalg.svd(q, compute_uv=False)[0] * scales  # q's singular values are 1 to rounding
    np.testing.assert_allclose(got, want, rtol=8 * dim * eps(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_singular_values_of_underflowing_columns_are_finite(dtype):
    # collapse: a fitted scale far below what the dtype's squares can hold
    a = np.eye(4) * np.array([1.0, 1e-20, 1e-30, 0.0])[None, :]
    got = np.sort(np.asarray(linalg.fused_column_norms(jnp.asarray(a, dtype))))[::-1]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[0], 1.0)
    assert np.all(got[1:] <= 1e-19)


@pytest.mark.slow
def test_jacobi_converges_well_before_its_sweep_limit():
    # the sweep limit is a guard, not a stopping rule that the results depend on
    rng = np.random.default_rng(1)
    a = jnp.asarray(np.stack([kind(rng, 8) for kind in KINDS for _ in range(4)]))
    limit = linalg.JACOBI_MAX_SWEEPS
    try:
        linalg.JACOBI_MAX_SWEEPS = 10
        capped = batched(linalg.fused_column_norms, a)
    finally:
        linalg.JACOBI_MAX_SWEEPS = limit
    np.testing.assert_array_equal(capped, batched(linalg.fused_column_norms, a))
