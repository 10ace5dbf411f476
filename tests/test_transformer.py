"""The causal transformer family: its likelihood against a numpy oracle, causality, its loss on a
case whose optimum is known, its sampler against the exact window probabilities (chi-square), and
the three ways a generation starts."""

from __future__ import annotations

import collections
import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mad.config import Config, ModelConfig, replace_path
from mad.data import make_data
from mad.data import text as corpus
from mad.families import make_family, transformer
from mad.families.categorical import sampling_rows
from mad.families.points import points
from mad.grid import load_option

FALSE_FAILURE = 1e-3  # the chi-square test's declared false-failure rate


def lm(vocab=3, length=3, layers=1, width=8, heads=2):
    return transformer.LM(vocab=vocab, length=length, layers=layers, width=width, heads=heads, dtype=jnp.float64)


@pytest.mark.slow
def test_log_likelihood_sums_the_log_softmax_of_each_next_symbol():
    model = lm(vocab=4, length=5)
    net = model.init_net(jax.random.key(0))
    seqs = np.asarray(jax.random.randint(jax.random.key(1), (7, 5), 0, 4))
    inputs = np.concatenate([np.full((7, 1), 4), seqs[:, :-1]], axis=1)  # BOS, then the window shifted
    logits = np.asarray(model.module.apply(net, jnp.asarray(inputs)), np.float64)
    logp = logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))
    want = np.array([sum(logp[i, j, seqs[i, j]] for j in range(5)) for i in range(7)])
    np.testing.assert_allclose(model.log_likelihood(net, jnp.asarray(seqs)), want, rtol=1e-10)


@pytest.mark.slow
def test_the_network_is_causal():
    model = lm(vocab=4, length=6)
    net = model.init_net(jax.random.key(2))
    a = jnp.array([[0, 1, 2, 3, 0, 1]])
    b = a.at[0, 4:].set(jnp.array([3, 3]))  # change the last two symbols only
    la, lb = model.module.apply(net, model.inputs(a)), model.module.apply(net, model.inputs(b))
    np.testing.assert_allclose(la[:, :5], lb[:, :5], rtol=1e-12)  # positions 0..4 see only what precedes them
    assert not np.allclose(la[:, 5], lb[:, 5])


@pytest.mark.slow
def test_training_reaches_the_known_optimum_of_a_periodic_text():
    # Windows of the stream abcabc... at uniform starts: the first symbol is uniform over three, every
    # later one is determined, so the best possible loss per symbol is log(3) / L.
    model = lm(vocab=3, length=6, width=16)
    starts = np.arange(300) % 3
    windows = (starts[:, None] + np.arange(6)[None, :]) % 3
    net = model.init_net(jax.random.key(0))
    opt = transformer.optimizer("adam", 1e-2)
    trained = jax.jit(lambda net: transformer.train(model, jax.random.key(1), net, points(jnp.asarray(windows, jnp.float64)), steps=300, batch_size=32, opt=opt))(net)
    loss = -float(jnp.mean(model.log_likelihood(trained, jnp.asarray(windows)))) / 6
    optimum = np.log(3) / 6
    start = -float(jnp.mean(model.log_likelihood(net, jnp.asarray(windows)))) / 6
    assert start > 0.9 * np.log(3)  # a fresh network knows nothing: about log 3 per symbol
    assert optimum - 1e-9 <= loss < optimum + 0.02, (loss, optimum)


def every_window_probability(model, net, vocab, length, lam, truncation):
    """Exact probability of each window under the sampler: the product of each position's
    truncated, tempered row, read off the causal network's logits of that very window."""
    windows = np.array(list(itertools.product(range(vocab), repeat=length)))
    probs = jax.nn.softmax(model.module.apply(net, model.inputs(jnp.asarray(windows))), axis=-1)
    rows = sampling_rows(probs.reshape(-1, vocab), lam, **truncation).reshape(probs.shape)
    return windows, np.prod(np.take_along_axis(np.asarray(rows), windows[..., None], axis=-1)[..., 0], axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("lam,truncation", [(1.0, {}), (0.6, {"top_k": 2}), (1.0, {"temperature": 1.5, "top_p": 0.8})])
def test_written_windows_follow_the_network(lam, truncation):
    model = lm(vocab=3, length=3)
    net = model.init_net(jax.random.key(3))  # windows of probability 0.004 to 0.3
    windows, exact = every_window_probability(model, net, 3, 3, lam, truncation)
    n = 30_000
    written = np.asarray(model.write(jax.random.key(4), net, n, lam, **truncation))
    observed = collections.Counter(map(tuple, written.tolist()))
    possible = exact > 0
    assert set(observed) <= {tuple(w) for w in windows[possible]}, "a window of probability zero was written"
    counts = [observed[tuple(w)] for w in windows[possible]]
    p_value = stats.chisquare(counts, n * exact[possible] / exact[possible].sum()).pvalue
    assert abs(exact.sum() - 1) < 1e-9 and possible.sum() >= 4, exact  # a test with something to test
    assert p_value > FALSE_FAILURE, p_value


@pytest.mark.slow
def test_a_prefix_is_kept_and_only_the_rest_is_written():
    model = lm(vocab=4, length=6)
    net = model.init_net(jax.random.key(5))
    out = np.asarray(model.write(jax.random.key(6), net, 5, prefix=np.array([3, 2])))
    assert out.shape == (5, 6) and np.all(out[:, :2] == [3, 2])


def config(**keys):
    c = Config(model=ModelConfig("transformer"), loop=dataclasses.replace(load_option("loop", "replace"), n_syn=16), generations=2, loops=4, progress=False)
    base = {"data.name": "text", "data.vocab": 8, "data.context": 6, "data.n_test": 16, "model.layers": 1, "model.width": 8,
            "model.steps": 20, "model.batch_size": 8, "model.pretrain_steps": 200, "metrics.samples": 16}  # fmt: skip
    for path, value in {**base, **keys}.items():
        c = replace_path(c, path, value)
    return c


@pytest.mark.slow
def test_each_start_trains_from_what_it_says():
    text = make_data(config())
    windows = jnp.asarray(corpus.load(8, 6, 16).train[:60].reshape(10, 6), jnp.float32)
    stats = points(windows)
    key = jax.random.key(0)
    fresh, finetune, pretrained = (make_family(config(**{"model.start": s})) for s in ("fresh", "finetune", "pretrained"))
    first = fresh.fit(key, None, stats)
    other = fresh.fit(key, transformer.TransformerParams(jax.tree.map(lambda a: a + 1.0, first.net)), stats)
    jax.tree.map(np.testing.assert_array_equal, first.net, other.net)  # fresh ignores the previous network
    moved = finetune.fit(key, first, stats)  # finetune continues it: the same steps from another start
    assert not np.allclose(jax.tree.leaves(moved.net)[0], jax.tree.leaves(first.net)[0])
    model = transformer.architecture(config())
    loss = lambda net: -float(jnp.mean(model.log_likelihood(net, jnp.asarray(text.test)))) / model.length  # noqa: E731
    initial = model.init_net(jax.random.key(transformer.INIT_KEY))
    # Pre-training (200 steps on real windows) beats the fixed initialisation on held-out text, and
    # the same fine-tuning on ten windows keeps that lead.
    pre = jax.tree.map(jnp.asarray, transformer._pretrained((8, 6, 16, None), (("vocab", 8), ("length", 6), ("layers", 1), ("width", 8), ("heads", 2)), 200, 8, "adam", 3e-3, "float32"))
    assert loss(pre) < loss(initial) - 0.3, (loss(pre), loss(initial))
    assert loss(pretrained.fit(key, None, stats).net) < loss(first.net) - 0.1
