"""Truncated sampling iterated on a categorical distribution: the limit of infinitely many samples
(docs/theory.md section 5, truncated sampling).

With n -> infinity a refit reproduces the sampling distribution exactly, so a self-consuming loop
that samples with temperature tau, top-k or top-p is a deterministic map on the probability vector:
    temperature   p -> p^(1/tau) / sum p^(1/tau), so after t generations p_t = p^(tau^-t) normalised
                  (Marchi et al. 2024, "Heat death of generative models in closed-loop learning");
    top-k         keep the k most probable symbols, renormalise (one step, then a fixed point);
    top-p         keep the smallest set of most probable symbols whose mass reaches p, renormalise.
The functions here are numpy references of that map (float64, log space), the n -> infinity limit
of the simulated loop: with finite n the absorbing chain of `mad.theory.discrete` loses further
symbols on top of it, so the simulation lies at or below these support sizes.
"""

from __future__ import annotations

import numpy as np


def _keep(q: np.ndarray, kept_ranked) -> np.ndarray:
    """q restricted to the symbols whose rank (most probable first) `kept_ranked` marks, renormalised."""
    order = np.argsort(-q, kind="stable")
    keep = np.zeros(q.shape, bool)
    keep[order] = kept_ranked(q[order]) & (q[order] > 0)
    q = np.where(keep, q, 0.0)
    return q / q.sum()


def truncate(probs: np.ndarray, *, temperature: float = 1.0, top_k: int | None = None, top_p: float = 1.0) -> np.ndarray:
    """One sampling distribution: temperature, then top-k, then top-p (the order of common
    generation code), each renormalised; symbols of probability zero stay at zero. Top-p keeps a
    symbol when the mass of the more probable ones is below p (the smallest set reaching p)."""
    p = np.asarray(probs, np.float64)
    alive = p > 0
    log_p = np.where(alive, np.log(np.where(alive, p, 1.0)), -np.inf) / temperature
    q = np.where(alive, np.exp(log_p - np.max(log_p)), 0.0)
    q /= q.sum()
    if top_k is not None:
        q = _keep(q, lambda ranked: np.arange(ranked.size) < top_k)
    if top_p < 1.0:
        q = _keep(q, lambda ranked: np.cumsum(ranked) - ranked < top_p)
    return q


def iterate(probs: np.ndarray, generations: int, **sampling) -> np.ndarray:
    """(G + 1, V): the distribution of every generation, p_0 = probs, p_{t+1} = truncate(p_t)."""
    out = [np.asarray(probs, np.float64)]
    for _ in range(generations):
        out.append(truncate(out[-1], **sampling))
    return np.stack(out)


def tempered_power(probs: np.ndarray, temperature: float, t: int) -> np.ndarray:
    """Marchi et al.'s closed form of t temperature steps: p^(tau^-t), normalised (log space)."""
    p = np.asarray(probs, np.float64)
    log_p = np.log(p) * temperature ** (-float(t))
    return np.exp(log_p - np.logaddexp.reduce(log_p))


def summary(path: np.ndarray, real: np.ndarray) -> dict[str, np.ndarray]:
    """The categorical metrics of each generation of a deterministic path (support size, lost real
    mass, entropy in nats), to set beside a simulation's."""
    alive = path > 0
    logs = np.log(np.where(alive, path, 1.0))
    return {
        "support_size": alive.sum(axis=1).astype(float),
        "tail_mass_lost": np.sum(np.where(alive, 0.0, real[None, :]), axis=1),
        "entropy": -np.sum(np.where(alive, path * logs, 0.0), axis=1),
    }
