"""Shumailov et al. (2024), sec. 2, error source 2: functional expressivity. Mixtures with fewer
components than the data's modes fit worse, generation after generation."""

from mad.paper.base import Experiment, monotone_rows, recorded, single

TINY = ("loops=4", "generations=2", "loop.n_syn=200", "metrics.samples=32", "data.n_test=100")


def _title(ds) -> str:
    data = recorded(ds).data
    return f"mixtures of K components on {data.name} (d = {data.dim})"


EXPERIMENT = Experiment(
    "error_expressivity", "Error source 2: functional expressivity",
    single("nll_test", "components", "held-out NLL (nats)", _title),
    monotone_rows("error_expressivity", "components", "fewer components fit worse", "Shumailov et al. 2024, sec. 2"),
    TINY,
)  # fmt: skip
