"""Character n-gram language models refitted on the text they write: Shumailov et al.'s language
experiment in miniature, thousands of loops in one program.

A sequence is a window of `data.context` characters. The model of order o predicts each character
from the o - 1 before it, with o - 1 start symbols (BOS) before the window, so it is a model of
whole windows: p(x_1..x_L) = prod_j p(x_j | x_{j-o+1}..x_{j-1}). Its parameters are one row of
next-symbol probabilities per context, a (C, V) table with C = (V + 1)^(o - 1) contexts (the
symbols and BOS, in base V + 1, oldest symbol first); order 1 is the categorical family over
symbols. A fit counts (context, symbol) pairs and smooths additively with `model.alpha`:
p(x | c) = (n(c, x) + alpha) / (n(c) + V alpha); a context never seen gets the uniform row (the
alpha -> 0 limit). Counts pool exactly, so every loop of the engine keeps O(C V) state.

Synthetic text is written autoregressively, all `loop.n_syn` sequences of a loop in one scan over
positions, from each row truncated as the categorical family truncates (loop.temperature, top_k,
top_p; shared code) and tempered by the sampling bias lam (a temperature: lam < 1 favours the
likely continuations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from mad.families.base import Family, FamilySpec, pool, summed_family
from mad.families.categorical import sampling_rows as sampling_table


class NgramCounts(NamedTuple):
    """A text sample summarised by its (context, symbol) counts and its number of sequences."""

    counts: Float[Array, "c v"]
    total: Float[Array, ""]


class NgramParams(NamedTuple):
    probs: Float[Array, "c v"]  # p(symbol | context); rows sum to one


class Grams(NamedTuple):
    """The static shape of an n-gram model: vocabulary, order and window length."""

    vocab: int
    order: int
    length: int

    @property
    def contexts(self) -> int:
        return (self.vocab + 1) ** (self.order - 1)

    @property
    def start(self) -> int:
        """The all-BOS context that opens every window."""
        return self.contexts - 1

    def advance(self, context, symbol):
        """The context after `symbol`: drop the oldest symbol, append the new one."""
        return (context * (self.vocab + 1) + symbol) % self.contexts


def contexts_of(grams: Grams, sequences: Int[Array, "n l"]) -> Int[Array, "n l"]:
    """The context of every position of every sequence (position 0: the start context)."""

    def step(context, symbol):
        return grams.advance(context, symbol), context

    start = jnp.full(sequences.shape[:1], grams.start, sequences.dtype)
    _, ctx = jax.lax.scan(step, start, sequences.T)
    return ctx.T


def count(grams: Grams, sequences: Int[Array, "n l"], dtype, weights=None) -> NgramCounts:
    """(context, symbol) counts of n sequences (each counted with its weight, if given)."""
    flat = (contexts_of(grams, sequences) * grams.vocab + sequences).ravel()
    each = 1.0 if weights is None else jnp.repeat(weights.astype(dtype), sequences.shape[1])
    counts = jnp.zeros(grams.contexts * grams.vocab, dtype).at[flat].add(each)
    total = sequences.shape[0] if weights is None else jnp.sum(weights.astype(dtype))
    return NgramCounts(counts.reshape(grams.contexts, grams.vocab), jnp.asarray(total, dtype))


def fit(stats: NgramCounts, alpha: float) -> NgramParams:
    v = stats.counts.shape[1]
    row = jnp.sum(stats.counts, axis=1, keepdims=True) + v * alpha
    seen = row > 0
    return NgramParams(jnp.where(seen, (stats.counts + alpha) / jnp.where(seen, row, 1.0), 1.0 / v))


def merge(a: NgramCounts, b: NgramCounts, weight_a=None) -> NgramCounts:
    return NgramCounts(*pool(a.counts, a.total, b.counts, b.total, weight_a))


def write(key: jax.Array, grams: Grams, table: Float[Array, "c v"], n: int, start=None, length=None) -> Int[Array, "n l"]:
    """n sequences drawn from a sampling table, by inverse CDF of each position's row: windows
    from the start context, or `length` symbols on from the context `start` (a prompt's)."""
    length = grams.length if length is None else length
    cdf = jnp.cumsum(table, axis=1)
    u = jax.random.uniform(key, (length, n), table.dtype)

    def step(context, u_j):
        row = cdf[context]  # (n, v)
        symbol = jnp.minimum(jnp.sum(row <= (u_j * row[:, -1])[:, None], axis=1), grams.vocab - 1).astype(jnp.int32)
        return grams.advance(context, symbol), symbol

    first = jnp.full((n,), grams.start if start is None else start, jnp.int32)
    _, symbols = jax.lax.scan(step, first, u)
    return symbols.T


def context_after(grams: Grams, prompt: Int[Array, " p"]) -> jax.Array:
    """The context a window is in after its first symbols `prompt`."""
    context = jnp.asarray(grams.start, jnp.int32)
    for symbol in prompt:
        context = grams.advance(context, symbol)
    return context


def log_likelihood(grams: Grams, probs: Float[Array, "c v"], sequences: Int[Array, "n l"]) -> Float[Array, " n"]:
    """log p(sequence) of each sequence; -inf where a symbol has probability zero."""
    p = probs[contexts_of(grams, sequences), sequences]
    return jnp.sum(jnp.log(p), axis=1)


def position_marginals(grams: Grams, probs: Float[Array, "c v"]):
    """Exact per-token entropy (nats) of the model's windows and the mean probability of each
    symbol over the window's positions, by carrying the distribution of the context forward: the
    context (oldest, rest) goes to (rest, x) with probability p(x | oldest, rest), one batched
    matrix-vector product over `rest` per position."""
    v, inner = grams.vocab, grams.contexts // (grams.vocab + 1)
    safe = jnp.where(probs > 0, probs, 1.0)
    row_entropy = -jnp.sum(jnp.where(probs > 0, probs * jnp.log(safe), 0.0), axis=1)
    if grams.order == 1:  # one context: every position draws from the same row
        return row_entropy[0], probs[0]
    blocks = probs.reshape(v + 1, inner, v)

    def step(carry, _):
        dist, entropy, marginal = carry
        following = jnp.einsum("oi,oiv->iv", dist.reshape(v + 1, inner), blocks)  # P(rest, next symbol)
        nxt = jnp.pad(following, ((0, 0), (0, 1))).reshape(-1)  # BOS never follows a symbol
        return (nxt, entropy + dist @ row_entropy, marginal + jnp.sum(following, axis=0)), None

    start = jnp.zeros(grams.contexts, probs.dtype).at[grams.start].set(1.0)
    init = (start, jnp.zeros((), probs.dtype), jnp.zeros(v, probs.dtype))
    (_, entropy, marginal), _ = jax.lax.scan(step, init, None, length=grams.length)
    return entropy / grams.length, marginal / grams.length


def family(*, text, order: int, alpha: float, dtype, temperature: float = 1.0, top_k=None, top_p: float = 1.0) -> Family:
    """The n-gram family on a corpus (mad.data.text.Text). Its reference (generation 0) is the
    model fitted on every window of the training stream: the limit of infinitely many real windows."""
    grams = Grams(text.vocab, order, text.context)
    reference = NgramParams(reference_probs(text, order, alpha).astype(dtype))

    def synthetic(key, params, n, lam):
        table = sampling_table(params.probs, lam, temperature=temperature, top_k=top_k, top_p=top_p)
        return count(grams, write(key, grams, table, n), dtype)

    windows = real_windows(text)

    def draw(key, params, n, lam):  # windows as float rows of symbol indices, for point pools
        if params is None:
            return windows(key, n).astype(dtype)
        return write(key, grams, sampling_table(params.probs, lam, temperature=temperature, top_k=top_k, top_p=top_p), n).astype(dtype)

    def summarize(rows, mask=None):
        return count(grams, jnp.round(rows).astype(jnp.int32), dtype, mask)

    return summed_family(
        reference=reference,
        real=lambda key, n: count(grams, windows(key, n), dtype),
        synthetic=synthetic,
        merge=merge,
        fit=lambda key, frame, stats: fit(stats, alpha),
        what="n-gram counts",
    )._replace(draw=draw, summarize=summarize)


def real_windows(text):
    """windows(key, n): n windows of the training stream at uniformly random starts."""
    train, length = jnp.asarray(text.train), text.context
    offsets = jnp.arange(length)

    def windows(key, n):
        starts = jax.random.randint(key, (n,), 0, train.shape[0] - length + 1)
        return train[starts[:, None] + offsets[None, :]]

    return windows


def reference_probs(text, order: int, alpha: float):
    """The model fitted on every window of the training stream (numpy, once per corpus)."""
    import numpy as np

    grams = Grams(text.vocab, order, text.context)
    train, length, v = text.train.astype(np.int64), grams.length, grams.vocab
    n_windows = len(train) - length + 1
    counts = np.zeros(grams.contexts * v)
    # Position j of a window starting at s: its context holds train[s + j - o + 1 .. s + j - 1],
    # with BOS for positions before s. Positions j >= o - 1 see plain (o - 1)-grams.
    for j in range(length):
        symbols = train[j : j + n_windows]
        context = np.full(n_windows, grams.start, np.int64)
        for back in range(min(j, order - 1), 0, -1):
            context = (context * (v + 1) + train[j - back : j - back + n_windows]) % grams.contexts
        counts += np.bincount(context * v + symbols, minlength=counts.size)
    row = counts.reshape(grams.contexts, v)
    total = row.sum(1, keepdims=True) + v * alpha
    return jnp.asarray(np.where(total > 0, (row + alpha) / np.where(total > 0, total, 1.0), 1.0 / v))


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class NgramConfig:
    """model=ngram: a character n-gram model of order `order` (1: unigram), additive smoothing
    `alpha` (0: the MLE, lost n-grams stay lost)."""

    name: str = "ngram"
    order: int = 3
    alpha: float = 0.01


def build(config, data) -> Family:
    loop = config.loop
    return family(
        text=data, order=config.model.order, alpha=config.model.alpha, dtype=jnp.dtype(config.precision),
        temperature=loop.temperature, top_k=loop.top_k, top_p=loop.top_p,
    )  # fmt: skip


def _metrics(config, fam, data):
    from mad.metrics import text

    return text.ngram_metrics(config, fam, data)


def validate_text(config) -> None:
    """The data checks of every family that models text (data=text)."""
    from pathlib import Path

    from mad.config import ConfigError, integer
    from mad.data.text import distinct_symbols

    data = config.data
    integer("data.context", data.context, 1)
    integer("data.vocab", data.vocab, 2)
    integer("data.n_test", data.n_test, 1)
    integer("metrics.samples", config.metrics.samples, 1)
    if data.path is not None and not Path(data.path).is_file():
        raise ConfigError(f"data.path={data.path!r} is not a readable file (UTF-8 text to train on)")
    largest = distinct_symbols(data.path)
    if data.vocab > largest:
        raise ConfigError(f"data.vocab={data.vocab} must be <= {largest}, the distinct characters of the corpus")


def _validate(config) -> None:
    from mad.config import ConfigError, integer

    data, model = config.data, config.model
    integer("model.order", model.order, 1)
    if not (isinstance(model.alpha, (int, float)) and math.isfinite(model.alpha) and model.alpha >= 0):
        raise ConfigError(f"model.alpha={model.alpha!r} must be >= 0 and finite (additive smoothing; 0 = none)")
    validate_text(config)
    table = (data.vocab + 1) ** (model.order - 1) * data.vocab
    if table > 1 << 24:
        raise ConfigError(
            f"model.order={model.order} with data.vocab={data.vocab} needs a table of {table:,} probabilities per loop "
            "(more than 2^24): lower the order or the vocabulary"
        )


def window_variance(text) -> float:
    """E ||f_w - p||^2 over the training stream's windows w, f_w a window's symbol frequencies and
    p their mean (the order-1 reference): the variance one real window brings to a unigram fit."""
    import numpy as np

    one_hot = np.zeros((len(text.train) + 1, text.vocab))
    one_hot[np.arange(1, len(text.train) + 1), text.train] = 1.0
    cumulative = np.cumsum(one_hot, axis=0)
    freq = (cumulative[text.context :] - cumulative[: -text.context]) / text.context
    return float(np.mean(np.sum((freq - freq.mean(0)) ** 2, axis=1)))


def _theory(config, loop) -> dict:
    """Order 1 without smoothing, sampling bias or truncation is the categorical chain on the
    symbols of the written windows: sq_error follows the refit law (mad.theory.discrete) in units
    of symbols, n L per generation, with the first fit's and each fresh batch's error from the
    windows of the stream (docs/theory.md, language models)."""
    from mad.data import make_data
    from mad.families.categorical import truncating
    from mad.theory import discrete

    m, c = config.model, config.loop
    mode = discrete.refit_mode(loop)
    if m.order != 1 or m.alpha != 0 or c.lam != 1.0 or truncating(c) or mode is None:
        return {}
    text = make_data(config)
    length = text.context
    p = reference_probs(text, 1, 0.0)[0]
    per_window = window_variance(text)
    error = discrete.refit_sq_error(
        config.generations, point_var=1.0 - float(jnp.sum(p**2)), shrink=1.0, mode=mode, n=c.n_syn * length,
        n_init=c.init_size * length, n_real=c.n_real * length if mode == "fresh" else 0,
        real_weight=c.real_weight if mode == "fresh" else None, first=per_window / c.init_size,
        real_batch=per_window / c.n_real if mode == "fresh" and c.n_real else None,
    )  # fmt: skip
    return {"sq_error": error}


def writer(config, data, fam):
    """How this family writes, for the report (mad.report.text)."""
    from mad.report.text import Writer

    grams, lp = Grams(data.vocab, config.model.order, data.context), config.loop
    trunc = dict(temperature=lp.temperature, top_k=lp.top_k, top_p=lp.top_p)

    def extend(key, params, prompt, k):
        table = sampling_table(params.probs, lp.lam, **trunc)
        return write(key, grams, table, k, start=context_after(grams, prompt), length=grams.length - len(prompt))

    return Writer(
        scorer=(grams, fam.reference.probs),
        write=jax.jit(lambda key, params, n: write(key, grams, sampling_table(params.probs, lp.lam, **trunc), n), static_argnums=2),
        extend=extend,
    )


def _showcase(config, run_dir, point=0):
    from mad.report.text import showcase

    return showcase(config, run_dir, writer, point)


def _docs():
    from mad.metrics.text import DOCS

    return DOCS


def _lane_floats(config) -> dict[str, int]:
    v, o, length = config.data.vocab, config.model.order, config.data.context
    table = (v + 1) ** (o - 1) * v
    return {
        "data.vocab, model.order (counts, probabilities and sampling tables)": 6 * table,
        "loop.n_syn, data.context (the written text)": 3 * config.loop.draw_size * length,
        "metrics.samples, data.n_test (scored text)": 3 * (config.metrics.samples + config.data.n_test) * length,
    }


SPEC = FamilySpec(
    name="ngram",
    doc="character n-gram language model on real English text, refit by counting the text it writes",
    config=NgramConfig,
    data=("text",),
    build=build,
    truncation=True,
    metrics=_metrics,
    metric_docs=_docs,
    validate=_validate,
    theory=_theory,
    showcase=_showcase,
    lane_floats=_lane_floats,
)
