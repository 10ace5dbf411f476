"""Shared Monte Carlo checks against the closed forms stored beside the simulated statistics."""

import numpy as np

K = 5.0  # tolerance in standard errors (a false-failure rate near 6e-7 per comparison)


def assert_on_theory(ds, metrics=("trace_ratio", "mean_sq_drift"), k: float = K) -> None:
    """The mean over loops of each metric lies within k sem of `<metric>_theory` at every
    generation t >= 1 (generation 0 is the real distribution itself)."""
    for metric in metrics:
        mean, sem = ds[metric].sel(stat="mean").values[..., 1:], ds[metric].sel(stat="sem").values[..., 1:]
        theory = ds[f"{metric}_theory"].values[..., 1:]
        assert np.all(np.abs(mean - theory) <= k * sem), (metric, mean, theory, sem)
