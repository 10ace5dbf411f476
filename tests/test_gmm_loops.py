"""Mixtures in the self-consuming loops: every loop runs, metrics stay finite, and MAD's finding
(sampling bias lam < 1 costs recall, i.e. diversity, far more than precision, i.e. quality)."""

import dataclasses

import numpy as np
import pytest

import mad
from mad.config import Config, ConfigError, DataConfig, LoopConfig, MetricsConfig, ModelConfig
from mad.grid import load_option
from theory_checks import assert_on_theory

SMALL = Config(
    data=DataConfig(name="gmm_ring", dim=2, scale=0.1, n_test=300),
    model=ModelConfig(name="gmm", components=8, em_iters=20),
    metrics=MetricsConfig(samples=128),
    loop=LoopConfig(n_syn=200),
    loops=16,
    generations=4,
    progress=False,
)
SAMPLE_METRICS = {"precision", "recall", "density", "coverage", "mmd", "modes_covered", "nll_test", "weight_entropy"}
SAMPLE_METRICS |= {"trace_ratio", "mean_sq_drift"}  # the mixture's overall moments against the data's


@pytest.mark.slow
# replace runs in the lam and keep tests below; augment shares fresh's merge of real and synthetic
@pytest.mark.parametrize("loop", ["fresh", "accumulate", "accumulate_subsample"])
def test_every_loop_runs_with_mixtures(loop):
    cfg = dataclasses.replace(load_option("loop", loop), n_syn=200, n_real=100 if loop in ("augment", "fresh") else 0)
    ds = mad.simulate(dataclasses.replace(SMALL, loop=cfg))
    diagnostics = {"em_iterations", "em_converged"} | ({"real_share"} if loop == "fresh" else {"pool_size", "real_share"})
    assert set(ds.data_vars) == SAMPLE_METRICS | {"nonfinite", "collapsed", "point_config"} | diagnostics
    assert not ds.nonfinite.sel(stat="mean").values.any()
    for name in SAMPLE_METRICS:
        assert np.all(np.isfinite(ds[name].values)), name
    assert float(ds.modes_covered.sel(stat="mean", generation=0)) == 8.0
    assert float(ds.weight_entropy.sel(stat="mean", generation=0)) == pytest.approx(np.log(8))


@pytest.mark.slow
def test_sampling_bias_costs_recall_before_precision():
    config = dataclasses.replace(SMALL, loops=32, generations=8, grid={"loop.lam": [1.0, 0.6]})
    final = mad.simulate(config).isel(generation=-1)

    def drop(metric):  # fall from lam = 1 to lam = 0.6, with its standard error
        mean, sem = final[metric].sel(stat="mean"), final[metric].sel(stat="sem")
        return float(mean.sel(lam=1.0) - mean.sel(lam=0.6)), float(np.hypot(sem.sel(lam=1.0), sem.sel(lam=0.6)))

    (recall, se_r), (precision, se_p) = drop("recall"), drop("precision")
    assert recall - precision > 5 * np.hypot(se_r, se_p), (recall, precision)


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(model=ModelConfig(name="gmm", covariance="iso")), r"model\.covariance='iso'.*full, diag"),
        (dict(model=ModelConfig(name="gmm", components=300)), r"model\.components=300 needs as many points"),
        (dict(model=ModelConfig(name="gmm", init="spectral")), r"model\.init='spectral'.*kmeans\+\+, random"),
        (dict(data=DataConfig(name="gmm_grid", dim=3)), r"data\.dim=3 must be 2 for data=gmm_grid"),
    ],
)
def test_mixture_config_errors(change, match):
    with pytest.raises(ConfigError, match=match):
        mad.simulate(dataclasses.replace(SMALL, **change))


@pytest.mark.slow
def test_cherry_picking_raises_precision_and_costs_recall():
    config = dataclasses.replace(SMALL, loops=32, generations=4, grid={"loop.keep": [1.0, 0.5]})
    final = mad.simulate(config).isel(generation=-1)

    def change(metric):  # keep = 0.5 minus keep = 1, and its standard error
        mean, sem = final[metric].sel(stat="mean"), final[metric].sel(stat="sem")
        return float(mean.sel(keep=0.5) - mean.sel(keep=1.0)), float(np.hypot(sem.sel(keep=0.5), sem.sel(keep=1.0)))

    recall, se = change("recall")
    assert recall < -5 * se  # diversity lost
    nll, se = change("nll_test")
    assert nll > 5 * se  # the held-out data become less likely


@pytest.mark.slow
@pytest.mark.parametrize("name,dim", [("moons", 2), ("digits", 8)])
def test_non_mixture_data_run_end_to_end(name, dim):
    data = DataConfig(name=name, dim=dim, scale=0.1 if name == "moons" else 1.0, n_test=300)
    ds = mad.simulate(dataclasses.replace(SMALL, data=data, generations=2))
    later = ds.isel(generation=slice(1, None))
    for metric in SAMPLE_METRICS - {"modes_covered"}:
        assert np.all(np.isfinite(later[metric].values)), metric
    # moons has a density (numerically integrated), digits is an empirical distribution
    assert np.isfinite(float(ds.nll_test.sel(stat="mean", generation=0))) == (name == "moons")


def test_keep_needs_a_family_that_scores_its_draws():
    with pytest.raises(ConfigError, match=r"loop\.keep=0\.5 \(cherry-picking\) needs model=gaussian or model=gmm or model=kde or model=flow"):
        mad.simulate(Config(model=ModelConfig(name="categorical"), data=DataConfig(name="zipf"), loop=LoopConfig(keep=0.5)))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gmm_ring"])  # K = 1 is the Gaussian MLE fit by fit: test_gmm_family.py
def test_one_component_follows_the_gaussian_theory(name):
    """K = 1 without a covariance floor is the Gaussian MLE: its moments follow the recursions,
    here against the ring's moment-matched Gaussian."""
    config = Config(
        data=DataConfig(name=name, dim=2, scale=0.5 if name == "gaussian" else 0.1, n_test=60),
        model=ModelConfig(name="gmm", components=1, reg=0.0, em_iters=2),
        metrics=MetricsConfig(samples=16),
        loop=LoopConfig(n_syn=40),
        loops=2048,
        generations=5,
        precision="float64",
        progress=False,
    )
    assert_on_theory(mad.simulate(config))


@pytest.mark.slow
def test_lane_blocks_do_not_change_a_loop(monkeypatch):
    # On CPU the engine runs mixtures in blocks of lanes (lax.map over vmapped blocks); a loop's
    # trajectory must not depend on the block it falls in or on the chunk (to float64 rounding).
    from mad import engine

    config = dataclasses.replace(
        SMALL, loops=13, generations=2, precision="float64", chunk=64, model=dataclasses.replace(SMALL.model, components=4, em_iters=5),
        data=dataclasses.replace(SMALL.data, n_test=60), metrics=MetricsConfig(samples=16), loop=LoopConfig(n_syn=60),
    )  # fmt: skip
    whole = mad.run(config, keep_loops=True).loops  # 13 lanes < one block: a single vmap
    monkeypatch.setattr(engine, "CPU_LANE_BLOCK", 3)
    engine.kernel.cache_clear()
    try:
        blocked = mad.run(dataclasses.replace(config, chunk=8), keep_loops=True).loops  # 8 per call, blocks 3 + 3 + 2
    finally:
        engine.kernel.cache_clear()
    for name in ("recall", "nll_test", "trace_ratio"):
        np.testing.assert_allclose(blocked[name], whole[name], rtol=1e-10, atol=1e-12)
