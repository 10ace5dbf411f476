"""Metrics: pure functions of (real distribution, fitted model), returned by the scan per generation.

`make_metrics(config, family)` gives the function the engine calls on each generation's parameters.
"""

from __future__ import annotations

from typing import Callable

from mad.config import Config
from mad.families.base import Family
from mad.metrics import gaussian


def make_metrics(config: Config, family: Family) -> Callable:
    if config.model.name == "gaussian":
        diagonal = config.model.covariance != "full" or config.data.dim == 1
        return lambda params: gaussian.compare(
            family.reference, params, diagonal=diagonal, collapse_threshold=config.collapse_threshold
        )
    raise ValueError(f"no metrics for model.name {config.model.name!r}")


def metric_docs(config: Config) -> dict[str, str]:
    """One-line descriptions of the metrics of this config's family, for result attributes."""
    return dict(gaussian.DOCS)


__all__ = ["gaussian", "make_metrics", "metric_docs"]
