"""Real images: scikit-learn's handwritten digits as 8 x 8 pictures (64 pixels in [0, 1]).

The 1797 images ship with scikit-learn, so nothing is downloaded. A fixed 20% (359 images, the
same permutation as the PCA `digits` data) is held out to score the models; real draws are rows
of the training split, with replacement. The labels never train a generative model: they train
the feature classifier of the image metrics (mad.metrics.images) once, on the training split.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

SIDE = 8  # pixels per side
LEVELS = 16.0  # scikit-learn's digits count ink in 0..16
TEST_KEY = 0xDA7A  # the permutation of the held-out split (mad.data.TEST_KEY)


class Split(NamedTuple):
    train: np.ndarray  # (1438, 64) pixels in [0, 1]
    train_labels: np.ndarray  # (1438,) digit classes 0..9
    test: np.ndarray  # (359, 64)
    test_labels: np.ndarray  # (359,)


@lru_cache(maxsize=1)
def split() -> Split:
    """The training and held-out images with their labels (float64; computed once per process)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = digits.data.astype(np.float64) / LEVELS
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(TEST_KEY).permutation(len(x))
    held_out = len(x) // 5
    test, train = order[:held_out], order[held_out:]
    return Split(x[train], y[train], x[test], y[test])
