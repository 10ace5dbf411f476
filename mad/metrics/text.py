"""Metrics of language models against real text (Shumailov et al. 2024, Fig. 1; distinct-n of Li et
al. 2016; seq-rep-n of Welleck et al. 2020).

Exact, from the parameters: `perplexity` on the held-out windows (the axis of Shumailov's
Fig. 1b; it saturates at the largest finite number once a held-out symbol has probability zero,
which only model.alpha = 0 allows), the model's per-token `entropy`, and from the mean probability of each symbol over a
window's positions the `support_size` (symbols it can still write) and `tail_mass_lost` (real
frequency of those it cannot). From `metrics.samples` sequences the model writes (truncated as
the loop truncates, lam = 1): the perplexity that the generation-0 model (fitted on all real
text) assigns to each, summarised by its mean and quantiles (Fig. 1c: "the tail grows"), the share
of distinct 3-grams and the repetition within sequences. Generation 0 scores real windows.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from mad.families.ngram import log_likelihood
from mad.metrics import Metrics

QUANTILES = {"gen0_ppl_q05": 0.05, "gen0_ppl_q50": 0.5, "gen0_ppl_q95": 0.95}
GRAM = 3  # the n of distinct-n and seq-rep-n

DOCS = {
    "perplexity": "perplexity per symbol of the held-out real text",
    "entropy": "entropy per symbol of the model's windows (nats)",
    "support_size": "symbols the model can still write",
    "sq_error": "||m_t - m||^2: squared distance of the model's symbol frequencies (mean over a window's positions) to the real ones",
    "tail_mass_lost": "real frequency of the symbols the model can no longer write",
    "gen0_ppl_mean": "mean perplexity the generation-0 model assigns to a generated sequence",
    **{name: f"{q:.0%} quantile of the perplexity the generation-0 model assigns to a generated sequence" for name, q in QUANTILES.items()},
    "distinct_3": "share of distinct 3-grams among all 3-grams of the generated text (diversity)",
    "repetition": "share of a sequence's 3-grams that repeat an earlier one in it (seq-rep-3), mean over sequences",
    "collapsed": "entropy per symbol below collapse_threshold times the real text's: the model writes one text",
}


def grams_of(sequences, n: int):
    """Each sequence's n-grams as integers (symbols < 2^10, so n <= 3 fits in int32)."""
    out = sequences[:, : sequences.shape[1] - n + 1]
    for k in range(1, n):
        out = out * 1024 + sequences[:, k : sequences.shape[1] - n + 1 + k]
    return out


def distinct_share(codes, vocab: int | None = None) -> jax.Array:
    """Share of distinct codes: by a presence table where the code space is small (3-grams of
    up to 40 symbols), else by sorting."""
    flat = codes.ravel()
    if vocab is not None and vocab**GRAM <= 1 << 16:
        dense = (flat // (1024 * 1024)) * vocab * vocab + (flat // 1024 % 1024) * vocab + flat % 1024
        return jnp.sum(jnp.zeros(vocab**GRAM, bool).at[dense].set(True)) / flat.shape[0]
    flat = jnp.sort(flat)
    return (1 + jnp.sum(flat[1:] != flat[:-1])) / flat.shape[0]


def repetition(codes) -> jax.Array:
    rows = jnp.sort(codes, axis=1)
    repeats = jnp.sum(rows[:, 1:] == rows[:, :-1], axis=1)
    return jnp.mean(repeats / codes.shape[1])


def statistics(grams, scorer, sequences) -> dict:
    """What the written sequences look like: their perplexities under the scorer (the
    generation-0 model, an n-gram table of `grams`), distinct 3-grams and repetition."""
    ppl = jnp.exp(-log_likelihood(grams, scorer, sequences) / grams.length)
    codes = grams_of(sequences, min(GRAM, sequences.shape[1]))
    quantiles = jnp.quantile(ppl, jnp.asarray(list(QUANTILES.values()), ppl.dtype))  # one sort
    return {
        "gen0_ppl_mean": jnp.mean(ppl),
        **{name: quantiles[i] for i, name in enumerate(QUANTILES)},
        "distinct_3": distinct_share(codes, grams.vocab if sequences.shape[1] >= GRAM else None),
        "repetition": repetition(codes),
    }


def support(sequences, unigram, vocab: int) -> dict:
    """Symbols present in the sequences and the real frequency of those absent."""
    present = jnp.zeros(vocab, bool).at[sequences.ravel()].set(True)
    return {"support_size": jnp.sum(present).astype(unigram.dtype), "tail_mass_lost": jnp.sum(jnp.where(present, 0.0, unigram))}


def ngram_metrics(config, family, data) -> Metrics:
    from mad.families.ngram import Grams, position_marginals, real_windows, sampling_table, write

    grams = Grams(data.vocab, config.model.order, data.context)
    dtype = jnp.dtype(config.precision)
    test = jnp.asarray(data.test)
    unigram = jnp.asarray(data.unigram, dtype)
    reference = family.reference.probs
    m, loop = config.metrics.samples, config.loop
    real_entropy, real_marginal = position_marginals(grams, reference)
    real_entropy = float(real_entropy)
    threshold = config.collapse_threshold
    windows = real_windows(data)
    biggest = jnp.finfo(dtype).max

    def exact(probs):
        nll = -jnp.mean(log_likelihood(grams, probs, test)) / grams.length
        entropy, marginal = position_marginals(grams, probs)
        alive = marginal > 0
        return {
            "perplexity": jnp.minimum(jnp.exp(nll), biggest),
            "entropy": entropy,
            "support_size": jnp.sum(alive).astype(dtype),
            "tail_mass_lost": jnp.sum(jnp.where(alive, 0.0, unigram)),
            "sq_error": jnp.sum((marginal - real_marginal) ** 2),
            "collapsed": entropy <= threshold * real_entropy,
        }

    def model(key, params):
        table = sampling_table(params.probs, temperature=loop.temperature, top_k=loop.top_k, top_p=loop.top_p)
        return {**exact(params.probs), **statistics(grams, reference, write(key, grams, table, m))}

    def real(key):
        return {**exact(reference), **statistics(grams, reference, windows(key, m))}

    return Metrics(model, real)


SCORER_ORDER, SCORER_ALPHA = 3, 0.01  # the generation-0 model that scores neural models' text

LM_DOCS = {
    **{k: v for k, v in DOCS.items() if k != "sq_error"},
    "entropy": "entropy per symbol of the model's windows (nats), estimated as -log p / L over the windows it writes",
    "support_size": "symbols present in the metrics.samples windows the model writes",
    "tail_mass_lost": "real frequency of the symbols absent from the windows the model writes",
    "gen0_ppl_mean": f"mean perplexity the generation-0 model (order-{SCORER_ORDER} n-gram of all real text) assigns to a written window",
}


def lm_metrics(config, data, lm) -> Metrics:
    """Metrics of a neural language model (mad.families.transformer.LM); generation 0 is the
    order-3 n-gram model of all real text, which also scores the written windows."""
    from mad.families.ngram import Grams, position_marginals, real_windows, reference_probs

    dtype = jnp.dtype(config.precision)
    grams = Grams(data.vocab, SCORER_ORDER, data.context)
    scorer = reference_probs(data, SCORER_ORDER, SCORER_ALPHA).astype(dtype)
    real_entropy = position_marginals(grams, scorer)[0]
    test = jnp.asarray(data.test)
    unigram = jnp.asarray(data.unigram, dtype)
    m, loop = config.metrics.samples, config.loop
    threshold = config.collapse_threshold
    windows = real_windows(data)

    def model(key, params):
        seqs = lm.write(key, params.net, m, temperature=loop.temperature, top_k=loop.top_k, top_p=loop.top_p)
        entropy = -jnp.mean(lm.log_likelihood(params.net, seqs)) / lm.length
        return {
            "perplexity": jnp.exp(-jnp.mean(lm.log_likelihood(params.net, test)) / lm.length),
            "entropy": entropy,
            **support(seqs, unigram, data.vocab),
            "collapsed": entropy <= threshold * real_entropy,
            **statistics(grams, scorer, seqs),
        }

    def real(key):
        seqs = windows(key, m)
        return {
            "perplexity": jnp.exp(-jnp.mean(log_likelihood(grams, scorer, test)) / grams.length),
            "entropy": real_entropy,
            **support(seqs, unigram, data.vocab),
            "collapsed": jnp.asarray(False),
            **statistics(grams, scorer, seqs),
        }

    return Metrics(model, real)
