"""Accumulation for a counting family: the Poisson rate's squared error obeys Gerstgrasser et al.'s
sum-of-1/i^2 law, bounded by pi^2/6 times the first error, while replacing lets it grow linearly."""

import math

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, recorded, theory_final


def figure(ds, fig):
    ax = fig.subplots()
    curves(ax, ds, "rate_sq_error", "loop", log=True)
    config = recorded(ds)
    first = 1.0 / (config.loop.n_syn * config.data.rate)
    ax.axhline(math.pi**2 / 6 * first, color="grey", linestyle=":", label="pi^2/6 x first error")
    ax.set_ylabel("E (lambda_t / lambda* - 1)^2")
    ax.set_title(f"Poisson refit, n = {config.loop.n_syn}, lambda* = {config.data.rate:g}")
    dashed_legend(ax)


def rows(ds):
    config = recorded(ds)
    first = 1.0 / (config.loop.n_syn * config.data.rate)  # E error of the fit on n real counts
    g = int(ds.generation.values[-1])
    out = []
    for loop in ds.loop.values:
        m, se = final(ds, "rate_sq_error", loop=loop)
        theory = theory_final(ds, "rate_sq_error", loop=loop)
        if loop == "accumulate":
            bound = math.pi**2 / 6 * first
            out.append(Row("poisson_accumulate", f"E (lambda_G / lambda* - 1)^2, accumulate, G = {g}", m, se, theory,
                           f"< pi^2/6 / (n lambda*) = {bound:.4g}", "Gerstgrasser et al. 2024 (sum 1/i^2 law; here for Poisson counts)",
                           bool(m - K * se < bound)))  # fmt: skip
        elif loop == "replace":
            out.append(Row("poisson_accumulate", f"E (lambda_G / lambda* - 1)^2, replace, G = {g}", m, se, theory,
                           f"G / (n lambda*) = {g * first:.4g}", "Suresh et al. 2024 (a martingale: variance adds up)",
                           bool(abs(m - g * first) <= K * se)))  # fmt: skip
        else:
            n_real = recorded(ds, loop=loop).loop.n_real
            out.append(Row("poisson_accumulate", f"E (lambda_G / lambda* - 1)^2, fresh (n_real = {n_real}), G = {g}", m, se, theory,
                           note="stationary: the error contracts by (n / (n + n_real))^2 per generation"))  # fmt: skip
    return out


EXPERIMENT = Experiment("poisson_accumulate", "Accumulating counts bounds the Poisson refit's error", figure, rows, ("loops=64", "generations=10"))
