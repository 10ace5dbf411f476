"""He et al. (2025): in the fresh loop, the real data's weight w that minimises the stationary
error of the mean is w* = (sqrt(k^2 + 4k) - k) / 2 with k = n_real / n_syn (0.618 at k = 1)."""

import math

import numpy as np

from mad.paper.base import Experiment, Row, recorded


def _k(ds) -> float:
    config = recorded(ds)
    return config.loop.n_real / config.loop.n_syn


def figure(ds, fig):
    from mad.theory.gaussian import golden_ratio_weight

    ax = fig.subplots()
    w = ds.real_weight.values
    m = ds.mean_sq_drift.sel(stat="mean").isel(generation=-1).values
    se = ds.mean_sq_drift.sel(stat="sem").isel(generation=-1).values
    k = _k(ds)
    ax.errorbar(w, m, 2 * se, marker="o", label="simulated (mean +- 2 sem)")
    ax.plot(w, ds.mean_sq_drift_theory.isel(generation=-1).values, "--", label="closed form")
    ax.axvline(golden_ratio_weight(k), color="grey", linestyle=":", label=f"w* = {golden_ratio_weight(k):.3f}")
    ax.set_xlabel("weight of the real data w")
    ax.set_ylabel("E (mu_G - mu_0)^2")
    ax.set_title(f"fresh loop, k = n_real / n_syn = {k:g}")
    ax.legend(fontsize=7)


def rows(ds):
    from mad.theory.gaussian import golden_ratio_weight

    w = ds.real_weight.values
    m = ds.mean_sq_drift.sel(stat="mean").isel(generation=-1).values
    se = ds.mean_sq_drift.sel(stat="sem").isel(generation=-1).values
    best = int(np.argmin(m))
    theory = ds.mean_sq_drift_theory.isel(generation=-1).values
    out = [Row("golden_ratio", f"E (mu_G - mu_0)^2 at w = {wi:g}", float(mi), float(si), float(ti)) for wi, mi, si, ti in zip(w, m, se, theory)]
    # The weight of least simulated error: is it compatible with w*? Every grid weight whose
    # error is within 2 sem-combined of the minimum is as good as the best.
    tied = [float(wi) for wi, mi, si in zip(w, m, se) if mi - m[best] <= 2 * math.hypot(si, se[best])]
    target = golden_ratio_weight(_k(ds))
    out.append(Row("golden_ratio", "argmin_w of the simulated error", float(w[best]), float("nan"), float(w[int(np.argmin(theory))]),
                   f"{target:.4f}", "He et al. 2025", bool(min(tied) <= target <= max(tied)),
                   note=f"grid weights statistically tied with the best: {min(tied):g} to {max(tied):g}", interval=(min(tied), max(tied))))  # fmt: skip
    return out


EXPERIMENT = Experiment("golden_ratio", "The golden-ratio weight of real data", figure, rows, ("loops=256", "generations=10"))
