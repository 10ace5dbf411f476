"""The standing edge-case suite, from the registries: every family in every loop it allows at the
smallest valid sample size, in both precisions, with extreme valid knobs, runs finite (and on its
closed form where one exists); every invalid value of a documented key is refused by validation,
before anything compiles, with the key in the message."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_conformance import allowed_pairs, tiny
from theory_checks import assert_on_theory

import mad
from mad.config import Config, ConfigError, replace_path, validate
from mad.families import family_spec
from mad.loops import loop_spec


def smallest(family: str, loop: str, precision: str, lam: float) -> Config:
    """The row of `family` in `loop`, with every fit at the smallest size the family accepts."""
    config = dataclasses.replace(tiny(family, loop), precision=precision, loops=64, generations=4)
    least, _ = family_spec(family).min_fit(config)
    spec = loop_spec(loop)
    config = replace_path(config, "loop.n_syn", least)
    config = replace_path(config, "loop.n_init", max(least, config.loop.n_real or 0))
    if spec.real == "none" and family_spec(family).sampling_bias:
        config = replace_path(config, "loop.lam", lam)
    if loop == "accumulate_subsample":
        config = replace_path(config, "loop.n_fit", least)
    if family == "linreg":  # the design has as many rows as a fit
        config = replace_path(config, "loop.n_init", least)
    validate(config)
    return config


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("family,loop", allowed_pairs())
def test_smallest_fits_run_finite_in_both_precisions(family, loop, precision):
    config = smallest(family, loop, precision, lam=0.05)
    ds = mad.simulate(config)
    assert not ds.nonfinite.sel(stat="mean").values.any(), "a loop went non-finite"
    for name, var in ds.data_vars.items():
        if "stat" in var.dims and name != "nll_test":
            assert np.isfinite(var.sel(stat="mean").values[1:]).all(), name  # diagnostics are NaN at 0
    if precision == "float64":
        theory = [n for n in ds.data_vars if f"{n}_theory" in ds and np.isfinite(ds[f"{n}_theory"].values[..., 1:]).all()]
        assert_on_theory(ds, theory)


# ----------------------------------------------------------------------------- rejected values

NOT_NUMBERS = [math.nan, math.inf, -math.inf, "ten", None]
# key: (values that must be refused, a config where the key is used)
INVALID = {
    "data.dim": ([0, -1, 2.5, *NOT_NUMBERS], Config()),
    "data.scale": ([0.0, -1.0, 1e20, *NOT_NUMBERS], Config()),
    "data.spread": ([0.0, -2.0, math.nan, math.inf], Config()),
    "data.rare_weight": ([0.0, -1.0, math.nan], Config()),
    "data.spacing": (["grid", 0], Config()),
    "data.design": (["random", "per_loop", 0], Config()),  # per_loop: only for data=regression
    "data.n_test": ([0, 1, -5, 3.5], tiny("kde")),
    "data.vocab": ([0, 1, -3, 2.5], tiny("categorical")),
    "data.exponent": ([-1.0, math.nan, math.inf], tiny("categorical")),
    "data.rate": ([0.0, -1.0, math.nan, math.inf, 1e10], tiny("poisson")),
    "loop.n_syn": ([0, -3, 1.5, *NOT_NUMBERS], Config()),
    "loop.lam": ([0.0, -0.5, 1.5, math.nan, math.inf, "1"], Config()),
    "loop.keep": ([0.0, -0.1, 1.1, math.nan], Config()),
    "loop.real_weight": ([-0.1, 1.5, math.nan], tiny("gaussian", "fresh")),
    "loop.temperature": ([0.0, -1.0, math.nan, math.inf], tiny("categorical")),
    "loop.top_k": ([0, -2, 1.5], tiny("categorical")),
    "loop.top_p": ([0.0, -0.5, 1.5, math.nan], tiny("categorical")),
    "loops": ([0, -1, 2.5, None], Config()),
    "generations": ([0, -4, 2.5, None], Config()),
    "seed": ([-1, 2**32, 1.5, None], Config()),
    "chunk": ([0, -8, 1.5], Config()),
    "collapse_threshold": ([0.0, 1.0, -1e-3, 2.0, math.nan], Config()),
    "metrics.samples": ([0, 1, -3, 2.5], tiny("kde")),
    "metrics.k": ([0, -1, 1.5], tiny("kde")),
    "metrics.mode_share": ([0.0, 1.5, -1.0, math.nan], tiny("gmm")),
    "model.components": ([0, -2, 1.5], tiny("gmm")),
    "model.em_iters": ([0, -1, 2.5], tiny("gmm")),
    "model.reg": ([-1.0, math.nan, math.inf], tiny("gmm")),
    "model.tol": ([-1.0, math.nan, math.inf, 1e-20], tiny("gmm")),
    "model.bandwidth": ([0.0, -0.5, math.nan, math.inf], tiny("kde")),
    "model.rule": (["scot", "sklearn", 1], tiny("kde")),
    "model.hidden": ([0, -4, 2.5], tiny("flow")),
    "model.layers": ([0, -1], tiny("flow")),
    "model.steps": ([0, -3], tiny("flow")),
    "model.lr": ([0.0, -1e-3, math.nan, math.inf], tiny("flow")),
    "model.alpha": ([-1.0, math.nan, math.inf], tiny("categorical")),
}


def _refused(key: str, value, config: Config) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(replace_path(config, key, value))
    assert key in str(caught.value), (key, value, str(caught.value))


@pytest.mark.parametrize("key,value", [(key, value) for key, (values, _) in INVALID.items() for value in values])
def test_every_invalid_value_is_refused_naming_its_key(key, value):
    _refused(key, value, INVALID[key][1])


# Keys with an interval of valid values: any float outside it is refused.
INTERVALS = {
    "loop.lam": (0.0, 1.0, False, True),  # (low, high, low included, high included)
    "loop.keep": (0.0, 1.0, False, True),
    "loop.top_p": (0.0, 1.0, False, True),
    "collapse_threshold": (0.0, 1.0, False, False),
    "metrics.mode_share": (0.0, 1.0, False, True),
    "data.scale": (1e-15, 1e15, True, True),
    "model.bandwidth": (1e-150, 1e150, True, True),  # float64 (the table's kde row)
}


@given(st.sampled_from(sorted(INTERVALS)), st.floats(allow_nan=True, allow_infinity=True))
def test_values_outside_a_keys_interval_are_refused(key, value):
    low, high, low_in, high_in = INTERVALS[key]
    inside = (low < value or (low_in and value == low)) and (value < high or (high_in and value == high))
    config = INVALID[key][1]
    if inside:
        validate(replace_path(config, key, value))  # accepted, and nothing in validation overflows
    else:
        _refused(key, value, config)


def test_the_base_configs_of_the_invalid_table_are_valid():
    for key, (_, config) in INVALID.items():
        validate(config)  # so that the refusal above is the key's own
