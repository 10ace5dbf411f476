"""An interrupted sweep resumed from its checkpoints gives the uninterrupted result."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

import mad
from mad import simulation
from mad.config import Config

class Killed(Exception):
    """Stands in for Ctrl-C, SIGTERM or a kill (a KeyboardInterrupt would stop the test worker)."""


CONFIG = Config(loops=24, generations=5, progress=False, grid={"loop.n_syn": [10, 20, 30], "loop.lam": [1.0, 0.8]})


@pytest.mark.slow
def test_resume_skips_finished_points_and_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    reference = mad.run(CONFIG, keep_loops=True)
    real_run_points = simulation._run_points
    calls = []
    armed = [True]

    def interrupted(program, members, *args):
        calls.append(program.loop.n_syn)
        if armed[0] and len(calls) == 2:
            armed[0] = False
            raise Killed  # as if the process died during the second program
        return real_run_points(program, members, *args)

    monkeypatch.setattr(simulation, "_run_points", interrupted)
    with pytest.raises(Killed):
        mad.run(CONFIG, keep_loops=True, checkpoint=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["point-000000.npz", "point-000001.npz"]  # n_syn=10

    calls.clear()
    resumed = mad.run(dataclasses.replace(CONFIG, resume=True), keep_loops=True, checkpoint=tmp_path)
    assert calls == [20, 30]  # the finished program was loaded, not recomputed
    # the same values, coordinates and variable attributes; the config attribute records resume=true
    xr.testing.assert_equal(resumed.summary, reference.summary)
    xr.testing.assert_equal(resumed.loops, reference.loops)
    for name in reference.summary.data_vars:
        assert resumed.summary[name].attrs == reference.summary[name].attrs
    drop = lambda attrs: {k: v for k, v in attrs.items() if k != "config"}  # noqa: E731
    assert drop(resumed.summary.attrs) == drop(reference.summary.attrs)


@pytest.mark.slow
def test_checkpoints_of_another_config_are_not_reused(tmp_path, monkeypatch):
    mad.run(CONFIG, checkpoint=tmp_path)
    changed = dataclasses.replace(CONFIG, seed=7, resume=True)
    calls = []
    real_run_points = simulation._run_points
    monkeypatch.setattr(simulation, "_run_points", lambda program, *a: calls.append(1) or real_run_points(program, *a))
    result = mad.run(changed, checkpoint=tmp_path)
    assert len(calls) == 3  # every program recomputed for the new seed
    assert not np.allclose(result.summary.logdet_ratio.values, mad.simulate(CONFIG).logdet_ratio.values)
