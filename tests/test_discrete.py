"""Categorical and Poisson refits against their exact survival laws (docs/theory.md section 5)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.data import discrete as data_discrete
from mad.families import categorical
from mad.theory import discrete
from theory_checks import K, assert_on_theory


def test_poisson_survival_is_suresh_closed_form():
    # With n_init = n: Pr(Lambda_k != 0) = 1 - exp(-n lambda_0 g_k), g_1 = 1, g_{k+1} = 1 - exp(-g_k).
    n, rate, g = 10, 0.2, 1.0
    survival = discrete.poisson_survival(6, rate=rate, n=n, n_init=n)
    for k in range(1, 7):
        assert survival[k] == pytest.approx(1 - np.exp(-n * rate * g), rel=1e-12)
        g = 1 - np.exp(-g)


@pytest.mark.slow
def test_poisson_loop_follows_the_survival_law():
    config = Config(
        data=DataConfig(name="poisson", rate=0.05),
        model=ModelConfig(name="poisson"),
        loop=LoopConfig(n_syn=10, n_init=30),  # a first fit on more points: the general formula
        loops=8192, generations=15, progress=False,
    )  # fmt: skip
    ds = mad.simulate(config)
    alive, theory = ds.alive.sel(stat="mean").values, ds.alive_theory.values
    se = np.sqrt(theory * (1 - theory) / config.loops)  # binomial standard error, from the theory
    assert np.all(np.abs(alive[1:] - theory[1:]) <= K * se[1:]), (alive, theory)
    assert theory[-1] < 0.2 * theory[1]  # the rate really is absorbed
    assert_on_theory(ds, ("rate_ratio",))  # a martingale: E rate_t = rate_0


def test_sampled_counts_are_multinomial():
    probs = jnp.asarray([0.5, 0.25, 0.0, 0.15, 0.1])
    counts = jax.vmap(lambda k: categorical.sample_counts(k, probs, 40).counts)(jax.random.split(jax.random.key(0), 4000))
    assert np.all(np.asarray(counts[:, 2]) == 0)  # a lost symbol is never drawn
    # symbol 0's count is Binomial(40, 0.5): chi-square goodness of fit on its histogram
    observed = np.bincount(np.asarray(counts[:, 0], int), minlength=41)
    expected = 4000 * stats.binom.pmf(np.arange(41), 40, 0.5)
    keep = expected > 5
    rest = observed[~keep].sum(), expected[~keep].sum()
    chi2 = np.sum((observed[keep] - expected[keep]) ** 2 / expected[keep]) + (rest[0] - rest[1]) ** 2 / rest[1]
    assert stats.chi2.sf(chi2, keep.sum()) > 1e-4


def test_temperature_sharpens_and_keeps_zeros():
    p = jnp.asarray([0.6, 0.3, 0.1, 0.0])
    cold = categorical.tempered(p, 0.5)
    np.testing.assert_allclose(cold, np.array([0.36, 0.09, 0.01, 0.0]) / 0.46, rtol=1e-12)
    np.testing.assert_allclose(categorical.tempered(p, 1.0), p, rtol=1e-12)


SMALL = Config(
    data=DataConfig(name="zipf", vocab=200, exponent=1.1),
    model=ModelConfig(name="categorical"),
    loop=LoopConfig(n_syn=100),
    loops=2048, generations=10, progress=False,
)  # fmt: skip


@pytest.mark.slow
def test_categorical_loses_its_tail_as_the_absorbing_chain_predicts():
    ds = mad.simulate(SMALL)
    assert_on_theory(ds, ("support_size", "tail_mass_lost"))
    support = ds.support_size.sel(stat="mean").values
    assert support[0] == 200 and support[-1] < 0.5 * support[1]  # the tail goes
    # generation 1 in closed form: a symbol survives the first fit unless none of n draws hit it
    p = data_discrete.zipf(200, 1.1).probs
    assert ds.support_size_theory.values[1] == pytest.approx(np.sum(1 - (1 - p) ** 100), rel=1e-10)


def test_a_uniform_vocabulary_is_zipf_with_exponent_zero():
    # Peers start from the uniform distribution (exponent 0): every symbol is equally likely and
    # the loop still loses symbols at the rate of the absorbing chain.
    np.testing.assert_allclose(data_discrete.zipf(20, 0.0).probs, np.full(20, 0.05))
    config = dataclasses.replace(SMALL, data=dataclasses.replace(SMALL.data, vocab=20, exponent=0.0), loop=dataclasses.replace(SMALL.loop, n_syn=20, n_init=20))
    ds = mad.simulate(config)
    assert_on_theory(ds, ("support_size", "tail_mass_lost"))
    with pytest.raises(mad.ConfigError, match=r"data\.exponent=-1\.0 must be a finite number >= 0"):
        mad.validate(dataclasses.replace(config, data=dataclasses.replace(config.data, exponent=-1.0)))


def test_smoothing_prevents_absorption_and_metrics_stay_finite():
    result = mad.run(dataclasses.replace(SMALL, model=ModelConfig(name="categorical", alpha=0.5), loops=64), keep_loops=True)
    loops = result.loops
    assert np.all(loops.support_size.values == 200) and np.all(loops.tail_mass_lost.values == 0)
    assert np.all(loops.kl_fwd.values < 10) and "support_size_theory" not in result.summary


@pytest.mark.slow
def test_real_word_frequencies_run_in_the_loop():
    tokens = data_discrete.words(300)
    assert len(tokens.probs) == 300 and tokens.symbols[0] == "the"
    assert np.all(np.diff(tokens.probs) <= 0) and tokens.probs.sum() == pytest.approx(1.0)
    ds = mad.simulate(dataclasses.replace(SMALL, data=DataConfig(name="words", vocab=300), loops=512))
    assert_on_theory(ds, ("support_size", "tail_mass_lost"))


def test_weighted_pooling_gives_the_weighted_mean():
    from mad.families.base import pool

    total, count = pool(jnp.asarray(30.0), jnp.asarray(10.0), jnp.asarray(200.0), jnp.asarray(40.0), 0.25)
    assert float(count) == 50.0 and float(total / count) == pytest.approx(0.25 * 3.0 + 0.75 * 5.0)
    total, count = pool(jnp.asarray(30.0), jnp.asarray(10.0), jnp.asarray(200.0), jnp.asarray(40.0))
    assert (float(total), float(count)) == (230.0, 50.0)


def test_accumulated_poisson_error_is_the_sum_of_inverse_squares():
    # Gerstgrasser et al.'s law for a counting family: E (lambda_t - lambda*)^2 = (lambda*/n) sum_{i<=t} 1/i^2.
    rate, n = 3.0, 50
    error = discrete.refit_sq_error(200, point_var=rate, shrink=0.0, mode="accumulate", n=n, n_init=n)
    np.testing.assert_allclose(error[1:], rate / n * np.cumsum(1.0 / np.arange(1, 201) ** 2), rtol=1e-12)
    assert error[-1] < rate / n * np.pi**2 / 6
    replaced = discrete.refit_sq_error(200, point_var=rate, shrink=0.0, mode="replace", n=n, n_init=n)
    np.testing.assert_allclose(replaced[1:], rate / n * np.arange(1, 201), rtol=1e-12)  # linear growth


REFIT_LOOPS = {
    "replace": LoopConfig(n_syn=20, n_init=30),
    "accumulate": LoopConfig(name="accumulate", n_syn=20, n_init=30),
    "fresh": LoopConfig(name="fresh", n_syn=20, n_real=10),
    "fresh_weighted": LoopConfig(name="fresh", n_syn=20, n_real=10, real_weight=0.6),
}


@pytest.mark.slow
@pytest.mark.parametrize("loop", list(REFIT_LOOPS))
def test_refit_squared_error_follows_its_recursion(loop):
    # Both counting families in every loop with fresh or pooled counts, against the exact recursion.
    base = dict(loop=REFIT_LOOPS[loop], loops=4096, generations=12, progress=False)
    poisson = mad.simulate(Config(data=DataConfig(name="poisson", rate=2.0), model=ModelConfig(name="poisson"), **base))
    assert_on_theory(poisson, ("rate_sq_error",))
    counts = mad.simulate(Config(data=DataConfig(name="zipf", vocab=30, exponent=1.0), model=ModelConfig(name="categorical"), **base))
    assert_on_theory(counts, ("sq_error",))
    growth = counts.sq_error_theory.values[-1] / counts.sq_error_theory.values[1]
    assert growth > 2 if loop == "replace" else growth < 2  # only the fully synthetic loop drifts away


def test_a_fixed_real_set_has_no_squared_error_law():
    config = Config(data=DataConfig(name="poisson", rate=2.0), model=ModelConfig(name="poisson"),
                    loop=LoopConfig(name="augment", n_syn=20, n_real=10), loops=16, generations=3, progress=False)  # fmt: skip
    assert "rate_sq_error_theory" not in mad.simulate(config)
