"""A Gaussian fitted to non-Gaussian data (functional expressivity error): its reference is the
moment-matched Gaussian, and the first-moment recursions hold against it exactly."""

import jax
import numpy as np
import pytest

import mad
from mad.config import Config, ConfigError, DataConfig, LoopConfig, ModelConfig
from mad.data import make_data
from theory_checks import assert_on_theory


@pytest.mark.parametrize("name", ["gmm_ring", "gmm_grid", "moons"])
def test_exact_moments_against_a_large_sample(name):
    data = make_data(Config(data=DataConfig(name=name, dim=2, scale=0.1, rare_weight=0.3)))
    n = 200_000
    x = np.asarray(data.sample(jax.random.key(7), n), np.float64)
    # 5 standard errors: Var(mean_j) = cov_jj / n, Var(cov_ij) <= E[x_i^2 x_j^2] / n
    assert np.all(np.abs(x.mean(0) - data.mean) <= 5 * np.sqrt(np.diag(data.cov) / n))
    c = x - data.mean
    se = np.sqrt(np.einsum("ni,nj->ij", c**2, c**2) / n / n)
    assert np.all(np.abs(np.cov(x.T) - data.cov) <= 5 * se + 1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gmm_ring", "moons"])
def test_gaussian_on_non_gaussian_data_follows_the_recursion(name):
    config = Config(
        data=DataConfig(name=name, dim=2, scale=0.1),
        loop=LoopConfig(n_syn=50),
        loops=2048,
        generations=5,
        precision="float64",
        progress=False,
    )
    ds = mad.simulate(config)
    assert_on_theory(ds)
    assert "logdet_ratio_theory" not in ds  # the Wishart laws need Gaussian data
    # generation 0 is the reference itself: the moment-matched Gaussian
    assert float(ds.kl_rev.sel(stat="mean", generation=0)) == 0.0


def test_non_gaussian_data_needs_drawn_points():
    with pytest.raises(ConfigError, match=r"data=moons is not Gaussian: model=gaussian needs model\.backend=samples"):
        mad.simulate(Config(data=DataConfig(name="moons", dim=2), model=ModelConfig(backend="suffstats")))


@pytest.mark.parametrize("n", [7, 200])
def test_even_moons_are_scikit_learns_make_moons(n):
    from sklearn.datasets import make_moons

    config = Config(data=DataConfig(name="moons", dim=2, scale=1e-12, spacing="even"), precision="float64")
    drawn = np.asarray(make_data(config).sample(jax.random.key(0), n))
    reference, _ = make_moons(n, shuffle=False, noise=0.0)
    np.testing.assert_allclose(drawn, reference, atol=1e-9)
    # the same arcs and the same exact moments as the random spacing
    random = make_data(Config(data=DataConfig(name="moons", dim=2, scale=1e-12), precision="float64"))
    np.testing.assert_allclose(make_data(config).cov, random.cov)
    with pytest.raises(ConfigError, match=r"data\.spacing='grid'.*random, even"):
        mad.validate(Config(data=DataConfig(name="moons", dim=2, spacing="grid")))
