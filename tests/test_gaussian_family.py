"""The Gaussian family against numpy and scipy: exact fits, frames, merges, the Bartlett draw."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mad.families import gaussian as g


def random_params(rng, d, spread=1.0):
    a = rng.normal(size=(d, d))
    cov = a @ a.T + 0.5 * np.eye(d)
    cov *= spread
    chol = np.linalg.cholesky(cov)
    diag = np.diag(chol)
    return g.GaussianParams(jnp.asarray(rng.normal(size=d)), jnp.asarray(np.log(diag)), jnp.asarray(chol / diag[None, :])), cov


@pytest.mark.parametrize("d", [1, 3])
def test_params_round_trip_covariance(d):
    p, cov = random_params(np.random.default_rng(0), d)
    l = np.asarray(g.scale_tril(p))
    assert np.allclose(l @ l.T, cov)
    assert float(g.logdet(p)) == pytest.approx(np.linalg.slogdet(cov)[1])


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
@pytest.mark.parametrize("covariance", ["full", "diag", "iso"])
def test_fit_in_any_frame_equals_numpy(covariance, estimator):
    # Fitting in the frame of an arbitrary model and composing back must equal the direct fit.
    rng = np.random.default_rng(1)
    d, n = 3, 25
    frame, _ = random_params(rng, d)
    if covariance != "full":  # diag models live in diagonal frames, iso ones in isotropic frames
        frame = frame._replace(unit_tril=jnp.eye(d))
    if covariance == "iso":
        frame = frame._replace(log_scale=jnp.full(d, frame.log_scale.mean()))
    x = rng.normal(size=(n, d)) @ np.diag([1.0, 2.0, 0.5]) + 1.0
    got = g.fit(frame, g.into_frame(frame, g.moments_of_points(jnp.asarray(x))), covariance=covariance, estimator=estimator)
    cov = np.cov(x.T, ddof=0 if estimator == "mle" else 1)
    want = {"full": cov, "diag": np.diag(np.diag(cov)), "iso": np.trace(cov) / d * np.eye(d)}[covariance]
    l = np.asarray(g.scale_tril(got))
    assert np.allclose(np.asarray(got.mean), x.mean(0))
    assert np.allclose(l @ l.T, want)
    assert np.allclose(np.diag(np.asarray(got.unit_tril)), 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["samples", "suffstats"])
def test_smallest_full_fit_is_finite_in_float32(backend):
    # n = d + 1 points: the scatter is nearly singular in about 1 of 1000 draws. Factoring x^T x in
    # float32 failed there (NaN); the factor of the points themselves always exists.
    d, reps = 10, 20000
    keys = jax.random.split(jax.random.key(7), reps)

    def one(k):
        m = g.standard_moments(k, d + 1, 1.0, dim=d, covariance="full", backend=backend, dtype=jnp.float32)
        return g.fit(g.standard(d, dtype=jnp.float32), m, covariance="full", estimator="mle")

    fits = jax.vmap(one)(keys)
    for leaf in fits:
        assert np.all(np.isfinite(np.asarray(leaf)))


@pytest.mark.slow
def test_smallest_full_fit_in_float32_is_the_float64_fit_to_rounding():
    # The same n = d + 1 points fitted in both precisions: log det agrees to float32 rounding of
    # the data, relative to the conditioning of each sample (measured by the float64 fit).
    d, reps = 10, 4000
    x = np.random.default_rng(8).normal(size=(reps, d + 1, d))

    def logdet_of(points):
        return jax.vmap(lambda p: g.logdet(g.fit(g.standard(d, dtype=p.dtype), g.moments_of_points(p), covariance="full", estimator="mle")))(points)

    ld64 = np.asarray(logdet_of(jnp.asarray(x)))
    ld32 = np.asarray(logdet_of(jnp.asarray(x, jnp.float32)))
    assert np.all(np.isfinite(ld32))
    cond = np.linalg.cond(x - x.mean(1, keepdims=True))
    # First-order perturbation: |d log det| <= 2 d kappa eps for relative data error eps.
    assert np.all(np.abs(ld32 - ld64) <= 2 * d * cond * 4 * np.finfo(np.float32).eps + 1e-4)


def test_frames_are_inverse():
    rng = np.random.default_rng(2)
    frame, _ = random_params(rng, 4)
    m = g.moments_of_points(jnp.asarray(rng.normal(size=(30, 4))))
    back = g.out_of_frame(frame, g.into_frame(frame, m))
    assert np.allclose(back.mean, m.mean) and np.allclose(back.cov, m.cov)


@pytest.mark.slow
def test_merge_by_counts_and_by_weight_equal_numpy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(7, 2)), rng.normal(size=(13, 2)) + 3.0
    ma, mb = g.moments_of_points(jnp.asarray(a)), g.moments_of_points(jnp.asarray(b))
    pooled = g.merge(ma, mb)
    both = np.concatenate([a, b])
    assert np.allclose(pooled.mean, both.mean(0)) and np.allclose(pooled.cov, np.cov(both.T, ddof=0))
    assert float(pooled.wsq) == pytest.approx(1 / 20)
    w = 0.3  # real weight: each point of a carries w / 7, each of b (1 - w) / 13
    weights = np.concatenate([np.full(7, w / 7), np.full(13, (1 - w) / 13)])
    weighted = g.merge(ma, mb, jnp.asarray(w))
    mean = weights @ both
    assert np.allclose(weighted.mean, mean)
    assert np.allclose(weighted.cov, (weights[:, None] * (both - mean)).T @ (both - mean))
    assert float(weighted.wsq) == pytest.approx(np.sum(weights**2))
    # The unbiased estimator divides by 1 - sum w^2: numpy's reliability-weighted covariance.
    unbiased = g.fit(g.standard(2), weighted, covariance="full", estimator="unbiased")
    l = np.asarray(g.scale_tril(unbiased))
    assert np.allclose(l @ l.T, np.cov(both.T, aweights=weights, ddof=1))


@pytest.mark.slow
@pytest.mark.parametrize("df", [2, 7])
def test_bartlett_is_wishart(df):
    # Diagonal of A A^T ~ chi2(df) each (also for singular df < d), trace ~ chi2(d df), rank = min(df, d).
    d, reps = 4, 4000
    keys = jax.random.split(jax.random.key(0), reps)
    a = jax.vmap(lambda k: g.bartlett(k, df, d, jnp.float64))(keys)
    s = np.asarray(a @ jnp.swapaxes(a, 1, 2))
    alpha = 1e-3  # declared false-failure rate of each KS test
    for j in range(d):
        assert stats.kstest(s[:, j, j], stats.chi2(df).cdf).pvalue > alpha
    assert stats.kstest(np.trace(s, axis1=1, axis2=2), stats.chi2(d * df).cdf).pvalue > alpha
    # Off-diagonal entries: mean 0, variance df (Wishart(df, I)); 5 standard errors.
    off = s[:, 1, 0]
    assert abs(off.mean()) < 5 * np.sqrt(df / reps)
    assert np.linalg.matrix_rank(s[0]) == min(df, d)


@pytest.mark.slow
@pytest.mark.parametrize("covariance", ["full", "diag", "iso"])
def test_backends_draw_the_same_law(covariance):
    # Fitted log-variance of a standard sample of n points: samples vs suffstats, two-sample KS.
    d, n, lam, reps = 3, 12, 0.7, 4000
    keys = jax.random.split(jax.random.key(1), reps)

    def logdet_of(backend):
        def one(k):
            m = g.standard_moments(k, n, lam, dim=d, covariance=covariance, backend=backend, dtype=jnp.float64)
            p = g.fit(g.standard(d, dtype=jnp.float64), m, covariance=covariance, estimator="mle")
            return g.logdet(p), p.mean[0]

        return [np.asarray(v) for v in jax.vmap(one)(keys)]

    (ld_a, mu_a), (ld_b, mu_b) = logdet_of("samples"), logdet_of("suffstats")
    assert stats.ks_2samp(ld_a, ld_b).pvalue > 1e-3
    assert stats.ks_2samp(mu_a, mu_b).pvalue > 1e-3
    assert stats.kstest(mu_b, stats.norm(scale=np.sqrt(lam / n)).cdf).pvalue > 1e-3


def test_log_prob_and_sample_against_scipy():
    rng = np.random.default_rng(4)
    p, cov = random_params(rng, 3)
    x = rng.normal(size=(5, 3))
    want = stats.multivariate_normal(np.asarray(p.mean), cov).logpdf(x)
    assert np.allclose(jax.vmap(g.log_prob, (None, 0))(p, jnp.asarray(x)), want)
    xs = np.asarray(g.sample(jax.random.key(5), p, 20000, 0.5))
    # Sample covariance within 5 standard errors: Var(S_ij) = (c_ij^2 + c_ii c_jj) / n.
    c = 0.5 * cov
    se = np.sqrt((c**2 + np.outer(np.diag(c), np.diag(c))) / 20000)
    assert np.all(np.abs(np.cov(xs.T) - c) < 5 * se)
