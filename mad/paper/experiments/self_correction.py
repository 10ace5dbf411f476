"""Gillman et al. (2024): self-correction keeps a self-consuming loop near the data. Their Gaussian
toy (accumulate, 50 real and 25 synthetic points per generation) with the idealised corrector,
against the corrected moment recursion (mad.theory.gaussian)."""

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, recorded, theory_final

SOURCE = "Gillman et al. 2024, sec. 4 (stronger correction, more stable loop)"


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    for ax, metric, label in ((a, "mean_sq_drift", "E ||mu_t - mu_0||^2"), (b, "trace_ratio", "E tr Sigma_t / tr Sigma_0")):
        curves(ax, ds, metric, "gamma")
        ax.set_ylabel(label)
        dashed_legend(ax)
    a.set_title("the mean drifts less under stronger correction")
    b.set_title("the spread stays nearer the data's")
    c = recorded(ds)
    fig.suptitle(f"accumulate, d = {c.data.dim}, {c.loop.init_size} real + {c.loop.n_syn} synthetic per generation", fontsize=10)


def rows(ds):
    out = []
    g = int(ds.generation.values[-1])
    drifts = []
    for gamma in ds.gamma.values:
        for metric, what in (("mean_sq_drift", "E ||mu_G - mu_0||^2"), ("trace_ratio", "E tr Sigma_G / tr Sigma_0")):
            m, se = final(ds, metric, gamma=gamma)
            out.append(Row("self_correction", f"{what}, gamma = {gamma:g}, G = {g}", m, se, theory_final(ds, metric, gamma=gamma)))
        drifts.append(final(ds, "mean_sq_drift", gamma=gamma))
    (m0, s0), (m1, s1) = drifts[0], drifts[-1]
    out.append(Row("self_correction", f"drift(gamma = 0) - drift(gamma = {ds.gamma.values[-1]:g}) at G", m0 - m1, (s0**2 + s1**2) ** 0.5,
                   None, "> 0: correction stabilises the loop", SOURCE, bool(m0 - m1 > K * (s0**2 + s1**2) ** 0.5)))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "self_correction", "Self-correction stabilises the loop", figure, rows, ("loops=16", "generations=4", "grid.correction.gamma=[0.0,1.0]"), wide=True,
)  # fmt: skip
