"""Monte Carlo runs of the engine against the closed forms of mad.theory.

Every comparison is a mean over >= 2048 loops checked within 5 standard errors (a false-failure
rate near 6e-7 per comparison). Where the theory gives the spread (the log-det random walk) the
standard error is the theory's; otherwise it is the sample's. Shapes stay small and regimes mild
(n >= 16, few generations) so that sample means of log-normal-like variances are trustworthy.
"""

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import polygamma

import mad
from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig
from mad.theory import gaussian as th

LOOPS = 2048
K = 5.0  # tolerance in standard errors


def per_loop(config: Config):
    return mad.run(config, keep_loops=True).loops


def assert_mean_near(values: np.ndarray, expected: float, se: float | None = None, what: str = ""):
    values = np.asarray(values, np.float64)
    se = values.std(ddof=1) / np.sqrt(len(values)) if se is None else se
    assert abs(values.mean() - expected) <= K * se + 1e-12 * abs(expected), (what, values.mean(), expected, se)


def make_config(loop, covariance, estimator, backend, dim, n, lam, generations, precision="float64", real_weight=None):
    n_real = n // 2 if loop in ("augment", "fresh") else 0
    return Config(
        data=DataConfig(dim=dim, scale=1.5),
        model=ModelConfig(covariance=covariance, estimator=estimator, backend=backend),
        loop=LoopConfig(name=loop, n_syn=n, n_real=n_real, lam=lam, real_weight=real_weight if n_real else None),
        generations=generations,
        loops=LOOPS,
        precision=precision,
        progress=False,
    )


@settings(max_examples=2)  # plus the six explicit examples below
@given(
    loop=st.sampled_from(["replace", "augment", "fresh", "accumulate", "accumulate_subsample"]),
    covariance=st.sampled_from(["full", "diag", "iso"]),
    estimator=st.sampled_from(["mle", "unbiased"]),
    backend=st.sampled_from(["samples", "suffstats"]),
    dim=st.integers(1, 3),
    n=st.sampled_from([16, 40]),
    lam=st.sampled_from([1.0, 0.8]),
    real_weight=st.sampled_from([None, 0.3]),
)
# Every loop at least once, whatever hypothesis draws; the weighted estimator for both real-data loops.
@pytest.mark.slow
@example(loop="replace", covariance="full", estimator="mle", backend="samples", dim=2, n=16, lam=0.8, real_weight=None)
@example(loop="augment", covariance="full", estimator="unbiased", backend="suffstats", dim=3, n=16, lam=1.0, real_weight=None)
@example(loop="augment", covariance="diag", estimator="mle", backend="samples", dim=2, n=16, lam=0.8, real_weight=0.3)
@example(loop="fresh", covariance="iso", estimator="unbiased", backend="suffstats", dim=3, n=40, lam=0.8, real_weight=0.3)
@example(loop="accumulate", covariance="full", estimator="mle", backend="suffstats", dim=2, n=16, lam=0.8, real_weight=None)
@example(loop="accumulate_subsample", covariance="full", estimator="unbiased", backend="samples", dim=2, n=16, lam=0.8, real_weight=None)
def test_first_moments_follow_the_recursion(loop, covariance, estimator, backend, dim, n, lam, real_weight):
    """E tr Sigma_t / tr Sigma_0 and E ||mu_t - mu_0||^2 at every generation, every loop."""
    assume(not (loop == "accumulate_subsample" and backend == "suffstats"))
    config = make_config(loop, covariance, estimator, backend, dim, n, lam, generations=8, real_weight=real_weight)
    ds = per_loop(config)
    pred = th.predict(config)
    for t in range(1, config.generations + 1):
        for metric in ("trace_ratio", "mean_sq_drift"):
            assert_mean_near(ds[metric].isel(generation=t).values, pred[metric][t], what=f"{metric} t={t}")


def fourth_cumulant_of_step(n, dim, covariance):
    """kappa_4 of one log-det increment: the log chi2(k) cumulants are psi^(j)(k/2), j >= 1."""
    psi3 = lambda k: float(polygamma(3, k / 2))  # noqa: E731
    if covariance == "full":
        return sum(psi3(n - i) for i in range(1, dim + 1))
    if covariance == "diag":
        return dim * psi3(n - 1)
    return dim**4 * psi3(dim * (n - 1))


@settings(max_examples=6)
@given(
    covariance=st.sampled_from(["full", "diag", "iso"]),
    estimator=st.sampled_from(["mle", "unbiased"]),
    backend=st.sampled_from(["samples", "suffstats"]),
    dim=st.integers(1, 4),
    n=st.sampled_from([8, 30]),
    lam=st.sampled_from([1.0, 0.7]),
)
@pytest.mark.slow
def test_logdet_is_the_predicted_random_walk(covariance, estimator, backend, dim, n, lam):
    """Mean and variance of log det Sigma_t - log det Sigma_0 (replace loop), theory-derived SEs."""
    assume(n > dim)
    config = make_config("replace", covariance, estimator, backend, dim, n, lam, generations=20)
    ds = per_loop(config)
    mean, std = th.logdet_walk(config)
    kappa4 = sum(fourth_cumulant_of_step(m, dim, covariance) for m in [config.loop.init_size] + [n] * 19)
    for t in (1, 5, 20):
        x = ds.logdet_ratio.isel(generation=t).values
        assert_mean_near(x, mean[t], se=std[t] / np.sqrt(LOOPS), what=f"mean t={t}")
    # Var of the sample variance: (kappa_4 + 2 kappa_2^2) / L.
    var_se = np.sqrt((kappa4 + 2 * std[20] ** 4) / LOOPS)
    assert abs(x.var(ddof=1) - std[20] ** 2) <= K * var_se


@pytest.mark.slow
@pytest.mark.parametrize("lam,a,b", [(1.0, 1.0471, 0.05765), (0.8, 0.5698, 0.0314)])
def test_fresh_data_fixed_point(lam, a, b):
    """docs/theory.md section 1 (fixed point): 1-D, unbiased, n_r = 10, n_s = 40, sigma_0 = 1."""
    config = Config(
        data=DataConfig(dim=1),
        model=ModelConfig(estimator="unbiased", backend="suffstats"),
        loop=LoopConfig(name="fresh", n_real=10, n_syn=40, lam=lam),
        generations=60,
        loops=4096,
        precision="float64",
        progress=False,
    )
    ds = per_loop(config)
    # Stationary: average the last 20 generations per loop (their correlation is accounted for
    # by taking the spread of the per-loop averages).
    late = ds.isel(generation=slice(-20, None)).mean("generation")
    assert_mean_near(late.trace_ratio.values, a, what="a")
    assert_mean_near(late.mean_sq_drift.values, b, what="b")
    assert th.fixed_point(config.loop, "unbiased") == pytest.approx((a, b), abs=5e-5)


@pytest.mark.parametrize(
    "loop,covariance",
    [(LoopConfig(name="replace", n_syn=12), "full"), (LoopConfig(name="fresh", n_syn=12, n_real=6), "iso")],
    ids=["replace-full", "fresh-iso"],
)  # every covariance is also compared draw by draw in tests/test_gaussian_family.py
@pytest.mark.slow
def test_backends_agree_in_distribution(loop, covariance):
    """Two-sample KS on logdet_ratio at generation 10 (declared false-failure rate 1e-3)."""
    runs = {}
    for backend in ("samples", "suffstats"):
        config = Config(
            data=DataConfig(dim=3),
            model=ModelConfig(covariance=covariance, backend=backend),
            loop=loop,
            generations=10,
            loops=LOOPS,
            progress=False,
        )
        runs[backend] = per_loop(config).logdet_ratio.isel(generation=10).values
    assert stats.ks_2samp(runs["samples"], runs["suffstats"]).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["samples", "suffstats"])
def test_first_fit_variance_is_chi2(backend):
    """n sigma_1^2 / sigma_0^2 ~ chi2(n - 1) for the MLE (scipy.stats KS, rate 1e-3)."""
    n = 7
    config = Config(
        data=DataConfig(dim=1, scale=3.0),
        model=ModelConfig(backend=backend),
        loop=LoopConfig(n_syn=n),
        generations=1,
        loops=LOOPS,
        progress=False,
    )
    x = n * per_loop(config).trace_ratio.isel(generation=1).values
    assert stats.kstest(x, stats.chi2(n - 1).cdf).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize(
    "precision,dim,covariance,backend,n,loops",
    [
        (precision, *case, LOOPS)
        for precision in ("float32", "float64")
        for case in ((1, "full", "samples", 10), (10, "diag", "suffstats", 10), (10, "iso", "suffstats", 10))
    ]
    + [
        # The smallest valid full fit, n = d + 1, in float32: Cholesky factors of x^T x used to
        # fail here (NaN in 1 of 1000 loops per generation, 28 of 32 loops by generation 2000).
        ("float32", 10, "full", "samples", 11, 128),
        ("float32", 10, "full", "suffstats", 11, 128),
    ],
)
def test_deep_collapse_stays_finite_and_exact(precision, dim, covariance, backend, n, loops):
    """2000 generations at small n: no NaN or inf, all loops collapsed, log det still on theory.
    The loops fit and draw every generation; their metrics are taken every 10th (metrics.every):
    a non-finite state persists, so it would show at the next measured generation."""
    config = Config(
        data=DataConfig(dim=dim),
        model=ModelConfig(covariance=covariance, backend=backend),
        loop=LoopConfig(n_syn=n),
        generations=2000,
        loops=loops,
        precision=precision,
        progress=False,
        metrics=MetricsConfig(every=10),
    )
    ds = per_loop(config)
    assert ds.sizes["generation"] == 202  # 0, 1, 10, 20, ..., 2000
    for name, var in ds.data_vars.items():
        assert np.all(np.isfinite(var.values)), name
    assert not ds.nonfinite.values.any()
    assert ds.collapsed.isel(generation=-1).values.all()
    mean, std = th.logdet_walk(config)
    for t in (20, 2000):
        assert_mean_near(ds.logdet_ratio.sel(generation=t).values, mean[t], se=std[t] / np.sqrt(loops), what=f"t={t}")
    assert mean[2000] < -400  # far below float32's range as a variance (~1e-45 = exp(-103))
