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
    expected = regression.random_design_test_error(3, 1.0, d, rows, accumulate=False)
    assert np.mean(values) == pytest.approx(expected, abs=5 * np.std(values) / np.sqrt(len(values)))
