"""Least squares relabelled by its predecessor against Gerstgrasser et al.'s formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.data import discrete
from mad.families import linreg
from mad.theory import regression
from theory_checks import assert_on_theory


def test_fit_is_least_squares():
    data = discrete.regression(30, 4, 0.5)
    fam = linreg.family(design=data.design, weights=data.weights, noise=data.noise, dtype=jnp.float64)
    labels = fam.real(jax.random.key(0), 30)
    fit = fam.fit(None, None, labels)
    # rebuild y from X^T y is impossible; instead check the normal equations X^T X w = X^T y
    np.testing.assert_allclose(data.design.T @ data.design @ np.asarray(fit.weights), labels.xty, rtol=1e-10)
    pooled = fam.fit(None, None, fam.merge(labels, labels, None))
    np.testing.assert_allclose(pooled.weights, fit.weights, rtol=1e-12)  # two copies of one sample


@pytest.mark.parametrize("loop", ["replace", "accumulate"])
def test_test_error_follows_the_closed_form(loop):
    config = Config(
        data=DataConfig(name="regression", dim=5, scale=1.0),
        model=ModelConfig(name="linreg"),
        loop=LoopConfig(name=loop, n_syn=20),
        loops=4096, generations=12, progress=False, grid={"loop.lam": [1.0, 0.5]},
    )  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds, ("test_error",))
    final = ds.test_error.sel(stat="mean", lam=1.0).values[-1]
    first = ds.test_error.sel(stat="mean", lam=1.0).values[1]
    if loop == "replace":
        assert final > 8 * first  # grows linearly
    else:
        assert final < np.pi**2 / 6 * first * 1.2  # bounded


def test_exact_design_formula_averages_to_the_random_design_one():
    rng = np.random.default_rng(0)
    rows, d = 40, 4
    values = [regression.test_error(rng.normal(size=(rows, d)), 1.0, 3, accumulate=False)[3] for _ in range(4000)]
    expected = regression.random_design_test_error(3, 1.0, d, rows, accumulate=False)[3]
    assert np.mean(values) == pytest.approx(expected, abs=5 * np.std(values) / np.sqrt(len(values)))


def test_a_per_loop_design_is_least_squares_on_the_loops_own_rows():
    # numpy reference of the peers' convention: each seed draws its own X, fits w = lstsq(X, y).
    data = discrete.regression(12, 3, 0.5)
    fam = linreg.family(design=data.design, weights=data.weights, noise=data.noise, dtype=jnp.float64, per_loop=True)
    a, b = fam.real(jax.random.key(1), 12), fam.real(jax.random.key(2), 12)
    assert not np.allclose(a.design, b.design) and np.asarray(a.design).shape == (12, 3)
    fit = fam.fit(None, fam.reference, a)
    x = np.asarray(a.design)
    np.testing.assert_allclose(x.T @ x @ np.asarray(fit.weights), a.xty, rtol=1e-10)
    relabelled = fam.synthetic(jax.random.key(3), fit, 12, 1.0)
    np.testing.assert_array_equal(relabelled.design, a.design)  # later generations relabel the loop's own design


@pytest.mark.parametrize("loop", ["replace", "accumulate"])
def test_per_loop_designs_follow_the_design_averaged_law(loop):
    # E ||w_t - w*||^2 = sigma^2 d / (T - d - 1) x growth: the inverse-Wishart mean over designs.
    config = Config(data=DataConfig(name="regression", dim=4, scale=1.0, design="per_loop"), model=ModelConfig(name="linreg"),
                    loop=LoopConfig(name=loop, n_syn=16), loops=8192, generations=8, progress=False)  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds, ("test_error",))
    assert ds.test_error_theory.values[1] == pytest.approx(4 / (16 - 4 - 1))
