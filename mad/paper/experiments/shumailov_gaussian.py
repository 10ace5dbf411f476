"""Shumailov et al. (2024), Thm 3.1: a Gaussian refitted to its own samples loses its variance
(almost surely) while its expected W2^2 distance to the data grows linearly."""

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, theory_final


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    curves(a, ds, "trace_ratio", "n_syn", log=True, stat="q50")
    a.set_ylabel("median variance ratio sigma_t^2 / sigma_0^2")
    a.set_title("the variance collapses (median)")
    a.legend(fontsize=7)
    curves(b, ds, "w2_sq", "n_syn", log=True)
    b.set_ylabel("E W2^2(model_t, real)")
    b.set_title("while E W2^2 grows")
    dashed_legend(b)


def rows(ds):
    out = []
    source = "Shumailov et al. 2024, Thm 3.1"
    for n in ds.n_syn.values:
        m, se = final(ds, "w2_sq", n_syn=n)
        first = float(ds.w2_sq.sel(n_syn=n, stat="mean", generation=1))
        med_end = float(ds.trace_ratio.sel(n_syn=n, stat="q50").isel(generation=-1))
        med_half = float(ds.trace_ratio.sel(n_syn=n, stat="q50").isel(generation=ds.generation.size // 2))
        out.append(Row("shumailov_gaussian", f"E W2^2 at t = G, M = {n}", m, se, theory_final(ds, "w2_sq", n_syn=n),
                       "grows without bound", source, bool(m - K * se > first),
                       note=f"{first:.3g} at t = 1; the closed form grows linearly in t"))  # fmt: skip
        lm, lse = final(ds, "logdet_ratio", n_syn=n)
        out.append(Row("shumailov_gaussian", f"E log(sigma_t^2 / sigma_0^2), M = {n}", lm, lse, theory_final(ds, "logdet_ratio", n_syn=n),
                       "variance -> 0 a.s.", source, bool(med_end < med_half < 1.0),
                       note=f"median ratio {med_half:.3g} at G/2, {med_end:.3g} at G"))  # fmt: skip
    return out


EXPERIMENT = Experiment("shumailov_gaussian", "Variance collapse and W2 growth of a refitted Gaussian", figure, rows, ("loops=64", "generations=20"), wide=True)
