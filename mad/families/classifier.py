"""A linear classifier that labels its own training data (self-training), with a verifier.

The real data are two Gaussian classes (data=two_classes): y = +-1 equally likely, x = y mu +
sigma z. The model is the class-mean difference w = sum(label * x) / count, the Fisher direction
for isotropic classes, which labels x by sign(w . x). A synthetic example is a fresh x of the
data's law (its true class drawn with it) labelled by the current model; a verifier (config group
`verifier`, mad.loops.verification) keeps it with probability tpr if that label is right and
fpr if it is wrong (Feng et al., ICLR 2025). A sample is summarised exactly by sum(label * x) and
its size, so every generation costs O(n d) draws and O(d) state, and pools are sums.
mad.theory.classification has the large-sample map and its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm
from jaxtyping import Array, Float

from mad.config import VerifierConfig
from mad.families.base import FamilySpec, pool, summed_family
from mad.loops import verification


class Examples(NamedTuple):
    """A labelled sample, summarised: sums over its (kept) examples."""

    signed: Float[Array, " d"]  # sum of label * x
    count: Float[Array, ""]  # examples (after verification)
    drawn: Float[Array, ""]  # synthetic examples drawn (0 for real data)
    kept: Float[Array, ""]  # synthetic examples the verifier kept
    wrong: Float[Array, ""]  # kept synthetic examples whose label is wrong


class ClassifierParams(NamedTuple):
    weights: Float[Array, " d"]
    kept_share: Float[Array, ""]  # of the synthetic examples in the fit: share kept (0: none drawn)
    wrong_share: Float[Array, ""]  # of those kept: share wrongly labelled (0: none kept)


def merge(a: Examples, b: Examples, weight_a=None) -> Examples:
    signed, count = pool(a.signed, a.count, b.signed, b.count, weight_a)
    return Examples(signed, count, a.drawn + b.drawn, a.kept + b.kept, a.wrong + b.wrong)


def family(*, mean, scale: float, verifier: VerifierConfig, dtype):
    mu = jnp.asarray(mean, dtype)
    dim = mu.shape[0]
    zero = jnp.zeros((), dtype)
    reference = ClassifierParams(mu, zero, zero)

    def examples(key, n):
        k_class, k_noise = jax.random.split(key)
        y = jnp.where(jax.random.bernoulli(k_class, 0.5, (n,)), 1.0, -1.0).astype(dtype)
        return y, y[:, None] * mu[None, :] + scale * jax.random.normal(k_noise, (n, dim), dtype)

    def real(key, n):
        y, x = examples(key, n)
        return Examples(y @ x, jnp.asarray(n, dtype), zero, zero, zero)

    def synthetic(key, params, n, lam):
        k_examples, k_verify = jax.random.split(key)
        y, x = examples(k_examples, n)
        label = jnp.where(x @ params.weights >= 0, 1.0, -1.0).astype(dtype)
        correct = label == y
        keep = verification.kept(k_verify, correct, verifier).astype(dtype)
        kept = jnp.sum(keep)
        return Examples((keep * label) @ x, kept, jnp.asarray(n, dtype), kept, jnp.sum(keep * ~correct))

    def fit(key, frame, stats: Examples) -> ClassifierParams:
        some = stats.count > 0  # a verifier may drop a whole synthetic sample: keep the model
        weights = jnp.where(some, stats.signed / jnp.where(some, stats.count, 1.0), frame.weights)
        return ClassifierParams(weights, stats.kept / jnp.maximum(stats.drawn, 1.0), stats.wrong / jnp.maximum(stats.kept, 1.0))

    fam = summed_family(reference=reference, real=real, synthetic=synthetic, merge=merge, fit=fit, what="labelled examples")
    return fam._replace(diagnostics=lambda p: {"kept_share": p.kept_share, "wrong_share": p.wrong_share})


def measure(mu, scale: float):
    """Closed-form metrics of a classifier against the true classes."""
    margin = jnp.linalg.norm(mu)

    def metrics(reference, params) -> dict:
        w = params.weights
        size = jnp.linalg.norm(w)
        cos = jnp.where(size > 0, (w @ mu) / jnp.where(size > 0, size, 1.0) / margin, 0.0)
        accuracy = norm.cdf(cos * margin / scale)
        return {"accuracy": accuracy, "alignment": cos, "collapsed": accuracy < 0.5}

    return metrics


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class ClassifierConfig:
    """model=classifier: the class-mean difference, relabelling its own data (no keys of its own)."""

    name: str = "classifier"


def _metrics(config, fam, data):
    from mad.metrics import closed_form_metrics

    return closed_form_metrics(fam, measure(jnp.asarray(data.mean, jnp.dtype(config.precision)), data.scale))


def _theory(config, loop) -> dict:
    from mad.theory import classification

    return classification.predict(config)


def _docs():
    return {
        "accuracy": "probability that the classifier labels a fresh example of the real classes correctly: Phi(cos(w, mu) |mu| / sigma)",
        "alignment": "cosine between the classifier's direction and the true one (1: Bayes, -1: inverted)",
        "collapsed": "the classifier is worse than chance (accuracy < 1/2; mean: share of loops)",
        "kept_share": "share of the fit's synthetic examples the verifier kept (diagnostic: the verifier's cost; 0 in generation 1)",
        "wrong_share": "share of wrong labels among the kept synthetic examples (diagnostic; below 1/2 it recovers; 0 when none)",
    }


SPEC = FamilySpec(
    name="classifier",
    doc="linear classifier labelling its own data, with a verifier (Feng et al.)",
    config=ClassifierConfig,
    data=("two_classes",),
    build=lambda config, data: family(mean=data.mean, scale=data.scale, verifier=config.verifier, dtype=jnp.dtype(config.precision)),
    metrics=_metrics,
    metric_docs=_docs,
    draws_points=False,
    sampling_bias=False,
    verification=True,
    theory=_theory,
)
