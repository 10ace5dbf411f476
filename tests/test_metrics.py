"""Gaussian metrics against a float64 numpy / scipy reference, and their behaviour under collapse."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg

from mad.families import gaussian as g
from mad.metrics import gaussian as mg


def numpy_metrics(mu0, s0, mu, s):
    """Textbook formulas on covariance matrices, written independently of mad."""
    d = len(mu0)
    inv_s, inv_s0 = np.linalg.inv(s), np.linalg.inv(s0)
    dm = mu - mu0
    root0 = linalg.sqrtm(s0).real
    ld, ld0 = np.linalg.slogdet(s)[1], np.linalg.slogdet(s0)[1]
    return {
        "mean_sq_drift": dm @ dm,
        "trace_ratio": np.trace(s) / np.trace(s0),
        "logdet_ratio": ld - ld0,
        "w2_sq": dm @ dm + np.trace(s + s0 - 2 * linalg.sqrtm(root0 @ s @ root0).real),
        "kl_fwd": 0.5 * (np.trace(inv_s @ s0) + dm @ inv_s @ dm - d + ld - ld0),
        "kl_rev": 0.5 * (np.trace(inv_s0 @ s) + dm @ inv_s0 @ dm - d + ld0 - ld),
    }


def params_of(mu, cov):
    chol = np.linalg.cholesky(cov)
    diag = np.diag(chol)
    return g.GaussianParams(jnp.asarray(mu), jnp.asarray(np.log(diag)), jnp.asarray(chol / diag[None, :]))


@pytest.mark.parametrize("d", [1, 2, 4, 10, 20])
@pytest.mark.parametrize("structure", ["full", "diag"])
@pytest.mark.parametrize("reference", ["iso", "diag", "full"])
def test_metrics_match_numpy(d, structure, reference):
    # d <= 12: the fused algebra (Jacobi SVD, forward substitution) on a CPU; d = 20: LAPACK's SVD.
    # A diagonal reference takes the shortcuts (no solves with it, W2 from D_r L_p); both ways agree.
    rng = np.random.default_rng(d)
    a = rng.normal(size=(d, d))
    cov = a @ a.T + 0.3 * np.eye(d) if structure == "full" else np.diag(rng.uniform(0.2, 3.0, d))
    mu = rng.normal(size=d)
    b = rng.normal(size=(d, d))
    ref_cov = {"iso": 1.7**2 * np.eye(d), "diag": np.diag(rng.uniform(0.5, 2.0, d)), "full": b @ b.T + np.eye(d)}[reference]
    ref_mu = np.zeros(d) if reference == "iso" else rng.normal(size=d)
    ref, p = params_of(ref_mu, ref_cov), params_of(mu, cov)
    want = numpy_metrics(ref_mu, ref_cov, mu, cov)
    diagonal = structure == "diag" and reference != "full"
    for ref_diagonal in [False, True] if reference != "full" else [False]:
        got = mg.compare(ref, p, diagonal=diagonal, collapse_threshold=1e-6, ref_diagonal=ref_diagonal)
        for name, value in want.items():
            assert float(got[name]) == pytest.approx(value, rel=1e-9, abs=1e-12), (name, ref_diagonal)
        assert not bool(got["collapsed"])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("d", [1, 10])
def test_extreme_collapse_is_finite_and_flagged(dtype, d):
    # A model whose variance is exp(-2000) per coordinate: beyond float64's range as a covariance.
    ref = g.standard(d, 1.0, dtype)
    p = g.GaussianParams(jnp.full(d, 0.3, dtype), jnp.full(d, -1000.0, dtype), jnp.eye(d, dtype=dtype))
    for diagonal, ref_diagonal in [(True, False), (False, False), (False, True)]:
        got = mg.compare(ref, p, diagonal=diagonal, collapse_threshold=1e-6, ref_diagonal=ref_diagonal)
        for name, value in got.items():
            assert np.isfinite(float(value)), name
        assert float(got["logdet_ratio"]) == pytest.approx(-2000.0 * d, rel=1e-6)
        assert float(got["trace_ratio"]) == 0.0
        assert float(got["w2_sq"]) == pytest.approx(d * 0.09 + d, rel=1e-5)  # ||mu||^2 + tr S_0
        assert float(got["kl_fwd"]) == pytest.approx(float(jnp.finfo(dtype).max), rel=1e-3)  # saturated
        assert float(got["kl_rev"]) == pytest.approx(0.5 * (d * 0.09 - d + 2000.0 * d), rel=1e-5)
        assert bool(got["collapsed"])


def test_collapse_threshold_is_geometric_mean_variance_ratio():
    ref = g.standard(2)
    p = g.GaussianParams(jnp.zeros(2), jnp.log(jnp.array([1e-2, 1e-4])), jnp.eye(2))  # variances 1e-4, 1e-8
    assert bool(mg.compare(ref, p, diagonal=True, collapse_threshold=1e-5)["collapsed"])  # gm 1e-6
    assert not bool(mg.compare(ref, p, diagonal=True, collapse_threshold=1e-7)["collapsed"])
