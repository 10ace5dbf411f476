"""Alemohammad et al. (2023), sec. 4: the fully synthetic loop with sampling bias lam < 1 loses
its diversity geometrically; with lam = 1 it drifts."""

from mad.paper.base import K, Experiment, Row, final, single, theory_final


def rows(ds):
    out = []
    for lam in ds.lam.values:
        m, se = final(ds, "trace_ratio", lam=lam)
        statement = "diversity collapses" if lam < 1 else "drifts without fresh data"
        holds = bool(m + K * se < 0.05) if lam < 1 else None
        out.append(Row("mad_fully_synthetic", f"E tr Sigma_G / tr Sigma_0, lam = {lam:g}", m, se, theory_final(ds, "trace_ratio", lam=lam),
                       statement, "Alemohammad et al. 2023, sec. 4", holds))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "mad_fully_synthetic", "Fully synthetic loop with sampling bias",
    single("trace_ratio", "lam", "E tr Sigma_t / tr Sigma_0 (diversity)", "fully synthetic loop with sampling bias lam", log=True),
    rows, ("loops=64", "generations=10"),
)  # fmt: skip
