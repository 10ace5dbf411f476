"""Feng et al. (2025): synthetic data help only when verified well enough. A linear classifier
labelling its own examples recovers the Bayes rule when the kept examples are more than half
correct and turns into its mirror image when they are not (mad.theory.classification)."""

import numpy as np
from scipy.stats import norm

from mad.paper.base import K, Experiment, Row, curves, final, plt, recorded, theory_final
from mad.theory import classification

SOURCE = "Feng et al. 2025 (kept data more than half correct: recovery)"


def _limits(ds):
    return {float(f): classification.limit(recorded(ds, fpr=f)) for f in ds.fpr.values}


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    curves(a, ds, "accuracy", "fpr")
    limits = _limits(ds)
    for limit, colour in zip(limits.values(), plt.cm.viridis(np.linspace(0.0, 0.85, len(limits)))):  # the curves' colours
        a.plot(ds.generation.values, limit["accuracy"], ":", color=colour, linewidth=1)
    c = recorded(ds)
    bayes = norm.cdf(c.data.spread / 2 / c.data.scale)
    for y in (bayes, 1 - bayes):
        a.axhline(y, color="grey", linewidth=0.6)
    a.set_ylabel("accuracy")
    a.set_title("dashed: closed form; dotted: n_syn -> infinity map")
    a.legend(fontsize=7)
    correct = 1 - ds.wrong_share.sel(stat="mean").isel(generation=2).values
    last = ds.accuracy.sel(stat="mean").isel(generation=-1).values
    b.scatter(correct, last, color=plt.cm.viridis(np.linspace(0.0, 0.85, len(correct))))  # the curves' colours
    b.axvline(0.5, color="k", linestyle="--", linewidth=1)
    b.set_xlabel("share of kept examples correctly labelled (generation 2)")
    b.set_ylabel(f"accuracy at generation {int(ds.generation.values[-1])}")
    b.set_title("recovery iff more than half correct")
    b.grid(alpha=0.3)
    fig.suptitle(f"tpr = {c.verifier.tpr:g}, n_syn = {c.loop.n_syn}, first fit on {c.loop.init_size} real examples", fontsize=10)


def rows(ds):
    out = []
    g = int(ds.generation.values[-1])
    c = recorded(ds)
    bayes = norm.cdf(c.data.spread / 2 / c.data.scale)
    for fpr, limit in _limits(ds).items():
        m, se = final(ds, "accuracy", fpr=fpr)
        correct = 1 - float(ds.wrong_share.sel(stat="mean", fpr=fpr).isel(generation=2))
        recovers = correct > 0.5
        target = bayes if recovers else 1 - bayes
        moved = (m - 0.5 if recovers else 0.5 - m) > K * se  # on that side of chance by more than K SE
        statement = f"{'recovers: above' if recovers else 'degrades: below'} 1/2, towards {target:.4f} (large-sample map: {limit['accuracy'][-1]:.4f})"
        out.append(Row("verification_threshold", f"accuracy at G = {g}, fpr = {fpr:g} (kept {correct:.2f} correct)", m, se,
                       theory_final(ds, "accuracy", fpr=fpr), statement, SOURCE, bool(moved),
                       note="closed form: second order in (d - 1) / n_syn, drawn for fpr <= tpr; the map: n_syn -> infinity"))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "verification_threshold", "Verification decides recovery", figure, rows, ("loops=16", "generations=4", "loop.n_syn=200", "grid.verifier.fpr=[0.2,0.8]"), wide=True,
)  # fmt: skip
