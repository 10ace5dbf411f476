"""The Python API in one page: a sampling-bias sweep of the fully synthetic Gaussian loop, its
closed form beside it, plotted with xarray. Run: ``python examples/lambda_sweep.py`` (about 15 s
on 2 CPU cores); it writes lambda_sweep.png next to this file.

The same run from the command line: ``python -m mad.sweep +grid=lambda loops=2000 generations=50``.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mad  # noqa: E402


def main() -> Path:
    # mad.compose gives exactly the Config the command line would build (group options included).
    config, resolve = mad.compose("+grid=lambda", "loops=2000", "generations=50", "progress=false")
    ds = mad.simulate(config, resolve)  # an xarray Dataset: (lam, stat, generation) per metric

    # Selections by label: the mean over loops, its standard error, and the closed form.
    mean = ds.trace_ratio.sel(stat="mean")
    sem = ds.trace_ratio.sel(stat="sem")
    theory = ds.trace_ratio_theory

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for lam in ds.lam.values:
        line = mean.sel(lam=lam).plot(ax=ax, label=f"lam={lam:g}")[0]
        band = (mean - 2 * sem).sel(lam=lam), (mean + 2 * sem).sel(lam=lam)
        ax.fill_between(ds.generation, *band, color=line.get_color(), alpha=0.2, linewidth=0)
        theory.sel(lam=lam).plot(ax=ax, linestyle="--", color=line.get_color(), label="_")
    ax.set_yscale("log")
    ax.set_ylabel("E tr Sigma_t / tr Sigma_0")
    ax.set_title("sampling bias lam shrinks the variance geometrically (dashed: closed form)")
    ax.legend(fontsize=7)

    # A table of the last generation, also by label: mean, sem and the z-score against theory.
    last = ds.isel(generation=-1)
    z = (last.trace_ratio.sel(stat="mean") - last.trace_ratio_theory) / last.trace_ratio.sel(stat="sem")
    print(z.to_dataframe(name="z").round(2))

    out = Path(__file__).with_name("lambda_sweep.png")
    fig.savefig(out)
    return out


if __name__ == "__main__":
    print(main())
