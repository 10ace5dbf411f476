"""Suresh et al. (2024), Thm 1: a Poisson rate refitted from n counts survives generation k with
probability exactly 1 - exp(-n lambda_0 g_k)."""

import math

from mad.paper.base import K, Experiment, Row, recorded, single


def rows(ds):
    out = []
    loops = int(ds.attrs["loops"])
    for n in ds.n_syn.values:
        for t in sorted({1, 5, int(ds.generation.values[-1])}):
            p = float(ds.alive.sel(n_syn=n, stat="mean", generation=t))
            theory = float(ds.alive_theory.sel(n_syn=n, generation=t))
            se = math.sqrt(max(theory * (1 - theory), 1e-12) / loops)  # binomial, from the closed form
            out.append(Row("poisson_survival", f"Pr(Lambda_{t} > 0), n = {n}", p, se, theory, f"{theory:.4g}",
                           "Suresh et al. 2024, Thm 1", bool(abs(p - theory) <= K * se)))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "poisson_survival", "Poisson survival law",
    single("alive", "n_syn", "Pr(Lambda_t > 0)", lambda ds: f"Poisson refit: survival of the rate (lambda_0 = {recorded(ds).data.rate:g})"),
    rows, ("loops=256", "generations=10"),
)  # fmt: skip
