"""python -m mad.compare: runs of different configs overlaid metric by metric, with a final table."""

import numpy as np
import pytest

import mad
from mad.compare import compare, curves, load, main
from mad.config import Config, LoopConfig
from mad.results import write_netcdf


def _run(folder, **config):
    ds = mad.simulate(Config(loops=32, generations=3, progress=False, **config))
    folder.mkdir()
    write_netcdf(ds, folder / "results.nc")
    return ds


@pytest.mark.slow
def test_runs_are_overlaid_with_their_theory_and_tabled(tmp_path):
    a = _run(tmp_path / "replace", loop=LoopConfig(n_syn=10))
    _run(tmp_path / "lams", loop=LoopConfig(n_syn=10), grid={"loop.lam": [1.0, 0.5]})
    paths, text = compare([tmp_path / "replace", tmp_path / "lams"], tmp_path / "out")
    assert {p.stem for p in paths} >= {"trace_ratio", "mean_sq_drift", "kl_rev"}
    assert all(p.exists() for p in paths) and (tmp_path / "out" / "compare.md").read_text().startswith("# replace vs lams")
    rows = [line for line in text.splitlines() if line.startswith("| trace_ratio |")]
    assert [r.split(" | ")[1] for r in rows] == ["replace", "lams: lam=1", "lams: lam=0.5"]
    mean, sem = float(a.trace_ratio.sel(stat="mean")[-1]), float(a.trace_ratio.sel(stat="sem")[-1])
    expected = float(a.trace_ratio_theory[-1])
    assert f"{mean:.4g} +- {sem:.2g} | {expected:.4g} | {(mean - expected) / sem:+.2f} |" in rows[0]
    lines = curves(load([tmp_path / "replace", tmp_path / "lams"]), "trace_ratio")
    np.testing.assert_allclose(lines[2][1], load([tmp_path / "lams"])["lams"].trace_ratio.sel(lam=0.5, stat="mean").values)


def test_a_folder_without_results_is_reported(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "holds no results.nc" in capsys.readouterr().err
