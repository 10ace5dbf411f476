"""Categorical distributions over a vocabulary, refitted by counting: discrete data lose their tails.

The fitted model is p = (counts + alpha) / (n + V alpha) (additive smoothing alpha; 0 = the MLE).
Without smoothing a symbol whose count reaches zero is never drawn again: lost symbols are
absorbing states, and the rarest go first. Data are summarised by symbol counts, which pool
exactly, so every loop keeps O(V) state. Sampling bias lam is a temperature: symbols are drawn
from p^(1 / lam), normalised (lam < 1 favours frequent symbols: quality over diversity).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad.families.base import Family, FamilySpec, pool, summed_family


class Counts(NamedTuple):
    """A sample summarised by (possibly weighted) symbol counts and its size."""

    counts: Float[Array, " v"]
    total: Float[Array, ""]


class CategoricalParams(NamedTuple):
    probs: Float[Array, " v"]  # exactly zero for lost symbols


def tempered(probs: Float[Array, " v"], lam) -> Float[Array, " v"]:
    """p^(1/lam) normalised, computed in log space; zero stays zero."""
    alive = probs > 0
    log_p = jnp.log(jnp.where(alive, probs, 1.0))
    top = jnp.max(jnp.where(alive, log_p, -jnp.inf))
    scaled = jnp.where(alive, jnp.exp((log_p - top) / lam), 0.0)
    return scaled / jnp.sum(scaled)


def truncated(probs: Float[Array, " v"], *, temperature: float = 1.0, top_k: int | None = None, top_p: float = 1.0) -> Float[Array, " v"]:
    """The sampling distribution of truncated sampling: temperature, then top-k, then top-p, each
    renormalised (the order of common generation code; numpy reference:
    mad.theory.truncation.truncate). Top-p keeps a symbol while the mass of the more probable ones
    is below top_p (the smallest set reaching it)."""
    q = tempered(probs, temperature) if temperature != 1.0 else probs
    if top_k is not None and top_k < probs.shape[0]:
        _, rows = jax.lax.top_k(q, top_k)
        q = jnp.zeros_like(q).at[rows].set(q[rows])
        q = q / jnp.sum(q)
    if top_p < 1.0:
        order = jnp.argsort(-q, stable=True)
        ranked = q[order]
        kept = jnp.where((jnp.cumsum(ranked) - ranked < top_p) & (ranked > 0), ranked, 0.0)
        q = jnp.zeros_like(q).at[order].set(kept)
        q = q / jnp.sum(q)
    return q


def sampling_rows(probs: Float[Array, "r v"], lam=1.0, *, temperature: float = 1.0, top_k: int | None = None, top_p: float = 1.0):
    """Rows of next-symbol probabilities as they are sampled (language models): each truncated
    (`truncated`), then tempered by the sampling bias lam."""
    rows = jax.vmap(lambda row: truncated(row, temperature=temperature, top_k=top_k, top_p=top_p))(probs)
    if isinstance(lam, (int, float)) and lam == 1.0:  # a static lam of 1: nothing to temper
        return rows
    return jax.vmap(tempered, in_axes=(0, None))(rows, lam)


def sample_counts(key: jax.Array, probs: Float[Array, " v"], n: int, lam=1.0) -> Counts:
    """Counts of n draws, by inverse CDF (a binary search per draw) and a scatter-add. A symbol of
    probability zero occupies an empty CDF step and is never drawn."""
    cdf = jnp.cumsum(tempered(probs, lam))
    u = jax.random.uniform(key, (n,), probs.dtype) * cdf[-1]
    symbols = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), probs.shape[0] - 1)
    counts = jnp.zeros_like(probs).at[symbols].add(1.0)
    return Counts(counts, jnp.asarray(n, probs.dtype))


def merge(a: Counts, b: Counts, weight_a=None) -> Counts:
    """Pooled counts; with weight_a the first sample carries that share of the total."""
    return Counts(*pool(a.counts, a.total, b.counts, b.total, weight_a))


def fit(stats: Counts, alpha: float) -> CategoricalParams:
    v = stats.counts.shape[0]
    return CategoricalParams((stats.counts + alpha) / (stats.total + v * alpha))


def family(*, probs, alpha: float, dtype, temperature: float = 1.0, top_k: int | None = None, top_p: float = 1.0) -> Family:
    """The categorical family against the real distribution `probs` (V,); synthetic data are drawn
    by truncated sampling (`truncated`) with the traced lam a further temperature."""
    reference = CategoricalParams(jnp.asarray(probs, dtype))

    def synthetic(key, params, n, lam):
        return sample_counts(key, truncated(params.probs, temperature=temperature, top_k=top_k, top_p=top_p), n, lam)

    return summed_family(
        reference=reference,
        real=lambda key, n: sample_counts(key, reference.probs, n),
        synthetic=synthetic,
        merge=merge,
        fit=lambda key, frame, stats: fit(stats, alpha),
        what="categorical counts",
    )


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class CategoricalConfig:
    """model=categorical: counts plus additive smoothing `alpha` (0: the MLE; lost symbols stay lost)."""

    name: str = "categorical"
    alpha: float = 0.0


def _metrics(config, fam, data):
    from mad.metrics import closed_form_metrics, discrete

    return closed_form_metrics(fam, lambda ref, p: discrete.categorical(ref.probs, p.probs))


def _validate(config) -> None:
    from mad.config import ConfigError, integer

    data, model = config.data, config.model
    integer("data.vocab", data.vocab, 2)
    if data.name == "zipf" and not (isinstance(data.exponent, (int, float)) and math.isfinite(data.exponent) and data.exponent >= 0):
        raise ConfigError(f"data.exponent={data.exponent!r} must be a finite number >= 0 (0: the uniform distribution)")
    if data.name == "words" and data.vocab > 50000:
        raise ConfigError(f"data.vocab={data.vocab} must be <= 50000 for data=words (wordfreq's English list)")
    if not (isinstance(model.alpha, (int, float)) and math.isfinite(model.alpha) and model.alpha >= 0):
        raise ConfigError(f"model.alpha={model.alpha!r} must be >= 0 and finite (additive smoothing; 0 = none)")


def _theory(config, loop) -> dict:
    import numpy as np

    from mad.data import make_data
    from mad.theory import discrete

    if config.model.alpha != 0 or config.loop.lam != 1.0 or truncating(config.loop):
        return {}  # smoothing, tempering and truncation break the martingale (truncation's n -> inf map: mad.theory.truncation)
    probs = make_data(config).probs
    out = {}
    error = discrete.refit_error_for(config, loop, point_var=1.0 - float(np.sum(probs**2)), shrink=1.0)
    if error is not None:
        out["sq_error"] = error
    if loop.fully_synthetic:
        n, n_init = config.loop.n_syn, config.loop.init_size
        if max(n, n_init) > discrete.LARGEST_CHAIN:
            logging.getLogger(__name__).warning(
                "support_size and tail_mass_lost get no closed form at loop.n_syn=%d / loop.n_init=%d: the exact absorbing "
                "chain needs (n + 1)^2 numbers, computed up to n = %d", n, n_init, discrete.LARGEST_CHAIN,
            )  # fmt: skip
        else:
            support, lost = discrete.categorical_loss(probs, config.generations, n=n, n_init=n_init)
            out.update(support_size=support, tail_mass_lost=lost)
    return out


def truncating(loop) -> bool:
    """Whether a loop config samples with temperature, top-k or top-p."""
    return loop.temperature != 1.0 or loop.top_k is not None or loop.top_p < 1.0


def _docs():
    from mad.metrics.discrete import COLLAPSED_DOCS, DOCS

    return {**{k: DOCS[k] for k in ("support_size", "tail_mass_lost", "entropy", "kl_fwd", "tv", "sq_error")}, "collapsed": COLLAPSED_DOCS["categorical"]}


SPEC = FamilySpec(
    name="categorical",
    doc="categorical distribution over a vocabulary, refit by counting its own samples",
    config=CategoricalConfig,
    data=("zipf", "words"),
    build=lambda config, data: family(
        probs=data.probs, alpha=config.model.alpha, dtype=jnp.dtype(config.precision),
        temperature=config.loop.temperature, top_k=config.loop.top_k, top_p=config.loop.top_p,
    ),  # fmt: skip
    truncation=True,
    metrics=_metrics,
    metric_docs=_docs,
    draws_points=False,
    cache_bound=True,
    validate=_validate,
    theory=_theory,
    lane_floats=lambda config: {"data.vocab (probabilities and counts)": 4 * config.data.vocab, "loop.n_syn (draws)": 2 * config.loop.draw_size},
)
