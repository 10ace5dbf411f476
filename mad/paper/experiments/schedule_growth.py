"""Shumailov et al. (2024): a superlinearly growing sample size stops the variance collapse of a
refitted Gaussian; linear growth does not."""

import math

from mad.paper.base import K, Experiment, Row, final, recorded, single, theory_final

SOURCE = "Shumailov et al. 2024, Methods (growing sample sizes)"


def sinc_limit(n0: int) -> float:
    """prod_{k>=1} (1 - 1/(n0 k^2)) = sin(pi x) / (pi x), x = 1/sqrt(n0) (Euler's product)."""
    x = math.pi / math.sqrt(n0)
    return math.sin(x) / x


def rows(ds):
    config = recorded(ds)
    n0, g = config.loop.n_syn, int(ds.generation.values[-1])
    out = []
    for kind in ds.n_syn.values:
        m, se = final(ds, "trace_ratio", n_syn=kind)
        theory = theory_final(ds, "trace_ratio", n_syn=kind)
        if kind == "power":
            limit = sinc_limit(n0)
            out.append(Row("schedule_growth", f"E sigma_G^2 / sigma_0^2, n_t = {n0} t^2, G = {g}", m, se, theory, f"{limit:.5f} (t -> inf)",
                           SOURCE, bool(abs(m - limit) <= K * se + abs(theory - limit)),
                           note=f"the closed form at G differs from the limit by {theory - limit:.1e}"))  # fmt: skip
        elif kind == "linear":
            out.append(Row("schedule_growth", f"E sigma_G^2 / sigma_0^2, n_t = {n0} t, G = {g}", m, se, theory, "-> 0 (slowly)",
                           SOURCE, bool(m + K * se < sinc_limit(n0)), note="below the superlinear limit, and decaying"))  # fmt: skip
        else:
            out.append(Row("schedule_growth", f"E sigma_G^2 / sigma_0^2, n_t = {n0}, G = {g}", m, se, theory,
                           f"(1 - 1/{n0})^{g} = {(1 - 1 / n0) ** g:.4f}", SOURCE, bool(abs(m - (1 - 1 / n0) ** g) <= K * se)))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "schedule_growth", "Growing sample sizes stop the variance collapse",
    single("trace_ratio", "n_syn", "E sigma_t^2 / sigma_0^2",
           lambda ds: f"replace loop, n_t = n_0, n_0 t, n_0 t^2 (n_0 = {recorded(ds).loop.n_syn})"),
    rows, ("loops=64", "generations=10"),
)  # fmt: skip
