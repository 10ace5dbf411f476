"""Misuse and accidents: configs too large for memory, damaged files, two sweeps in one run
directory, missing W&B credentials, signals outside the compute. Each refused early, in one line
naming what to change, with nothing already on disk lost."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import mad
from mad import engine, simulation
from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig, WandbConfig
from mad.files import FolderBusy, run_lock
from mad.results import ResultsError, read_netcdf

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "config,key",
    [
        (Config(generations=10**9, loops=10), "generations"),
        (Config(model=ModelConfig("categorical"), data=DataConfig(name="zipf", vocab=10**9)), "data.vocab"),
        (Config(loop=LoopConfig(n_syn=10**9)), "loop.n_syn"),
        (Config(data=DataConfig(dim=100_000), loop=LoopConfig(n_syn=100_001)), "data.dim"),
        (Config(model=ModelConfig("flow", hidden=100_000), data=DataConfig(name="moons")), "model.hidden"),
        (Config(model=ModelConfig("gmm"), data=DataConfig(name="gmm_ring"), metrics=MetricsConfig(samples=10**6)), "metrics.samples"),
    ],
)
def test_what_cannot_fit_is_refused_before_compiling(config, key, no_compilation):
    with pytest.raises(engine.MemoryRefused, match=r"needs about [\d.e+]+ GB.*most of it .* is " + key.replace(".", r"\.")):
        mad.simulate(dataclasses.replace(config, progress=False))


def test_kept_trajectories_beyond_memory_are_refused(no_compilation):
    config = Config(loops=10**8, generations=100, progress=False)
    with pytest.raises(engine.MemoryRefused, match=r"save\.per_loop=true keeps 100000000 loops.*set save\.per_loop=false"):
        mad.run(config, keep_loops=True)
    # the same loops summarised on the fly need no such memory: not refused by the check
    engine.check_memory(engine.Program.of(config), 1, config.loops, 0)


SMALL = Config(loops=8, generations=2, progress=False, grid={"loop.n_syn": [10, 20]})


@pytest.mark.slow
def test_a_damaged_checkpoint_is_computed_again(tmp_path, caplog):
    reference = mad.run(SMALL, checkpoint=tmp_path).summary
    damaged = tmp_path / "point-000001.npz"
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated, as by a full disk or a kill -9
    (tmp_path / "point-000000.npz").write_bytes(b"")  # empty
    calls = []
    original = simulation._run_points
    try:
        simulation._run_points = lambda program, members, *a: calls.append(len(members)) or original(program, members, *a)
        resumed = mad.run(dataclasses.replace(SMALL, resume=True), checkpoint=tmp_path).summary
    finally:
        simulation._run_points = original
    assert calls  # recomputed, not a BadZipFile traceback
    assert "ignoring unreadable checkpoint" in caplog.text
    for name in reference.data_vars:
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)


def test_unreadable_results_give_one_line_errors(tmp_path):
    from mad.merge import main as merge_main
    from mad.report.__main__ import main as report_main

    run = tmp_path / "run"
    run.mkdir()
    (run / "results.nc").write_bytes(b"not a netCDF file")
    with pytest.raises(ResultsError, match=r"results\.nc is not a readable netCDF file"):
        read_netcdf(run / "results.nc")
    with pytest.raises(ResultsError, match="does not exist"):
        read_netcdf(tmp_path / "missing.nc")
    assert report_main([str(run)]) == 2
    assert merge_main([str(tmp_path / "out"), str(run)]) == 2
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(foreign / "results.nc", engine="h5netcdf")
    assert merge_main([str(tmp_path / "out"), str(foreign)]) == 2
    assert not (tmp_path / "out" / "results.nc").exists()


def test_a_run_directory_has_one_writer(tmp_path):
    with run_lock(tmp_path):
        with pytest.raises(FolderBusy, match=rf"{tmp_path} is in use by another sweep \(pid {os.getpid()}\)"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released with its holder
        pass
    planted = tmp_path / "planted"
    planted.mkdir()
    target = tmp_path / "victim"
    target.write_text("keep")
    (planted / ".lock").symlink_to(target)
    with pytest.raises(OSError):
        with run_lock(planted):  # never opened through a link
            pass
    assert target.read_text() == "keep"


def test_online_logging_without_a_key_is_refused_before_the_compute(tmp_path, monkeypatch):
    from mad.config import ConfigError
    from mad.tracking import check_credentials

    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org login user password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with pytest.raises(ConfigError, match=r"logger\.wandb\.mode=online needs a W&B API key for api\.wandb\.ai"):
        check_credentials(WandbConfig(mode="online"))
    check_credentials(WandbConfig(mode="offline"))  # offline and disabled need none
    netrc.write_text("machine api.wandb.ai login user password k" + "0" * 39 + "\n")
    check_credentials(WandbConfig(mode="online"))
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    check_credentials(WandbConfig(mode="online"))


def test_an_interrupted_wandb_log_leaves_no_partial_runs(tmp_path, monkeypatch):
    from mad import tracking

    ds = mad.simulate(SMALL)
    monkeypatch.setenv("WANDB_MODE", "offline")
    calls = []
    original = tracking.point_history

    def interrupted(ds, point):
        calls.append(point)
        if len(calls) == 2:
            raise KeyboardInterrupt  # SIGTERM arrives while the second grid point is logged
        return original(ds, point)

    monkeypatch.setattr(tracking, "point_history", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tracking.log_sweep(ds, tmp_path, WandbConfig(mode="offline"), [])
    assert not list((tmp_path / "wandb").glob("offline-run-*"))


@pytest.mark.slow
def test_sigterm_during_a_long_chunk_exits_at_once(tmp_path):
    # One chunk of this sweep computes for many minutes; SIGTERM must not wait for it.
    args = ["generations=100000", "loops=64", "loop.n_syn=2000", "data.dim=10", "progress=false", f"hydra.run.dir={tmp_path}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mad.sweep", *args], cwd=REPO, env={**os.environ, "WANDB_MODE": "disabled"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / ".lock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(15)  # imported, validated, compiling or computing
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        waited = time.monotonic() - sent
    finally:
        if proc.poll() is None:  # never leave a sweep computing behind a failed test
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert "interrupted; finished grid points are saved" in out
    assert waited < 60, f"exit took {waited:.0f} s after SIGTERM"
    assert not (tmp_path / "results.nc").exists()


@pytest.mark.slow
def test_a_second_sweep_into_a_busy_run_directory_fails_and_leaves_the_first_alone(tmp_path):
    args = ["generations=100000", "loops=64", "loop.n_syn=2000", "data.dim=10", "progress=false", f"hydra.run.dir={tmp_path}"]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    first = subprocess.Popen([sys.executable, "-m", "mad.sweep", *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / ".lock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "mad.sweep", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2
        assert f"is in use by another sweep (pid {first.pid})" in second.stdout + second.stderr
        assert first.poll() is None  # the first sweep runs on
    finally:
        first.kill()
        first.wait()


@pytest.mark.slow
def test_results_of_another_config_are_kept_unless_overwrite(tmp_path):
    from mad.config import ConfigError
    from mad.results import write_netcdf
    from mad.sweep import _check_earlier_results, _Finished

    config = Config(loops=4, generations=2, progress=False)
    write_netcdf(mad.simulate(config), tmp_path / "results.nc")
    other = dataclasses.replace(config, loops=8)
    with pytest.raises(ConfigError, match=r"already holds another config's results.*overwrite=true"):
        _check_earlier_results(tmp_path, other)
    with pytest.raises(ConfigError, match=r"another config's"):
        _check_earlier_results(tmp_path, dataclasses.replace(other, resume=True))  # resume cannot make them another config's
    with pytest.raises(ConfigError, match=r"this config's results.*continue with resume=true"):
        _check_earlier_results(tmp_path, config)
    with pytest.raises(_Finished, match=r"already holds this config's results: nothing to compute"):  # the same config resumed
        _check_earlier_results(tmp_path, dataclasses.replace(config, resume=True, progress=True, chunk=64))
    _check_earlier_results(tmp_path, dataclasses.replace(other, overwrite=True))
    _check_earlier_results(tmp_path / "empty", other)


def test_a_rejected_config_leaves_no_new_run_directory(tmp_path, monkeypatch):
    from mad.sweep import _remove_if_only_hydra

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "outputs" / "2026-11-22" / "06-00-00"
    (out / ".hydra").mkdir(parents=True)
    (out / "sweep.log").write_text("invalid config")
    _remove_if_only_hydra(out)
    assert not (tmp_path / "outputs" / "2026-11-22").exists() and (tmp_path / "outputs").exists() is False
    kept = tmp_path / "run"
    (kept / ".hydra").mkdir(parents=True)
    (kept / "results.nc").write_bytes(b"earlier")
    _remove_if_only_hydra(kept)
    assert (kept / "results.nc").read_bytes() == b"earlier"


def test_progress_off_a_terminal_is_logged(caplog):
    import logging

    from mad.progress import SweepProgress

    caplog.set_level(logging.INFO, logger="mad.progress")
    progress = SweepProgress(None, total=1000, points=2, log_every=0.0)
    progress.chunk(250)
    progress.points_done(1)
    progress.chunk(750)
    progress.points_done(1)
    lines = [r.getMessage() for r in caplog.records if r.name == "mad.progress"]
    assert lines[0].startswith("grid points 0/2, chunks 1; 25% of 1,000 loop-generations")
    assert lines[-1].startswith("grid points 2/2, chunks 2; 100% of 1,000") and "ETA 0 s" in lines[-1]
    caplog.clear()
    quiet = SweepProgress(None, total=10, points=1)  # progress=false: nothing
    quiet.chunk(10)
    quiet.points_done(1)
    assert not [r for r in caplog.records if r.name == "mad.progress"]
