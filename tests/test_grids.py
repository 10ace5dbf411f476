"""Every shipped grid composes with Hydra and expands into valid grid points; linked axes."""

import hydra
import pytest

from mad.config import Config, ConfigError, LoopConfig, register_configs
from mad.grid import expand, options
from mad.config import from_hydra

register_configs()
EXPECTED = {
    "lambda": ({"lam": 7}, "replace"),
    "n": ({"n_syn": 5}, "replace"),
    "loop": ({"loop": 5}, "replace"),
    "real_fraction": ({"real_fraction": 5}, "fresh"),
    "real_weight": ({"real_weight": 8}, "fresh"),
    "dim": ({"dim": 5}, "replace"),
    "estimator": ({"estimator": 2}, "replace"),
    "backend": ({"backend": 2}, "replace"),
    "components": ({"components": 5}, "replace"),
    "em_iters": ({"em_iters": 4}, "replace"),
    "keep": ({"keep": 5}, "replace"),
    "steps": ({"steps": 4}, "replace"),
    "lr": ({"lr": 4}, "replace"),
    "schedule": ({"n_syn": 3}, "replace"),
    "lam_schedule": ({"lam_end": 5}, "replace"),
    "top_p": ({"top_p": 5}, "replace"),
    "temperature": ({"temperature": 5}, "replace"),
    "curation": ({"candidates": 5}, "replace"),
    "correction": ({"gamma": 5}, "replace"),
    "verifier": ({"fpr": 5}, "replace"),
    "order": ({"order": 4}, "replace"),
    "start": ({"start": 3}, "replace"),
}


def compose(*overrides):
    with hydra.initialize_config_module("mad.conf", version_base="1.3"):
        return from_hydra(hydra.compose("config", overrides=list(overrides)))


def test_every_shipped_grid_is_tested():
    assert sorted(options("grid")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_grid_expands(name):
    sizes, loop = EXPECTED[name]
    config = compose(f"+grid={name}")
    axes, points = expand(config)
    assert {a.name: len(a.values) for a in axes} == sizes
    assert config.loop.name == loop
    if name in ("components", "em_iters", "keep"):
        assert config.model.name == "gmm" and config.data.name == "gmm_ring"
    if name in ("top_p", "temperature"):
        assert config.model.name == "categorical" and config.data.name == "zipf"
    if name == "verifier":
        assert config.model.name == "classifier" and config.data.name == "two_classes"
    if name in ("order", "start"):
        assert config.data.name == "text" and config.model.name == {"order": "ngram", "start": "transformer"}[name]
    if name == "em_iters":
        assert config.model.tol == 0.0


def test_real_fraction_keeps_the_total_fixed():
    axes, points = expand(compose("+grid=real_fraction"))
    for point in points:
        loop = point.config.loop
        assert loop.n_real + loop.n_syn == 100
        assert loop.n_real / 100 == pytest.approx(point.coords["real_fraction"])


def test_two_axis_grid_from_the_command_line():
    axes, points = expand(compose("+grid=lambda", "+grid.loop.n_syn=[10,100]"))
    assert [a.name for a in axes] == ["lam", "n_syn"] and len(points) == 14


@pytest.mark.parametrize(
    "grid,match",
    [
        ({"f": {"loop.n_real": [1, 2]}}, "needs 'values'"),
        ({"f": {"values": [0.1, 0.2], "loop.n_real": [1]}}, "loop.n_real has 1 values, 'values' has 2"),
        ({"f": {"values": [1], "loops": [5]}}, "may not set 'loops'"),
    ],
)
def test_linked_axis_errors(grid, match):
    with pytest.raises(ConfigError, match=match):
        expand(Config(loop=LoopConfig(name="fresh"), grid=grid))


@pytest.mark.parametrize(
    "grid,match",
    [
        # the plain axis used to override the linked one silently (labelled n_syn=10, ran n_real=50)
        (
            {"real_fraction": {"values": [0.0, 0.5], "loop.n_real": [0, 50], "loop.n_syn": [100, 50]}, "loop.n_syn": [10, 100]},
            r"grid axes 'real_fraction' and 'loop\.n_syn' both set 'loop\.n_syn'",
        ),
        ({"loop.lam": [0.5, 0.5]}, r"grid axis 'loop\.lam' lists 0\.5 more than once"),
        ({"stat": {"values": [1, 2], "loop.n_syn": [10, 20]}}, r"cannot be stored under the name 'stat'"),
        ({"a/b": {"values": [1, 2], "loop.n_syn": [10, 20]}}, r"cannot be stored under the name 'a/b'"),
    ],
)
def test_grids_that_would_lie_or_crash_late_are_rejected_first(grid, match):
    from mad.config import Config, ConfigError
    from mad.grid import expand

    with pytest.raises(ConfigError, match=match):
        expand(Config(grid=grid))


@pytest.mark.slow
def test_a_grid_over_loops_keeps_per_loop_trajectories():
    # The loop-option axis is named `loop`, so the loop index of loops.nc is `loop_index`.
    import mad
    from mad.config import Config

    result = mad.run(Config(grid={"loop": ["replace", "accumulate"]}, loops=3, generations=2, progress=False), keep_loops=True)
    assert result.loops.logdet_ratio.dims == ("loop", "loop_index", "generation")
    assert result.loops.sizes["loop_index"] == 3


def test_compose_gives_the_python_api_what_the_command_line_runs():
    import mad

    config, resolve = mad.compose("model=gmm", "loop.lam=0.8", "+grid=loop")
    assert config.model.name == "gmm"
    assert config.loop.n_syn == 1000 and config.loops == 50 and config.loop.lam == 0.8  # the family's own run sizes
    assert resolve("loop", "fresh").lam == 0.8  # grid options see the other overrides, as on the command line
    axes, points = expand(config, resolve)
    assert {p.config.loop.name for p in points} == set(options("loop")) and all(p.config.loop.lam == 0.8 for p in points)
    with pytest.raises(ConfigError, match="model=nope"):
        mad.compose("model=nope")


@pytest.mark.parametrize("model", ["gaussian", "gmm", "flow"])
def test_size_presets_override_a_familys_run_size_and_yield_to_the_command_line(model):
    full = compose(f"model={model}")
    tiny = compose(f"model={model}", "size=tiny")
    assert (tiny.loops, tiny.generations, tiny.metrics.samples) == (16, 5, 128)
    assert tiny.loop.n_syn == full.loop.n_syn and tiny.model == full.model  # only the run size changes
    assert (compose(f"model={model}", "size=full").loops, compose(f"model={model}", "size=full").generations) == (full.loops, full.generations)
    small = compose(f"model={model}", "size=small", "loops=7")
    assert (small.loops, small.generations) == (7, 20)
