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

`trajectory` follows the replace, fresh and accumulate loops from the generation-1 fit on n_init
real points, w_1 = mu + sigma zbar with zbar ~ N(0, I / n_init), whose law it integrates exactly
by quadrature (Gauss-Hermite along mu, generalised Gauss-Laguerre for the norm of the orthogonal
part). After that each batch adds, besides the map, noise of order 1/n_syn: a batch's sum has the
mean above and the covariance of one example (truncated Gaussian second moments, `_example`) times
n_syn, and the state's mean and covariance are carried through the map to second order by central
differences along the covariance's eigenvectors (Stirling interpolation; the law is symmetric
about the plane of mu and w_1, so the d - 2 orthogonal directions are one direction counted d - 2
times). Near the Bayes rule, where accuracy is maximal, that noise is the whole story (the mean
falls short of the map by O(d / n_syn), with a spread of the same order), so the noise-free map
(`limit=True`) alone would miss by many SE; the expansion's error is of second order in
(d - 1) / n_syn, and `predict` draws it only where that is at most SMALL_NOISE and the verifier
is no worse than keeping at random (fpr <= tpr: otherwise loops linger at the unstable threshold
above 1/2 and leave it by noise, which an expansion about the mean does not follow).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gamma as gamma_fn
from scipy.special import ndtr, roots_genlaguerre, roots_hermitenorm


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
    return ndtr(np.where(norm_w > 0, w[..., 0] / np.where(norm_w > 0, norm_w, 1.0), 0.0) * margin / sigma)


def _cosine(w: np.ndarray) -> np.ndarray:
    return w[..., 0] / np.maximum(np.linalg.norm(w, axis=-1), 1e-300)


def _example(w: np.ndarray, margin: float, sigma: float, tpr: float, fpr: float):
    """Mean (N, d) and covariance (N, d, d) of one synthetic example's keep * label * x for
    labellers w (N, d). With u = y x = a w_hat + u_perp, a ~ N(alpha, sigma^2) independent of
    u_perp ~ N(mu_perp, sigma^2 (I - w_hat w_hat^T)), the label is right iff a > 0, and the
    truncated moments of a give both."""
    d = w.shape[-1]
    w_hat = w / np.maximum(np.linalg.norm(w, axis=-1, keepdims=True), 1e-300)
    mu = np.zeros(d)
    mu[0] = margin
    alpha = w_hat @ mu
    kappa = alpha / sigma
    cdf, pdf = ndtr(kappa), np.exp(-0.5 * kappa**2) / np.sqrt(2 * np.pi)  # the standard normal's (scipy.stats costs 0.5 s to import)
    mu_perp = mu - alpha[:, None] * w_hat
    outer = lambda a, b: a[:, :, None] * b[:, None, :]  # noqa: E731
    perp = np.eye(d) - outer(w_hat, w_hat)
    within = outer(mu_perp, mu_perp) + sigma**2 * perp
    parts = []
    for p, first, second in (
        (cdf, alpha * cdf + sigma * pdf, (alpha**2 + sigma**2) * cdf + alpha * sigma * pdf),
        (1 - cdf, alpha * (1 - cdf) - sigma * pdf, (alpha**2 + sigma**2) * (1 - cdf) - alpha * sigma * pdf),
    ):
        mean = first[:, None] * w_hat + p[:, None] * mu_perp
        moment = second[:, None, None] * outer(w_hat, w_hat) + first[:, None, None] * (outer(w_hat, mu_perp) + outer(mu_perp, w_hat))
        parts.append((mean, moment + p[:, None, None] * within))
    (right, right2), (wrong, wrong2) = parts
    mean = tpr * right - fpr * wrong
    return mean, tpr * right2 + fpr * wrong2 - outer(mean, mean)


def _offsets(cov: np.ndarray, copies: int):
    """[(offset (N, D), multiplicity)]: the sigma points' offsets sqrt(lambda_k) e_k of the
    eigenpairs of the plane block of cov (the plane of mu and w_1), and, for d >= 3, one offset
    along e_3 standing for each of the d - 2 equivalent directions orthogonal to the plane (the
    law is symmetric about the plane, so cov is block diagonal and isotropic there)."""
    lam, vec = np.linalg.eigh(cov[:, :2, :2])
    out = []
    for k in range(lam.shape[-1]):
        offset = np.zeros(cov.shape[:2])
        offset[:, :2] = vec[:, :, k] * np.sqrt(np.maximum(lam[:, k], 0.0))[:, None]
        out.append((offset, 1))
    if cov.shape[-1] == 3:
        offset = np.zeros(cov.shape[:2])
        offset[:, 2] = np.sqrt(np.maximum(cov[:, 2, 2], 0.0))
        out.append((offset, copies))
    return out


def _expect(f, x: np.ndarray, cov: np.ndarray, copies: int) -> np.ndarray:
    """E f(v) for v ~ N(x, cov) to second order (central differences along the eigenvectors)."""
    centre = f(x)
    out = centre.copy()
    for offset, times in _offsets(cov, copies):
        out = out + 0.5 * times * (f(x + offset) + f(x - offset) - 2 * centre)
    return out


def _propagate(g, x: np.ndarray, cov: np.ndarray, copies: int):
    """Mean and covariance of g(v), v ~ N(x, cov), to second order (Stirling interpolation); an
    orthogonal direction's spread maps onto itself only, so it is not multiplied."""
    centre = g(x)
    mean, spread = centre.copy(), np.zeros(cov.shape)
    for offset, times in _offsets(cov, copies):
        plus, minus = g(x + offset), g(x - offset)
        mean = mean + 0.5 * times * (plus + minus - 2 * centre)
        half = 0.5 * (plus - minus)
        spread = spread + half[:, :, None] * half[:, None, :]
    return mean, spread


def trajectory(
    *, loop: str, generations: int, n_init: int, n_syn: int, n_real: int, dim: int, margin: float,
    sigma: float, tpr: float, fpr: float, nodes: int = 64, limit: bool = False,
) -> dict[str, np.ndarray]:
    """Expected accuracy and alignment cos(w, mu) for generations 0..G, for loop in ("replace", "fresh", "accumulate"); generation 0 is the Bayes
    classifier mu. The first fit's law is integrated by quadrature; every later batch adds its
    mean and its covariance / n, carried to second order (`_propagate`); `limit=True` drops that
    noise (the n_syn -> infinity map)."""
    start, weight = _start(n_init, dim, margin, sigma, nodes)
    # Coordinates: along mu, across in the plane of w_1, and (d >= 3) one orthogonal direction
    # standing for the d - 2 equivalent ones (`_offsets`).
    copies, dim = max(dim - 2, 0), min(dim, 3)
    w = np.zeros((len(start), dim))
    w[:, : min(dim, 2)] = start[:, : min(dim, 2)]
    mu = np.zeros(dim)
    mu[0] = margin
    scale = {"replace": 1.0, "fresh": 1.0, "accumulate": float(n_init)}
    if loop not in scale:
        raise ValueError(f"no classification theory for loop={loop}")
    x, cov = scale[loop] * w, np.zeros((len(w), dim, dim))  # the state: w itself, or the pool's sum
    noise = 0.0 if limit else 1.0

    def step(v):
        mean, _ = _example(v, margin, sigma, tpr, fpr)
        if loop == "replace":
            return mean
        if loop == "fresh":
            return (n_real * mu + n_syn * mean) / (n_real + n_syn)
        return v + n_syn * mean

    def added(v):  # covariance the batch adds, at the state's mean
        _, c = _example(v, margin, sigma, tpr, fpr)
        if loop == "replace":
            return c / n_syn
        if loop == "fresh":
            return (n_real * sigma**2 * np.eye(dim) + n_syn * c) / (n_real + n_syn) ** 2
        return n_syn * c

    acc, cos = [np.full(len(w), ndtr(margin / sigma)), _accuracy(x, margin, sigma)], [np.ones(len(w)), _cosine(x)]
    for _ in range(generations - 1):
        mean, spread = _propagate(step, x, cov, copies)
        x, cov = mean, spread + noise * added(x)
        acc.append(_expect(lambda v: _accuracy(v, margin, sigma), x, cov, copies))
        cos.append(_expect(_cosine, x, cov, copies))
    return {"accuracy": np.stack(acc) @ weight, "alignment": np.stack(cos) @ weight}


SMALL_NOISE = 0.1  # (d - 1) / n_syn up to which the second-order expansion is drawn as theory


def _for(config, limit: bool) -> dict[str, np.ndarray]:
    from mad.loops import loop_spec

    spec, cfg, v = loop_spec(config.loop.name), config.loop, config.verifier
    kind = "replace" if spec.fully_synthetic else "accumulate" if spec.accumulates else "fresh" if spec.real == "fresh" else None
    if kind is None or cfg.real_weight is not None:
        return {}
    return trajectory(
        loop=kind, generations=config.generations, n_init=cfg.init_size, n_syn=cfg.n_syn, n_real=cfg.n_real,
        dim=config.data.dim, margin=config.data.spread / 2, sigma=config.data.scale, tpr=v.tpr, fpr=v.fpr, limit=limit,
    )  # fmt: skip


def predict(config) -> dict[str, np.ndarray]:
    """E accuracy and E alignment per generation for a model=classifier config (its `_theory`
    variables): {} for loops it does not follow (augment: the fixed real set is part of the first
    fit; a real_weight mix: the kept count's noise moves the direction at first order), and where
    the batches' direction noise is not small, (d - 1) / n_syn > SMALL_NOISE (the expansion is
    second order in it). Nor where the verifier keeps wrong labels more readily than right ones
    (fpr > tpr): the threshold p* = fpr / (tpr + fpr) then lies above 1/2, an unstable balance that
    loops started near it leave by the batches' noise, which a second-order expansion about the
    mean does not follow (the noise-free map, `limit`, still shows where they go)."""
    if (config.data.dim - 1) / config.loop.n_syn > SMALL_NOISE or config.verifier.fpr > config.verifier.tpr:
        return {}
    return _for(config, limit=False)


def limit(config) -> dict[str, np.ndarray]:
    """The n_syn -> infinity map (no batch noise) for a model=classifier config, as `predict`."""
    return _for(config, limit=True)


def threshold(tpr: float, fpr: float) -> float:
    """The labeller accuracy p* = fpr / (tpr + fpr) above which the kept examples are more than
    half correct (tpr p > fpr (1 - p)): self-training recovers above it and degrades below."""
    return fpr / (tpr + fpr)
