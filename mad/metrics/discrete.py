"""Metrics of the counting families against their real distribution, in closed form.

categorical: support_size (symbols the model can still draw), tail_mass_lost (real probability of
the symbols it cannot), entropy (nats), kl_fwd = KL(real || model) (saturating at the largest
finite number once a real symbol is lost), tv (total variation distance), sq_error = ||p_t - p||^2.
poisson: rate_ratio = rate_t / rate_0, rate_sq_error = (rate_t / rate_0 - 1)^2, and alive (1 while
the rate is not zero).
linreg: test_error, the excess risk ||w_t - w*||^2 on isotropic test inputs.
"""

from __future__ import annotations

import jax.numpy as jnp

DOCS = {
    "support_size": "symbols the model can still draw",
    "tail_mass_lost": "real probability mass of the symbols the model has lost",
    "entropy": "entropy of the model (nats)",
    "kl_fwd": "KL(real || model), saturating at the largest finite number once a symbol is lost",
    "tv": "total variation distance to the real distribution",
    "sq_error": "squared Euclidean distance ||p_t - p||^2 of the probabilities to the real ones",
    "rate_ratio": "fitted rate over the real rate",
    "rate_sq_error": "relative squared error (rate_t / rate_0 - 1)^2 of the fitted rate",
    "alive": "1 while the fitted rate is above zero (its mean: the survival probability)",
    "test_error": "excess risk ||w_t - w*||^2 on isotropic test inputs",
}
# Each family's collapse criterion: the state a loop cannot come back from, or from which it
# would take more than 1 / collapse_threshold to recover.
COLLAPSED_DOCS = {
    "categorical": "one symbol left: the chain is absorbed and can never draw another",
    "poisson": "the rate is absorbed at zero (1 - alive)",
    "linreg": "the excess risk exceeds ||w*||^2 / collapse_threshold: the fit is noise",
}


def _xlogy_ratio(p, q):
    """sum p log(p / q) over p > 0; the largest finite number where some q is 0 but p is not."""
    lost = (p > 0) & (q <= 0)
    safe_p, safe_q = jnp.where(p > 0, p, 1.0), jnp.where(q > 0, q, 1.0)
    kl = jnp.sum(jnp.where(p > 0, p * (jnp.log(safe_p) - jnp.log(safe_q)), 0.0))
    return jnp.where(jnp.any(lost), jnp.finfo(kl.dtype).max, jnp.maximum(kl, 0.0))


def categorical(real_probs, probs) -> dict:
    alive = probs > 0
    log_p = jnp.log(jnp.where(alive, probs, 1.0))
    return {
        "support_size": jnp.sum(alive).astype(probs.dtype),
        "tail_mass_lost": jnp.sum(jnp.where(alive, 0.0, real_probs)),
        "entropy": -jnp.sum(jnp.where(alive, probs * log_p, 0.0)),
        "kl_fwd": _xlogy_ratio(real_probs, probs),
        "tv": 0.5 * jnp.sum(jnp.abs(real_probs - probs)),
        "sq_error": jnp.sum((probs - real_probs) ** 2),
        "collapsed": jnp.sum(alive) <= 1,
    }


def poisson(real_rate, rate) -> dict:
    ratio = rate / real_rate
    return {"rate_ratio": ratio, "rate_sq_error": (ratio - 1) ** 2, "alive": (rate > 0).astype(rate.dtype), "collapsed": rate <= 0}


def linreg(real_weights, weights, collapse_threshold: float) -> dict:
    error = jnp.sum((weights - real_weights) ** 2)
    return {"test_error": error, "collapsed": error * collapse_threshold > jnp.sum(real_weights**2)}
