"""Kernel density estimates: density against scipy, the variance recursion against the theory."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.families import kde
from mad.families.points import points
from mad.theory import kde as kde_theory
from theory_checks import assert_on_theory


def test_density_and_moments_match_scipy():
    x = np.random.default_rng(0).normal(size=40) * 2 + 1
    h = 0.4
    params = kde.fit(points(jnp.asarray(x[:, None])), rows=50, bandwidth=h)  # padded rows count for nothing
    reference = stats.gaussian_kde(x, bw_method=h / np.std(x, ddof=1))
    grid = np.linspace(-6, 8, 30)
    np.testing.assert_allclose(kde.log_prob(params, jnp.asarray(grid[:, None])), reference.logpdf(grid), rtol=1e-10)
    mean, cov = kde.moments(params)
    assert float(mean[0]) == pytest.approx(x.mean()) and float(cov[0, 0]) == pytest.approx(x.var() + h**2)


def test_scott_bandwidth():
    x = np.random.default_rng(1).normal(size=(64, 2)) * np.array([1.0, 3.0])
    params = kde.fit(points(jnp.asarray(x)), rows=64, bandwidth=None)
    expected = 64 ** (-2 / 6) * np.mean(np.var(x, axis=0))
    assert float(jnp.exp(2 * params.log_bandwidth)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("rule", ["scott_sklearn", "silverman_sklearn"])
def test_sklearn_rules_match_kernel_density(rule):
    from sklearn.neighbors import KernelDensity

    x = np.random.default_rng(2).normal(size=(50, 3)) * 4.0  # scikit-learn ignores the scale
    params = kde.fit(points(jnp.asarray(x)), rows=64, bandwidth=None, rule=rule)
    reference = KernelDensity(bandwidth=rule.removesuffix("_sklearn")).fit(x).bandwidth_
    assert float(jnp.exp(params.log_bandwidth)) == pytest.approx(reference, rel=1e-12)


def test_silverman_rule_scales_by_the_sample():
    x = np.random.default_rng(1).normal(size=(64, 2)) * np.array([1.0, 3.0])
    params = kde.fit(points(jnp.asarray(x)), rows=64, bandwidth=None, rule="silverman")
    expected = (64 * 4 / 4) ** (-2 / 6) * np.mean(np.var(x, axis=0))
    assert float(jnp.exp(2 * params.log_bandwidth)) == pytest.approx(expected, rel=1e-10)


def test_fixed_point_of_the_one_dimensional_recursion():
    # E s2_{t+1} = ((n-1)/n) s2_t + h^2 converges to n h^2
    ratio = kde_theory.trace_ratio(3000, n=10, n_init=10, dim=1, trace0=1.0, bandwidth=0.2)
    assert ratio[-1] == pytest.approx(kde_theory.fixed_point(n=10, dim=1, bandwidth=0.2), rel=1e-9)
    assert ratio[2] == pytest.approx(0.9 * ratio[1] + 0.04, rel=1e-12)


SMALL = Config(
    data=DataConfig(name="gaussian", dim=1, scale=1.0, n_test=50),
    model=ModelConfig(name="kde", bandwidth=0.5),
    loop=LoopConfig(n_syn=20),
    loops=2048, generations=8, progress=False, grid={"loop.lam": [1.0, 0.3]},
)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("bandwidth", [0.5, None])
def test_variance_follows_the_recursion(bandwidth):
    config = dataclasses.replace(SMALL, model=ModelConfig(name="kde", bandwidth=bandwidth), metrics=dataclasses.replace(SMALL.metrics, samples=16))
    ds = mad.simulate(config)
    assert_on_theory(ds, ("trace_ratio",))
    for name in ("nll_test", "precision", "recall", "mmd"):
        assert np.all(np.isfinite(ds[name].sel(stat="mean").values)), name


@pytest.mark.slow
def test_every_bandwidth_rule_follows_its_recursion():
    # scikit-learn's rules fix the kernel by the fit's size (a different kernel in generation 1,
    # n_init != n_syn); the scaled rules make the variance geometric.
    config = dataclasses.replace(
        SMALL, model=ModelConfig(name="kde"), loop=dataclasses.replace(SMALL.loop, n_init=40), metrics=dataclasses.replace(SMALL.metrics, samples=16),
        grid={"model.rule": ["silverman", "scott_sklearn", "silverman_sklearn"]},
    )  # fmt: skip
    assert_on_theory(mad.simulate(config), ("trace_ratio",))


@pytest.mark.slow
def test_a_variance_beyond_float32_is_announced_and_counted(caplog):
    # Scott's rule at n = 10, d = 2 multiplies the variance by about 1.46 per generation: float32
    # overflows after some 270 generations (the closed form). The run says so before it starts, and the loops that
    # get there are counted in `nonfinite`, never averaged.
    config = Config(
        model=ModelConfig("kde"), data=DataConfig(n_test=32), metrics=dataclasses.replace(Config().metrics, samples=16),
        loop=LoopConfig(n_syn=10), generations=600, loops=8, progress=False,
    )  # fmt: skip
    ds = mad.simulate(config)
    assert "beyond float32's range by generation" in caplog.text
    broken = ds.nonfinite.sel(stat="mean").values
    assert broken[-1] == 1.0 and broken[:150].max() == 0.0
    finite = ds.trace_ratio.sel(stat="mean").values[:150]
    assert np.isfinite(finite).all() and finite[-1] > 1e10  # growing, finite while representable
    caplog.clear()
    mad.simulate(dataclasses.replace(config, generations=100))
    assert "beyond" not in caplog.text
