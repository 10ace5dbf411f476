"""Curation as a loop-level stage (mad.loops.curation): cherry-picked draws against a numpy
reference, for every family that scores its draws, and its effect in a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import mad
from mad.config import Config, DataConfig, LoopConfig
from mad.families import gaussian as g
from mad.loops.curation import curated


def test_kept_points_are_the_most_likely_candidates():
    # The same key draws the same 2n candidates; the kept n are those of highest density (scipy).
    d, n = 2, 10
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    chol = np.linalg.cholesky(cov)
    params = g.GaussianParams(jnp.asarray([1.0, -1.0]), jnp.asarray(np.log(np.diag(chol))), jnp.asarray(chol / np.diag(chol)[None, :]))
    family = g.family(dim=d, scale=1.0, covariance="full", estimator="mle", backend="samples", dtype=jnp.float64)
    key = jax.random.key(0)
    candidates = np.asarray(family.draw(key, params, 2 * n, 1.0))
    dens = stats.multivariate_normal([1.0, -1.0], cov).logpdf(candidates)
    want = candidates[np.argsort(-dens)[:n]]
    got = np.asarray(curated(family, 0.5).draw(key, params, n, 1.0))
    np.testing.assert_allclose(np.sort(got, axis=0), np.sort(want, axis=0))
    # Real draws are never curated.
    np.testing.assert_allclose(curated(family, 0.5).draw(key, None, n, 1.0), family.draw(key, None, n, 1.0))


def test_keep_one_is_the_family_itself():
    family = g.family(dim=2, scale=1.0, covariance="full", estimator="mle", backend="samples", dtype=jnp.float64)
    assert curated(family, 1.0) is family


@pytest.mark.slow
def test_curating_a_gaussian_loop_shrinks_it_and_draws_no_theory():
    # Keeping the likelier half of the draws removes the tails: the variance falls far faster than
    # the uncurated loop's closed form, and no closed form is drawn for the curated point.
    config = Config(data=DataConfig(dim=1), loop=LoopConfig(n_syn=200), loops=64, generations=3, precision="float64", progress=False, grid={"loop.keep": [1.0, 0.5]})
    ds = mad.simulate(config)
    mean, sem = ds.trace_ratio.sel(stat="mean").isel(generation=3), ds.trace_ratio.sel(stat="sem").isel(generation=3)
    # The central half of a normal has variance 1 - 2 z phi(z) / (2 Phi(z) - 1) = 0.143 (z = 0.674):
    # two curated generations leave about 0.02 of the variance, the uncurated loop about 0.99.
    assert float(mean.sel(keep=0.5)) < 0.1 < 0.9 < float(mean.sel(keep=1.0))
    assert float(mean.sel(keep=1.0) - mean.sel(keep=0.5)) > 5 * float(np.hypot(sem.sel(keep=1.0), sem.sel(keep=0.5)))
    assert np.isnan(ds.trace_ratio_theory.sel(keep=0.5)).all() and np.isfinite(ds.trace_ratio_theory.sel(keep=1.0)).all()


@pytest.mark.slow
@pytest.mark.parametrize("model,data", [("kde", "gaussian"), pytest.param("flow", "moons", marks=pytest.mark.slow)])
def test_every_family_that_scores_its_draws_can_be_curated(model, data):
    from mad.config import ModelConfig

    keys = {"kde": {"bandwidth": 0.3}, "flow": {"steps": 3, "hidden": 4, "layers": 2, "batch_size": 16}}[model]
    config = Config(model=ModelConfig(model, **keys), data=DataConfig(name=data, n_test=32), loop=LoopConfig(n_syn=40, keep=0.5), loops=4, generations=2, progress=False)
    config = config.__class__(**{**config.__dict__, "metrics": config.metrics.__class__(samples=16)})
    ds = mad.simulate(config)
    assert not ds.nonfinite.sel(stat="mean").values.any()
