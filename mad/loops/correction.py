"""Self-correction (Gillman et al., ICML 2024, "Self-correcting self-consuming loops for
generative model training"): the synthetic data a loop trains on are drawn from the corrected law

    pi_gamma p_theta = (p_theta + gamma p*) / (1 + gamma),

where p* is the distribution the model should have (their p_theta*; here the real distribution,
which it is for a family that contains the data's law). Drawing from that mixture point by point:
each synthetic point is, independently with probability s = gamma / (1 + gamma), replaced by a
draw of the real distribution. This is the paper's idealised corrector (one that knows the
truth); a practical corrector approximates it. Like curation it is a loop stage: any family that
draws points, real and synthetic, can be corrected, and the loop sees a family whose synthetic
draws are corrected. mad.theory.gaussian carries the corrected moment recursions.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from mad.config import Config, ConfigError
from mad.families.base import Family
from mad.loops.curation import with_picked


def share(gamma: float) -> float:
    """The probability s = gamma / (1 + gamma) that a synthetic point is replaced by a real one."""
    return gamma / (1.0 + gamma)


def corrected(family: Family, gamma: float) -> Family:
    """`family` whose synthetic draws come from (p_theta + gamma p*) / (1 + gamma); gamma = 0: itself."""
    if gamma == 0.0:
        return family
    s = share(gamma)

    def pick(key, params, n, lam):
        k_model, k_real, k_coin = jax.random.split(key, 3)
        model = family.draw(k_model, params, n, lam)
        real = family.draw(k_real, None, n, lam)
        replaced = jax.random.bernoulli(k_coin, s, (n,))
        return jnp.where(replaced[:, None], real.astype(model.dtype), model)

    return with_picked(family, pick)


def validate(config: Config) -> None:
    """ConfigError naming correction.gamma, before anything compiles."""
    from mad.families import FAMILIES, family_spec

    gamma = config.correction.gamma
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not math.isfinite(gamma) or gamma < 0:
        raise ConfigError(f"correction.gamma={gamma!r} must be a finite number >= 0 (0: no correction)")
    if gamma == 0:
        return
    family = family_spec(config.model.name)
    if not family.curation:  # the same capability: it draws points in the data frame, real and synthetic
        able = " or ".join(f"model={name}" for name, spec in FAMILIES.items() if spec.curation)
        raise ConfigError(f"correction.gamma={gamma} replaces drawn points by real ones: it needs {able} (got model={config.model.name})")
    if getattr(config.model, "backend", "samples") != "samples":
        raise ConfigError(f"correction.gamma={gamma} mixes drawn points: use model.backend=samples")
    from mad.loops import schedule

    if schedule.of(config) is not None:
        raise ConfigError(f"correction.gamma={gamma} draws a static number of points: use it with schedule.n_syn=constant")
