"""Reproduce the literature's headline results: ``python -m mad.paper [--size tiny|full] [--only a,b]``.

Every experiment is a Hydra config in conf/experiment/ (also runnable alone as
``python -m mad.sweep +experiment=<name>``). This reruns them, draws one figure each into
paper/figures/<name>.pdf and .png, and writes paper/results.md (and results.tex for the paper): per
result the simulated value with its standard error, the closed form, the published value and its
source, and whether they agree. A closed-form row agrees when the simulation lies within 5 standard
errors of it; a published row when it does so too, or, for a published statement without a
number, when the statement's inequality holds by more than 5 standard errors.

`--size tiny` shrinks every experiment (few loops and generations) for a quick end-to-end check;
its numbers are too noisy to judge, so the table marks them as such.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

log = logging.getLogger("mad.paper")
K = 5.0  # agreement: within this many standard errors


@dataclass
class Row:
    result: str
    quantity: str
    simulated: float
    se: float
    closed_form: Optional[float] = None
    published: Optional[str] = None  # a number or a statement
    source: str = ""
    published_agrees: Optional[bool] = None
    note: str = ""
    interval: Optional[tuple[float, float]] = None  # for a simulated argmin: the values tied with it

    @property
    def closed_form_agrees(self) -> Optional[bool]:
        if self.closed_form is None or not np.isfinite(self.closed_form):
            return None
        if self.interval is not None:
            return bool(self.interval[0] <= self.closed_form <= self.interval[1])
        return bool(abs(self.simulated - self.closed_form) <= K * self.se + 1e-12 * abs(self.closed_form))


@dataclass
class Experiment:
    name: str
    title: str
    figure: Callable[[xr.Dataset, plt.Figure], None]
    rows: Callable[[xr.Dataset], list[Row]]
    tiny: Sequence[str] = ("loops=16", "generations=4")


# ----------------------------------------------------------------------------- helpers


def final(ds: xr.Dataset, metric: str, **sel) -> tuple[float, float]:
    """(mean, sem) of a metric at the last generation."""
    var = ds[metric].sel(**sel).isel(generation=-1)
    return float(var.sel(stat="mean")), float(var.sel(stat="sem"))


def theory_final(ds: xr.Dataset, metric: str, **sel) -> Optional[float]:
    name = f"{metric}_theory"
    if name not in ds:
        return None
    return float(ds[name].sel(**sel).isel(generation=-1))


def curves(
    ax, ds: xr.Dataset, metric: str, axis: Optional[str], *, log: bool = False, stat: str = "mean", fixed: Optional[dict] = None, label: str = "", style: str = "-"
):
    """One curve per value of `axis` (mean +- 2 sem band, or a quantile), theory dashed beside it."""
    fixed = fixed or {}
    values = list(ds[axis].values) if axis else [None]
    colours = plt.cm.viridis(np.linspace(0.0, 0.85, len(values)))
    g = ds.generation.values
    for value, colour in zip(values, colours):
        sel = {**fixed, **({axis: value} if axis else {})}
        var = ds[metric].sel(**sel)
        y = var.sel(stat=stat).values
        name = f"{label}{axis}={value:g}" if isinstance(value, float) else (f"{label}{axis}={value}" if axis else label or metric)
        ax.plot(g, y, style, color=colour, label=name)
        if stat == "mean":
            se = var.sel(stat="sem").values
            ax.fill_between(g, y - 2 * se, y + 2 * se, color=colour, alpha=0.2, linewidth=0)
        theory = f"{metric}_theory"
        if theory in ds and stat == "mean":
            t = ds[theory].sel(**sel).values
            if np.any(np.isfinite(t)):
                ax.plot(g, t, "--", color=colour, linewidth=1.2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("generation t")
    ax.grid(alpha=0.3)


def _dashed_legend(ax):
    """The legend, with an entry for the dashed closed forms where the axes show any."""
    handles, labels = ax.get_legend_handles_labels()
    if any(line.get_linestyle() == "--" for line in ax.get_lines()):
        handles.append(plt.Line2D([], [], color="k", linestyle="--"))
        labels.append("closed form")
    ax.legend(handles, labels, fontsize=7)


# ----------------------------------------------------------------------------- the experiments


def _shumailov_figure(ds, fig):
    a, b = fig.subplots(1, 2)
    curves(a, ds, "trace_ratio", "n_syn", log=True, stat="q50")
    a.set_ylabel("median variance ratio sigma_t^2 / sigma_0^2")
    a.set_title("the variance collapses (median)")
    a.legend(fontsize=7)
    curves(b, ds, "w2_sq", "n_syn", log=True)
    b.set_ylabel("E W2^2(model_t, real)")
    b.set_title("while E W2^2 grows")
    _dashed_legend(b)


def _shumailov_rows(ds):
    rows = []
    for n in ds.n_syn.values:
        m, se = final(ds, "w2_sq", n_syn=n)
        first = float(ds.w2_sq.sel(n_syn=n, stat="mean", generation=1))
        med_end = float(ds.trace_ratio.sel(n_syn=n, stat="q50").isel(generation=-1))
        med_half = float(ds.trace_ratio.sel(n_syn=n, stat="q50").isel(generation=ds.generation.size // 2))
        rows.append(Row("shumailov_gaussian", f"E W2^2 at t = G, M = {n}", m, se, theory_final(ds, "w2_sq", n_syn=n),
                        "grows without bound", "Shumailov et al. 2024, Thm 3.1", bool(m - K * se > first),
                        note=f"{first:.3g} at t = 1; the closed form grows linearly in t"))  # fmt: skip
        lm, lse = final(ds, "logdet_ratio", n_syn=n)
        rows.append(Row("shumailov_gaussian", f"E log(sigma_t^2 / sigma_0^2), M = {n}", lm, lse, theory_final(ds, "logdet_ratio", n_syn=n),
                        "variance -> 0 a.s.", "Shumailov et al. 2024, Thm 3.1", bool(med_end < med_half < 1.0),
                        note=f"median ratio {med_half:.3g} at G/2, {med_end:.3g} at G"))  # fmt: skip
    return rows


def _lam_rows(ds):
    rows = []
    for lam in ds.lam.values:
        m, se = final(ds, "trace_ratio", lam=lam)
        statement = "diversity collapses" if lam < 1 else "drifts without fresh data"
        holds = bool(m + K * se < 0.05) if lam < 1 else None
        rows.append(Row("mad_fully_synthetic", f"E tr Sigma_G / tr Sigma_0, lam = {lam:g}", m, se, theory_final(ds, "trace_ratio", lam=lam),
                        statement, "Alemohammad et al. 2023, sec. 4", holds))  # fmt: skip
    return rows


def _fresh_figure(ds, fig):
    a, b = fig.subplots(1, 2)
    for lam in ds.lam.values:
        curves(a, ds, "trace_ratio", "n_init", fixed={"lam": lam}, label=f"lam={lam:g}, ")
    a.set_ylabel("E tr Sigma_t / tr Sigma_0")
    a.set_title("fresh loop on N(0, I_100): same limit for any n_init")
    _dashed_legend(a)
    _phase_diagram(b)


def _phase_diagram(ax):
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


def _fresh_rows(ds):
    rows = []
    for lam in ds.lam.values:
        for n_init in ds.n_init.values:
            m, se = final(ds, "trace_ratio", lam=lam, n_init=n_init)
            rows.append(Row("mad_fresh", f"E tr Sigma_G / tr Sigma_0, lam = {lam:g}, n_init = {n_init}", m, se,
                            theory_final(ds, "trace_ratio", lam=lam, n_init=n_init)))  # fmt: skip
        (a, sa), (b, sb) = (final(ds, "trace_ratio", lam=lam, n_init=v) for v in ds.n_init.values[:2])
        rows.append(Row("mad_fresh", f"difference between n_init values at G, lam = {lam:g}", a - b, math.hypot(sa, sb), 0.0,
                        "the limit does not depend on n_init", "Alemohammad et al. 2023, sec. 5", bool(abs(a - b) <= K * math.hypot(sa, sb))))  # fmt: skip
    return rows


def _accumulate_figure(ds, fig):
    a, b = fig.subplots(1, 2)
    n_show = int(ds.n.values[0])
    curves(a, ds, "mean_sq_drift", "loop", log=True, fixed={"n": n_show})
    a.axhline(np.pi**2 / (6 * n_show), color="grey", linestyle=":", label="pi^2 / (6n)")
    a.set_ylabel(f"E (mu_t - mu_0)^2, n = {n_show}")
    a.set_title("replace drifts; accumulate stays bounded")
    _dashed_legend(a)
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
    _dashed_legend(b)


def _accumulate_rows(ds):
    rows = []
    for loop in ds.loop.values:
        for n in ds.n.values:
            m, se = final(ds, "mean_sq_drift", loop=loop, n=n)
            published, agrees, source = None, None, ""
            if loop == "accumulate":
                limit = np.pi**2 / (6 * n)
                published, source = f"<= pi^2/(6n) = {limit:.4g}", "Gerstgrasser et al. 2024; Kazdan et al. 2024"
                agrees = bool(m - K * se <= limit)
            rows.append(Row("replace_vs_accumulate", f"E (mu_G - mu_0)^2, {loop}, n = {n}", m, se,
                            theory_final(ds, "mean_sq_drift", loop=loop, n=n), published, source, agrees))  # fmt: skip
    return rows


def _linreg_figure(ds, fig):
    ax = fig.subplots()
    curves(ax, ds, "test_error", "loop")
    d, rows_ = 10, 100
    g = ds.generation.values
    unit = 1.0 * d / (rows_ - d - 1)
    ax.plot(g, unit * g, ":", color="grey", label="replace, averaged design")
    ax.plot(g, unit * np.cumsum(np.concatenate([[0], 1 / np.arange(1, g.size) ** 2])), ":", color="black", label="accumulate, averaged design")
    ax.set_ylabel("E ||w_t - w*||^2 (excess test error)")
    ax.set_title("least squares relabelled by its predecessor")
    _dashed_legend(ax)


def _linreg_rows(ds):
    from mad.config import Config, DataConfig, LoopConfig
    from mad.data import make_data
    from mad.theory import regression

    config = Config(data=DataConfig(name="regression", dim=10), loop=LoopConfig(n_syn=100))
    design = make_data(config).design
    rows = []
    g = int(ds.generation.values[-1])
    for loop in ds.loop.values:
        m, se = final(ds, "test_error", loop=loop)
        published = regression.random_design_test_error(g, 1.0, 10, 100, accumulate=loop == "accumulate")
        exact = float(regression.test_error(design, 1.0, g, accumulate=loop == "accumulate")[-1])
        rows.append(Row("linreg_replace_vs_accumulate", f"E test error at t = {g}, {loop}", m, se, exact,
                        f"{published:.4g}", "Gerstgrasser et al. 2024, Thm 1 and 2", bool(abs(m - published) <= K * se),
                        note=f"published value averages over Gaussian designs; this design has tr (X^T X)^-1 = {np.trace(np.linalg.inv(design.T @ design)):.4f} vs d/(T-d-1) = {10 / 89:.4f}"))  # fmt: skip
    return rows


def _golden_figure(ds, fig):
    ax = fig.subplots()
    w = ds.real_weight.values
    m = ds.mean_sq_drift.sel(stat="mean").isel(generation=-1).values
    se = ds.mean_sq_drift.sel(stat="sem").isel(generation=-1).values
    ax.errorbar(w, m, 2 * se, marker="o", label="simulated (mean +- 2 sem)")
    ax.plot(w, ds.mean_sq_drift_theory.isel(generation=-1).values, "--", label="closed form")
    ax.axvline((math.sqrt(5) - 1) / 2, color="grey", linestyle=":", label="golden ratio 0.618")
    ax.set_xlabel("weight of the real data w")
    ax.set_ylabel("E (mu_G - mu_0)^2")
    ax.set_title("fresh loop, k = n_real / n_syn = 1")
    ax.legend(fontsize=7)


def _golden_rows(ds):
    from mad.theory.gaussian import golden_ratio_weight

    w = ds.real_weight.values
    m = ds.mean_sq_drift.sel(stat="mean").isel(generation=-1).values
    se = ds.mean_sq_drift.sel(stat="sem").isel(generation=-1).values
    best = int(np.argmin(m))
    theory = ds.mean_sq_drift_theory.isel(generation=-1).values
    rows = [Row("golden_ratio", f"E (mu_G - mu_0)^2 at w = {wi:g}", float(mi), float(si), float(ti)) for wi, mi, si, ti in zip(w, m, se, theory)]
    # The weight of least simulated error: is it compatible with the golden ratio? Every grid
    # weight whose error is within 2 sem-combined of the minimum is as good as the best.
    tied = [float(wi) for wi, mi, si in zip(w, m, se) if mi - m[best] <= 2 * math.hypot(si, se[best])]
    k = 1.0
    rows.append(Row("golden_ratio", "argmin_w of the simulated error", float(w[best]), float("nan"), float(w[int(np.argmin(theory))]),
                    f"{golden_ratio_weight(k):.4f}", "He et al. 2025", bool(min(tied) <= golden_ratio_weight(k) <= max(tied)),
                    note=f"grid weights statistically tied with the best: {min(tied):g} to {max(tied):g}", interval=(min(tied), max(tied))))  # fmt: skip
    return rows


def _poisson_rows(ds):
    rows = []
    for n in ds.n_syn.values:
        for t in sorted({1, 5, int(ds.generation.values[-1])}):
            p = float(ds.alive.sel(n_syn=n, stat="mean", generation=t))
            theory = float(ds.alive_theory.sel(n_syn=n, generation=t))
            loops = int(ds.attrs["loops"])
            se = math.sqrt(max(theory * (1 - theory), 1e-12) / loops)
            rows.append(Row("poisson_survival", f"Pr(Lambda_{t} > 0), n = {n}", p, se, theory, f"{theory:.4g}",
                            "Suresh et al. 2024, Thm 1", bool(abs(p - theory) <= K * se)))  # fmt: skip
    return rows


def _gmm_figure(ds, fig):
    axes = fig.subplots(1, 3)
    for ax, metric in zip(axes, ("modes_covered", "recall", "precision")):
        curves(ax, ds, metric, "lam", fixed={"keep": 1.0})
        curves(ax, ds, metric, "lam", fixed={"keep": float(ds.keep.values[-1])}, label=f"keep={float(ds.keep.values[-1]):g}, ", style=":")
        ax.set_ylabel(metric)
    axes[0].set_title("modes of the 5 x 5 grid")
    axes[1].legend(fontsize=6)


def _gmm_rows(ds):
    lo, kept = float(ds.lam.values[-1]), float(ds.keep.values[-1])

    def change(metric, **sel):
        (a, sa), (b, sb) = final(ds, metric, **sel), final(ds, metric, lam=1.0, keep=1.0)
        return a - b, math.hypot(sa, sb)

    source = "Alemohammad et al. 2023, sec. 4"
    recall, se_r = change("recall", lam=lo, keep=1.0)
    precision, se_p = change("precision", lam=lo, keep=1.0)
    modes_keep, se_k = change("modes_covered", lam=1.0, keep=kept)
    modes_lam, se_l = change("modes_covered", lam=lo, keep=1.0)
    return [
        Row("gmm_modes", f"recall at G: lam = {lo:g} minus lam = 1", recall, se_r, None, "falls under sampling bias", source, bool(recall < -K * se_r)),
        Row("gmm_modes", f"precision at G: lam = {lo:g} minus lam = 1", precision, se_p, None, "holds or rises", source, bool(precision > -K * se_p)),
        Row("gmm_modes", f"modes covered at G: keep = {kept:g} minus keep = 1", modes_keep, se_k, None, "modes vanish under cherry-picking", source, bool(modes_keep < -K * se_k)),
        Row("gmm_modes", f"modes covered at G: lam = {lo:g} minus lam = 1", modes_lam, se_l, None, "modes vanish under sampling bias", source, bool(modes_lam < -K * se_l),
            note="" if modes_lam < -K * se_l else (
                "explained: a mode counts as covered when it holds its share of draws within 3 data std of its centre; lam < 1 "
                "shrinks each of the 25 EM components onto its mode, so tight components keep covering modes while with lam = 1 "
                "they drift and merge; the diversity loss shows in recall, and modes do vanish under cherry-picking (row above)")),
    ]  # fmt: skip


def _error_stat_rows(ds):
    # The variance ratio itself is log-normal-like with a tail too heavy for a 5-SE check at small
    # n (its mean sits in loops far from the median); its logarithm is a sum of independent terms.
    return [
        Row("error_statistical", f"E log det Sigma_G / det Sigma_0, n = {n}", *final(ds, "logdet_ratio", n_syn=n), theory_final(ds, "logdet_ratio", n_syn=n))
        for n in ds.n_syn.values
    ]


def single(metric: str, axis: str, ylabel: str, title: str, *, log: bool = False):
    """A one-panel figure: `metric` against generation, one curve per value of `axis`."""

    def figure(ds, fig):
        ax = fig.subplots()
        curves(ax, ds, metric, axis, log=log)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        _dashed_legend(ax)

    return figure


def _monotone_rows(name: str, axis: str, statement: str, source: str, better_when_larger: bool = True):
    def rows(ds):
        values = list(ds[axis].values)
        out = [Row(name, f"held-out NLL at G, {axis} = {v}", *final(ds, "nll_test", **{axis: v})) for v in values]
        (lo, slo), (hi, shi) = final(ds, "nll_test", **{axis: values[0]}), final(ds, "nll_test", **{axis: values[-1]})
        diff, se = lo - hi, math.hypot(slo, shi)
        out.append(Row(name, f"NLL({axis}={values[0]}) - NLL({axis}={values[-1]}) at G", diff, se, None, statement, source,
                       bool(diff > K * se) if better_when_larger else bool(diff < -K * se)))  # fmt: skip
        return out

    return rows


def _digits_figure(ds, fig):
    a, b = fig.subplots(1, 2)
    curves(a, ds, "nll_test", "lam")
    a.set_ylabel("held-out NLL (nats)")
    a.set_title("GMM on handwritten digits (PCA 8)")
    curves(b, ds, "recall", "lam")
    b.set_ylabel("recall")
    b.legend(fontsize=7)


EXPERIMENTS = {
    e.name: e
    for e in [
        Experiment("shumailov_gaussian", "Variance collapse and W2 growth of a refitted Gaussian", _shumailov_figure, _shumailov_rows, ("loops=64", "generations=20")),
        Experiment("mad_fully_synthetic", "Fully synthetic loop with sampling bias",
                   single("trace_ratio", "lam", "E tr Sigma_t / tr Sigma_0 (diversity)", "fully synthetic loop with sampling bias lam", log=True), _lam_rows, ("loops=64", "generations=10")),
        Experiment("mad_fresh", "Fresh-data loop: a limit independent of the start", _fresh_figure, _fresh_rows, ("loops=16", "generations=4", "data.dim=10")),
        Experiment("replace_vs_accumulate", "Replace against accumulate", _accumulate_figure, _accumulate_rows, ("loops=64", "generations=10")),
        Experiment("linreg_replace_vs_accumulate", "Linear regression: replace against accumulate", _linreg_figure, _linreg_rows, ("loops=64", "generations=10")),
        Experiment("golden_ratio", "The golden-ratio weight of real data", _golden_figure, _golden_rows, ("loops=256", "generations=10")),
        Experiment("poisson_survival", "Poisson survival law",
                   single("alive", "n_syn", "Pr(Lambda_t > 0)", "Poisson refit: survival of the rate (lambda_0 = 0.05)"), _poisson_rows, ("loops=256", "generations=10")),
        Experiment("gmm_modes", "Mixtures lose modes under sampling bias", _gmm_figure, _gmm_rows, ("loops=4", "generations=2", "loop.n_syn=200", "metrics.samples=32", "data.n_test=100")),
        Experiment("error_statistical", "Error source 1: statistical approximation",
                   single("trace_ratio", "n_syn", "E tr Sigma_t / tr Sigma_0", "statistical approximation: n points per generation", log=True), _error_stat_rows, ("loops=64", "generations=10")),
        Experiment("error_expressivity", "Error source 2: functional expressivity", single("nll_test", "components", "held-out NLL (nats)", "mixtures of K components on the 8-mode ring"),
                   _monotone_rows("error_expressivity", "components", "fewer components fit worse", "Shumailov et al. 2024, sec. 2"),
                   ("loops=4", "generations=2", "loop.n_syn=200", "metrics.samples=32", "data.n_test=100")),  # fmt: skip
        Experiment("error_approximation", "Error source 3: functional approximation", single("nll_test", "steps", "held-out NLL (nats)", "flows trained for few or many steps"),
                   _monotone_rows("error_approximation", "steps", "shorter training drifts further", "Shumailov et al. 2024, sec. 2"),
                   ("loops=4", "generations=2", "loop.n_syn=200", "metrics.samples=32", "data.n_test=100", "grid.model.steps=[5,20]")),  # fmt: skip
        Experiment("digits", "Real data: handwritten digits", _digits_figure,
                   _monotone_rows("digits", "lam", "sampling bias costs held-out likelihood", "Alemohammad et al. 2023", better_when_larger=False),
                   ("loops=4", "generations=2", "loop.n_syn=300", "metrics.samples=32")),  # fmt: skip
    ]
}


# ----------------------------------------------------------------------------- running


def compose(name: str, overrides: Sequence[str] = ()):
    import hydra

    from mad.config import register_configs
    from mad.config import from_hydra

    register_configs()
    with hydra.initialize_config_module("mad.conf", version_base="1.3"):
        cfg = hydra.compose("config", overrides=[f"+experiment={name}", "progress=false", *overrides])
    return from_hydra(cfg)


def run_experiment(experiment: Experiment, size: str, out: Path) -> tuple[xr.Dataset, list[Row], float]:
    from mad.results import write_netcdf
    from mad.simulation import simulate

    config = compose(experiment.name, experiment.tiny if size == "tiny" else ())
    start = time.perf_counter()
    ds = simulate(config)
    seconds = time.perf_counter() - start
    ds.attrs.update(paper_size=size, wall_s=seconds)
    write_netcdf(ds, out / "data" / f"{experiment.name}.nc")
    draw(experiment, ds, out)
    return ds, experiment.rows(ds), seconds


def draw(experiment: Experiment, ds: xr.Dataset, out: Path) -> None:
    """figures/<name>.pdf and .png from the experiment's dataset."""
    fig = plt.figure(figsize=(11, 4.2) if experiment.name in ("shumailov_gaussian", "mad_fresh", "replace_vs_accumulate", "gmm_modes", "digits") else (6.5, 4.2), dpi=120)
    experiment.figure(ds, fig)
    fig.suptitle(experiment.title, fontsize=10)
    fig.tight_layout()
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for ext in ("pdf", "png"):
        fig.savefig(out / "figures" / f"{experiment.name}.{ext}")
    plt.close(fig)


def _mark(value: Optional[bool]) -> str:
    return {True: "yes", False: "**no**", None: "-"}[value]


def _num(x: Optional[float]) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    return f"{x:.4g}"


def results_markdown(rows: list[Row], seconds: dict[str, float], size: str) -> str:
    lines = [
        "# Results",
        "",
        f"Generated by `python -m mad.paper --size {size}`. A closed-form row agrees when the simulated mean lies within "
        f"{K:g} standard errors of the closed form; a published row when it does so too or, for a statement, when the "
        "statement's inequality holds by more than 5 standard errors.",
    ]
    if size == "tiny":
        lines += ["", "**Tiny sizes (a pipeline check): too few loops and generations to judge agreement.**"]
    lines += [
        "",
        "| result | quantity | simulated +- SE | closed form | agrees | published | source | agrees | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        se = "" if not np.isfinite(r.se) else f" +- {r.se:.2g}"
        lines.append(
            f"| {r.result} | {r.quantity} | {_num(r.simulated)}{se} | {_num(r.closed_form)} | {_mark(r.closed_form_agrees)} | "
            f"{r.published or '-'} | {r.source or '-'} | {_mark(r.published_agrees)} | {r.note} |"
        )
    lines += ["", "| experiment | wall time |", "| --- | --- |"] + [f"| {k} | {v:.1f} s |" for k, v in seconds.items()]
    return "\n".join(lines) + "\n"


def results_latex(rows: list[Row]) -> str:
    def esc(s: str) -> str:
        return s.replace("_", r"\_").replace("^", r"\^{}").replace("%", r"\%").replace("<=", r"$\le$")

    out = [r"\begin{longtable}{p{3.2cm}p{4.6cm}rrlp{2.4cm}l}", r"result & quantity & simulated $\pm$ SE & closed form & agrees & published & agrees \\ \hline"]
    for r in rows:
        se = "" if not np.isfinite(r.se) else f" $\\pm$ {r.se:.2g}"
        out.append(
            f"{esc(r.result)} & {esc(r.quantity)} & {_num(r.simulated)}{se} & {_num(r.closed_form)} & {_mark(r.closed_form_agrees).strip('*')} & "
            f"{esc(r.published or '-')} & {_mark(r.published_agrees).strip('*')} \\\\"
        )
    out.append(r"\end{longtable}")
    return "\n".join(out) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mad.paper", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "full"), default="full")
    parser.add_argument("--only", default=",".join(EXPERIMENTS), help="comma-separated experiments")
    parser.add_argument("--out", type=Path, default=Path("paper"), help="folder for figures/, data/, results.md")
    parser.add_argument("--redraw", action="store_true", help="redraw figures and the table from the saved data, simulating nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        parser.error(f"unknown experiment(s) {unknown}; choose from {', '.join(EXPERIMENTS)}")
    rows, seconds = [], {}
    for i, name in enumerate(names if not args.redraw else [], 1):
        log.info("[%d/%d] %s ...", i, len(names), name)
        _, experiment_rows, secs = run_experiment(EXPERIMENTS[name], args.size, args.out)
        seconds[name] = secs
        log.info("[%d/%d] %s: %.1f s", i, len(names), name, secs)
    # The table covers every experiment with saved data (those not rerun keep their last run).
    rows = []
    for name, experiment in EXPERIMENTS.items():
        path = args.out / "data" / f"{name}.nc"
        if path.exists():
            ds = xr.load_dataset(path)
            if ds.attrs.get("paper_size") == args.size:
                if args.redraw and name in names:
                    draw(experiment, ds, args.out)
                rows += experiment.rows(ds)
                seconds.setdefault(name, float(ds.attrs.get("wall_s", float("nan"))))
    (args.out / "results.md").write_text(results_markdown(rows, seconds, args.size))
    (args.out / "results.tex").write_text(results_latex(rows))
    failed = [r for r in rows if r.closed_form_agrees is False or r.published_agrees is False]
    log.info("wrote %s: %d rows, %d disagreeing", args.out / "results.md", len(rows), len(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
