"""A small causal transformer (flax) trained with optax on the text of its predecessor: the
language-model loop of Shumailov et al. (2024), thousands of networks in one program.

Each loop has its own network; a generation's training run (`model.steps` optax steps on
minibatches of windows drawn by the training sample's weights) is a `lax.scan`, and loops are a
vmap, as for the flows. A window of `data.context` characters is predicted from a start symbol
(BOS) and the characters before each position: pre-LayerNorm blocks of causal multi-head
attention and a 4x MLP, learned position embeddings. Each generation trains
- `start=fresh`: from one fixed initialisation (the same network for every loop and generation),
- `start=finetune`: from the previous generation's network (the first from the fixed one),
- `start=pretrained`: from a network pre-trained once on the real corpus (`model.pretrain_steps`
  steps, fixed keys), fine-tuned afresh each generation on the previous generation's text:
  Shumailov et al.'s set-up.
Text is written autoregressively (a forward pass of the whole window per position, O(L^2): no
cache, for small windows), each position's distribution truncated and tempered like the n-gram
family's (mad.families.categorical.sampling_rows; lam is a temperature). Sequences travel
through the engine's point pools as float rows of symbol indices, so every loop, accumulate_subsample
and curation by the model's own likelihood (loop.keep) included, runs unchanged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from mad.families.base import Family, FamilySpec
from mad.families.categorical import sampling_rows
from mad.families.flow import OPTIMIZERS, descend, optimizer
from mad.families.points import Points, point_family, resample_rows

INIT_KEY = 0x1417  # the fixed initialisation of start=fresh (and of pre-training)
PRETRAIN_KEY = 0x9E7


class Block(nn.Module):
    width: int
    heads: int

    @nn.compact
    def __call__(self, h, mask):
        a = nn.LayerNorm()(h)
        h = h + nn.MultiHeadDotProductAttention(num_heads=self.heads, qkv_features=self.width, out_features=self.width)(a, a, mask=mask)
        m = nn.Dense(4 * self.width)(nn.LayerNorm()(h))
        return h + nn.Dense(self.width)(nn.gelu(m))


class CausalLM(nn.Module):
    """(n, L) input symbols (BOS = vocab) -> (n, L, vocab) next-symbol logits."""

    vocab: int
    length: int
    layers: int
    width: int
    heads: int

    @nn.compact
    def __call__(self, tokens):
        position = self.param("position", nn.initializers.normal(0.02), (self.length, self.width))
        h = nn.Embed(self.vocab + 1, self.width)(tokens) + position[None, : tokens.shape[1]]
        mask = nn.make_causal_mask(tokens)
        for _ in range(self.layers):
            h = Block(self.width, self.heads)(h, mask)
        return nn.Dense(self.vocab)(nn.LayerNorm()(h))


class TransformerParams(NamedTuple):
    net: Any


class LM:
    """Pure functions of one architecture (static: vocabulary, window, layers, width, heads)."""

    def __init__(self, *, vocab: int, length: int, layers: int, width: int, heads: int, dtype):
        self.vocab, self.length, self.dtype = vocab, length, dtype
        self.module = CausalLM(vocab, length, layers, width, heads)

    def init_net(self, key: jax.Array):
        net = self.module.init(key, jnp.zeros((1, self.length), jnp.int32))
        return jax.tree.map(lambda a: a.astype(self.dtype), net)

    def inputs(self, sequences: Int[Array, "n l"]) -> Int[Array, "n l"]:
        bos = jnp.full((sequences.shape[0], 1), self.vocab, sequences.dtype)
        return jnp.concatenate([bos, sequences[:, :-1]], axis=1)

    def log_likelihood(self, net, sequences: Int[Array, "n l"]) -> Float[Array, " n"]:
        """log p(window) of each window."""
        logp = jax.nn.log_softmax(self.module.apply(net, self.inputs(sequences)), axis=-1)
        return jnp.sum(jnp.take_along_axis(logp, sequences[..., None], axis=-1)[..., 0], axis=1)

    def loss(self, net, sequences: Int[Array, "n l"]) -> Float[Array, ""]:
        """Mean cross-entropy per symbol (nats), what training minimises."""
        return -jnp.mean(self.log_likelihood(net, sequences)) / self.length

    def write(self, key, net, n: int, lam=1.0, *, prefix=None, temperature=1.0, top_k=None, top_p=1.0) -> Int[Array, "n l"]:
        """n windows written position by position (after a fixed `prefix` of symbols, if given)."""
        first = 0 if prefix is None else len(prefix)
        seqs = jnp.zeros((n, self.length), jnp.int32)
        if prefix is not None:
            seqs = seqs.at[:, :first].set(jnp.asarray(prefix, jnp.int32)[None, :])
        u = jax.random.uniform(key, (self.length, n), self.dtype)

        def step(seqs, j):
            logits = jax.lax.dynamic_index_in_dim(self.module.apply(net, self.inputs(seqs)), j, axis=1, keepdims=False)
            rows = sampling_rows(jax.nn.softmax(logits, axis=-1), lam, temperature=temperature, top_k=top_k, top_p=top_p)
            cdf = jnp.cumsum(rows, axis=1)
            symbol = jnp.minimum(jnp.sum(cdf <= (u[j] * cdf[:, -1])[:, None], axis=1), self.vocab - 1).astype(jnp.int32)
            return jax.lax.dynamic_update_index_in_dim(seqs, symbol, j, axis=1), None

        seqs, _ = jax.lax.scan(step, seqs, jnp.arange(first, self.length))
        return seqs


def train(lm: LM, key, net, data: Points, *, steps: int, batch_size: int, opt):
    """`steps` optimiser steps of mean cross-entropy per symbol on windows drawn by weight."""
    sequences = jnp.round(data.x).astype(jnp.int32)

    return descend(lm.loss, net, opt, key, steps, lambda k: sequences[resample_rows(k, data.w, batch_size)])


@functools.lru_cache(maxsize=4)
def _pretrained(text_key, arch, steps: int, batch_size: int, optimizer_name: str, lr: float, dtype_name: str):
    """The network pre-trained once on real windows (fixed keys), as numpy leaves."""
    from mad.data import text as corpus
    from mad.families.ngram import real_windows

    text = corpus.load(*text_key)
    lm = LM(**dict(arch), dtype=jnp.dtype(dtype_name))
    net = lm.init_net(jax.random.key(INIT_KEY))
    windows = real_windows(text)
    opt = optimizer(optimizer_name, lr)

    pretrain = jax.jit(lambda net: descend(lm.loss, net, opt, jax.random.key(PRETRAIN_KEY), steps, lambda k: windows(k, batch_size)))
    return jax.tree.map(np.asarray, pretrain(net))


def architecture(config) -> LM:
    m, data = config.model, config.data
    return LM(vocab=data.vocab, length=data.context, layers=m.layers, width=m.width, heads=m.heads, dtype=jnp.dtype(config.precision))


def build(config, data) -> Family:
    from mad.families.ngram import real_windows

    m, loop = config.model, config.loop
    lm = architecture(config)
    opt = optimizer(m.optimizer, m.lr)
    trunc = dict(temperature=loop.temperature, top_k=loop.top_k, top_p=loop.top_p)
    dtype = lm.dtype
    initial = lm.init_net(jax.random.key(INIT_KEY))
    if m.start == "pretrained":
        arch = (("vocab", data.vocab), ("length", data.context), ("layers", m.layers), ("width", m.width), ("heads", m.heads))
        text_key = (config.data.vocab, config.data.context, config.data.n_test, config.data.path)
        initial = jax.tree.map(jnp.asarray, _pretrained(text_key, arch, m.pretrain_steps, m.batch_size, m.optimizer, m.lr, config.precision))
    windows = real_windows(data)

    def fit(key, frame, stats: Points) -> TransformerParams:
        net = frame.net if m.start == "finetune" and frame is not None else initial
        return TransformerParams(train(lm, key, net, stats, steps=m.steps, batch_size=m.batch_size, opt=opt))

    # Windows are point rows of symbol indices: the point families' pools, merges and curation apply.
    rows = SimpleNamespace(sample=lambda key, n: windows(key, n).astype(dtype))
    return point_family(
        data=rows, fit=fit,
        sample=lambda key, params, n, lam: lm.write(key, params.net, n, lam, **trunc).astype(dtype),
        log_prob=lambda params, x: lm.log_likelihood(params.net, jnp.round(x).astype(jnp.int32)),
    )  # fmt: skip


# ----------------------------------------------------------------------------- spec

STARTS = ("fresh", "finetune", "pretrained")


@dataclass(frozen=True)
class TransformerConfig:
    """model=transformer: `layers` pre-LN blocks of `width` units and `heads` attention heads,
    trained `steps` steps of `optimizer` (learning rate `lr`, minibatches of `batch_size` windows)
    each generation, from `start` = fresh | finetune | pretrained (`pretrain_steps` on real text)."""

    name: str = "transformer"
    layers: int = 2
    width: int = 32
    heads: int = 2
    steps: int = 50
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 1e-2
    start: str = "fresh"
    pretrain_steps: int = 500


def _validate(config) -> None:
    from mad.config import ConfigError, choice, integer, positive
    from mad.families.ngram import validate_text

    m = config.model
    for key in ("layers", "width", "heads", "steps", "batch_size", "pretrain_steps"):
        integer(f"model.{key}", getattr(m, key), 1)
    if m.width % m.heads:
        raise ConfigError(f"model.width={m.width} must be a multiple of model.heads={m.heads} (each head gets width / heads units)")
    positive("model.lr", m.lr)
    choice("model.optimizer", m.optimizer, OPTIMIZERS)
    choice("model.start", m.start, STARTS)
    validate_text(config)


def _metrics(config, fam, data):
    from mad.metrics import text

    return text.lm_metrics(config, data, architecture(config))


def _docs():
    from mad.metrics.text import LM_DOCS

    return LM_DOCS


def _lane_floats(config) -> dict[str, int]:
    m, v, length = config.model, config.data.vocab, config.data.context
    weights = m.layers * 12 * m.width**2 + (v + 1 + length + v) * m.width
    per_window = length * m.layers * (12 * m.width + 2 * m.heads * length)  # activations of one window
    written = max(config.loop.draw_size, config.metrics.samples, config.data.n_test)
    return {
        "model.layers, model.width (weights, gradients and Adam moments)": 4 * weights,
        "model.batch_size, data.context (training activations)": 2 * m.batch_size * per_window,
        "loop.n_syn, metrics.samples, data.n_test (windows written and scored)": written * per_window,
    }


def writer(config, data, fam):
    """How this family writes, for the report (mad.report.text): scored by the order-3 n-gram."""
    from mad.families.ngram import Grams, reference_probs
    from mad.metrics.text import SCORER_ALPHA, SCORER_ORDER
    from mad.report.text import Writer

    lm, lp = architecture(config), config.loop
    trunc = dict(temperature=lp.temperature, top_k=lp.top_k, top_p=lp.top_p)

    def extend(key, params, prompt, k):
        return lm.write(key, params.net, k, lp.lam, prefix=np.asarray(prompt), **trunc)[:, len(prompt) :]

    scorer = reference_probs(data, SCORER_ORDER, SCORER_ALPHA).astype(lm.dtype)
    return Writer(
        scorer=(Grams(data.vocab, SCORER_ORDER, data.context), scorer),
        write=jax.jit(lambda key, params, n: lm.write(key, params.net, n, lp.lam, **trunc), static_argnums=2),
        extend=extend,
        shown=500,  # a forward pass of the whole window per symbol written
    )


def _showcase(config, run_dir, point=0):
    from mad.report.text import showcase

    return showcase(config, run_dir, writer, point)


SPEC = FamilySpec(
    name="transformer",
    doc="small causal transformer (flax) on real English text, trained each generation with optax on its predecessor's text",
    config=TransformerConfig,
    data=("text",),
    build=build,
    truncation=True,
    curation=True,
    exact_pooling=False,
    metrics=_metrics,
    metric_docs=_docs,
    validate=_validate,
    showcase=_showcase,
    lane_floats=_lane_floats,
)
