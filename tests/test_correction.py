"""Self-correction (Gillman et al. 2024): the corrected draws against their mixture law, and every
loop's corrected moment recursion (mad.theory.gaussian) against the simulation within 5 SE."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mad
from mad import theory
from mad.config import Config, CorrectionConfig, DataConfig, LoopConfig, ModelConfig
from mad.families import gaussian
from mad.loops.correction import corrected, share
from mad.theory import gaussian as gaussian_theory
from theory_checks import assert_on_theory


def test_a_share_gamma_over_one_plus_gamma_of_the_draws_is_real():
    # A model far from the data: every draw near 0 is a real one, every draw near 50 the model's.
    fam = gaussian.family(dim=2, scale=1.0, covariance="full", estimator="mle", backend="samples", dtype=jnp.float64)
    far = gaussian.standard(2, dtype=jnp.float64)._replace(mean=jnp.full(2, 50.0))
    n, gamma = 40_000, 1.5
    x = np.asarray(corrected(fam, gamma).draw(jax.random.key(0), far, n, 1.0))
    real = np.linalg.norm(x, axis=1) < 25
    s = share(gamma)
    assert abs(real.mean() - s) <= 5 * np.sqrt(s * (1 - s) / n)
    # each part keeps its own law: the real points N(0, I), the model's N(50, I)
    np.testing.assert_allclose(x[real].mean(0), 0.0, atol=5 / np.sqrt(real.sum()))
    np.testing.assert_allclose(x[~real].mean(0), 50.0, atol=5 / np.sqrt((~real).sum()))
    np.testing.assert_allclose(np.cov(x[real].T), np.eye(2), atol=0.05)
    assert corrected(fam, 0.0) is fam


def run(loop: str, gammas, **loop_keys) -> "mad.results.xr.Dataset":
    config = Config(
        data=DataConfig(dim=2), loop=LoopConfig(name=loop, **loop_keys), generations=8, loops=2048, precision="float64",
        progress=False, grid={"correction.gamma": list(gammas)},
    )  # fmt: skip
    return mad.simulate(config)


@pytest.mark.parametrize(
    "loop,keys",
    [
        ("replace", dict(n_syn=10)),
        pytest.param("augment", dict(n_syn=10, n_real=5), marks=pytest.mark.slow),
        pytest.param("fresh", dict(n_syn=10, n_real=5, real_weight=0.3), marks=pytest.mark.slow),
        ("accumulate", dict(n_syn=25, n_init=50)),  # Gillman et al.'s toy: 50 real points, 25 synthetic per generation
        pytest.param("accumulate_subsample", dict(n_syn=10, n_init=20, n_fit=15), marks=pytest.mark.slow),
    ],
)
@pytest.mark.slow
def test_corrected_loops_follow_their_moment_recursion(loop, keys):
    ds = run(loop, [0.5, 4.0], **keys)
    assert_on_theory(ds)
    # The correction pulls the model towards the data: more of it, less drift of the mean.
    drift = ds.mean_sq_drift.sel(stat="mean").values[:, -1]
    assert drift[1] < drift[0]


@pytest.mark.slow
def test_correction_gives_the_replace_loop_a_stationary_law():
    # Without correction the variance collapses geometrically; with it, it settles at a fixed point
    # of the affine recursion, which the long simulation reaches.
    loop = LoopConfig(n_syn=10)
    a_inf, b_inf = gaussian_theory.mixing_fixed_point(loop, "mle", real="none", share=share(1.0))
    assert 0.5 < a_inf < 1.0 and b_inf > 0
    config = Config(data=DataConfig(dim=2), loop=loop, generations=60, loops=2048, precision="float64", progress=False,
                    correction=CorrectionConfig(gamma=1.0))  # fmt: skip
    ds = mad.simulate(config)
    mean, sem = ds.trace_ratio.sel(stat="mean").values[-1], ds.trace_ratio.sel(stat="sem").values[-1]
    assert abs(mean - a_inf) <= 5 * sem
    assert ds.trace_ratio_theory.values[-1] == pytest.approx(a_inf, rel=1e-9)


def test_families_without_corrected_theory_draw_none():
    config = Config(data=DataConfig(name="gmm_ring"), model=ModelConfig("gmm", components=2), correction=CorrectionConfig(gamma=1.0))
    assert theory.predict(config) == {}
    gaussian_run = dataclasses.replace(config, data=DataConfig(), model=ModelConfig())
    assert set(theory.predict(gaussian_run)) == {"trace_ratio", "mean_sq_drift"}  # the exact laws of replace need uncorrected draws


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(correction=CorrectionConfig(gamma=-1.0)), r"correction\.gamma=-1\.0 must be a finite number >= 0"),
        (dict(correction=CorrectionConfig(gamma=float("inf"))), r"correction\.gamma=inf must be a finite number >= 0"),
        (dict(correction=CorrectionConfig(gamma=1.0), model=ModelConfig(name="poisson"), data=DataConfig(name="poisson")),
         r"correction\.gamma=1\.0 replaces drawn points by real ones: it needs .*got model=poisson"),
        (dict(correction=CorrectionConfig(gamma=1.0), model=ModelConfig(backend="suffstats")), r"use model\.backend=samples"),
    ],
)
def test_bad_correction_is_refused_naming_the_key(change, message, no_compilation):
    with pytest.raises(mad.ConfigError, match=message):
        mad.validate(dataclasses.replace(Config(), **change))


@pytest.mark.slow
@pytest.mark.parametrize("loop", ["replace", *(pytest.param(n, marks=pytest.mark.slow) for n in ("augment", "fresh", "accumulate")), "accumulate_subsample"])
def test_every_loop_of_a_point_family_can_be_corrected(loop):
    # kde fits the points themselves (no exact pooling): the accumulating loops keep a point buffer.
    keys = {"augment": dict(n_real=10), "fresh": dict(n_real=10), "accumulate_subsample": dict(n_fit=20)}.get(loop, {})
    config = Config(data=DataConfig(name="gmm_ring", n_test=64), model=ModelConfig(name="kde"), loop=LoopConfig(name=loop, n_syn=20, **keys),
                    loops=4, generations=3, progress=False, correction=CorrectionConfig(gamma=1.0),
                    metrics=dataclasses.replace(Config().metrics, samples=32))  # fmt: skip
    ds = mad.simulate(config)
    assert np.all(np.isfinite(ds.nll_test.sel(stat="mean").values[1:]))
    assert np.all(ds.corrected_share.sel(stat="mean").values[1:] == 0.5)
