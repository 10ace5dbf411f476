"""mad.plan (`--dry-run`): the programs, calls and memory of a sweep, before anything compiles."""

import dataclasses

import pytest

import mad
from mad import engine, plan
from mad.config import Config, DataConfig, LoopConfig, ModelConfig


def test_the_plan_is_what_the_run_does_and_compiles_nothing():
    config = Config(data=DataConfig(dim=2), loop=LoopConfig(n_syn=20), loops=250, generations=4, chunk=100, progress=False,
                    grid={"loop.lam": [0.5, 1.0], "model": ["gaussian", "kde"]})  # fmt: skip
    before = engine.kernel.cache_info()
    plans = plan.plan(config)
    assert engine.kernel.cache_info() == before  # no kernel was built, let alone compiled
    assert [(p.family, p.points) for p in plans] == [("gaussian", 2), ("kde", 2)]  # lam is traced: one program per family
    for p in plans:
        assert p.loops_per_call == 50 and p.calls == 5  # chunk 100 lanes over 2 grid points
        program = engine.Program.of(dataclasses.replace(config, grid={}, model=ModelConfig(p.family) if p.family == "gaussian" else mad.grid.load_option("model", "kde")))
        assert p.call_bytes == 100 * engine.lane_bytes(program)


def test_calls_share_the_loops_evenly():
    # 10,000 loops in calls of at most 8192 lanes: two calls of 5000, not 8192 and 8192 (of which 1808 kept)
    program = engine.Program.of(Config(progress=False))
    assert engine.call_loops(program, 1, 10_000, 8192, 1) == 5000
    assert engine.call_loops(program, 1, 10_001, 8192, 2) == 5002  # a multiple of the device count
    assert engine.call_loops(program, 1, 16_384, 8192, 1) == 8192
    assert engine.call_loops(program, 2, 300, 100, 1) == 50  # 100 lanes over 2 grid points: 6 calls of 50
    assert engine.call_loops(program, 1, 30, 8192, 1) == 30


def test_the_estimate_scales_the_familys_default_run():
    model = {"exponents": {"dim": 2.0, "n_samples": 1.0, "n_suffstats": 0.0},
             "families": {"gaussian": {"compile": 3.0, "rate": 1000.0, "dim": 2, "n_syn": 100}}}  # fmt: skip
    config = Config(data=DataConfig(dim=4), loop=LoopConfig(n_syn=50))
    compile_s, run_s = plan.estimate(config, 10_000, model)
    assert compile_s == 3.0 and run_s == pytest.approx(10.0 * 2.0**2 * 0.5)
    stats = dataclasses.replace(config, model=ModelConfig(backend="suffstats"))
    assert plan.estimate(stats, 10_000, model)[1] == pytest.approx(40.0)  # n costs nothing with sufficient statistics
    from mad.grid import load_option

    assert plan.estimate(dataclasses.replace(config, model=load_option("model", "kde")), 10_000, model) == (None, None)
    # Calls of fewer lanes than the family's default run are slower, as the measured curve says
    # (log-log interpolation, clamped); calls of more are not counted faster.
    curved = {**model, "lanes": [[100, 1000.0], [10_000, 4000.0]], "families": {"gaussian": {**model["families"]["gaussian"], "lanes": 10_000}}}
    assert plan.estimate(config, 10_000, curved, lanes=1000)[1] == pytest.approx(20.0 * 2.0)  # speed(1000) is half speed(10^4)
    assert plan.estimate(config, 10_000, curved, lanes=10)[1] == pytest.approx(20.0 * 4.0)  # clamped at the curve's end
    assert plan.estimate(config, 10_000, curved, lanes=10**6)[1] == pytest.approx(20.0)
    # The compile time follows the d curve for the family it was measured on only.
    categorical = dataclasses.replace(config, model=load_option("model", "categorical"))
    other = {**model, "families": {"categorical": {**model["families"]["gaussian"]}}}
    by_dim = {**model, "dim_compile": [[1, 2.0], [2, 4.0], [4, 16.0]], "curves_of": "gaussian"}
    assert plan.estimate(config, 10_000, by_dim)[0] == pytest.approx(3.0 * 16.0 / 4.0)  # d = 4 against the family's d = 2
    assert plan.estimate(categorical, 10_000, {**by_dim, "families": other["families"]})[0] == 3.0
    assert plan.estimate(config, 10_000, {**by_dim, "curves_of": None})[0] == 3.0  # a curve of no named family is not applied


def test_the_shipped_cost_model_covers_every_family():
    from mad.families import FAMILIES

    model = plan.cost_model()
    assert sorted(model["families"]) == sorted(FAMILIES)
    assert all(row["rate"] > 0 and row["compile"] >= 0 for row in model["families"].values())


def test_a_dry_run_refuses_what_the_run_would_refuse():
    with pytest.raises(mad.ConfigError, match=r"loop\.lam"):
        plan.plan(Config(loop=LoopConfig(lam=0.0)))
    with pytest.raises(engine.MemoryRefused, match="lower it"):
        plan.plan(Config(data=DataConfig(dim=2), loop=LoopConfig(n_syn=2**40)))
