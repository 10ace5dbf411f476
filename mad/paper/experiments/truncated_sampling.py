"""Truncated sampling in the loop: iterated top-p on Zipf(1) keeps 3758, 1558, 705, 346 of 10^4
symbols (the n -> infinity map of mad.theory.truncation), which 10^6 samples per generation follow."""

import numpy as np

from mad.data import make_data
from mad.paper.base import Experiment, Row, curves, dashed_legend, recorded
from mad.theory import truncation

SOURCE = "iterated top-p map (docs/theory.md, truncated sampling)"


def limit(ds, top_p: float) -> np.ndarray:
    """Support size of the n -> infinity map at generations 0..G (t - 1 truncations at generation t >= 1)."""
    config = recorded(ds, top_p=top_p)
    probs = make_data(config).probs
    path = truncation.iterate(probs, ds.generation.size - 2, top_p=top_p)
    support = truncation.summary(path, probs)["support_size"]
    return np.concatenate([[support[0]], support])


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    largest = int(ds.n_syn.values[-1])
    curves(a, ds, "support_size", "top_p", log=True, fixed={"n_syn": largest})
    a.set_title(f"n = {largest:.0e} per generation")
    curves(b, ds, "support_size", "n_syn", log=True, fixed={"top_p": TOP_P})
    b.set_title(f"top-p {TOP_P}: finite n approaches the map")
    for ax in (a, b):
        ax.plot(ds.generation.values, limit(ds, TOP_P), ":", color="grey", marker="x", label=f"n -> infinity map, top-p {TOP_P}")
        ax.set_ylabel("symbols the model can draw")
        dashed_legend(ax)
    fig.suptitle(f"Zipf(1) over {recorded(ds).data.vocab} symbols, iterated top-p", fontsize=10)


TOP_P = 0.9
CLOSE = 0.02  # the simulation at the largest n within this relative distance of the map


def rows(ds):
    out = []
    if TOP_P not in ds.top_p.values:
        return out
    expected = limit(ds, TOP_P)
    largest = ds.n_syn.values[-1]
    for t in ds.generation.values[2:]:
        var = ds.support_size.sel(top_p=TOP_P, n_syn=largest, generation=t)
        m, se = float(var.sel(stat="mean")), float(var.sel(stat="sem"))
        out.append(Row("truncated_sampling", f"support size at generation {t}, top-p {TOP_P}, n = {largest:.0e}", m, se, None,
                       f"{int(expected[t])} (n -> inf)", SOURCE, bool(abs(m - expected[t]) <= CLOSE * expected[t]),
                       note=f"within {CLOSE:.0%} of the map; no finite-n closed form"))  # fmt: skip
    gaps = [float(expected[2] - ds.support_size.sel(top_p=TOP_P, n_syn=n, generation=2, stat="mean")) for n in ds.n_syn.values]
    se = float(ds.support_size.sel(top_p=TOP_P, n_syn=ds.n_syn.values[0], generation=2, stat="sem"))
    out.append(Row("truncated_sampling", "map minus simulation at generation 2, smallest n", gaps[0], se, None,
                   "shrinks as n grows", SOURCE, bool(all(a > b for a, b in zip(gaps, gaps[1:]))),
                   note="gaps " + ", ".join(f"{g:.0f} at n = {n:.0e}" for g, n in zip(gaps, ds.n_syn.values))))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "truncated_sampling", "Iterated top-p sampling shrinks the vocabulary", figure, rows,
    ("loops=4", "generations=3", "data.vocab=100", "grid.loop.n_syn=[100,1000]"), wide=True,
)  # fmt: skip
