"""The character n-gram family against independent oracles: dictionary counting, enumeration of
every window, scipy's chi-square test, and the martingale of the unigram loop."""

from __future__ import annotations

import collections
import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import mad
from mad.config import Config, ConfigError, ModelConfig, replace_path, validate
from mad.data import text as corpus
from mad.families import ngram
from mad.grid import load_option
from mad.metrics import text as text_metrics
from mad.theory.truncation import truncate

FALSE_FAILURE = 1e-3  # the chi-square tests' declared false-failure rate


def small_text(vocab=3, context=4, length=400, seed=0):
    rng = np.random.default_rng(seed)
    train = rng.integers(0, vocab, length).astype(np.int32)
    test = rng.integers(0, vocab, (16, context)).astype(np.int32)
    return corpus.Text("text", "abcdefgh"[:vocab], train, test, np.bincount(train, minlength=vocab) / length, context, "test")


def dict_counts(sequences, order):
    """(context tuple, symbol) -> count, with BOS = None before each sequence."""
    out = collections.Counter()
    for seq in np.asarray(sequences).tolist():
        padded = [None] * (order - 1) + seq
        for j, symbol in enumerate(seq):
            out[(tuple(padded[j : j + order - 1]), symbol)] += 1
    return out


def as_dict(grams, counts):
    """The (C, V) table as the same dictionary: context index digits in base V + 1, oldest first."""
    out = {}
    for c, x in zip(*np.nonzero(np.asarray(counts))):
        digits, rest = [], int(c)
        for _ in range(grams.order - 1):
            digits.append(rest % (grams.vocab + 1))
            rest //= grams.vocab + 1
        ctx = tuple(None if d == grams.vocab else d for d in reversed(digits))
        out[(ctx, int(x))] = float(counts[c, x])
    return out


@pytest.mark.parametrize("order", [1, 2, 3])
def test_counts_match_a_dictionary_counter(order):
    grams = ngram.Grams(vocab=4, order=order, length=7)
    sequences = jax.random.randint(jax.random.key(order), (30, 7), 0, 4)
    counts = ngram.count(grams, sequences, jnp.float64)
    assert as_dict(grams, counts.counts) == dict_counts(sequences, order)
    assert float(counts.total) == 30


@pytest.mark.parametrize("order", [1, 2, 3])
def test_reference_is_the_fit_on_every_window_of_the_stream(order):
    text = small_text()
    windows = np.stack([text.train[s : s + text.context] for s in range(len(text.train) - text.context + 1)])
    grams = ngram.Grams(text.vocab, order, text.context)
    want = ngram.fit(ngram.count(grams, jnp.asarray(windows), jnp.float64), 0.5).probs
    np.testing.assert_allclose(ngram.reference_probs(text, order, 0.5), want, rtol=1e-12)


@pytest.mark.slow
def test_a_pool_of_windows_is_summarised_as_the_counts_of_its_kept_rows():
    # accumulate_subsample keeps windows as float rows and counts those its mask keeps.
    text = small_text(vocab=4, context=5)
    fam = ngram.family(text=text, order=2, alpha=0.0, dtype=jnp.float64)
    rows = fam.draw(jax.random.key(0), None, 12, 1.0)
    mask = jnp.arange(12) % 3 == 0
    kept = fam.summarize(rows, mask)
    want = ngram.count(ngram.Grams(4, 2, 5), jnp.asarray(rows[::3], jnp.int32), jnp.float64)
    np.testing.assert_array_equal(kept.counts, want.counts)
    assert float(kept.total) == 4


def test_fit_smooths_additively_and_gives_unseen_contexts_the_uniform_row():
    counts = ngram.NgramCounts(jnp.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0]]), jnp.asarray(1.0))
    np.testing.assert_allclose(ngram.fit(counts, 0.0).probs, [[0.75, 0.25, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(ngram.fit(counts, 1.0).probs, [[4 / 7, 2 / 7, 1 / 7], [1 / 3, 1 / 3, 1 / 3]])


def random_model(grams, seed, zeros=True):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(grams.vocab), grams.contexts)
    if zeros:
        probs[rng.random(probs.shape) < 0.2] = 0.0
        probs[:, 0] += probs.sum(1) == 0
        probs /= probs.sum(1, keepdims=True)
    return probs


def every_window(grams, probs):
    """Each of the V^L windows with its exact probability, by the chain rule in plain Python."""
    out = {}
    for seq in itertools.product(range(grams.vocab), repeat=grams.length):
        p, ctx = 1.0, grams.start
        for x in seq:
            p *= probs[ctx, x]
            ctx = (ctx * (grams.vocab + 1) + x) % grams.contexts
        out[seq] = p
    return out


@pytest.mark.parametrize("lam,truncation", [(1.0, {}), (0.5, {"top_p": 0.8}), (1.0, {"temperature": 2.0, "top_k": 2})])
def test_written_text_follows_the_sampling_table(lam, truncation):
    # Whole windows of 3 symbols over 3 letters: 27 outcomes, compared with their exact
    # probabilities under the truncated and tempered rows (numpy reference: truncate, p^(1/lam)).
    grams = ngram.Grams(vocab=3, order=2, length=3)
    probs = random_model(grams, 1)
    rows = np.stack([truncate(row, **truncation) for row in probs])
    rows = rows ** (1 / lam) / np.sum(rows ** (1 / lam), axis=1, keepdims=True)
    table = ngram.sampling_table(jnp.asarray(probs), lam, **truncation)
    np.testing.assert_allclose(table, rows, atol=1e-12)
    n = 40_000
    seqs = np.asarray(ngram.write(jax.random.key(7), grams, table, n))
    exact = every_window(grams, rows)
    outcomes = [s for s, p in exact.items() if p > 0]
    observed = collections.Counter(map(tuple, seqs.tolist()))
    assert set(observed) <= set(outcomes), "a window of probability zero was written"
    expected = n * np.array([exact[s] for s in outcomes])
    p_value = stats.chisquare([observed[s] for s in outcomes], expected).pvalue
    assert p_value > FALSE_FAILURE, p_value


@pytest.mark.parametrize("order", [1, 2, 3])
def test_log_likelihood_and_exact_window_metrics_match_enumeration(order):
    grams = ngram.Grams(vocab=3, order=order, length=4)
    probs = random_model(grams, 2)
    exact = every_window(grams, probs)
    seqs = np.array(list(exact))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(ngram.log_likelihood(grams, jnp.asarray(probs), jnp.asarray(seqs)), np.log([exact[tuple(s)] for s in seqs]))
    p = np.array(list(exact.values()))
    entropy, marginal = ngram.position_marginals(grams, jnp.asarray(probs))
    want_entropy = -np.sum(p[p > 0] * np.log(p[p > 0])) / grams.length
    want_marginal = np.array([np.sum(p[:, None] * (seqs == x)) for x in range(3)]) / grams.length
    np.testing.assert_allclose(entropy, want_entropy, rtol=1e-10)
    np.testing.assert_allclose(marginal, want_marginal, rtol=1e-10)


def test_text_statistics_match_plain_python():
    seqs = np.array([[0, 1, 0, 1, 0, 1], [2, 2, 2, 2, 2, 2], [0, 1, 2, 0, 1, 2]])
    codes = text_metrics.grams_of(jnp.asarray(seqs), 3)
    triples = [[tuple(s[i : i + 3]) for i in range(4)] for s in seqs.tolist()]
    assert float(text_metrics.distinct_share(codes)) == len(set(sum(triples, []))) / 12  # by sorting
    assert float(text_metrics.distinct_share(codes, vocab=3)) == len(set(sum(triples, []))) / 12  # by a presence table
    want = np.mean([1 - len(set(t)) / len(t) for t in triples])
    assert float(text_metrics.repetition(codes)) == pytest.approx(want)


@pytest.mark.slow
def test_the_unigram_loop_is_a_martingale_around_the_real_frequencies():
    # Order 1 is the categorical chain: with alpha = 0 and lam = 1, E p_t = E p_1 for every t, and
    # E p_1 is the reference exactly (random windows are uniform over the stream's windows).
    text = small_text(vocab=4, context=5, length=300, seed=3)
    fam = ngram.family(text=text, order=1, alpha=0.0, dtype=jnp.float64)

    def loop(key):
        keys = jax.random.split(key, 6)
        params = fam.fit(None, None, fam.real(keys[0], 3))
        for k in keys[1:]:
            params = fam.fit(None, None, fam.synthetic(k, params, 3, 1.0))
        return params.probs[0]

    lanes = 20_000
    final = np.asarray(jax.jit(jax.vmap(loop))(jax.random.split(jax.random.key(0), lanes)))
    se = final.std(0) / np.sqrt(lanes)
    z = (final.mean(0) - np.asarray(fam.reference.probs[0])) / se
    assert np.all(np.abs(z) < 5), z


def tiny_text_config(**keys):
    config = Config(model=ModelConfig("ngram"), loop=dataclasses.replace(load_option("loop", "replace"), n_syn=32), generations=4, loops=32, progress=False)
    for path, value in {"data.name": "text", "data.vocab": 12, "data.context": 12, "data.n_test": 64, "metrics.samples": 64, **keys}.items():
        config = replace_path(config, path, value)
    return config


@pytest.mark.slow
def test_held_out_perplexity_rises_under_replace_and_levels_off_under_accumulate():
    # Shumailov et al. (2024), Fig. 1b and 1c, and Gerstgrasser et al. (2024), in miniature. With
    # smoothing each generation writes some noise, which accumulation dilutes by 1 / t: its
    # perplexity still creeps up, by ever smaller steps, while replacing compounds it.
    keys = {"generations": 8, "loop.n_syn": 256}
    replace = mad.simulate(tiny_text_config(**keys)).sel(stat="mean")
    accumulate = mad.simulate(tiny_text_config(**keys, **{"loop.name": "accumulate"})).sel(stat="mean")
    ppl_r, ppl_a = replace.perplexity.values, accumulate.perplexity.values
    assert np.all(np.diff(ppl_r[1:]) > 0), ppl_r
    assert ppl_a[-1] - ppl_a[1] < (ppl_r[-1] - ppl_r[1]) / 5, (ppl_a, ppl_r)
    assert np.all(np.diff(ppl_a[2:], 2) < 0), ppl_a  # shrinking steps
    assert replace.gen0_ppl_q95.values[-1] > 1.5 * replace.gen0_ppl_q95.values[0]  # the tail grows
    assert accumulate.gen0_ppl_q95.values[-1] < 1.2 * accumulate.gen0_ppl_q95.values[0]


def test_the_default_corpus_is_english_prose():
    text = corpus.load(32, 32, 8)
    assert text.alphabet[0] == " " and set("etaoinsrh") <= set(text.alphabet)
    assert len(text.train) > 100_000 and text.test.shape == (8, 32)
    assert " the " in text.decode(text.train[:2000])


def test_a_user_corpus_is_read_from_data_path(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("Abba  baba\nABBA. " * 50, encoding="utf-8")
    config = tiny_text_config(**{"data.path": str(path), "data.vocab": 4, "data.context": 6, "data.n_test": 4})
    validate(config)
    text = mad.data.make_data(config)
    assert sorted(text.alphabet) == sorted(" ab.") and text.decode(text.train[:10]) == "abba baba "


@pytest.mark.parametrize(
    "keys,message",
    [
        ({"model.order": 0}, "model.order=0 must be an integer >= 1"),
        ({"data.vocab": 10_000}, "data.vocab=10000 must be <= "),
        ({"data.path": "/no/such/file.txt"}, "data.path='/no/such/file.txt' is not a readable file"),
        ({"model.alpha": -1.0}, "model.alpha=-1.0 must be >= 0"),
        ({"model.order": 8}, "model.order=8 with data.vocab=12 needs a table of"),
        ({"data.name": "zipf"}, "data=zipf cannot be fitted by model=ngram"),
        ({"loop.top_p": 0.0}, "loop.top_p=0.0 must lie in (0, 1]"),
        ({"loop.name": "accumulate_subsample", "loop.n_fit": 64}, "loop.n_fit=64 must be <= loop.n_init=32"),
    ],
)
def test_bad_text_configs_are_refused_by_name(keys, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace(".", r"\.")):
        validate(tiny_text_config(**keys))


@pytest.mark.slow
def test_the_report_shows_the_perplexity_histogram_and_continuations_of_one_loop(tmp_path):
    from mad.report import text as text_report

    config = tiny_text_config(generations=4)
    perplexities, continuations, prompt = text_report.written_text(config, ngram.writer, n=50)
    assert sorted(perplexities) == sorted(continuations) == [0, 1, 2, 4]
    assert all(p.shape == (50,) and np.all(p >= 1) for p in perplexities.values())
    assert len(continuations[0]) == 1 and all(len(texts) == 3 for t, texts in continuations.items() if t)
    assert len(prompt) == 6 and all(len(c) == 6 for texts in continuations.values() for c in texts)
    assert prompt + continuations[0][0] == mad.data.make_data(config).decode(mad.data.make_data(config).test[0])
    figures, section = text_report.showcase(config, tmp_path, ngram.writer)
    assert figures == [tmp_path / "figures" / "written_perplexity.png"] and figures[0].stat().st_size > 0
    assert section.count("<tr>") == 1 + len(continuations)


@pytest.mark.slow
@pytest.mark.parametrize(
    "loop,keys", [("replace", {}), ("accumulate", {}), ("fresh", {"loop.n_real": 4})]
)
def test_the_unigram_loops_squared_error_follows_the_refit_law(loop, keys):
    # Order 1: the categorical chain on the written symbols (n_syn L of them per generation), started
    # from windows of real text, whose correlated symbols set the first fit's error (docs/theory.md).
    from theory_checks import assert_on_theory

    config = tiny_text_config(**{"loop.name": loop, "model.order": 1, "model.alpha": 0.0, "data.vocab": 8, "data.context": 8,
                                 "loop.n_syn": 6, "loops": 4000, "generations": 5, "precision": "float64", **keys})  # fmt: skip
    ds = mad.simulate(config)
    assert "sq_error_theory" in ds
    assert_on_theory(ds, ["sq_error"])
    # ...and it must: the symbols of a window are not independent (text is more regular than that),
    # so the independent-symbols value of the first fit is many standard errors off.
    p = np.asarray(ngram.reference_probs(mad.data.make_data(config), 1, 0.0)[0])
    independent = (1 - np.sum(p**2)) / (6 * 8)
    first = ds.sq_error.isel(generation=1)
    assert abs(float(first.sel(stat="mean")) - independent) > 10 * float(first.sel(stat="sem"))


def test_no_closed_form_is_drawn_where_none_holds():
    for keys in ({"model.order": 2, "model.alpha": 0.0}, {"model.order": 1, "model.alpha": 0.1}, {"model.order": 1, "model.alpha": 0.0, "loop.lam": 0.8}):
        assert ngram.SPEC.theory(tiny_text_config(**keys), mad.loops.loop_spec("replace")) == {}


@pytest.mark.slow
def test_the_report_of_a_saved_run_shows_its_first_points_text(tmp_path):
    # mad.report.build and mad.merge read the grid point's config back from the results.
    from mad.report import showcase

    ds = mad.simulate(dataclasses.replace(tiny_text_config(generations=2), grid={"model.order": [1, 2]}))
    figures, section = showcase(ds, tmp_path)
    assert figures == [tmp_path / "figures" / "written_perplexity.png"] and "Loop 0 of grid point 0" in section
    assert showcase(mad.simulate(Config(loops=4, generations=1, progress=False)), tmp_path) == ([], "")
