"""metrics.test_set: one held-out set for every loop (fixed) or a set of each loop's own (per_loop)."""

import dataclasses

import jax
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import mad
from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig
from mad.data import make_data
from mad.families import make_family
from mad.metrics import make_metrics

RING = Config(data=DataConfig(name="gmm_ring", n_test=200), model=ModelConfig(name="gmm", components=8), loop=LoopConfig(n_syn=400),
              metrics=MetricsConfig(samples=64, test_set="per_loop"), precision="float64", loops=8, generations=2, progress=False)  # fmt: skip


def _ring_log_pdf(x, config):
    # numpy / scipy reference of the 8-mode ring: equal weights, isotropic components of std scale.
    angle = 2 * np.pi * np.arange(8) / 8
    centres = config.data.spread * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    parts = [stats.multivariate_normal(c, config.data.scale**2 * np.eye(2)).logpdf(x) for c in centres]
    return logsumexp(np.stack(parts), axis=0) - np.log(8)


@pytest.mark.slow
def test_a_loops_own_test_set_is_scored_against_the_reference_density():
    data = make_data(RING)
    family = make_family(RING, data)
    metrics = make_metrics(RING, family, data)
    assert metrics.per_loop_test
    key, test_key = jax.random.key(0), jax.random.key(7)
    own = metrics.model(key, data.mixture, test_key)["nll_test"]
    x = np.asarray(data.sample(test_key, 200))
    assert float(own) == pytest.approx(-np.mean(_ring_log_pdf(x, RING)), rel=1e-10)
    other = metrics.model(key, data.mixture, jax.random.key(8))["nll_test"]
    assert float(other) != float(own)  # another loop, another test set
    fixed = make_metrics(dataclasses.replace(RING, metrics=dataclasses.replace(RING.metrics, test_set="fixed")), family, data)
    assert not fixed.per_loop_test
    shared = fixed.model(key, data.mixture)["nll_test"]
    assert float(shared) == pytest.approx(-np.mean(_ring_log_pdf(np.asarray(data.test), RING)), rel=1e-10)


@pytest.mark.slow
def test_per_loop_test_sets_run_and_keep_each_loop_on_one_set():
    result = mad.run(RING, keep_loops=True)
    nll = result.loops.nll_test.values.reshape(8, -1)
    assert np.all(np.isfinite(nll[:, 1:])) and len(np.unique(np.round(nll[:, 1], 12))) == 8


@pytest.mark.slow
def test_data_without_a_law_bootstrap_their_held_out_split():
    config = dataclasses.replace(RING, data=DataConfig(name="digits", dim=3), model=ModelConfig(name="kde"), loop=LoopConfig(n_syn=50))
    data = make_data(config)
    family = make_family(config, data)
    metrics = make_metrics(config, family, data)
    params = family.fit(jax.random.key(1), family.reference, family.real(jax.random.key(2), 50))
    values = [float(metrics.model(jax.random.key(0), params, jax.random.key(k))["nll_test"]) for k in range(3)]
    assert len(set(values)) == 3 and np.all(np.isfinite(values))


def test_an_unknown_test_set_is_refused(no_compilation):
    with pytest.raises(mad.ConfigError, match=r"metrics\.test_set='mine' is not allowed; choose one of fixed, per_loop"):
        mad.validate(dataclasses.replace(RING, metrics=MetricsConfig(test_set="mine")))
