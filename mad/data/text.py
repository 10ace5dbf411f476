"""Real English text, offline: a character corpus, its alphabet, a training stream and held-out windows.

The default corpus is the prose of the Python reference documentation that ships with CPython
itself (`pydoc_data.topics`, the text behind `help("if")`; PSF licence): about 170,000 characters
of English once its code examples, tables and markup are removed, present on every machine that
has Python, with no download. `data.path=FILE` reads a user's own UTF-8 text instead.

Text is lowercased and its whitespace collapsed to single spaces; the alphabet is the `data.vocab`
most frequent characters (ties by code point) and every other character is dropped. The last 10%
of the stream is held out: `data.n_test` windows of `data.context` characters are cut from it
once, with a fixed key, and never train a model. Real training data are windows of the first 90%
at uniformly random starts.
"""

from __future__ import annotations

import collections
import functools
import re
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np

HELD_OUT = 0.1  # share of the stream held out (its end)
TEST_KEY = 0x7E57
MARKUP = set("\"*|_`[]\u2018\u2019\u201c\u201d")  # reST markup and typographic quotes in the docs


class Text(NamedTuple):
    name: str
    alphabet: str  # the symbols, most frequent first; token i is alphabet[i]
    train: np.ndarray  # (N,) int32 token stream
    test: np.ndarray  # (n_test, context) int32 held-out windows
    unigram: np.ndarray  # (V,) float64 symbol frequencies of the training stream
    context: int  # characters per sequence
    source: str  # where the text came from

    @property
    def vocab(self) -> int:
        return len(self.alphabet)

    def decode(self, tokens) -> str:
        return "".join(self.alphabet[int(t)] for t in np.asarray(tokens).ravel())


def python_docs() -> str:
    """The prose lines of CPython's pydoc topics (indented code, tables and short lines dropped)."""
    import pydoc_data.topics

    lines = []
    for key in sorted(pydoc_data.topics.topics):
        for line in pydoc_data.topics.topics[key].splitlines():
            text = line.strip()
            if not text or line.startswith((" ", "\t")) or len(text.split()) < 4:
                continue
            if sum(ch.isalpha() or ch == " " for ch in text) < 0.9 * len(text):
                continue
            lines.append("".join(ch for ch in text if ch not in MARKUP))
    return " ".join(lines)


def normalise(raw: str) -> str:
    return re.sub(r"\s+", " ", raw.lower()).strip()


def alphabet_of(text: str, vocab: int) -> str:
    counts = collections.Counter(text)
    ranked = sorted(counts, key=lambda ch: (-counts[ch], ord(ch)))
    return "".join(ranked[:vocab])


def distinct_symbols(path: Optional[str]) -> int:
    """How many distinct characters the (normalised) corpus has: the largest data.vocab."""
    return len(set(_raw(path)))


@functools.lru_cache(maxsize=4)
def _raw(path: Optional[str]) -> str:
    return normalise(Path(path).read_text(encoding="utf-8") if path else python_docs())


@functools.lru_cache(maxsize=8)
def load(vocab: int, context: int, n_test: int, path: Optional[str] = None) -> Text:
    """The corpus as tokens: training stream and `n_test` held-out windows of `context` symbols."""
    raw = _raw(path)
    alphabet = alphabet_of(raw, vocab)
    index = {ch: i for i, ch in enumerate(alphabet)}
    tokens = np.array([index[ch] for ch in raw if ch in index], np.int32)
    cut = int(len(tokens) * (1 - HELD_OUT))
    train, held_out = tokens[:cut], tokens[cut:]
    if min(len(train), len(held_out)) < context + 1:
        where = path or "the Python documentation"
        raise ValueError(f"{where} has {len(tokens)} symbols: too few for windows of data.context={context} in both splits")
    starts = np.random.default_rng(TEST_KEY).integers(0, len(held_out) - context + 1, n_test)
    test = held_out[starts[:, None] + np.arange(context)]
    unigram = np.bincount(train, minlength=len(alphabet)) / len(train)
    source = str(path) if path else "CPython's pydoc_data.topics (Python reference documentation, PSF licence)"
    return Text("text", alphabet, train, test, unigram, context, source)
