"""Curation: the synthetic points a loop trains on are picked among more candidates.

Two stages, both loop concerns rather than a family's: any family that can draw points (and, where
the choice needs it, score them with `Family.log_prob`) can be curated, and the loop sees a family
whose synthetic draws are the kept points.

- Cherry-picking (`loop.keep`; MAD, sec. 5: quality over diversity) draws ceil(n / keep)
  candidates and keeps the n the model finds most likely (the highest log-density).
- Curation by reward (config group `curation`; Ferbach et al. 2024, "Self-consuming generative
  models with curated data provably optimize human preferences") chooses each of the n points
  among K candidates: by a Bradley-Terry draw, P(x_i) = exp(r(x_i)) / sum_j exp(r(x_j)), or as
  the best one. As K -> infinity the Bradley-Terry choice draws from p(x) exp(r(x)) / Z, so for a
  Gaussian and the quadratic reward -gamma/2 ||x - x*||^2 each generation adds gamma to the
  precision and moves the mean towards x* (mad.theory.curation has that limit).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from mad.config import Config, ConfigError, CurationConfig
from mad.families.base import Family


def curated(family: Family, keep: float) -> Family:
    """`family` with synthetic data cherry-picked: the share `keep` in (0, 1] of its draws with the
    highest model log-density (keep = 1: the family itself). Real draws are never curated."""
    if keep >= 1.0:
        return family
    if family.log_prob is None:
        raise ValueError("curation needs a family that scores its draws (Family.log_prob)")

    def pick(key, params, n, lam):
        candidates = family.draw(key, params, int(math.ceil(n / keep)), lam)
        _, rows = jax.lax.top_k(family.log_prob(params, candidates), n)
        return candidates[rows]

    return with_picked(family, pick)


def reward_fn(cfg: CurationConfig, family: Family):
    """r(params, x) for the rows of x (n, d)."""
    gamma = cfg.gamma
    if cfg.reward == "quadratic":
        return lambda params, x: -0.5 * gamma * (jnp.sum(x * x, axis=-1) - 2 * cfg.target * x[..., 0] + cfg.target**2)
    if cfg.reward == "linear":
        return lambda params, x: gamma * x[..., 0]
    return lambda params, x: gamma * family.log_prob(params, x)


def rewarded(family: Family, cfg: CurationConfig) -> Family:
    """`family` with every synthetic point chosen among cfg.candidates draws by its reward."""
    if cfg.reward == "none":
        return family
    reward, k = reward_fn(cfg, family), cfg.candidates

    def pick(key, params, n, lam):
        k_draw, k_choose = jax.random.split(key)
        candidates = family.draw(k_draw, params, n * k, lam)
        grouped = candidates.reshape(n, k, candidates.shape[-1])
        scores = reward(params, candidates).reshape(n, k)
        if cfg.choice == "bt":
            rows = jax.random.categorical(k_choose, scores, axis=-1)  # P(i) = softmax(r)_i
        else:
            rows = jnp.argmax(scores, axis=-1)
        return jnp.take_along_axis(grouped, rows[:, None, None], axis=1)[:, 0]

    return with_picked(family, pick)


def with_picked(family: Family, pick) -> Family:
    def draw(key, params, n, lam):
        return family.draw(key, None, n, lam) if params is None else pick(key, params, n, lam)

    def synthetic(key, params, n, lam):
        # Kept points summarised in the model's frame, as the family's own synthetic draws are.
        return family.into_frame(params, family.summarize(pick(key, params, n, lam)))

    return family._replace(draw=draw, synthetic=synthetic)


def validate(config: Config) -> None:
    """ConfigError naming the curation key at fault, before anything compiles."""
    from mad.config import CHOICES, REWARDS, choice, integer
    from mad.families import FAMILIES, family_spec

    cfg = config.curation
    choice("curation.reward", cfg.reward, REWARDS)
    choice("curation.choice", cfg.choice, CHOICES)
    integer("curation.candidates", cfg.candidates, 1)
    for key in ("gamma", "target"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"curation.{key}={value!r} must be a finite number")
    if cfg.gamma < 0:
        raise ConfigError(f"curation.gamma={cfg.gamma!r} must be >= 0 (the reward's strength)")
    if cfg.reward == "none":
        return
    family = family_spec(config.model.name)
    if not family.curation:
        able = " or ".join(f"model={name}" for name, spec in FAMILIES.items() if spec.curation)
        raise ConfigError(f"curation.reward={cfg.reward} needs a family that draws points: {able} (got model={config.model.name})")
    if getattr(config.model, "backend", "samples") != "samples":
        raise ConfigError(f"curation.reward={cfg.reward} chooses among drawn points: use model.backend=samples")
    if config.loop.keep < 1.0:
        raise ConfigError(f"curation.reward={cfg.reward} and loop.keep={config.loop.keep} both curate: use one (keep is reward=density with choice=argmax)")
    from mad.loops import schedule

    if schedule.of(config) is not None:
        raise ConfigError(f"curation.reward={cfg.reward} draws a static number of candidates: use it with schedule.n_syn=constant")
    lanes = config.loop.n_syn * cfg.candidates
    if lanes > 2**24:
        raise ConfigError(f"curation.candidates={cfg.candidates} x loop.n_syn={config.loop.n_syn} = {lanes} candidates per generation; keep it <= 2^24")


# ----------------------------------------------------------------------------- what a remedy costs


REMEDY_DOCS = {
    "candidates_per_point": "model draws spent per synthetic point kept (curation: K, or 1 / keep; the remedy's cost)",
    "corrected_share": "expected share of synthetic points replaced by real ones (self-correction: gamma / (1 + gamma))",
    "reward": "mean reward of the model's own draws, E_p_t r(x) over metrics.samples draws (what curation optimises)",
}


def remedy_report(config: Config, family: Family):
    """report(key, params) -> {name: scalar}: per generation, what the remedies in `config` cost and
    yield (REMEDY_DOCS); {} when none is on. Reported beside the metrics, like diagnostics."""
    from mad.loops.correction import share

    constants = {}
    if config.curation.reward != "none":
        constants["candidates_per_point"] = float(config.curation.candidates)
    elif config.loop.keep < 1.0:
        constants["candidates_per_point"] = math.ceil(config.loop.n_syn / config.loop.keep) / config.loop.n_syn
    if config.correction.gamma > 0:
        constants["corrected_share"] = share(config.correction.gamma)
    reward = reward_fn(config.curation, family) if config.curation.reward != "none" else None
    draws = config.metrics.samples

    def report(key, params) -> dict:
        out = {name: jnp.asarray(value) for name, value in constants.items()}
        if reward is not None:
            out["reward"] = jnp.mean(reward(params, family.draw(key, params, draws, 1.0)))
        return out

    return report


def remedy_docs(config: Config) -> dict:
    """The REMEDY_DOCS entries `remedy_report` fills for this config."""
    names = []
    if config.curation.reward != "none" or config.loop.keep < 1.0:
        names.append("candidates_per_point")
    if config.correction.gamma > 0:
        names.append("corrected_share")
    if config.curation.reward != "none":
        names.append("reward")
    return {name: REMEDY_DOCS[name] for name in names}
