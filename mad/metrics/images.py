"""Metrics of image generators, from draws, against the held-out real images.

Pictures are compared where a classifier sees them: a small MLP classifier (scikit-learn, 64
ReLU units, trained once per process on the training split of the digits, about 97% held-out
accuracy) maps each image to its 64 hidden activations, the offline analogue of the Inception
features behind FID. In that feature space:
- fd: the Frechet distance between Gaussian fits of the draws' and the held-out images' features,
  ||mu - mu_r||^2 + tr(C + C_r - 2 (C_r^1/2 C C_r^1/2)^1/2) (FID's formula, Heusel et al. 2017);
- precision, recall, density, coverage: the k-NN manifold measures of mad.metrics.samples;
- classes_covered: digit classes the classifier finds in at least mode_share / 10 of the draws.
In pixel space: mmd (RBF kernel, median bandwidth) and the draws' overall spread against the
training images' (trace_ratio, mean_sq_drift, collapsed). Everything of the real side (features,
their mean, covariance and its square root, radii, bandwidths) is computed once, in numpy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mad.metrics import Metrics, samples

CLASSES = 10

IMAGE_DOCS = {
    "fd": "Frechet distance of the draws' classifier features to the held-out images' (offline FID)",
    "precision": "share of draws inside the held-out images' k-NN manifold, in feature space (quality)",
    "recall": "share of held-out images inside the draws' k-NN manifold, in feature space (diversity)",
    "density": "held-out k-NN balls per draw, / k, in feature space (Naeem et al.)",
    "coverage": "share of held-out k-NN balls holding a draw, in feature space (Naeem et al.)",
    "classes_covered": "digit classes (of 10) the feature classifier finds in at least mode_share / 10 of the draws",
    "mmd": "squared MMD to the held-out images in pixel space (RBF kernel, median bandwidth)",
    "trace_ratio": "total pixel variance of the draws over the training images', tr Sigma_t / tr Sigma_0",
    "mean_sq_drift": "squared distance of the draws' mean image from the training images' mean",
    "collapsed": "trace_ratio below collapse_threshold: the pictures have shrunk towards one image",
}
VAE_DOCS = {"neg_elbo_test": "negative ELBO of the held-out images (nats per image, pixels in [0, 1]): bounds their negative log-likelihood from above"}


class Classifier(NamedTuple):
    """The feature classifier's weights: features relu(x W1 + b1), class logits features W2 + b2."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    accuracy: float  # on the held-out images


@lru_cache(maxsize=1)
def classifier() -> Classifier:
    """Trained once per process on the training split (deterministic: L-BFGS from a fixed seed)."""
    from sklearn.neural_network import MLPClassifier

    from mad.data.images import split

    data = split()
    net = MLPClassifier(hidden_layer_sizes=(64,), activation="relu", solver="lbfgs", alpha=1e-2, max_iter=2000, random_state=0)
    net.fit(data.train, data.train_labels)
    accuracy = float(np.mean(net.predict(data.test) == data.test_labels))
    (w1, w2), (b1, b2) = net.coefs_, net.intercepts_
    return Classifier(w1, b1, w2, b2, accuracy)


def features(net: Classifier, x):
    """(n, 64) pixels -> (n, 64) hidden activations (numpy or jax, in the input's dtype)."""
    xp = jnp if isinstance(x, jax.Array) else np
    return xp.maximum(x @ xp.asarray(net.w1, x.dtype) + xp.asarray(net.b1, x.dtype)[None, :], 0.0)


def predict(net: Classifier, x: jax.Array) -> jax.Array:
    return jnp.argmax(features(net, x) @ jnp.asarray(net.w2, x.dtype) + jnp.asarray(net.b2, x.dtype)[None, :], axis=1)


def sqrtm_psd(c: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (numpy, float64)."""
    eig, vec = np.linalg.eigh((c + c.T) / 2)
    return (vec * np.sqrt(np.maximum(eig, 0.0))) @ vec.T


class FeatureGaussian(NamedTuple):
    """The Gaussian fit of the real features: mean, covariance trace and square root."""

    mean: np.ndarray
    trace: float
    root: np.ndarray


def feature_gaussian(f: np.ndarray) -> FeatureGaussian:
    f = np.asarray(f, np.float64)
    cov = np.cov(f.T, ddof=1)
    return FeatureGaussian(f.mean(0), float(np.trace(cov)), sqrtm_psd(cov))


def frechet(real: FeatureGaussian, mean: Float[Array, " k"], cov: Float[Array, "k k"]) -> Float[Array, ""]:
    """||mean - mu_r||^2 + tr(cov) + tr(C_r) - 2 tr (C_r^1/2 cov C_r^1/2)^1/2 (one symmetric
    eigenvalue problem; tr sqrt(C_r^1/2 cov C_r^1/2) = tr sqrt(cov C_r))."""
    dtype = mean.dtype
    root = jnp.asarray(real.root, dtype)
    inner = root @ cov @ root
    eig = jnp.linalg.eigvalsh(0.5 * (inner + inner.T))
    drift = jnp.sum((mean - jnp.asarray(real.mean, dtype)) ** 2)
    return jnp.maximum(drift + jnp.trace(cov) + real.trace - 2.0 * jnp.sum(jnp.sqrt(jnp.maximum(eig, 0.0))), 0.0)


def image_metrics(config, data, *, draw: Callable, elbo: Optional[Callable] = None) -> Metrics:
    """The image metrics of a family drawing pictures with draw(key, params, m) (and, for a VAE,
    scoring them with elbo(params, x, key))."""
    m, k, share = config.metrics.samples, config.metrics.k, config.metrics.mode_share
    dtype = jnp.dtype(config.precision)
    net = classifier()
    test = np.asarray(data.test, np.float64)
    test_features = features(net, test)
    real_features = samples.RealSide(test_features.astype(dtype), k, None, 0.0)
    real_pixels = samples.RealSide(np.asarray(data.test, dtype), k, None, 0.0)
    gaussian = feature_gaussian(test_features)
    data_mean = jnp.asarray(data.mean, dtype)
    data_trace = float(np.trace(data.cov))
    threshold = config.collapse_threshold
    test_x = jnp.asarray(test, dtype)

    def measure(x):
        f = features(net, x)
        out = samples.sample_metrics(real_features, f, None, mode_share=share)
        del out["mmd"]  # in pixel space below
        centred = f - jnp.mean(f, axis=0)[None, :]
        out["fd"] = frechet(gaussian, jnp.mean(f, axis=0), centred.T @ centred / (m - 1))
        counts = jnp.sum(jax.nn.one_hot(predict(net, x), CLASSES, dtype=dtype), axis=0)
        out["classes_covered"] = jnp.sum(counts >= share * m / CLASSES).astype(dtype)
        out["mmd"] = samples.mmd(real_pixels, x)
        mean = jnp.mean(x, axis=0)
        ratio = jnp.sum((x - mean[None, :]) ** 2) / (m - 1) / data_trace
        return {**out, "trace_ratio": ratio, "mean_sq_drift": jnp.sum((mean - data_mean) ** 2), "collapsed": ratio < threshold}

    def model(key, params):
        k_draw, k_elbo = jax.random.split(key)
        out = measure(draw(k_draw, params, m))
        if elbo is not None:
            # saturates (like nll_test) where a collapsed model gives a held-out picture no density:
            # a fit on copies of one picture is a point mass, its standardised residuals overflow
            out["neg_elbo_test"] = jnp.minimum(-jnp.mean(elbo(params, test_x, k_elbo)), jnp.finfo(dtype).max)
        return out

    def real(key):
        out = measure(data.sample(key, m))
        # the real distribution's own spread is exact (the training images' moments), as for points
        one = jnp.asarray(1.0, dtype)
        out.update(trace_ratio=one, mean_sq_drift=jnp.zeros((), dtype), collapsed=one < threshold)
        if elbo is not None:
            out["neg_elbo_test"] = jnp.asarray(jnp.nan, dtype)  # the real images have no model to score them
        return out

    return Metrics(model, real)
