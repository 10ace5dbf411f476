"""Truncated sampling (temperature, top-k, top-p) of the categorical family, against the numpy
reference of its n -> infinity map (mad.theory.truncation)."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.data import discrete as data_discrete
from mad.families import categorical
from mad.theory import truncation


def test_iterated_top_p_on_zipf_keeps_the_published_support_sizes():
    # Zipf(1) over 10^4 symbols, top-p = 0.9: 3758, 1558, 705, 346 symbols in the next four generations.
    probs = data_discrete.zipf(10_000, 1.0).probs
    support = truncation.summary(truncation.iterate(probs, 4, top_p=0.9), probs)["support_size"]
    np.testing.assert_array_equal(support, [10_000, 3758, 1558, 705, 346])


def test_iterated_temperature_is_the_power_law_of_marchi_et_al():
    probs = data_discrete.zipf(200, 1.1).probs
    path = truncation.iterate(probs, 6, temperature=0.7)
    for t in range(7):
        np.testing.assert_allclose(path[t], truncation.tempered_power(probs, 0.7, t), rtol=1e-10, atol=1e-300)
    hot = truncation.iterate(probs, 3, temperature=1.5)  # tau > 1 flattens towards the uniform distribution
    assert np.all(np.diff(truncation.summary(hot, probs)["entropy"]) > 0) and hot[-1].max() < probs.max()


def test_top_k_loses_the_tail_beyond_k_in_one_step():
    # Dohmatob et al.'s floor: the real mass beyond the k most probable symbols, sum_{i>k} p_i.
    probs = data_discrete.zipf(1000, 1.5).probs
    lost = truncation.summary(truncation.iterate(probs, 3, top_k=20), probs)["tail_mass_lost"]
    np.testing.assert_allclose(lost[1:], probs[20:].sum(), rtol=1e-12)


SETTINGS = [
    dict(temperature=0.6), dict(temperature=2.5), dict(top_k=7), dict(top_p=0.8), dict(top_p=0.05),
    dict(temperature=1.3, top_k=12, top_p=0.9), dict(top_k=40, top_p=0.99),
]


@pytest.mark.parametrize("sampling", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_the_jax_sampling_distribution_is_the_numpy_reference(sampling):
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.full(30, 0.5))
    probs[[4, 17]] = 0.0  # lost symbols stay lost
    probs /= probs.sum()
    got = categorical.truncated(jnp.asarray(probs, jnp.float64), **sampling)  # x64 is on in the tests (conftest)
    expected = truncation.truncate(probs, **sampling)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.asarray(got)[[4, 17]] == 0)


@pytest.mark.slow
def test_a_loop_with_many_samples_follows_the_top_p_map_exactly():
    # Zipf(1) over 50 symbols, top-p = 0.7, n = 10^6 points: the mass at every cutoff lies at least
    # 0.0068 from 0.7, over 13 standard deviations of its sampling noise (sqrt(0.21 / n) = 4.6e-4),
    # and the rarest kept symbol expects over 10^4 draws: every loop's support is the map's.
    config = Config(data=DataConfig(name="zipf", vocab=50, exponent=1.0), model=ModelConfig(name="categorical"),
                    loop=LoopConfig(n_syn=10**6, top_p=0.7), loops=8, generations=6, progress=False)  # fmt: skip
    result = mad.run(config, keep_loops=True)
    support = result.loops.support_size.values.reshape(-1, 7)
    limit = truncation.summary(truncation.iterate(data_discrete.zipf(50, 1.0).probs, 5, top_p=0.7), np.ones(50))["support_size"]
    np.testing.assert_array_equal(support[:, 1:], np.broadcast_to(limit, (8, 6)))  # generation t: t - 1 truncations
    assert "support_size_theory" not in result.summary  # the finite-n absorbing chain does not hold


def test_top_k_leaves_exactly_k_symbols():
    config = Config(data=DataConfig(name="zipf", vocab=60, exponent=1.2), model=ModelConfig(name="categorical"),
                    loop=LoopConfig(n_syn=20_000, top_k=6), loops=8, generations=4, progress=False)  # fmt: skip
    loops = mad.run(config, keep_loops=True).loops
    assert np.all(loops.support_size.values[..., 2:] == 6) and np.all(loops.support_size.values[..., 1] == 60)
    lost = data_discrete.zipf(60, 1.2).probs[6:].sum()
    np.testing.assert_allclose(loops.tail_mass_lost.values[..., 2:], lost, rtol=1e-5)


BASE = Config(data=DataConfig(name="zipf", vocab=20), model=ModelConfig(name="categorical"), loop=LoopConfig(n_syn=30), generations=3)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(temperature=0.0), r"loop\.temperature=0\.0 must be a finite number > 0"),
        (dict(temperature=float("inf")), r"loop\.temperature=inf must be a finite number > 0"),
        (dict(top_p=0.0), r"loop\.top_p=0\.0 must lie in \(0, 1\]"),
        (dict(top_p=1.5), r"loop\.top_p=1\.5 must lie in \(0, 1\]"),
        (dict(top_k=0), r"loop\.top_k=0 must be an integer >= 1"),
    ],
)
def test_bad_truncation_is_refused_naming_the_key(change, message, no_compilation):
    with pytest.raises(mad.ConfigError, match=message):
        mad.validate(dataclasses.replace(BASE, loop=dataclasses.replace(BASE.loop, **change)))


def test_top_p_on_a_gaussian_is_refused(no_compilation):
    with pytest.raises(mad.ConfigError, match=r"loop\.top_p=0\.9 \(truncated sampling\) needs a family that samples a vocabulary: model=categorical or model=ngram or model=transformer; model=gaussian has none"):
        mad.validate(Config(loop=LoopConfig(top_p=0.9)))
