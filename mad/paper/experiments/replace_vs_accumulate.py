"""Gerstgrasser et al. (2024), Kazdan et al. (2024): replacing the data lets the mean drift
without bound; accumulating it keeps the drift below pi^2 / (6 n)."""

import numpy as np

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, plt, theory_final


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    n_show = int(ds.n.values[0])
    curves(a, ds, "mean_sq_drift", "loop", log=True, fixed={"n": n_show})
    a.axhline(np.pi**2 / (6 * n_show), color="grey", linestyle=":", label="pi^2 / (6n)")
    a.set_ylabel(f"E (mu_t - mu_0)^2, n = {n_show}")
    a.set_title("replace drifts; accumulate stays bounded")
    dashed_legend(a)
    colours = plt.cm.viridis(np.linspace(0, 0.85, ds.loop.size))
    for loop, colour in zip(ds.loop.values, colours):
        m = ds.mean_sq_drift.sel(loop=loop, stat="mean").isel(generation=-1)
        se = ds.mean_sq_drift.sel(loop=loop, stat="sem").isel(generation=-1)
        b.errorbar(ds.n.values, m, 2 * se, color=colour, marker="o", label=str(loop))
        b.plot(ds.n.values, ds.mean_sq_drift_theory.sel(loop=loop).isel(generation=-1), "--", color=colour)
    b.plot(ds.n.values, np.pi**2 / (6 * ds.n.values), ":", color="grey", label="pi^2 / (6n)")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("points per generation n")
    b.set_ylabel("E (mu_G - mu_0)^2")
    dashed_legend(b)


def rows(ds):
    out = []
    for loop in ds.loop.values:
        for n in ds.n.values:
            m, se = final(ds, "mean_sq_drift", loop=loop, n=n)
            published, agrees, source = None, None, ""
            if loop == "accumulate":
                limit = np.pi**2 / (6 * n)
                published, source = f"<= pi^2/(6n) = {limit:.4g}", "Gerstgrasser et al. 2024; Kazdan et al. 2024"
                agrees = bool(m - K * se <= limit)
            out.append(Row("replace_vs_accumulate", f"E (mu_G - mu_0)^2, {loop}, n = {n}", m, se,
                           theory_final(ds, "mean_sq_drift", loop=loop, n=n), published, source, agrees))  # fmt: skip
    return out


EXPERIMENT = Experiment("replace_vs_accumulate", "Replace against accumulate", figure, rows, ("loops=64", "generations=10"), wide=True)
