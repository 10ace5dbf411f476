"""Per-generation diagnostics of loops and families land in the results like metrics: exact
values where the loop fixes them, EM's own counts for mixtures; NaN at generation 0 (no fit)."""

import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["accumulate", "accumulate_subsample"])
def test_pool_size_and_real_share_of_accumulating_loops(loop):
    config = Config(loop=LoopConfig(name=loop, n_syn=30, n_init=50), loops=4, generations=4, progress=False)
    ds = mad.simulate(config)
    size = 50 + 30 * np.arange(4)  # generations 1..4
    for stat in ("q05", "q95"):
        np.testing.assert_allclose(ds.pool_size.sel(stat=stat).values[1:], size)
        np.testing.assert_allclose(ds.real_share.sel(stat=stat).values[1:], 50 / size, rtol=1e-6)
    assert np.isnan(ds.pool_size.sel(stat="mean").values[0])


@pytest.mark.slow
def test_real_share_of_mixing_loops_is_one_then_the_mix():
    config = Config(loop=LoopConfig(name="fresh", n_real=20, n_syn=60), loops=4, generations=3, progress=False, grid={"loop.real_weight": [None, 0.4]})
    share = mad.simulate(config).real_share.sel(stat="mean")
    np.testing.assert_allclose(share.isel(real_weight=0).values[1:], [1.0, 0.25, 0.25], rtol=1e-6)
    np.testing.assert_allclose(share.isel(real_weight=1).values[1:], [1.0, 0.4, 0.4], rtol=1e-6)
    assert "real_share" not in mad.simulate(Config(loops=4, generations=2, progress=False))


@pytest.mark.slow
def test_mixtures_report_their_em_iterations_and_convergence():
    config = Config(
        model=ModelConfig("gmm", components=2, em_iters=4), data=DataConfig(name="gmm_ring", scale=0.1, n_test=32),
        metrics=MetricsConfig(samples=16), loop=LoopConfig(n_syn=100), loops=8, generations=3, progress=False, precision="float64",
    )  # fmt: skip
    ds = mad.run(config, keep_loops=True).loops
    iterations, converged = ds.em_iterations.values[:, 1:], ds.em_converged.values[:, 1:]
    assert np.all((iterations >= 1) & (iterations <= 4) & (iterations == np.round(iterations)))
    assert set(np.unique(converged)) <= {0.0, 1.0}
    assert np.all(iterations[converged == 0] == 4)  # a fit that did not converge used every iteration
    assert np.all(np.isnan(ds.em_iterations.values[:, 0]))
