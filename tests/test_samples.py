"""Sample figures recompute one loop exactly as the run did (python -m mad.samples)."""

import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.grid import expand
from mad.metrics.gaussian import log_trace
from mad.results import write_netcdf
from mad.samples import main, model_params, model_samples

RUN = Config(data=DataConfig(dim=2), loop=LoopConfig(n_syn=8), loops=6, generations=5, seed=3, progress=False, grid={"loop.lam": [1.0, 0.7]})


@pytest.mark.slow
def test_the_recomputed_loop_is_the_runs_loop():
    loops = mad.run(RUN, keep_loops=True).loops
    _, points = expand(RUN)
    point = points[1]  # lam = 0.7
    params = model_params(point.config, point=point.index, loop=4)
    reference = mad.families.gaussian.standard(2)
    ratios = [float(np.exp(log_trace(p) - log_trace(reference))) for p in params]
    np.testing.assert_allclose(ratios, loops.trace_ratio.sel(lam=0.7).values[4, 1:], rtol=2e-5)


@pytest.mark.slow
def test_samples_cover_the_asked_generations_and_the_cli_draws_them(tmp_path):
    config = Config(data=DataConfig(name="gmm_ring"), model=ModelConfig(name="gmm", components=8), loop=LoopConfig(n_syn=200),
                    loops=2, generations=3, progress=False)  # fmt: skip
    draws = model_samples(config, [0, 1, 3], n=50)
    assert sorted(draws) == [0, 1, 3] and all(x.shape == (50, 2) and np.all(np.isfinite(x)) for x in draws.values())
    write_netcdf(mad.simulate(config), tmp_path / "results.nc")
    assert main([str(tmp_path), "--generations", "0,3", "-n", "100"]) == 0
    assert (tmp_path / "figures" / "samples.png").read_bytes()[:4] == b"\x89PNG"
    assert main([str(tmp_path), "--point", "lam=0.5"]) == 2  # the run has no grid axis lam


@pytest.mark.slow
def test_counting_families_have_no_sample_figure():
    with pytest.raises(mad.ConfigError, match="does not draw points"):
        model_samples(Config(data=DataConfig(name="poisson"), model=ModelConfig(name="poisson"), generations=2), [1])
