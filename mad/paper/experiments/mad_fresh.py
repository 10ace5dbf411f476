"""Alemohammad et al. (2023), sec. 5: the fresh-data loop converges to a limit that does not
depend on how it started; beside it, the closed-form admissibility picture over (n_real, n_syn)."""

import math

import numpy as np

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, plt, recorded, theory_final


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    for lam in ds.lam.values:
        curves(a, ds, "trace_ratio", "n_init", fixed={"lam": lam}, label=f"lam={lam:g}, ")
    config = recorded(ds)
    a.set_ylabel("E tr Sigma_t / tr Sigma_0")
    a.set_title(f"fresh loop on N(0, I_{config.data.dim}): same limit for any n_init")
    dashed_legend(a)
    phase_diagram(b)


def phase_diagram(ax):
    """MAD's admissibility picture from the closed form: the stationary variance ratio of the fresh
    loop (MLE, d = 1) over n_real and n_syn."""
    from mad.config import LoopConfig
    from mad.theory.gaussian import fixed_point

    reals = np.array([1, 2, 5, 10, 20, 50, 100, 200])
    syns = np.array([10, 20, 50, 100, 200, 500, 1000])
    grid = np.array([[fixed_point(LoopConfig(name="fresh", n_real=int(r), n_syn=int(s)), "mle")[1] for s in syns] for r in reals])
    image = ax.imshow(np.log10(grid), origin="lower", cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(syns)), syns)
    ax.set_yticks(range(len(reals)), reals)
    ax.set_xlabel("synthetic points per generation n_syn")
    ax.set_ylabel("fresh real points n_real")
    ax.set_title("log10 stationary variance ratio (closed form)")
    plt.colorbar(image, ax=ax)


def rows(ds):
    out = []
    for lam in ds.lam.values:
        for n_init in ds.n_init.values:
            m, se = final(ds, "trace_ratio", lam=lam, n_init=n_init)
            out.append(Row("mad_fresh", f"E tr Sigma_G / tr Sigma_0, lam = {lam:g}, n_init = {n_init}", m, se,
                           theory_final(ds, "trace_ratio", lam=lam, n_init=n_init)))  # fmt: skip
        (a, sa), (b, sb) = (final(ds, "trace_ratio", lam=lam, n_init=v) for v in ds.n_init.values[:2])
        out.append(Row("mad_fresh", f"difference between n_init values at G, lam = {lam:g}", a - b, math.hypot(sa, sb), 0.0,
                       "the limit does not depend on n_init", "Alemohammad et al. 2023, sec. 5", bool(abs(a - b) <= K * math.hypot(sa, sb))))  # fmt: skip
    return out


EXPERIMENT = Experiment("mad_fresh", "Fresh-data loop: a limit independent of the start", figure, rows, ("loops=16", "generations=4", "data.dim=10"), wide=True)
