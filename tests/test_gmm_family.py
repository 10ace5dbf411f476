"""The mixture family against scikit-learn's GaussianMixture as an oracle."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn.mixture import GaussianMixture

from mad.families import gmm
from mad.families.points import Points, points


def mixture_data(seed=0, n=600):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 0.5], [1.0, 5.0]])
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    scales = np.array([[1.0, 0.4], [0.6, 1.2], [0.8, 0.8]])
    return centres[labels] + rng.normal(size=(n, 2)) * scales[labels]


@pytest.mark.slow
@pytest.mark.parametrize("covariance", ["full", "diag"])
@pytest.mark.parametrize("method", ["kmeans++", "random"])
def test_em_matches_sklearn_from_the_same_start(covariance, method):
    x = mixture_data()
    data = points(jnp.asarray(x))
    reg, tol, iters = 1e-6, 1e-8, 300
    init = gmm.initialise(jax.random.key(3), data, 3, method=method, reg=reg, covariance=covariance)
    ours = gmm.em(data, init, iters=iters, tol=tol, reg=reg, covariance=covariance)

    covs = np.asarray(init.chols @ jnp.swapaxes(init.chols, 1, 2))
    precisions = np.linalg.inv(covs) if covariance == "full" else 1.0 / np.diagonal(covs, axis1=1, axis2=2)
    sk = GaussianMixture(
        3, covariance_type=covariance, tol=tol, reg_covar=reg, max_iter=iters,
        weights_init=np.exp(np.asarray(init.log_weights)), means_init=np.asarray(init.means), precisions_init=precisions,
    ).fit(x)  # fmt: skip
    assert sk.converged_ and bool(ours.converged)
    assert int(ours.iterations) == sk.n_iter_
    fitted_covs = np.asarray(ours.params.chols @ jnp.swapaxes(ours.params.chols, 1, 2))
    sk_covs = sk.covariances_ if covariance == "full" else np.stack([np.diag(c) for c in sk.covariances_])
    np.testing.assert_allclose(np.exp(ours.params.log_weights), sk.weights_, rtol=1e-6)
    np.testing.assert_allclose(ours.params.means, sk.means_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted_covs, sk_covs, rtol=1e-6, atol=1e-9)
    assert float(ours.log_likelihood) == pytest.approx(sk.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(gmm.log_prob(ours.params, jnp.asarray(x)), sk.score_samples(x), rtol=1e-9)


@pytest.mark.slow
def test_one_component_is_the_gaussian_mle():
    x = mixture_data(1, 300)
    data = points(jnp.asarray(x))
    init = gmm.initialise(jax.random.key(0), data, 1, method="kmeans++", reg=0.0, covariance="full")
    fit = gmm.em(data, init, iters=3, tol=0.0, reg=0.0, covariance="full").params
    np.testing.assert_allclose(fit.means[0], x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(fit.chols[0] @ fit.chols[0].T, np.cov(x.T, ddof=0), rtol=1e-10)
    assert float(gmm.weight_entropy(fit)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_vmapped_lanes_converge_independently():
    # Lanes with different data stop at different iterations, yet each equals its own run.
    xs = jnp.stack([jnp.asarray(mixture_data(s, 200)) for s in range(3)])
    run = lambda x: gmm.em(  # noqa: E731
        points(x), gmm.initialise(jax.random.key(0), points(x), 3, method="kmeans++", reg=1e-6, covariance="full"),
        iters=200, tol=1e-6, reg=1e-6, covariance="full",
    )  # fmt: skip
    batched = jax.vmap(run)(xs)
    for i in range(3):
        single = run(xs[i])
        assert int(batched.iterations[i]) == int(single.iterations)
        np.testing.assert_allclose(batched.params.means[i], single.params.means, rtol=1e-10)
    assert len(set(np.asarray(batched.iterations).tolist())) > 1


@pytest.mark.slow
def test_masked_rows_do_not_count():
    x = jnp.asarray(mixture_data(2, 100))
    padded = Points(jnp.concatenate([x, 1e3 * jnp.ones((50, 2))]), jnp.concatenate([jnp.full(100, 0.01), jnp.zeros(50)]))
    init = gmm.initialise(jax.random.key(1), points(x), 2, method="kmeans++", reg=1e-6, covariance="full")
    a = gmm.em(points(x), init, iters=20, tol=0.0, reg=1e-6, covariance="full").params
    b = gmm.em(padded, init, iters=20, tol=0.0, reg=1e-6, covariance="full").params
    np.testing.assert_allclose(a.means, b.means, rtol=1e-10)


def test_empty_component_is_frozen_not_nan():
    x = jnp.asarray(mixture_data(3, 200))
    init = gmm.initialise(jax.random.key(2), points(x), 3, method="kmeans++", reg=1e-6, covariance="full")
    far = init._replace(means=init.means.at[2].set(jnp.array([1e4, 1e4])))  # owns no point
    fit = gmm.em(points(x), far, iters=10, tol=0.0, reg=1e-6, covariance="full").params
    assert np.all(np.isfinite(np.asarray(fit.means))) and np.all(np.isfinite(np.asarray(fit.chols)))
    np.testing.assert_array_equal(fit.means[2], far.means[2])
    assert float(jnp.exp(fit.log_weights[2])) < 1e-10


def test_sampling_follows_the_mixture():
    x = mixture_data(4, 400)
    sk = GaussianMixture(3, random_state=0).fit(x)
    params = gmm.GmmParams(jnp.log(jnp.asarray(sk.weights_)), jnp.asarray(sk.means_), jnp.linalg.cholesky(jnp.asarray(sk.covariances_)))
    draws = np.asarray(gmm.sample(jax.random.key(5), params, 20000))
    # The log-density of its own draws has the same law as for sklearn's draws (two-sample KS).
    sk_draws, _ = sk.sample(20000)
    assert stats.ks_2samp(sk.score_samples(draws), sk.score_samples(sk_draws)).pvalue > 1e-3
    # lam scales every component's covariance: the within-component spread shrinks by sqrt(lam)
    tight = np.asarray(gmm.sample(jax.random.key(6), params._replace(log_weights=jnp.log(jnp.array([1.0, 1e-30, 1e-30]))), 20000, lam=0.25))
    # 5% is 5 standard errors of a variance from 20000 draws (sqrt(2 / 20000) = 1%)
    np.testing.assert_allclose(np.diag(np.cov(tight.T)), 0.25 * np.diag(sk.covariances_[0]), rtol=0.05)


def test_kmeans_plusplus_draws_its_centres_by_weight_and_squared_distance():
    # Oracle: the law of (first, second) centre, P(i) = w_i, P(j | i) = w_j d_ij^2 / sum_l w_l d_il^2,
    # written out in numpy; a zero-weight point is never picked.
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    w = np.array([0.5, 0.3, 0.2, 0.0])
    d2 = (x - x.T) ** 2
    second = w[None, :] * d2 / np.sum(w[None, :] * d2, axis=1, keepdims=True)
    law = (w[:, None] * second).ravel()
    draws = 20000
    centres = jax.jit(jax.vmap(lambda k: gmm.kmeans_plusplus(k, Points(jnp.asarray(x), jnp.asarray(w)), 2)))(
        jax.random.split(jax.random.key(7), draws)
    )
    index = np.searchsorted(x[:, 0], np.rint(np.asarray(centres)[:, :, 0]))  # each centre's point, by lookup
    counts = np.bincount(index[:, 0] * 4 + index[:, 1], minlength=16)
    assert np.all(counts[law == 0] == 0)
    assert stats.chisquare(counts[law > 0], draws * law[law > 0]).pvalue > 1e-3


def test_sampled_components_follow_the_weights():
    # Components far apart with tiny spreads: each draw's component is read off its position.
    weights = np.array([0.6, 0.0, 0.3, 0.1])
    means = jnp.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    params = gmm.GmmParams(jnp.log(jnp.asarray(weights)), means, jnp.broadcast_to(1e-3 * jnp.eye(2), (4, 2, 2)))
    draws = 20000
    labels = np.rint(np.asarray(gmm.sample(jax.random.key(8), params, draws))[:, 0] / 10).astype(int)
    counts = np.bincount(labels, minlength=4)
    assert counts[1] == 0
    assert stats.chisquare(counts[weights > 0], draws * weights[weights > 0]).pvalue > 1e-3


@pytest.mark.slow
def test_warm_start_continues_from_the_previous_fit():
    from mad.config import Config, DataConfig
    from mad.data import make_data

    data = make_data(Config(data=DataConfig(name="gmm_ring", dim=2, scale=0.1)))
    stats = points(data.sample(jax.random.key(0), 400))
    previous = gmm.initialise(jax.random.key(9), stats, 8, method="random", reg=1e-6, covariance="full")
    settings = dict(data=data, components=8, em_iters=2, tol=0.0, reg=1e-6, init="kmeans++", covariance="full")
    key = jax.random.key(1)
    warm = gmm.family(warm_start=True, **settings).fit(key, previous, stats)
    cold = gmm.family(warm_start=False, **settings).fit(key, previous, stats)
    from_previous = gmm.em(stats, previous, iters=2, tol=0.0, reg=1e-6, covariance="full").params
    fresh = gmm.em(stats, gmm.initialise(key, stats, 8, method="kmeans++", reg=1e-6, covariance="full"), iters=2, tol=0.0, reg=1e-6, covariance="full").params
    np.testing.assert_allclose(warm.means, from_previous.means, rtol=1e-12)
    np.testing.assert_allclose(cold.means, fresh.means, rtol=1e-12)
    # the first fit of a loop has no previous model (frame None): it always starts afresh
    first = gmm.family(warm_start=True, **settings).fit(key, None, stats)
    np.testing.assert_allclose(first.means, fresh.means, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("dim", [3, gmm.UNROLL_DIM + 2])  # the written-out and the matrix forms
@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_density_and_m_step_against_scipy_and_numpy(dim, covariance):
    rng = np.random.default_rng(dim)
    k, n = 3, 50
    x = rng.normal(size=(n, dim)) * 2
    means = rng.normal(size=(k, dim))
    a = rng.normal(size=(k, dim, dim))
    covs = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(dim)
    params = gmm.GmmParams(jnp.log(jnp.full(k, 1.0 / k)), jnp.asarray(means), jnp.linalg.cholesky(jnp.asarray(covs)))
    expected = np.stack([stats.multivariate_normal(means[j], covs[j]).logpdf(x) for j in range(k)], axis=1)
    np.testing.assert_allclose(gmm.component_log_prob(params, jnp.asarray(x)), expected, rtol=1e-10)

    resp = rng.dirichlet(np.ones(k), size=n)
    w = rng.uniform(size=n)
    w /= w.sum()
    fit = gmm.m_step(jnp.asarray(x), jnp.asarray(w), jnp.asarray(resp), reg=1e-3, covariance=covariance, previous=params)
    for j in range(k):
        r = resp[:, j] * w
        mean = r @ x / r.sum()
        cov = np.cov(x.T, aweights=r, bias=True)
        cov = (cov if covariance == "full" else np.diag(np.diag(cov))) + 1e-3 * np.eye(dim)
        np.testing.assert_allclose(fit.means[j], mean, rtol=1e-9)
        np.testing.assert_allclose(fit.chols[j] @ fit.chols[j].T, cov, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.exp(fit.log_weights), (resp * w[:, None]).sum(0), rtol=1e-9)


@pytest.mark.slow
def test_singular_components_stay_finite_in_float32():
    # Ten components on 1000 draws (with replacement) of the 8-D digits: a component can own fewer
    # than d + 1 distinct points, whose singular covariance rounding makes indefinite in float32.
    # Before the scale-relative floor these two fits (of the first 256 keys, 10 failed) gave NaN.
    from mad.data import digits

    sample, _, _ = digits(8, jnp.float32)

    def fit(key):
        data = points(sample(key, 1000))
        init = gmm.initialise(jax.random.fold_in(key, 1), data, 10, method="kmeans++", reg=1e-6, covariance="full")
        return gmm.em(data, init, iters=30, tol=1e-3, reg=1e-6, covariance="full").params

    keys = jax.random.split(jax.random.key(0), 256)[jnp.array([3, 8])]
    params = jax.vmap(fit)(keys)
    for leaf in jax.tree.leaves(params):
        assert np.all(np.isfinite(np.asarray(leaf)))
