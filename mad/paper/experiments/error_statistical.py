"""Shumailov et al. (2024), sec. 2, error source 1: statistical approximation. Finite samples
alone make the refitted Gaussian lose variance, faster for fewer points per generation."""

from mad.paper.base import Experiment, Row, final, single, theory_final


def rows(ds):
    # The variance ratio itself is log-normal-like with a tail too heavy for a 5-SE check at small
    # n (its mean sits in loops far from the median); its logarithm is a sum of independent terms.
    return [
        Row("error_statistical", f"E log det Sigma_G / det Sigma_0, n = {n}", *final(ds, "logdet_ratio", n_syn=n), theory_final(ds, "logdet_ratio", n_syn=n))
        for n in ds.n_syn.values
    ]


EXPERIMENT = Experiment(
    "error_statistical", "Error source 1: statistical approximation",
    single("trace_ratio", "n_syn", "E tr Sigma_t / tr Sigma_0", "statistical approximation: n points per generation", log=True),
    rows, ("loops=64", "generations=10"),
)  # fmt: skip
