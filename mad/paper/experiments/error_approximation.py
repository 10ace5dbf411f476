"""Shumailov et al. (2024), sec. 2, error source 3: functional approximation. Flows trained for
fewer optimiser steps drift further from the data."""

from mad.paper.base import Experiment, monotone_rows, single
from mad.paper.experiments.error_expressivity import TINY

EXPERIMENT = Experiment(
    "error_approximation", "Error source 3: functional approximation",
    single("nll_test", "steps", "held-out NLL (nats)", "flows trained for few or many steps"),
    monotone_rows("error_approximation", "steps", "shorter training drifts further", "Shumailov et al. 2024, sec. 2"),
    (*TINY, "grid.model.steps=[5,20]"),
)  # fmt: skip
