"""Self-training of a linear classifier on two Gaussian classes, with a verifier (Feng et al. 2025).

Classes y = +-1 are equally likely and x = y mu + sigma z, z ~ N(0, I_d). The classifier is the
class-mean difference w = sum(label * x) / count (the Fisher direction for isotropic classes);
it labels a fresh x by sign(w . x). With u = y x ~ N(mu, sigma^2 I) a label is correct exactly
when w . u > 0, so with w_hat = w / |w| and kappa = w_hat . mu / sigma the labeller's accuracy is
p = Phi(kappa), and a synthetic example contributes, in expectation,

    E[keep * label * x] = (tpr p - fpr (1 - p)) mu + sigma phi(kappa) (tpr + fpr) w_hat,
    E[keep]             = tpr p + fpr (1 - p).

The first coefficient is positive exactly when the kept examples are more than half correct. As
n_syn -> infinity each generation is this deterministic map, and every vector stays in the plane
of mu and w_1: if tpr p_1 > fpr (1 - p_1) the angle to mu shrinks every generation and the
classifier recovers the Bayes accuracy Phi(|mu| / sigma); if it is below, the angle grows and the
accuracy falls to 1 - Phi(|mu| / sigma) (Feng et al.'s threshold, in a self-consuming loop).

`trajectory` iterates the map for the replace, fresh and accumulate loops, starting from the
generation-1 fit on n_init real points, w_1 = mu + sigma zbar with zbar ~ N(0, I / n_init), whose
law it integrates by quadrature (Gauss-Hermite along mu, generalised Gauss-Laguerre for the norm of
the orthogonal part): the expectation over loops, with only the synthetic (and fresh real) batches
taken at their large-sample values.

That is a limit, not the expectation at finite n_syn: each batch also adds noise of order 1/n_syn
to the direction, and near the Bayes classifier, where accuracy is at its maximum, the mean
accuracy falls short of the limit by O(d / n_syn) while its spread over loops is of the same order,
so no number of loops makes the two agree within a few standard errors there. Away from the
optimum (before recovery, or when the loop degrades) the limit is within a few SE of the
simulations (tests/test_classifier.py). It is therefore not attached as a `_theory` variable;
`limit(config)` gives it for a config, for figures and experiments that say what it is.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gamma as gamma_fn
from scipy.special import roots_genlaguerre, roots_hermitenorm
from scipy.stats import norm


def _start(n_init: int, dim: int, margin: float, sigma: float, nodes: int):
    """Quadrature nodes (w_1 in plane coordinates (along mu, orthogonal), shape (N, 2)) and weights."""
    g, wg = roots_hermitenorm(nodes)
    wg = wg / wg.sum()
    if dim == 1:
        r, wr = np.zeros(1), np.ones(1)
    else:
        alpha = (dim - 1) / 2 - 1  # |zbar_perp|^2 n / 2 ~ Gamma((d - 1) / 2)
        x, wr = roots_genlaguerre(max(nodes // 4, 16), alpha)
        r, wr = np.sqrt(2 * x), wr / gamma_fn(alpha + 1)
    scale = sigma / np.sqrt(n_init)
    along = margin + scale * g[:, None] + 0 * r[None, :]
    across = scale * r[None, :] + 0 * g[:, None]
    weights = (wg[:, None] * wr[None, :]).ravel()
    return np.stack([along.ravel(), across.ravel()], -1), weights / weights.sum()


def _accuracy(w: np.ndarray, margin: float, sigma: float) -> np.ndarray:
    norm_w = np.linalg.norm(w, axis=-1)
    return norm.cdf(np.where(norm_w > 0, w[:, 0] / np.where(norm_w > 0, norm_w, 1.0), 0.0) * margin / sigma)


def _expected_example(w: np.ndarray, margin: float, sigma: float, tpr: float, fpr: float):
    """(E[keep * label * x] in plane coordinates, E[keep]) for a labeller w (N, 2)."""
    norm_w = np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-300)
    w_hat = w / norm_w
    kappa = w_hat[:, 0] * margin / sigma
    p = norm.cdf(kappa)
    mu = np.array([margin, 0.0])
    signed = (tpr * p - fpr * (1 - p))[:, None] * mu + (sigma * norm.pdf(kappa) * (tpr + fpr))[:, None] * w_hat
    return signed, tpr * p + fpr * (1 - p)


def trajectory(
    *, loop: str, generations: int, n_init: int, n_syn: int, n_real: int, dim: int, margin: float,
    sigma: float, tpr: float, fpr: float, nodes: int = 256,
) -> dict[str, np.ndarray]:
    """Expected accuracy, alignment cos(w, mu) and share of loops below chance (accuracy < 1/2) for
    generations 0..G, for loop in ("replace", "fresh", "accumulate"); generation 0 is the Bayes
    classifier mu."""
    w, weight = _start(n_init, dim, margin, sigma, nodes)
    mu = np.array([margin, 0.0])
    total, count = n_init * w, float(n_init)  # the accumulating pool (sum of label * x, examples)
    rows = [mu[None, :].repeat(len(w), 0), w]
    for _ in range(generations - 1):
        signed, keep = _expected_example(w, margin, sigma, tpr, fpr)
        if loop == "replace":
            w = signed / keep[:, None]
        elif loop == "fresh":
            w = (n_real * mu + n_syn * signed) / (n_real + n_syn * keep)[:, None]
        elif loop == "accumulate":
            total = total + n_syn * signed
            count = count + n_syn * keep
            w = total / count[:, None]
        else:
            raise ValueError(f"no classification theory for loop={loop}")
        rows.append(w)
    acc = np.stack([_accuracy(r, margin, sigma) for r in rows])  # (G + 1, N)
    cos = np.stack([r[:, 0] / np.maximum(np.linalg.norm(r, axis=-1), 1e-300) for r in rows])
    return {"accuracy": acc @ weight, "alignment": cos @ weight, "collapsed": (acc < 0.5) @ weight}


def limit(config) -> dict[str, np.ndarray]:
    """`trajectory` for a model=classifier config: {} for loops it does not follow (augment: the
    fixed real set is part of the first fit; a real_weight mix: the kept count's noise moves the
    direction at first order)."""
    from mad.loops import loop_spec

    spec, cfg, v = loop_spec(config.loop.name), config.loop, config.verifier
    kind = "replace" if spec.fully_synthetic else "accumulate" if spec.accumulates else "fresh" if spec.real == "fresh" else None
    if kind is None or cfg.real_weight is not None:
        return {}
    return trajectory(
        loop=kind, generations=config.generations, n_init=cfg.init_size, n_syn=cfg.n_syn, n_real=cfg.n_real,
        dim=config.data.dim, margin=config.data.spread / 2, sigma=config.data.scale, tpr=v.tpr, fpr=v.fpr,
    )  # fmt: skip


def threshold(tpr: float, fpr: float) -> float:
    """The labeller accuracy p* = fpr / (tpr + fpr) above which the kept examples are more than
    half correct (tpr p > fpr (1 - p)): self-training recovers above it and degrades below."""
    return fpr / (tpr + fpr)
