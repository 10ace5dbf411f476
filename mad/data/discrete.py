"""Real distributions that are not point clouds: token frequencies, Poisson counts, a regression,
labelled classes."""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

DESIGN_KEY = 0xDE51  # the regression design's seed: one fixed design for every run


class Tokens(NamedTuple):
    name: str
    probs: np.ndarray  # (V,) float64, summing to one, in decreasing order
    symbols: Optional[tuple[str, ...]]  # the words, where they have names


class PoissonData(NamedTuple):
    name: str
    rate: float


class RegressionData(NamedTuple):
    name: str
    design: np.ndarray  # (T, d), rows N(0, I)
    weights: np.ndarray  # (d,) true weights
    noise: float  # label noise standard deviation


class ClassData(NamedTuple):
    """Two equally likely classes y = +-1 with x = y mean + scale z, z ~ N(0, I)."""

    name: str
    mean: np.ndarray  # (d,): the class +1 mean, (spread / 2) e_1
    scale: float


def two_classes(dim: int, spread: float, scale: float) -> ClassData:
    mean = np.zeros(dim)
    mean[0] = spread / 2
    return ClassData("two_classes", mean, scale)


def zipf(vocab: int, exponent: float) -> Tokens:
    p = np.arange(1, vocab + 1, dtype=np.float64) ** -exponent
    return Tokens("zipf", p / p.sum(), None)


def words(vocab: int) -> Tokens:
    """The `vocab` most frequent English words with their frequencies, from the wordfreq package
    (its data ship with it: no network), renormalised over those words."""
    import wordfreq

    top = wordfreq.top_n_list("en", vocab)
    freq = np.array([wordfreq.word_frequency(w, "en") for w in top], np.float64)
    order = np.argsort(-freq, kind="stable")
    return Tokens("words", freq[order] / freq.sum(), tuple(top[i] for i in order))


def regression(rows: int, dim: int, noise: float) -> RegressionData:
    """A fixed Gaussian design (the same for every seed) and unit-norm true weights."""
    design = np.random.default_rng(DESIGN_KEY).normal(size=(rows, dim))
    return RegressionData("regression", design, np.full(dim, 1.0 / np.sqrt(dim)), noise)
