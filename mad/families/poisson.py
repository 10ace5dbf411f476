"""Poisson counts refitted by their mean (Suresh et al. 2024): the rate hits zero and stays there.

A sample of n counts is summarised by its sum, S ~ Poisson(n rate), so a generation draws one
number per loop whatever n is; the fit is rate = S / n. Lambda_t is a martingale that is
absorbed at zero; mad.theory.discrete has its exact survival probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mad.families.base import Family, FamilySpec, pool, summed_family


class CountSum(NamedTuple):
    total: Float[Array, ""]  # sum of the counts (weighted)
    n: Float[Array, ""]  # number of observations


class PoissonParams(NamedTuple):
    rate: Float[Array, ""]


def sample_sum(key: jax.Array, rate, n: int) -> CountSum:
    dtype = jnp.asarray(rate).dtype
    return CountSum(jax.random.poisson(key, n * rate, dtype=jnp.int32).astype(dtype), jnp.asarray(n, dtype))


def merge(a: CountSum, b: CountSum, weight_a=None) -> CountSum:
    return CountSum(*pool(a.total, a.n, b.total, b.n, weight_a))


def family(*, rate: float, dtype) -> Family:
    reference = PoissonParams(jnp.asarray(rate, dtype))
    return summed_family(
        reference=reference,
        real=lambda key, n: sample_sum(key, reference.rate, n),
        synthetic=lambda key, params, n, lam: sample_sum(key, params.rate, n),
        merge=merge,
        fit=lambda key, frame, stats: PoissonParams(stats.total / stats.n),
        what="Poisson counts",
    )


# ----------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class PoissonConfig:
    """model=poisson: the mean count (no keys of its own)."""

    name: str = "poisson"


def _metrics(config, fam, data):
    from mad.metrics import closed_form_metrics, discrete

    return closed_form_metrics(fam, lambda ref, p: discrete.poisson(ref.rate, p.rate))


def _validate(config) -> None:
    from mad.config import ConfigError, positive

    positive("data.rate", config.data.rate)
    from mad.loops import schedule

    loop = config.loop
    scheduled = schedule.of(config)
    points = max(loop.draw_size, 0 if scheduled is None else int(scheduled.max()) + loop.n_real)
    largest = points * config.data.rate
    if largest >= 2**31 / 2:  # the sum of a sample is one int32 Poisson draw (mean + many SDs < 2^31)
        raise ConfigError(
            f"data.rate={config.data.rate} x {points} points is too large: "
            "a sample's count is one int32 Poisson draw; keep data.rate x loop.n_syn (and any schedule.n_syn) below 2^30"
        )


def _theory(config, loop) -> dict:
    import numpy as np

    from mad.theory import discrete

    out = {}
    rate = config.data.rate
    error = discrete.refit_error_for(config, loop, point_var=rate, shrink=0.0)  # Var of one count: the rate
    if error is not None:
        out["rate_sq_error"] = error / rate**2
    if loop.fully_synthetic:
        g, n = config.generations, config.loop.n_syn
        alive = discrete.poisson_survival(g, rate=rate, n=n, n_init=config.loop.init_size)
        out.update(alive=alive, collapsed=1.0 - alive, rate_ratio=np.ones(g + 1))
    return out


def _docs():
    from mad.metrics.discrete import COLLAPSED_DOCS, DOCS

    return {**{k: DOCS[k] for k in ("rate_ratio", "rate_sq_error", "alive")}, "collapsed": COLLAPSED_DOCS["poisson"]}


SPEC = FamilySpec(
    name="poisson",
    doc="Poisson counts refit by their mean (Suresh et al.): the rate is absorbed at zero",
    config=PoissonConfig,
    data=("poisson",),
    build=lambda config, data: family(rate=data.rate, dtype=jnp.dtype(config.precision)),
    metrics=_metrics,
    metric_docs=_docs,
    draws_points=False,
    sampling_bias=False,
    sized_draws=lambda config: True,
    sized_draws_note="",
    validate=_validate,
    theory=_theory,
)
