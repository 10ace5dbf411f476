"""Conformance: every registered family and loop, from the registries.

A family or loop is tested by registering it: it needs one row below (the overrides of a tiny run),
and then every check here runs for it, alone and in every loop (or with every family) that the
registries allow. Statistical checks compare the mean over loops with the closed form within
5 standard errors (tests/theory_checks.py); everything else is exact.
"""

from __future__ import annotations

import dataclasses
import re
from importlib import resources
from pathlib import Path

import jax
import numpy as np
import pytest
from theory_checks import assert_on_theory

import mad
from mad import engine
from mad.config import Config, ConfigError, ModelConfig, replace_path, validate
from mad.families import FAMILIES
from mad.grid import load_option
from mad.loops import LOOPS

# One row per family: the overrides of a tiny run on data it accepts.
FAMILY_ROWS = {
    "gaussian": {"data.dim": 2},
    "gmm": {"data.name": "gmm_ring", "data.scale": 0.1, "data.n_test": 64, "model.components": 2, "model.em_iters": 3, "metrics.samples": 32},
    "kde": {"data.n_test": 64, "model.bandwidth": 0.5, "metrics.samples": 32},
    "flow": {"data.name": "moons", "data.n_test": 64, "model.layers": 2, "model.hidden": 4, "model.steps": 4, "model.batch_size": 16, "metrics.samples": 32},
    "vae": {"data.name": "digit_images", "data.dim": 64, "model.hidden": 8, "model.depth": 1, "model.latent": 2, "model.steps": 4, "model.batch_size": 16, "metrics.samples": 32},
    "diffusion": {
        "data.name": "digit_images", "data.dim": 64, "model.hidden": 8, "model.depth": 1, "model.diffusion_steps": 10, "model.sample_steps": 5,
        "model.steps": 4, "model.batch_size": 16, "metrics.samples": 32,
    },  # fmt: skip
    "categorical": {"data.name": "zipf", "data.vocab": 20},
    "ngram": {"data.name": "text", "data.vocab": 8, "data.context": 8, "data.n_test": 32, "model.order": 2, "metrics.samples": 32},
    "transformer": {
        "data.name": "text", "data.vocab": 8, "data.context": 6, "data.n_test": 16, "model.layers": 1, "model.width": 8,
        "model.steps": 5, "model.batch_size": 8, "metrics.samples": 16,
    },  # fmt: skip
    "poisson": {"data.name": "poisson", "data.rate": 2.0},
    "linreg": {"data.name": "regression", "data.dim": 2},
    "classifier": {"data.name": "two_classes"},
}
# One row per loop: the overrides it needs on top of a family's row.
LOOP_ROWS = {
    "replace": {},
    "augment": {"loop.n_real": 20},
    "fresh": {"loop.n_real": 20},
    "accumulate": {},
    "accumulate_subsample": {"loop.n_fit": 30},
}
LOOPS_PER_RUN = 128


def tiny(family: str, loop: str = "replace", **extra) -> Config:
    # A collapse threshold of 0.9 lets every family's collapse criterion trigger in a few generations.
    config = Config(
        model=ModelConfig(family), loop=dataclasses.replace(load_option("loop", loop), n_syn=40), generations=3, loops=LOOPS_PER_RUN,
        precision="float64", collapse_threshold=0.9, progress=False,
    )  # fmt: skip
    for path, value in {**FAMILY_ROWS[family], **LOOP_ROWS[loop], **extra}.items():
        config = replace_path(config, path, value)
    return config


def allowed_pairs() -> list[tuple[str, str]]:
    """Every (family, loop) the registries accept, found by validation itself."""
    pairs = []
    for family in FAMILIES:
        for loop in LOOPS:
            try:
                validate(tiny(family, loop))
            except ConfigError as err:
                assert "is not available for" in str(err), (family, loop, err)  # only the registry may refuse a row
                continue
            pairs.append((family, loop))
    return pairs


def test_every_registered_family_and_loop_has_a_row():
    assert sorted(FAMILY_ROWS) == sorted(FAMILIES)
    assert sorted(LOOP_ROWS) == sorted(LOOPS)


def test_every_family_runs_in_at_least_replace_and_accumulate():
    pairs = set(allowed_pairs())
    for family in FAMILIES:
        assert (family, "replace") in pairs and (family, "accumulate") in pairs, family


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_config_defaults_are_written_once(family):
    # The YAML option may document the defaults, but never disagree with the family's dataclass.
    composed = load_option("model", family)
    assert composed == ModelConfig(family), (composed, ModelConfig(family))


def _check_run(config: Config) -> None:
    ds = mad.simulate(config)
    assert not np.any(ds.nonfinite.sel(stat="mean").values), "a loop went non-finite"
    assert "collapsed" in ds, "every family reports its collapse criterion"
    metrics = [name for name, var in ds.data_vars.items() if "stat" in var.dims]
    for name in metrics:
        assert np.all(np.isfinite(ds[name].sel(stat="mean").values[..., 1:])) or name == "nll_test", name
    with_theory = [m for m in metrics if f"{m}_theory" in ds and np.isfinite(ds[f"{m}_theory"].values[..., 1:]).all()]
    assert_on_theory(ds, with_theory)


# Families whose tiny run compiles networks or EM for 10 s or more run in the slow tier only.
COSTLY = {"gmm", "flow", "vae", "diffusion", "transformer"}
BY_COST = [pytest.param(name, marks=pytest.mark.slow) if name in COSTLY else name for name in FAMILIES]


@pytest.mark.parametrize("family", BY_COST)
def test_family_runs_finite_and_on_its_theory(family):
    _check_run(tiny(family))


# Each family's documented collapse criterion, restated on its per-loop metrics (threshold t).
COLLAPSE = {
    "gaussian": lambda ds, t, config: ds.logdet_ratio / config.data.dim < np.log(t),
    "gmm": lambda ds, t, config: ds.trace_ratio < t,
    "kde": lambda ds, t, config: ds.trace_ratio < t,
    "flow": lambda ds, t, config: ds.trace_ratio < t,
    "vae": lambda ds, t, config: ds.trace_ratio < t,
    "diffusion": lambda ds, t, config: ds.trace_ratio < t,
    "categorical": lambda ds, t, config: ds.support_size <= 1,
    "ngram": lambda ds, t, config: ds.entropy <= t * ds.entropy.isel(generation=0),
    "transformer": lambda ds, t, config: ds.entropy <= t * ds.entropy.isel(generation=0),
    "poisson": lambda ds, t, config: ds.rate_ratio <= 0,
    "linreg": lambda ds, t, config: ds.test_error * t > float(np.sum(mad.data.make_data(config).weights ** 2)),
    "classifier": lambda ds, t, config: ds.accuracy < 0.5,
}


@pytest.mark.parametrize("family", BY_COST)
def test_every_family_reports_collapse_by_its_own_criterion(family):
    # Extreme knobs push some loops past the criterion within a few generations.
    extreme = {
        "categorical": {"data.vocab": 3, "loop.n_syn": 2, "loop.n_init": 2},
        "ngram": {"model.alpha": 0.0, "loop.n_syn": 100, "loop.n_init": 100},
        "poisson": {"data.rate": 0.3, "loop.n_syn": 2, "loop.n_init": 2},
        "classifier": {"verifier.tpr": 0.1, "verifier.fpr": 0.9, "loop.n_init": 1},
    }
    config = tiny(family, **extreme.get(family, {}))  # the programs of the runs above, but two
    ds = mad.run(config, keep_loops=True).loops
    want = COLLAPSE[family](ds, config.collapse_threshold, config).values
    np.testing.assert_array_equal(ds.collapsed.values[:, 1:] == 1, want[:, 1:])
    assert not ds.collapsed.values[:, 0].any()  # the real distribution has not collapsed
    if family in ("gaussian", "categorical", "ngram", "poisson", "classifier"):
        assert want[:, -1].any() and not want[:, -1].all(), "the knobs should collapse some loops, not all"


@pytest.mark.parametrize("loop", list(LOOPS))
def test_loop_runs_finite_and_on_its_theory(loop):
    _check_run(tiny("gaussian", loop))


@pytest.mark.slow
@pytest.mark.parametrize("family,loop", [pair for pair in allowed_pairs() if pair[0] != "gaussian" and pair[1] != "replace"])
def test_every_allowed_pair_runs_finite_and_on_its_theory(family, loop):
    _check_run(tiny(family, loop, generations=2))


def _one_trajectory(family: str):
    config = tiny(family, loops=1)
    program = engine.Program.of(config)
    knobs = engine.knobs_of([config], program.dtype)
    keys = [jax.random.fold_in(jax.random.key(3), i) for i in range(2)]
    return engine.trajectory_fn(program), jax.tree.map(lambda k: k[0], knobs), keys


@pytest.mark.parametrize("family", list(FAMILIES))
def test_trajectory_compiles_once(family):
    trajectory, knobs, keys = _one_trajectory(family)
    traces = []

    def counted(key, knobs):
        traces.append(None)
        return trajectory(key, knobs)

    # A call looks up the same trace cache as `trace`, which stops short of compiling.
    jitted = jax.jit(counted)
    jitted.trace(keys[0], knobs)
    jitted.trace(keys[1], jax.tree.map(lambda v: v * 0.5, knobs))  # new values, same shapes: no retrace
    assert len(traces) == 1


@pytest.mark.slow
@pytest.mark.parametrize("family", [name for name, spec in FAMILIES.items() if spec.exact_pooling])
def test_trajectory_jit_equals_eager(family):
    # Families fitted on points (EM, networks) run far too slowly op by op; their fits are checked
    # against scikit-learn, scipy and finite differences in their own test files.
    trajectory, knobs, keys = _one_trajectory(family)
    first = jax.jit(trajectory)(keys[0], knobs)
    with jax.disable_jit():
        eager = trajectory(keys[0], knobs)
    for name in first:
        np.testing.assert_allclose(np.asarray(first[name], float), np.asarray(eager[name], float), rtol=1e-6, atol=1e-9, err_msg=name)


def test_no_family_or_loop_name_is_dispatched_on_outside_its_module():
    # `model.name == "gmm"`, `loop.name in ("fresh", ...)` and the like: a comparison of a name with
    # a registered family's or loop's name belongs to that family's or loop's own module only.
    root = Path(mad.__file__).parent
    names = "|".join(sorted(set(FAMILIES) | set(LOOPS), key=len, reverse=True))
    dispatch = re.compile(rf"(?<!data)\.name\s*(==|!=|in\b|not in\b)[^#]*[\"']({names})[\"']")
    own = {f"families/{name}.py" for name in FAMILIES} | {"loops/mixing.py", "loops/accumulating.py"}
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel in own or rel.startswith("data/"):  # data/ dispatches on data names (gaussian, poisson, ...)
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if dispatch.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_shipped_model_and_loop_options_are_the_registries():
    folder = resources.files("mad.conf")
    assert sorted(p.name[:-5] for p in (folder / "model").iterdir() if p.name.endswith(".yaml")) == sorted(FAMILIES)
    assert sorted(p.name[:-5] for p in (folder / "loop").iterdir() if p.name.endswith(".yaml")) == sorted(LOOPS)


@pytest.mark.slow
def test_a_loop_without_a_recursion_gets_no_theory(monkeypatch):
    # A new loop that declares no closed form must not inherit another loop's.
    bare = dataclasses.replace(LOOPS["fresh"], name="bare", moments=None, fixed_point=None, fully_synthetic=False)
    monkeypatch.setitem(LOOPS, "bare", bare)
    config = dataclasses.replace(tiny("gaussian", "fresh"), loop=dataclasses.replace(tiny("gaussian", "fresh").loop, name="bare"))
    from mad import theory

    assert theory.predict(config) == {}
    ds = mad.simulate(dataclasses.replace(config, loops=8))
    assert not [v for v in ds.data_vars if v.endswith("_theory")]
