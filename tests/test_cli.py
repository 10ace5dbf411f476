"""`python -m mad.sweep` as a user runs it: results on disk, errors before anything is written."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mad.results import read_netcdf

pytestmark = pytest.mark.slow  # subprocesses: the slow tier (pytest -m 'not slow' skips them)

REPO = Path(__file__).resolve().parents[1]


def sweep(*overrides, run_dir=None, env=None):
    flags = [o for o in overrides if o.startswith("-")]  # Hydra's own flags come before overrides
    args = [sys.executable, "-m", "mad.sweep", *flags, "progress=false", *(o for o in overrides if o not in flags)]
    if run_dir is not None:
        args.append(f"hydra.run.dir={run_dir}")
    env = {**os.environ, "WANDB_MODE": "disabled", **(env or {})}
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def lambda_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("lambda")
    proc = sweep("+grid=lambda", "loops=32", "generations=3", "save.per_loop=true", run_dir=run_dir)
    assert proc.returncode == 0, proc.stderr
    return run_dir, proc


def test_lambda_grid_writes_results(lambda_run):
    run_dir, proc = lambda_run
    ds = read_netcdf(run_dir / "results.nc")
    assert list(ds.lam.values) == [1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert ds.trace_ratio.dims == ("lam", "stat", "generation") and ds.sizes["generation"] == 4
    assert "trace_ratio_theory" in ds and "logdet_ratio_theory_std" in ds
    loops = read_netcdf(run_dir / "loops.nc")
    assert loops.logdet_ratio.dims == ("lam", "loop", "generation") and loops.sizes["loop"] == 32
    log = proc.stdout + proc.stderr
    assert str(run_dir / "results.nc") in log and str(run_dir / "report.html") in log  # where things went
    assert (run_dir / "report.html").is_file() and len(list((run_dir / "figures").glob("*.png"))) == 15


def test_resume_of_a_finished_run_recomputes_nothing(lambda_run):
    run_dir, _ = lambda_run
    before = read_netcdf(run_dir / "results.nc")
    proc = sweep("+grid=lambda", "loops=32", "generations=3", "save.per_loop=true", "resume=true", run_dir=run_dir)
    assert proc.returncode == 0, proc.stderr
    assert "already holds this config's results: nothing to compute" in proc.stdout + proc.stderr
    after = read_netcdf(run_dir / "results.nc")
    for name in before.data_vars:
        assert after[name].equals(before[name]), name


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["loop.lam=1.5"], "loop.lam=1.5 must lie in (0, 1]"),
        (["data.dim=8", "loop.n_syn=8"], "loop.n_syn=8 is too small"),
        (["+grid=nope"], "Available options in 'grid'"),
        (["loop.lamda=0.5"], "Key 'lamda' not in 'LoopConfig'"),
        (["loop=spiral"], "Could not find 'loop/spiral'"),
        (["compile_cache=''"], "compile_cache='' must be a folder path"),
    ],
)
def test_invalid_config_fails_and_keeps_earlier_results(lambda_run, overrides, message):
    run_dir, _ = lambda_run
    before = (run_dir / "results.nc").read_bytes()
    proc = sweep(*overrides, run_dir=run_dir)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert (run_dir / "results.nc").read_bytes() == before


def test_a_second_run_loads_its_programs_from_the_compile_cache(tmp_path):
    cache = tmp_path / "cache"
    env = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}  # keep every program, however fast it compiled
    runs = []
    for name in ("first", "second"):
        proc = sweep("loops=16", "generations=3", f"compile_cache={cache}", run_dir=tmp_path / name, env=env)
        assert proc.returncode == 0, proc.stderr
        runs.append(sorted(p.name for p in cache.glob("*-cache")))
    assert any(name.startswith("jit_one_point") for name in runs[0])  # the sweep's program was kept
    assert runs[1] == runs[0]  # and loaded: the second run compiled nothing new
    # jaxlib 0.9 reports each program loaded on CPUs with LLVM tuning hints as built for another
    # machine (openxla/xla#44565): a false alarm the command line keeps quiet
    assert "cpu_aot_loader" not in proc.stderr and "Target machine feature" not in proc.stderr
    first, second = (read_netcdf(tmp_path / name / "results.nc") for name in ("first", "second"))
    for name in first.data_vars:
        assert second[name].equals(first[name]), name


def test_offline_wandb_runs_are_complete_when_the_command_returns(tmp_path):
    # The command leaves without the interpreter's teardown (mad.sweep._leave): every W&B run must
    # be finished and flushed by then, its final summary included.
    proc = sweep("+grid=lambda", "loops=16", "generations=2", run_dir=tmp_path, env={"WANDB_MODE": "offline"})
    assert proc.returncode == 0, proc.stderr
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 7
    for run in runs:
        (record,) = run.glob("run-*.wandb")
        data = record.read_bytes()
        assert b"final/trace_ratio/mean" in data and b"figures/trace_ratio" in data


def test_language_model_sweep_reports_what_its_models_write(tmp_path):
    proc = sweep("model=ngram", "size=tiny", "data.vocab=16", "data.context=16", run_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ds = read_netcdf(tmp_path / "results.nc")
    assert ds.perplexity.sel(stat="mean").values[-1] > ds.perplexity.sel(stat="mean").values[0]
    assert (tmp_path / "figures" / "written_perplexity.png").is_file()
    report = (tmp_path / "report.html").read_text()
    assert "What the models write" in report and 'src="figures/written_perplexity.png"' in report


def test_image_sweep_reports_what_its_models_draw_at_each_lam(tmp_path):
    proc = sweep(
        "model=vae", "+grid=lambda", "grid.loop.lam=[1.0,0.5]", "loops=2", "generations=2", "loop.n_syn=64", "model.steps=20",
        "metrics.samples=64", run_dir=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    figures = tmp_path / "figures"
    for point in (0, 1):  # one grid and one embedding per lam
        assert (figures / f"image_samples_{point}.png").is_file() and (figures / f"image_embedding_{point}.png").is_file()
    report = (tmp_path / "report.html").read_text()
    assert "What the models draw" in report and 'src="figures/image_samples_1.png"' in report and "lam=0.5" in report


def test_grid_over_loops_keeps_other_overrides(tmp_path):
    # two of the shipped grid's five options keep the test short; each is composed the same way
    proc = sweep("+grid=loop", "grid.loop=[replace,fresh]", "loop.lam=0.9", "loops=8", "generations=2", run_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ds = read_netcdf(tmp_path / "results.nc")
    assert list(ds.loop.values) == ["replace", "fresh"]
    assert float(ds.trace_ratio_theory.sel(loop="fresh", generation=1)) == pytest.approx(0.995)  # 100 real + 100 synthetic
    # generation 2 of the replace loop: E tr = (99/100)^2 * 0.9 with lam = 0.9 applied to each option
    assert float(ds.trace_ratio_theory.sel(loop="replace", generation=2)) == pytest.approx(0.99**2 * 0.9)


def test_grid_slices_on_the_joblib_launcher_merge_into_the_single_process_run(lambda_run, tmp_path):
    # Two Hydra jobs (joblib processes), each a slice of the lambda grid, joined by mad.merge.
    proc = sweep(
        "-m", "hydra/launcher=joblib", "+grid=lambda", "loops=32", "generations=3", "save.per_loop=true",
        "shard.count=2", "shard.index=0,1", f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = read_netcdf(tmp_path / "sweep" / "0" / "results.nc")
    assert list(first.attrs["grid_points"]) == [0, 2, 4, 6]
    merged = subprocess.run(
        [sys.executable, "-m", "mad.merge", str(tmp_path / "merged"), str(tmp_path / "sweep")], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert merged.returncode == 0, merged.stderr
    single_dir, _ = lambda_run
    for name in ("results.nc", "loops.nc"):
        joined, single = read_netcdf(tmp_path / "merged" / name), read_netcdf(single_dir / name)
        assert set(joined.data_vars) == set(single.data_vars)
        for var in single.data_vars:
            if var == "point_config":  # the same resolved configs, whichever slice computed them
                assert list(joined[var].values.ravel()) == list(single[var].values.ravel())
                continue
            # lam points share one vmapped program, so a slice's batch shape differs: rounding only
            np.testing.assert_allclose(joined[var].values, single[var].values, rtol=1e-5, atol=1e-6, err_msg=var)
    assert (tmp_path / "merged" / "report.html").exists()
    # a slice missing: the merge refuses, naming the points
    missing = subprocess.run(
        [sys.executable, "-m", "mad.merge", str(tmp_path / "bad"), str(tmp_path / "sweep" / "0")], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert missing.returncode == 2 and "grid points [1, 3, 5] are in no slice" in missing.stderr


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL a real sweep once its first grid point is saved; resume; compare with a clean run."""
    import signal
    import time

    args = ["+grid=n", "grid.loop.n_syn=[10,20]", "loops=16", "generations=3"]
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "mad.sweep", "progress=false", *args, f"hydra.run.dir={killed}"]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "WANDB_MODE": "disabled"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = killed / ".partial" / "point-000000.npz"
    deadline = time.monotonic() + 240
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert first.exists() and not (killed / "results.nc").exists()
    resumed = sweep(*args, "resume=true", run_dir=killed)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed 1 of 2 grid point(s)" in resumed.stdout + resumed.stderr
    assert not (killed / ".partial").exists()  # its points are in results.nc now
    assert sweep(*args, run_dir=clean).returncode == 0
    a, b = read_netcdf(killed / "results.nc"), read_netcdf(clean / "results.nc")
    for name in b.data_vars:
        assert a[name].equals(b[name]), name


def test_run_directories_are_named_by_their_overrides(tmp_path):
    # run from another working directory, so that outputs/ lands in tmp_path
    args = [sys.executable, "-m", "mad.sweep", "progress=false", "size=tiny", "generations=2", "loop.lam=0.9", "save.formats=[png]"]
    proc = subprocess.run(args, cwd=tmp_path, env={**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "outputs").glob("*/*")
    assert run_dir.name.endswith("_generations=2,loop.lam=0.9,save.formats=[png],size=tiny"), run_dir.name
    assert (run_dir / "results.nc").exists() and not (run_dir / ".partial").exists()


def test_run_name_suffix_keeps_file_names_safe():
    from mad.sweep import LONGEST_NAME, run_name_suffix

    assert run_name_suffix("") == ""
    assert run_name_suffix("data=moons,model=kde") == "_data=moons,model=kde"
    assert run_name_suffix("logger.wandb.group=a/b c") == "_logger.wandb.group=a-b-c"
    assert len(run_name_suffix("x=" + "1" * 500)) == LONGEST_NAME + 1


def test_the_api_example_runs(tmp_path):
    import shutil

    script = shutil.copy(REPO / "examples" / "lambda_sweep.py", tmp_path / "lambda_sweep.py")
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "lambda_sweep.png").exists() and "0.50" in proc.stdout


def test_a_dry_run_prints_the_plan_and_leaves_nothing(tmp_path):
    run_dir = tmp_path / "planned"
    proc = sweep("--dry-run", "+grid=lambda", "loops=3000", run_dir=run_dir)
    assert proc.returncode == 0, proc.stderr
    assert "7 grid point(s) x 3,000 loops x 100 generations = 2,100,000 loop-generations in 1 program(s)" in proc.stdout
    assert "gaussian  replace" in proc.stdout and "estimated time:" in proc.stdout
    assert not run_dir.exists()  # nothing compiled, nothing written
    bad = sweep("--dry-run", "loop.lam=1.5", run_dir=run_dir)
    assert bad.returncode == 2 and "loop.lam=1.5 must lie in (0, 1]" in bad.stdout + bad.stderr and not run_dir.exists()
