"""Schedules of the synthetic sample size over generations (mad.loops.schedule), against the closed
forms: E sigma_t^2 / sigma_0^2 = prod (1 - 1/n_k) for the MLE Gaussian, and the exact recursions."""

import dataclasses
import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig, ScheduleConfig
from mad.loops import schedule
from mad.paper.experiments.schedule_growth import sinc_limit
from mad.theory import discrete
from theory_checks import assert_on_theory

SUFFSTATS = ModelConfig(backend="suffstats")


def test_schedules_give_the_sizes_they_name():
    g = 6
    assert schedule.sizes(ScheduleConfig(), 10, g) is None
    np.testing.assert_array_equal(schedule.sizes(ScheduleConfig(n_syn="linear"), 10, g), [20, 30, 40, 50, 60])
    np.testing.assert_array_equal(schedule.sizes(ScheduleConfig(n_syn="power", power=1.5), 10, g), np.rint(10 * np.arange(2, 7) ** 1.5))
    logistic = schedule.sizes(ScheduleConfig(n_syn="logistic", n_max=1000, midpoint=4, width=0.5), 10, g)
    assert logistic[2] == 505 and logistic[0] < 30 and logistic[-1] > 980 and np.all(np.diff(logistic) > 0)
    np.testing.assert_array_equal(schedule.sizes(ScheduleConfig(n_syn=[5, 6, 7, 8, 9]), 10, g), [5, 6, 7, 8, 9])


def test_the_replace_closed_form_is_the_product_and_its_sinc_limit():
    # E sigma_t^2 / sigma_0^2 = prod_{k<=t} (1 - 1/n_k) with n_1 = n_init = n0 and n_k = n0 k^2.
    config = Config(data=DataConfig(dim=1), model=SUFFSTATS, loop=LoopConfig(n_syn=100), schedule=ScheduleConfig(n_syn="power"), generations=300)
    theory = mad.theory.predict(config)["trace_ratio"]
    np.testing.assert_allclose(theory[1:], np.cumprod(1 - 1 / (100.0 * np.arange(1, 301) ** 2)), rtol=1e-12)
    assert sinc_limit(100) == pytest.approx(0.98363, abs=5e-6)
    assert theory[-1] - sinc_limit(100) == pytest.approx(sum(1 / (100.0 * k * k) for k in range(301, 10**6)) * sinc_limit(100), rel=1e-3)
    linear = mad.theory.predict(dataclasses.replace(config, schedule=ScheduleConfig(n_syn="linear")))["trace_ratio"]
    assert np.all(np.diff(linear[1:]) < 0) and linear[-1] < sinc_limit(100) - 0.04  # still decaying, as log t / n0


@pytest.mark.slow
@pytest.mark.parametrize("loop", [LoopConfig(n_syn=5), LoopConfig(name="accumulate", n_syn=5), LoopConfig(name="fresh", n_syn=5, n_real=4), LoopConfig(name="augment", n_syn=5, n_real=4)], ids=lambda c: c.name)
def test_scheduled_loops_follow_their_recursions(loop):
    # d = 3 full covariance from n_init = 5 points: sizes 5 t^1.5 drawn in law, every moment on theory.
    config = Config(data=DataConfig(dim=3), model=SUFFSTATS, loop=loop, schedule=ScheduleConfig(n_syn="power", power=1.5),
                    generations=10, loops=4096, progress=False)  # fmt: skip
    ds = mad.simulate(config)
    metrics = ("trace_ratio", "mean_sq_drift") + (("logdet_ratio", "kl_rev") if loop.name == "replace" else ())
    assert_on_theory(ds, metrics)
    if loop.name != "accumulate":  # the pool reports pool_size instead
        np.testing.assert_array_equal(ds.syn_size.sel(stat="mean").values[2:], schedule.of(config))


@pytest.mark.slow
def test_a_scheduled_poisson_pool_follows_the_recursion():
    config = Config(data=DataConfig(name="poisson", rate=0.5), model=ModelConfig(name="poisson"), loop=LoopConfig(name="accumulate", n_syn=4),
                    schedule=ScheduleConfig(n_syn=[4, 40, 400, 4, 4, 4000, 4]), generations=8, loops=8192, progress=False)  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds, ("rate_sq_error",))
    np.testing.assert_array_equal(ds.pool_size.sel(stat="mean").values[1:], 4 + np.concatenate([[0], np.cumsum([4, 40, 400, 4, 4, 4000, 4])]))
    expected = discrete.refit_sq_error(8, point_var=0.5, shrink=0.0, mode="accumulate", n=[4, 40, 400, 4, 4, 4000, 4], n_init=4) / 0.25
    np.testing.assert_allclose(ds.rate_sq_error_theory.values, expected, rtol=1e-12)


@pytest.mark.slow
def test_the_reference_command_composes_and_a_fit_on_a_million_points_is_finite():
    config, _ = mad.compose(
        "data.dim=1", "model.estimator=mle", "model.backend=suffstats", "loop.n_syn=100", "schedule.n_syn=power", "schedule.power=2", "generations=100"
    )
    mad.validate(config)
    assert schedule.of(config)[-1] == 10**6
    ds = mad.simulate(dataclasses.replace(config, loops=64, progress=False, precision="float32"))
    assert np.all(np.isfinite(ds.trace_ratio.sel(stat="mean").values)) and float(ds.nonfinite.sel(stat="mean").max()) == 0


BASE = Config(data=DataConfig(dim=2), model=SUFFSTATS, loop=LoopConfig(n_syn=10), generations=5)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(schedule=ScheduleConfig(n_syn="cubic")), r"schedule\.n_syn='cubic' is not allowed; choose one of constant, linear, power, logistic"),
        (dict(schedule=ScheduleConfig(n_syn=[10, 20])), r"schedule\.n_syn has 2 entries; .* generations - 1 = 4"),
        (dict(schedule=ScheduleConfig(n_syn=[10, 20, 0, 5])), r"schedule\.n_syn: 0 must be an integer >= 1"),
        (dict(schedule=ScheduleConfig(n_syn=[10, 20, 2, 5])), r"schedule\.n_syn gives 2 points in generation 4, too few: .*data\.dim=2"),
        (dict(schedule=ScheduleConfig(n_syn="power", power=-1.0)), r"schedule\.power=-1\.0 must be a finite number >= 0"),
        (dict(schedule=ScheduleConfig(n_syn="power", power=30.0)), r"schedule\.n_syn reaches .* keep every size <= 2\^24"),
        (dict(schedule=ScheduleConfig(n_syn="logistic")), r"schedule\.n_max=None must be an integer >= 1 for schedule\.n_syn=logistic"),
        (dict(schedule=ScheduleConfig(n_syn="linear"), model=ModelConfig()), r"schedule\.n_syn='linear' needs a family that draws .*model=gaussian \(model\.backend=suffstats\)"),
        (dict(schedule=ScheduleConfig(n_syn="linear"), loop=LoopConfig(n_syn=10, keep=0.5)), r"loop\.keep=0\.5 \(curation\)"),
    ],
)
def test_bad_schedules_are_refused_naming_the_key(change, message, no_compilation):
    with pytest.raises(mad.ConfigError, match=message):
        mad.validate(dataclasses.replace(BASE, **change))


def test_a_poisson_schedule_is_bounded_by_the_int32_draw():
    # The constant size passes; the schedule's last size, 10 * 100^2, times the rate exceeds 2^30.
    config = Config(data=DataConfig(name="poisson", rate=2e4), model=ModelConfig(name="poisson"), loop=LoopConfig(n_syn=10), generations=100)
    mad.validate(config)
    with pytest.raises(mad.ConfigError, match=r"data\.rate=20000\.0 x 100000 points is too large"):
        mad.validate(dataclasses.replace(config, schedule=ScheduleConfig(n_syn="power")))


# ----------------------------------------------------------------------------- n_real, lam, real_weight

LAMS = [1.0, 0.9, 0.7, 1.0, 0.6]
WEIGHTS = [0.1, 0.3, 0.5, 0.7, 0.9]
GROWING_WEB = [10, 20, 40, 80, 160]  # real points per step of the fresh loop


@pytest.mark.parametrize(
    "loop,model,knobs",
    [
        (LoopConfig(n_syn=20), ModelConfig(), dict(lam=LAMS)),
        pytest.param(LoopConfig(name="accumulate", n_syn=20), ModelConfig(), dict(lam=LAMS), marks=pytest.mark.slow),
        pytest.param(LoopConfig(name="augment", n_syn=20, n_real=10), ModelConfig(), dict(real_weight=WEIGHTS), marks=pytest.mark.slow),
        (LoopConfig(name="fresh", n_syn=20, n_real=10), ModelConfig(backend="suffstats"),
         dict(n_syn="linear", n_real=GROWING_WEB, lam=LAMS, real_weight=WEIGHTS)),
    ],
    ids=["replace-lam", "accumulate-lam", "augment-weight", "fresh-all"],
)
@pytest.mark.slow
def test_knob_schedules_follow_their_recursions(loop, model, knobs):
    config = Config(data=DataConfig(dim=2), model=model, loop=loop, schedule=ScheduleConfig(**knobs), generations=6, loops=4096,
                    precision="float64", progress=False)  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds)
    if "real_weight" in knobs:  # the loop reports the weight of each step
        np.testing.assert_allclose(ds.real_share.sel(stat="mean").values[2:], WEIGHTS)
    if loop.name == "replace":  # a lam schedule keeps the replace loop's exact laws (Wishart, per step)
        assert_on_theory(ds, ("logdet_ratio", "kl_rev", "cov_frob_sq"))


@pytest.mark.slow
def test_a_lam_schedule_is_the_constant_lam_when_constant():
    base = Config(data=DataConfig(dim=2), loop=LoopConfig(n_syn=20, lam=0.8), generations=6, loops=64, progress=False)
    listed = dataclasses.replace(base, loop=LoopConfig(n_syn=20), schedule=ScheduleConfig(lam=[0.8] * 5))
    one, other = mad.simulate(base), mad.simulate(listed)
    np.testing.assert_allclose(one.trace_ratio.values, other.trace_ratio.values, rtol=1e-6)
    np.testing.assert_allclose(one.trace_ratio_theory.values, other.trace_ratio_theory.values, rtol=1e-12)


def test_named_knob_curves_run_from_the_loop_value_to_their_end():
    from mad.loops.schedule import steps_of

    def steps(**keys):
        loop = keys.pop("loop", LoopConfig(name="fresh", n_syn=20, n_real=10, real_weight=0.1))
        return steps_of(Config(loop=loop, generations=6, schedule=ScheduleConfig(**keys)))

    np.testing.assert_allclose(steps(lam="linear", lam_end=0.6).lam, [1.0, 0.9, 0.8, 0.7, 0.6])
    np.testing.assert_allclose(steps(real_weight="power", real_weight_end=0.9, power=2.0).real_weight, 0.1 + 0.8 * np.array([0, 1, 4, 9, 16]) / 16)
    web = steps(n_real="logistic", n_real_end=110, midpoint=4.0, width=0.5).n_real
    np.testing.assert_array_equal(web, np.rint(10 + 100 / (1 + np.exp(-(np.arange(2, 7) - 4.0) / 0.5))).astype(int))
    assert web.dtype == np.int64 and web[0] == 12 and web[-1] == 108  # logistic tends to its end


@pytest.mark.slow
def test_a_named_lam_curve_runs_as_its_list():
    base = Config(data=DataConfig(dim=2), loop=LoopConfig(n_syn=20), generations=6, loops=64, progress=False)
    named = dataclasses.replace(base, schedule=ScheduleConfig(lam="linear", lam_end=0.6))
    listed = dataclasses.replace(base, schedule=ScheduleConfig(lam=[1.0, 0.9, 0.8, 0.7, 0.6]))
    one, other = mad.simulate(named), mad.simulate(listed)
    np.testing.assert_array_equal(one.trace_ratio.values, other.trace_ratio.values)
    np.testing.assert_allclose(one.trace_ratio_theory.values, other.trace_ratio_theory.values, rtol=1e-12)


def test_families_whose_theory_ignores_knob_schedules_draw_none():
    from mad import theory

    config = Config(data=DataConfig(name="zipf", vocab=20), model=ModelConfig("categorical"), loop=LoopConfig(n_syn=20),
                    generations=6, schedule=ScheduleConfig(lam=LAMS))  # fmt: skip
    mad.validate(config)
    assert theory.predict(config) == {}


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(schedule=ScheduleConfig(lam=[1.0, 0.9])), r"schedule\.lam has 2 entries; a list needs one value per loop step, generations - 1 = 5"),
        (dict(schedule=ScheduleConfig(lam=[1.0, 0.9, 0.8, 0.7, 1.5])), r"schedule\.lam: 1\.5 must lie in \(0, 1\]"),
        (dict(schedule=ScheduleConfig(lam=LAMS), loop=LoopConfig(lam=0.5)), r"leave loop\.lam=1"),
        (dict(schedule=ScheduleConfig(real_weight=WEIGHTS)), r"schedule\.real_weight weighs a real part: use loop=augment or loop=fresh"),
        (dict(schedule=ScheduleConfig(real_weight=[0.1, 0.2, 0.3, 0.4, 2.0]), loop=LoopConfig(name="fresh", n_real=5)), r"schedule\.real_weight: 2\.0 must lie in \[0, 1\]"),
        (dict(schedule=ScheduleConfig(n_real=GROWING_WEB), loop=LoopConfig(name="augment", n_real=5)), r"schedule\.n_real sets the fresh real points"),
        (dict(schedule=ScheduleConfig(n_real=GROWING_WEB), loop=LoopConfig(name="fresh", n_real=5)), r"schedule\.n_real needs a family that draws samples of any size in law"),
        (dict(schedule=ScheduleConfig(n_real=[10, 0, 1, 1, 1]), loop=LoopConfig(name="fresh", n_real=5)), r"schedule\.n_real: 0 must be an integer >= 1"),
        (dict(schedule=ScheduleConfig(lam="steep")), r"schedule\.lam='steep' is not allowed; choose one of constant, linear, power, logistic or a list"),
        (dict(schedule=ScheduleConfig(lam="linear")), r"schedule\.lam=linear runs from loop\.lam to schedule\.lam_end: set schedule\.lam_end"),
        (dict(schedule=ScheduleConfig(lam="linear", lam_end=0.0)), r"schedule\.lam_end=0\.0 must lie in \(0, 1\]"),
        (dict(schedule=ScheduleConfig(lam=LAMS, lam_end=0.5)), r"schedule\.lam_end=0\.5 is read only by a named schedule\.lam"),
        (dict(schedule=ScheduleConfig(n_real_end=50), loop=LoopConfig(name="fresh", n_real=5)), r"schedule\.n_real_end=50 is read only by a named schedule\.n_real"),
        (dict(schedule=ScheduleConfig(real_weight="power", real_weight_end=0.9), loop=LoopConfig(name="fresh", n_real=5)),
         r"set loop\.real_weight \(the first step's weight\)"),
        (dict(schedule=ScheduleConfig(real_weight="linear", real_weight_end=1.5), loop=LoopConfig(name="fresh", n_real=5, real_weight=0.5)),
         r"schedule\.real_weight_end=1\.5 must lie in \[0, 1\]"),
        (dict(schedule=ScheduleConfig(lam=LAMS), loop=LoopConfig(name="accumulate_subsample", n_fit=10)), r"schedule\.lam is not available for loop=accumulate_subsample"),
        (dict(schedule=ScheduleConfig(lam=LAMS), model=ModelConfig("poisson"), data=DataConfig(name="poisson")), r"schedule\.lam has no meaning for model=poisson"),
    ],
)
def test_bad_knob_schedules_are_refused_naming_the_key(change, message, no_compilation):
    with pytest.raises(mad.ConfigError, match=message):
        mad.validate(dataclasses.replace(Config(generations=6), **change))
