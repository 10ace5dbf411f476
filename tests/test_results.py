"""Statistics over loops, fed in chunks, against numpy on the whole array; atomic writes."""

import numpy as np
import pytest
import xarray as xr

from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.results import QUANTILES, STATS, LoopStats, read_netcdf, write_netcdf


@pytest.mark.parametrize("chunks", [[50], [7, 13, 30], [1] * 50])
def test_chunked_stats_equal_numpy(chunks):
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=(3, 50, 6)) * np.array([1.0, 1e-30, 1e30])[:, None, None]
    stats = LoopStats()
    start = 0
    for size in chunks:
        stats.update(x[:, start : start + size])
        start += size
    out = stats.result()
    np.testing.assert_allclose(out[:, 0], x.mean(1), rtol=1e-12)
    np.testing.assert_allclose(out[:, 1], x.std(1, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(out[:, 2], x.std(1, ddof=1) / np.sqrt(50), rtol=1e-9)
    np.testing.assert_allclose(out[:, 3:8], np.moveaxis(np.quantile(x, QUANTILES, axis=1), 0, 1), rtol=1e-12)
    np.testing.assert_allclose(out[:, 8], np.max(x, axis=1) / np.sum(x, axis=1), rtol=1e-12)  # the top 1% of 50 loops: one


def test_stats_of_saturated_values_stay_finite():
    big = np.finfo(np.float64).max
    x = np.array([[[big], [big], [1.0]]])
    out = LoopStats()
    out.update(x[:, :2])
    out.update(x[:, 2:])
    res = out.result()
    assert np.all(np.isfinite(res))
    assert res[0, 0, 0] == pytest.approx(big * (2 / 3), rel=1e-12)


def test_nonfinite_loops_are_left_out_not_spread():
    # Loop 2 broke down at generation 1: the statistics are those of the finite loops.
    x = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, np.nan], [7.0, np.inf]]])
    stats = LoopStats()
    stats.update(x[:, :3])
    stats.update(x[:, 3:])
    res = stats.result()
    finite = np.array([2.0, 4.0])
    np.testing.assert_allclose(res[0, :, 0], [4.0, np.std([1, 3, 5, 7], ddof=1), np.std([1, 3, 5, 7], ddof=1) / 2, *np.quantile([1, 3, 5, 7], QUANTILES), 7 / 16])
    np.testing.assert_allclose(res[0, :, 1], [3.0, finite.std(ddof=1), finite.std(ddof=1) / np.sqrt(2), *np.quantile(finite, QUANTILES), 4 / 6])
    empty = LoopStats()
    empty.update(np.full((1, 3, 1), np.nan))
    assert np.all(np.isnan(empty.result()))


def test_quantiles_use_the_first_loops_only():
    stats = LoopStats(quantile_loops=4)
    stats.update(np.arange(10.0)[None, :, None])
    res = stats.result()
    assert res[0, 0, 0] == pytest.approx(4.5)  # mean over all ten
    assert res[0, 5, 0] == pytest.approx(1.5)  # median of 0, 1, 2, 3


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "results.nc"
    write_netcdf(xr.Dataset({"a": ("x", [1.0, 2.0])}), path)

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError):
        write_netcdf(xr.Dataset({"a": ("x", [9.0])}), path)
    assert read_netcdf(path).a.values.tolist() == [1.0, 2.0]
    assert [p.name for p in tmp_path.iterdir()] == ["results.nc"]  # no temporary left behind


def test_writes_never_follow_a_planted_temporary(tmp_path):
    # A link under the old fixed temporary name must not be written through, and the result has
    # an ordinary file's mode (mkstemp alone gives 0600).
    import os
    import stat

    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / ".results.nc.tmp").symlink_to(victim)
    write_netcdf(xr.Dataset({"a": ("x", [1.0])}), tmp_path / "results.nc")
    assert victim.read_text() == "keep me"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "results.nc").stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize(
    "config",
    [
        Config(),
        Config(model=ModelConfig("gmm", components=3), loop=LoopConfig(name="fresh", n_real=5, real_weight=0.3), grid={"loop.lam": [0.5, 1.0]}),
        Config(model=ModelConfig("flow", hidden=8), data=DataConfig(name="moons"), precision="float64"),
    ],
)
def test_a_recorded_config_reads_back_as_the_same_config(config):
    from mad.config import from_yaml
    from mad.results import config_yaml

    back = from_yaml(config_yaml(config))
    assert config_yaml(back) == config_yaml(config)
    assert back.model == config.model and back.loop == config.loop and back.data == config.data


def test_top_share_is_the_part_of_the_sum_carried_by_the_largest_percent():
    from mad.results import top_share

    rng = np.random.default_rng(3)
    x = np.abs(rng.normal(size=(2, 1000, 3)))
    got = top_share(x)
    want = np.sort(x, axis=-2)[:, -10:, :].sum(axis=-2) / x.sum(axis=-2)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    light = top_share(np.abs(1.0 + 0.1 * rng.normal(size=(1000, 1))))[0]
    heavy = top_share(rng.lognormal(0.0, 3.0, size=(1000, 1)))[0]
    assert light < 0.02 and heavy > 0.3
    assert top_share(np.zeros((5, 1)))[0] == pytest.approx(1 / 5)  # all equal: the top loop carries its even part
    stats = LoopStats()
    stats.update(rng.lognormal(0.0, 3.0, size=(1000, 2)))
    assert stats.result()[list(STATS).index("top1_share")].min() > 0.3
