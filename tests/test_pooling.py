"""He et al.'s pooling of real and synthetic data (the weighted average of unbiased covariances)
and the covariance's squared Frobenius error, against numpy references and the exact recursions."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.families import gaussian
from mad.metrics import gaussian as metrics
from theory_checks import assert_on_theory


@pytest.mark.parametrize("weight", [None, 0.3])
def test_unbiased_pooling_is_the_weighted_average_of_unbiased_covariances(weight):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(12, 3)) * 2.0 + 1.0
    pooled = gaussian.merge_unbiased(gaussian.moments_of_points(jnp.asarray(a)), gaussian.moments_of_points(jnp.asarray(b)), weight)
    w = 7 / 19 if weight is None else weight
    np.testing.assert_allclose(pooled.mean, w * a.mean(0) + (1 - w) * b.mean(0), rtol=1e-12)
    np.testing.assert_allclose(pooled.cov, w * np.cov(a.T) + (1 - w) * np.cov(b.T), rtol=1e-10)
    fitted = gaussian.fit(gaussian.standard(3, dtype=jnp.float64), pooled, covariance="full", estimator="unbiased")
    np.testing.assert_allclose(np.asarray(gaussian.scale_tril(fitted) @ gaussian.scale_tril(fitted).T), pooled.cov, rtol=1e-10)  # no second correction


def test_frobenius_metric_is_the_numpy_norm():
    rng = np.random.default_rng(1)
    cov = np.cov(rng.normal(size=(9, 3)).T)
    p = gaussian.from_moments(np.zeros(3), cov, jnp.float64)
    ref = gaussian.standard(3, 1.5, jnp.float64)
    got = metrics.cov_frob_sq(p, ref, diagonal=False)
    assert float(got) == pytest.approx(np.sum((cov - 2.25 * np.eye(3)) ** 2), rel=1e-12)


HE = Config(data=DataConfig(dim=3), model=ModelConfig(estimator="unbiased", pooling="unbiased"),
            loop=LoopConfig(name="fresh", n_syn=10, n_real=6), loops=8192, generations=10, progress=False)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("weight", [None, 0.4])
def test_he_pooling_in_the_fresh_loop_follows_its_recursion(weight):
    ds = mad.simulate(dataclasses.replace(HE, loop=dataclasses.replace(HE.loop, real_weight=weight)))
    assert_on_theory(ds, ("trace_ratio", "mean_sq_drift", "cov_frob_sq"))
    np.testing.assert_allclose(ds.trace_ratio_theory.values, 1.0)  # both parts unbiased: no shrinkage at all


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_covariance_error_of_the_replace_loop_follows_the_wishart_moments(estimator):
    config = Config(data=DataConfig(dim=3, scale=2.0), model=ModelConfig(estimator=estimator), loop=LoopConfig(n_syn=10, lam=0.8),
                    loops=8192, generations=10, progress=False)  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds, ("cov_frob_sq",))
    # generation 1 in closed form: E ||S/m - s^2 I||_F^2 for S ~ Wishart_3(9, 4 I)
    k, m, s2, d = 9, 10 if estimator == "mle" else 9, 4.0, 3
    first = (k * (k + 1) * d * s2**2 + k * (d * s2) ** 2) / m**2 - 2 * s2 * k * d * s2 / m + d * s2**2
    assert ds.cov_frob_sq_theory.values[1] == pytest.approx(first, rel=1e-12)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(model=ModelConfig(estimator="unbiased", pooling="pooled")), r"model\.pooling='pooled' is not allowed; choose one of moments, unbiased"),
        (dict(model=ModelConfig(pooling="unbiased")), r"model\.pooling=unbiased averages unbiased covariances .* model\.estimator=unbiased"),
        (dict(loop=LoopConfig(n_syn=10)), r"model\.pooling=unbiased combines real and synthetic samples: it needs loop=augment or loop=fresh"),
    ],
)
def test_he_pooling_is_refused_where_it_means_nothing(change, message, no_compilation):
    with pytest.raises(mad.ConfigError, match=message):
        mad.validate(dataclasses.replace(HE, **change))
