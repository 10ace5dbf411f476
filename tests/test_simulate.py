"""The Python API: config errors before compilation, grids, determinism, compilation reuse, results."""

import dataclasses
import re

import numpy as np
import pytest

import mad
from mad import engine
from mad.config import Config, ConfigError, DataConfig, LoopConfig, ModelConfig, validate
from mad.grid import expand, load_option
from mad.results import STATS

SMALL = dict(loops=16, generations=4, progress=False)


@pytest.mark.parametrize(
    "config,match",
    [
        (Config(data=DataConfig(dim=5), loop=LoopConfig(n_syn=5)), r"loop\.n_syn=5 is too small.*more than data\.dim=5"),
        (Config(data=DataConfig(dim=5), loop=LoopConfig(n_syn=20, n_init=4)), r"loop\.n_init=4 is too small"),
        (Config(model=ModelConfig(covariance="diag"), loop=LoopConfig(n_syn=1)), r"loop\.n_syn=1 .*at least 2"),
        (Config(loop=LoopConfig(lam=0.0)), r"loop\.lam=0\.0 must lie in \(0, 1\]"),
        (Config(loop=LoopConfig(lam=1.5)), r"loop\.lam=1\.5 must lie in \(0, 1\]"),
        (Config(loop=LoopConfig(n_syn=-3)), r"loop\.n_syn=-3 must be an integer >= 1"),
        (Config(loop=LoopConfig(name="fresh", n_real=-1)), r"loop\.n_real=-1 must be an integer >= 0"),
        (Config(loops=0), r"loops=0 must be an integer >= 1"),
        (Config(generations=2.5), r"generations=2\.5 must be an integer"),
        (Config(model=ModelConfig(covariance="banded")), r"model\.covariance='banded'.*full, diag, iso"),
        (Config(model=ModelConfig(backend="gpu")), r"model\.backend='gpu'.*samples, suffstats"),
        (Config(loop=LoopConfig(name="spiral")), r"loop\.name='spiral'.*replace, augment"),
        (Config(precision="float16"), r"precision='float16'.*float32, float64"),
        (Config(data=DataConfig(scale=-1.0)), r"data\.scale=-1\.0 must be a finite number > 0"),
        (Config(loop=LoopConfig(real_weight=0.5)), r"loop\.real_weight=0\.5 is only used by loop=augment or loop=fresh"),
        (Config(loop=LoopConfig(name="fresh", n_real=5, real_weight=1.5)), r"loop\.real_weight=1\.5 must lie in \[0, 1\]"),
        (Config(loop=LoopConfig(n_real=5)), r"loop\.n_real=5 must be 0 for loop=replace"),
        (Config(loop=LoopConfig(name="augment", n_real=50, n_init=20)), r"loop\.n_init=20 must be >= loop\.n_real=50"),
        (
            Config(model=ModelConfig(backend="suffstats"), loop=LoopConfig(name="accumulate_subsample")),
            r"accumulate_subsample .*needs model\.backend=samples",
        ),
        (Config(loop=LoopConfig(n_fit=10)), r"loop\.n_fit is only used by loop=accumulate_subsample"),
        (Config(grid={"loop.lamda": [0.5]}), r"grid axis 'loop\.lamda' is not a config key; loop has loop\.name"),
        (Config(grid={"loops": [10, 20]}), r"grid axis 'loops' is not allowed"),
        (Config(grid={"loop.lam": []}), r"grid axis 'loop\.lam' has no values"),
        (Config(grid={"loop": ["replace", "spiral"]}), r"loop='spiral' is not a shipped option; choose one of accumulate"),
        (Config(grid={"loop.lam": [1.0, 0.5, 0.0]}), r"loop\.lam=0\.0 must lie in \(0, 1\].*at grid point lam=0\.0"),
        # the families beyond Gaussians
        (Config(model=ModelConfig(name="categorical")), r"data=gaussian cannot be fitted by model=categorical; choose data from zipf, words"),
        (Config(model=ModelConfig(name="kde"), data=DataConfig(name="zipf")), r"data=zipf cannot be fitted by model=kde"),
        (
            Config(model=ModelConfig(name="linreg"), data=DataConfig(name="regression"), loop=LoopConfig(name="fresh", n_real=5)),
            r"loop=fresh is not available for model=linreg; choose one of replace, accumulate",
        ),
        (
            Config(model=ModelConfig(name="linreg"), data=DataConfig(name="regression"), loop=LoopConfig(n_init=50)),
            r"loop\.n_init=50 must equal loop\.n_syn=100 for model=linreg",
        ),
        (Config(model=ModelConfig(name="poisson"), data=DataConfig(name="poisson"), loop=LoopConfig(lam=0.5)), r"loop\.lam=0\.5 has no meaning for model=poisson"),
        (Config(model=ModelConfig(name="poisson"), data=DataConfig(name="poisson", rate=0.0)), r"data\.rate=0\.0 must be a finite number > 0"),
        (Config(model=ModelConfig(name="categorical", alpha=-1.0), data=DataConfig(name="zipf")), r"model\.alpha=-1\.0 must be >= 0"),
        (Config(model=ModelConfig(name="categorical"), data=DataConfig(name="zipf", vocab=1)), r"data\.vocab=1 must be an integer >= 2"),
        (Config(model=ModelConfig(name="kde", bandwidth=0.0)), r"model\.bandwidth=0\.0 must be a finite number > 0"),
        (Config(model=ModelConfig(name="flow", optimizer="lbfgs")), r"model\.optimizer='lbfgs'.*adam, adamw, sgd"),
        (Config(model=ModelConfig(name="flow", steps=0)), r"model\.steps=0 must be an integer >= 1"),
        (Config(model=ModelConfig(name="flow", lr=-1.0)), r"model\.lr=-1\.0 must be a finite number > 0"),
        # values that used to pass and give NaN or meaningless metrics, or fail after the compute
        (Config(data=DataConfig(spread=float("nan"))), r"data\.spread=nan must be a finite number > 0"),
        (Config(data=DataConfig(rare_weight=-1.0)), r"data\.rare_weight=-1\.0 must be a finite number > 0"),
        (Config(model=ModelConfig(name="categorical", alpha=float("inf")), data=DataConfig(name="zipf")), r"model\.alpha=inf must be >= 0 and finite"),
        (Config(model=ModelConfig(name="gmm", reg=float("inf"))), r"model\.reg=inf must be a finite number >= 0"),
        (Config(metrics=dataclasses.replace(Config().metrics, mode_share=1.5)), r"metrics\.mode_share=1\.5 must lie in \(0, 1\]"),
        (Config(model=ModelConfig(name="poisson"), data=DataConfig(name="poisson", rate=1e10)), r"data\.rate=10000000000\.0 x 100 points is too large"),
        (Config(seed=2**32), r"seed=4294967296 must be < 2\^32"),
        (Config(data=DataConfig(name="moons", dim=5)), r"data\.dim=5 must be 2 for data=moons"),
        (Config(data=DataConfig(name="digits", dim=65)), r"data\.dim=65 must be 1\.\.64 for data=digits"),
        (Config(data=DataConfig(scale=1e20)), r"data\.scale=1e\+20 must lie in \[1e-15, 1e\+15\] with precision=float32"),
        (Config(data=DataConfig(scale=1e-200), precision="float64"), r"data\.scale=1e-200 must lie in \[1e-150, 1e\+150\]"),
        (Config(model=ModelConfig(name="gmm", tol=1e-9), data=DataConfig(name="gmm_ring")), r"model\.tol=1e-09 is below the resolution of float32"),
        (Config(logger=dataclasses.replace(Config().logger, wandb=dataclasses.replace(Config().logger.wandb, project="a/b"))), r"logger\.wandb\.project='a/b'"),
        (Config(logger=dataclasses.replace(Config().logger, wandb=dataclasses.replace(Config().logger.wandb, tags=("x" * 65,)))), r"1 to 64 characters"),
    ],
)
def test_invalid_configs_fail_before_compilation(config, match, no_compilation):
    with pytest.raises(ConfigError, match=match):
        mad.simulate(config)


def test_grid_points_cross_axes_and_resolve_group_options():
    config = Config(grid={"loop": ["replace", "fresh"], "loop.lam": [1.0, 0.5]}, **SMALL)
    axes, points = expand(config)
    assert [a.name for a in axes] == ["loop", "lam"]
    assert [(p.coords["loop"], p.coords["lam"]) for p in points] == [
        ("replace", 1.0),
        ("replace", 0.5),
        ("fresh", 1.0),
        ("fresh", 0.5),
    ]
    fresh = points[3].config.loop
    assert fresh == dataclasses.replace(load_option("loop", "fresh"), lam=0.5)


@pytest.mark.slow
def test_results_layout_and_theory_alignment():
    config = Config(grid={"loop.lam": [1.0, 0.8], "loop.n_syn": [10, 30]}, save=mad.SaveConfig(per_loop=True), **SMALL)
    result = mad.run(config)
    ds = result.summary
    assert ds.trace_ratio.dims == ("lam", "n_syn", "stat", "generation")
    assert list(ds.stat.values) == list(STATS) and ds.sizes["generation"] == 5
    assert ds.trace_ratio_theory.dims == ("lam", "n_syn", "generation")
    assert ds.trace_ratio_theory.sel(lam=0.8, n_syn=10).values[2] == pytest.approx(0.9 * 0.8 * 0.9)
    assert "loop:\n" in ds.attrs["config"] and ds.attrs["loops"] == 16
    # provenance: the source's commit (a checkout: 40 hex digits) and whether it was edited, the command
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", ds.attrs["git_commit"]) and ds.attrs["git_dirty"] in ("true", "false", "unknown")
    assert "pytest" in ds.attrs["command"] or "python" in ds.attrs["command"]
    loops = result.loops
    assert loops.trace_ratio.dims == ("lam", "n_syn", "loop", "generation")
    assert loops.collapsed.dtype == bool
    # the summary is the statistics of the per-loop values
    np.testing.assert_allclose(ds.w2_sq.sel(stat="mean"), loops.w2_sq.astype(float).mean("loop"), rtol=1e-12)
    np.testing.assert_allclose(ds.w2_sq.sel(stat="q50"), loops.w2_sq.astype(float).median("loop"), rtol=1e-12)


def per_loop(config):
    return mad.run(config, keep_loops=True).loops


# XLA vectorises a batch differently for different batch shapes (a lane may fall in the vector
# body or the scalar remainder), so values agree to rounding, not always bitwise; the random draws
# are identical, so any real dependence would show as O(1) differences.
ROUNDING = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


@pytest.mark.slow
@pytest.mark.parametrize(
    "loop,precision", [("replace", "float32"), ("replace", "float64"), ("accumulate_subsample", "float32")]
)
def test_trajectory_depends_only_on_seed_point_and_loop_index(loop, precision):
    # Three compiled shapes per case: 13 loops per call, 4 per call, and 3 grid points x 13.
    base = Config(loop=load_option("loop", loop), precision=precision, **{**SMALL, "loops": 13, "chunk": 64})
    close = ROUNDING[precision]
    reference = per_loop(base)
    chunked = per_loop(dataclasses.replace(base, chunk=4))  # 4 loops per call, the last padded
    np.testing.assert_allclose(chunked.logdet_ratio, reference.logdet_ratio, **close)
    # fewer loops: the same first loops (the same compiled shape as chunk=4)
    fewer = per_loop(dataclasses.replace(base, loops=4, chunk=4))
    np.testing.assert_allclose(fewer.mean_sq_drift, reference.mean_sq_drift.isel(loop=slice(0, 4)), **close)
    # other grid points beside it (vmapped in the same program) change nothing at point 0
    beside = per_loop(dataclasses.replace(base, grid={"loop.lam": [base.loop.lam, 0.5, 0.7]}, chunk=3 * 64))
    np.testing.assert_allclose(beside.logdet_ratio.isel(lam=0), reference.logdet_ratio, **close)
    # a different seed gives different loops
    other = per_loop(dataclasses.replace(base, seed=1))
    assert np.abs(other.logdet_ratio - reference.logdet_ratio).max() > 1e-2


@pytest.mark.slow
def test_second_call_does_not_recompile():
    # a program no other test uses, so its cache starts empty
    config = Config(grid={"loop.lam": [1.0, 0.9]}, data=DataConfig(dim=3, scale=0.25), **SMALL)
    mad.simulate(config)
    compiled = engine.kernel(engine.Program.of(dataclasses.replace(config, grid={})), 1)
    assert compiled._cache_size() == 1
    # new traced knob values and a new seed reuse the compiled program
    mad.simulate(dataclasses.replace(config, seed=3, grid={"loop.lam": [0.6, 0.7]}))
    assert compiled._cache_size() == 1


@pytest.mark.slow
def test_compiled_programs_are_unmapped_before_the_process_runs_out_of_maps():
    import jax
    import jax.numpy as jnp

    before = engine.memory_maps()
    assert before is not None and before[1] > 0  # Linux: /proc/self/maps and vm.max_map_count
    functions = [jax.jit(lambda x, i=i: jnp.sin(x) * i) for i in range(40)]
    for f in functions:
        f(jnp.ones(3)).block_until_ready()
    held = engine.memory_maps()[0]
    assert held > before[0] + 40  # every executable maps several regions
    assert not engine.release_compiled(threshold=1.0)  # below the threshold nothing is dropped
    assert engine.release_compiled(threshold=0.0)
    assert engine.memory_maps()[0] < held - 40
    assert functions[0](jnp.ones(3))[0] == 0.0  # a released program compiles again when called


@pytest.mark.parametrize(
    "name,keys,match",
    [
        ("gaussian", {"hidden": 8}, r"model\.hidden=8 is not a key of model=gaussian; its keys are: model\.covariance, model\.estimator, model\.backend"),
        ("gmm", {"backend": "suffstats"}, r"model\.backend='suffstats' is not a key of model=gmm; its keys are: model\.components"),
        ("flow", {"hiden": 8}, r"model\.hiden=8 is not a key of model=flow \(did you mean model\.hidden\?\)"),
        ("poisson", {"alpha": 1.0}, r"model\.alpha=1\.0 is not a key of model=poisson; its keys are: none besides model\.name"),
        ("gan", {}, r"model\.name='gan' is not allowed; choose one of gaussian, gmm, kde, flow, vae, diffusion, categorical, ngram, transformer"),
    ],
)
def test_a_family_has_only_its_own_model_keys(name, keys, match):
    with pytest.raises(ConfigError, match=match):
        ModelConfig(name=name, **keys)


@pytest.mark.slow
def test_a_grid_over_model_gives_every_family_its_own_metrics(tmp_path):
    # Group options are loaded the way the command line loads them (the model options are
    # @package _global_ files); each point reports its family's metrics, NaN at the others.
    ds = mad.simulate(Config(grid={"model": ["gaussian", "kde"]}, loops=8, generations=2, progress=False))
    assert list(ds.model.values) == ["gaussian", "kde"]
    assert np.isfinite(ds.logdet_ratio.sel(model="gaussian", stat="mean")).all()
    assert np.isnan(ds.logdet_ratio.sel(model="kde")).all()
    assert np.isfinite(ds.precision.sel(model="kde", stat="mean")).all()
    assert np.isnan(ds.precision.sel(model="gaussian")).all()
    # each point's resolved config is stored beside its results, and survives a write
    from omegaconf import OmegaConf

    from mad.results import read_netcdf, write_netcdf

    stored = read_netcdf(write_netcdf(ds, tmp_path / "results.nc"))
    kde = OmegaConf.create(str(stored.point_config.sel(model="kde").item()))
    assert kde.model.name == "kde" and kde.model.bandwidth is None and kde.loops == 8
    assert OmegaConf.create(str(stored.point_config.sel(model="gaussian").item())).model.backend == "samples"


def test_traced_knobs_share_a_program_and_their_presence_does_not():
    from mad.config import TRACED_KNOBS
    from mad.loops import Knobs

    assert Knobs._fields == TRACED_KNOBS == ("lam", "real_weight")
    fresh = LoopConfig(name="fresh", n_real=20)
    program = engine.Program.of
    assert program(Config(loop=dataclasses.replace(fresh, lam=0.5))) == program(Config(loop=fresh))
    weighted = [program(Config(loop=dataclasses.replace(fresh, real_weight=w))) for w in (0.2, 0.9)]
    assert weighted[0] == weighted[1] != program(Config(loop=fresh))
    knobs = engine.knobs_of([Config(loop=dataclasses.replace(fresh, lam=0.5, real_weight=0.2)), Config(loop=fresh)], np.float64)
    np.testing.assert_allclose(knobs.lam, [0.5, 1.0])
    np.testing.assert_allclose(knobs.real_weight, [0.2, 0.0])


@pytest.mark.slow
def test_progress_moves_within_a_single_program():
    # 2 grid points of one vmapped program, 10 loops: with progress on, at least 4 calls report.
    from mad.engine import Program
    from mad.simulation import PROGRESS_CALLS, _run_points

    class Counter:
        calls = []

        def chunk(self, n):
            self.calls.append(n)

    config = Config(loops=10, generations=2, grid={"loop.lam": [1.0, 0.8]}, **{k: v for k, v in SMALL.items() if k not in ("loops", "generations")})
    _, points = expand(config)
    program = Program.of(points[0].config)
    quiet = _run_points(program, points, dataclasses.replace(config, progress=False), False, Counter())
    calls_quiet = len(Counter.calls)
    moving = _run_points(program, points, dataclasses.replace(config, progress=True), False, Counter())
    assert calls_quiet == 1 and len(Counter.calls) - calls_quiet >= PROGRESS_CALLS
    assert sum(Counter.calls[1:]) == Counter.calls[0] == 2 * 10 * 2
    for (a, _), (b, _) in zip(quiet, moving):  # the same statistics, whatever the split
        np.testing.assert_allclose(a["trace_ratio"], b["trace_ratio"], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_metrics_every_k_generations_are_those_of_the_full_run():
    # metrics.every=3 computes generations 0, 1, 3, 6 and the last; those values (and the closed
    # forms beside them) are the full run's, since each generation keeps its keys.
    full_config = Config(loops=64, generations=8, precision="float64", progress=False)
    full = mad.simulate(full_config)
    sparse = mad.simulate(dataclasses.replace(full_config, metrics=dataclasses.replace(full_config.metrics, every=3)))
    assert list(sparse.generation.values) == [0, 1, 3, 6, 8]
    for g in range(12):
        for k in (1, 2, 3, 5, 20):
            metrics = dataclasses.replace(full_config.metrics, every=k)
            assert metrics.measured_count(g) == len(metrics.measured(g)), (g, k)
    for name in ("trace_ratio", "trace_ratio_theory", "logdet_ratio", "nonfinite"):
        np.testing.assert_allclose(sparse[name].values, full[name].sel(generation=[0, 1, 3, 6, 8]).values, rtol=1e-9, err_msg=name)


def test_metrics_every_is_checked_and_not_a_grid_axis():
    config = Config(loops=8, generations=4, progress=False)
    with pytest.raises(ConfigError, match="metrics.every=0 must be an integer >= 1"):
        validate(dataclasses.replace(config, metrics=dataclasses.replace(config.metrics, every=0)))
    with pytest.raises(ConfigError, match="grid axis 'metrics.every' is not allowed"):
        expand(dataclasses.replace(config, grid={"metrics.every": [1, 2]}))
