"""Verification of labelled synthetic data (Feng et al., ICLR 2025, "Beyond model collapse: scaling
up with synthesized data requires verification").

A verifier sees each synthetic example and keeps it with probability `tpr` when its label is
correct and `fpr` when it is wrong. Only the family knows whether a synthetic label is correct
(it drew the example's true class), so a family with `FamilySpec.verification` applies `kept`
inside its synthetic draws; this module holds the rule and its validation. Of the kept examples
the share tpr p / (tpr p + fpr (1 - p)) is correct (p: the labeller's accuracy), and whether that
share exceeds one half decides whether self-training recovers or degrades
(mad.theory.classification).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from mad.config import Config, ConfigError, VerifierConfig


def kept(key: jax.Array, correct: jax.Array, cfg: VerifierConfig) -> jax.Array:
    """Boolean mask of the examples the verifier keeps, given whether each label is correct."""
    if not cfg.active:
        return jnp.ones(correct.shape, bool)
    return jax.random.uniform(key, correct.shape) < jnp.where(correct, cfg.tpr, cfg.fpr)


def correct_share(accuracy, cfg: VerifierConfig):
    """The share of correct labels among the kept examples, for a labeller of this accuracy."""
    right, wrong = cfg.tpr * accuracy, cfg.fpr * (1.0 - accuracy)
    return right / (right + wrong)


def validate(config: Config) -> None:
    """ConfigError naming the verifier key at fault, before anything compiles."""
    from mad.families import FAMILIES, family_spec

    cfg = config.verifier
    for key in ("tpr", "fpr"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ConfigError(f"verifier.{key}={value!r} must be a probability in [0, 1]")
    if cfg.tpr + cfg.fpr == 0:
        raise ConfigError("verifier.tpr=0 and verifier.fpr=0 keep no synthetic example: raise one of them")
    if cfg.active and not family_spec(config.model.name).verification:
        able = " or ".join(f"model={name}" for name, spec in FAMILIES.items() if spec.verification)
        raise ConfigError(
            f"verifier.tpr={cfg.tpr}, verifier.fpr={cfg.fpr}: a verifier checks labels, and model={config.model.name} has none; "
            f"use {able}"
        )
