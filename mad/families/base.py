"""The interface a model family offers to the loops.

Loops never look inside parameters or data summaries: they draw, move summaries between frames,
merge and fit through these functions, so a new family only has to provide them. A *frame* is the
coordinate system of a model; families with no numerical need for one use the identity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple, Optional

import jax

Params = Any  # a family's parameter pytree
Stats = Any  # what a fit consumes: a summary of a weighted sample (or the sample itself)


class Family(NamedTuple):
    """Pure functions of one model family, with every shape-setting setting closed over."""

    reference: Params
    """The real distribution, as parameters of this family (generation 0)."""
    real: Callable[[jax.Array, int], Stats]
    """real(key, n): n fresh real points, summarised in the data frame."""
    synthetic: Callable[[jax.Array, Params, int, jax.Array], Stats]
    """synthetic(key, params, n, lam): n points from the model with sampling bias lam, in its frame."""
    into_frame: Callable[[Params, Stats], Stats]
    out_of_frame: Callable[[Params, Stats], Stats]
    merge: Callable[[Stats, Stats, Optional[jax.Array]], Stats]
    """merge(a, b, weight_a): union of two samples, a with total weight weight_a (None: by counts)."""
    fit: Callable[[jax.Array, Params, Stats], Params]
    """fit(key, frame, stats): refit on stats expressed in the frame of `frame` (the previous model,
    also the warm start of iterative fits); key for randomised initialisations."""
    draw: Callable[[jax.Array, Params, int, jax.Array], jax.Array]
    """draw(key, params, n, lam): n points in the data frame (for loops that keep points);
    params=None draws real points."""
    summarize: Callable[..., Stats]
    """summarize(points, mask=None): equal-weight summary of data-frame points (of the masked rows)."""
    exact_pooling: bool = True
    """True when merging summaries loses nothing (sufficient statistics), so a growing pool can be
    kept as one summary; False when fits need the points themselves (kept in a buffer)."""
    log_prob: Optional[Callable[[Params, jax.Array], jax.Array]] = None
    """log_prob(params, x): the model's log-density at the rows of x (n, d), or None (curation,
    which scores draws, needs it)."""
    diagnostics: Optional[Callable[[Params], dict]] = None
    """diagnostics(params) -> {name: scalar}: what the fit reports about itself (EM iterations,
    convergence), recorded per generation beside the metrics; None: nothing."""


def pool(a_sum, a_count, b_sum, b_count, weight_a=None):
    """Pool two summed samples (sum, count): by counts, or with the first carrying the share
    weight_a of the total (sums rescaled so that the pooled mean is the weighted mean)."""
    count = a_count + b_count
    if weight_a is None:
        return a_sum + b_sum, count
    return count * (weight_a * a_sum / a_count + (1 - weight_a) * b_sum / b_count), count


def summed_family(*, reference: Params, real: Callable, synthetic: Callable, merge: Callable, fit: Callable, what: str) -> Family:
    """A family fitted from exactly poolable sums (categorical counts, Poisson sums, X^T y): no
    frame (the identity) and no point pool, which validation keeps such families out of."""

    def no_points(*args):
        raise NotImplementedError(f"{what} pool as sums; point-pool loops are rejected by validation")

    return Family(
        reference=reference,
        real=real,
        synthetic=synthetic,
        into_frame=lambda params, stats: stats,
        out_of_frame=lambda params, stats: stats,
        merge=merge,
        fit=fit,
        draw=no_points,
        summarize=no_points,
        exact_pooling=True,
    )


def _no_theory(config, loop) -> dict:
    return {}


def _no_checks(config) -> None:
    return None


@dataclass(frozen=True)
class FamilySpec:
    """A model family as the rest of mad sees it. Each family module declares one `SPEC` and
    `mad.families.FAMILIES` lists them; validation, metrics, theory and chunk sizing read it,
    and nothing else in mad dispatches on a family's name."""

    name: str
    doc: str
    config: type
    """Its frozen config dataclass: `name` plus its own model.* keys with their one default."""
    data: tuple[str, ...]
    """The data it can be fitted to (data.name)."""
    build: Callable[..., Family]
    """build(config, data) -> Family, with every static setting closed over."""
    metrics: Callable[..., Any]
    """metrics(config, family, data) -> mad.metrics.Metrics."""
    metric_docs: Callable[[], Mapping[str, str]]
    """metric_docs() -> one line per metric it reports."""
    loops: Optional[tuple[str, ...]] = None
    """The loops it runs in (loop.name); None: every registered loop its capabilities allow."""
    exact_pooling: bool = True
    """Summaries pool exactly (sums); False: fits need the points, kept in a buffer."""
    draws_points: bool = True
    """It can draw and summarise points (Family.draw / summarize), as point-pool loops need."""
    min_fit: Callable[[Any], tuple[int, str]] = lambda config: (1, "a fit needs at least one point")
    """min_fit(config) -> (points a fit needs at least, why), checked against every fit size."""
    sampling_bias: bool = True
    """loop.lam means something for it (otherwise lam must stay 1)."""
    curation: bool = False
    """Supports loop.keep (cherry-picking synthetic points by model density): it draws points and
    its Family has a log_prob."""
    truncation: bool = False
    """Samples a vocabulary: loop.temperature, loop.top_k and loop.top_p mean something for it."""
    sized_draws: Callable[[Any], bool] = lambda config: False
    """sized_draws(config): Family.synthetic and Family.real accept a traced sample size (drawing the
    summary in law), as schedules over generations need."""
    sized_draws_note: Optional[str] = None
    """When it draws sized samples, for error messages ("" always, "model.backend=suffstats" ...);
    None: never."""
    cache_bound: bool = True
    """On a CPU, lanes run in cache-sized blocks (large per-lane working sets)."""
    validate: Callable[[Any], None] = _no_checks
    """validate(config): raise mad.config.ConfigError naming the key, before any compilation."""
    theory: Callable[[Any, Any], dict] = _no_theory
    """theory(config, loop_spec) -> {metric: expectation per generation}; {} where none is known."""
    theory_remedies: tuple[str, ...] = ()
    """The remedies its `theory` accounts for ("correction": self-correction; "schedules": schedules
    of n_real, lam and real_weight; "density_curation": curation by the model's own density;
    "linear_curation": the argmax of a linear reward); with any other remedy switched on, no
    closed form is drawn."""
    verification: bool = False
    """Its synthetic examples carry labels that a verifier (config group `verifier`) can check."""
    showcase: Optional[Callable[..., Any]] = None
    """showcase(config, run_dir, point) -> (figure paths, HTML): what loop 0 of grid point `point`
    writes across generations, for the report (mad.report.text for language models); None: nothing."""
    showcase_points: int = 1
    """How many grid points (the first computed ones) the report shows this way, each in its own files."""
    lane_floats: Callable[[Any], Mapping[str, int]] = lambda config: {}
    """{what, with the keys that size it: floats} of one loop's working data in one generation,
    beyond parameters and outputs (the memory check names the largest)."""

    def make_config(self, name: str, **keys: Any) -> Any:
        """config(name=name, **keys); an unknown key is reported by name with the family's keys."""
        import difflib

        from mad.config import ConfigError

        known = [f.name for f in dataclasses.fields(self.config) if f.name != "name"]
        for key in keys:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean model.{close[0]}?)" if close else ""
                allowed = ", ".join(f"model.{k}" for k in known) or "none besides model.name"
                raise ConfigError(f"model.{key}={keys[key]!r} is not a key of model={self.name}{hint}; its keys are: {allowed}")
        return self.config(name=name, **keys)

