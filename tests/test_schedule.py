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


def test_a_scheduled_poisson_pool_follows_the_recursion():
    config = Config(data=DataConfig(name="poisson", rate=0.5), model=ModelConfig(name="poisson"), loop=LoopConfig(name="accumulate", n_syn=4),
                    schedule=ScheduleConfig(n_syn=[4, 40, 400, 4, 4, 4000, 4]), generations=8, loops=8192, progress=False)  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds, ("rate_sq_error",))
    np.testing.assert_array_equal(ds.pool_size.sel(stat="mean").values[1:], 4 + np.concatenate([[0], np.cumsum([4, 40, 400, 4, 4, 4000, 4])]))
    expected = discrete.refit_sq_error(8, point_var=0.5, shrink=0.0, mode="accumulate", n=[4, 40, 400, 4, 4, 4000, 4], n_init=4) / 0.25
    np.testing.assert_allclose(ds.rate_sq_error_theory.values, expected, rtol=1e-12)


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
