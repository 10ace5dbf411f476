"""mad.theory against the check values of docs/theory.md and against scipy as an oracle."""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.theory import gaussian as th


def test_logdet_walk_matches_theory_md_check_value():
    # docs/theory.md: d = 3, n = 10, MLE, 20 steps: mean -21.60, variance 17.26.
    mean, var = th.logdet_increment(10, 1.0, dim=3, covariance="full", estimator="mle")
    assert 20 * mean == pytest.approx(-21.60, abs=0.005)
    assert 20 * var == pytest.approx(17.26, abs=0.005)


@pytest.mark.parametrize("covariance", ["full", "diag", "iso"])
def test_logdet_increment_against_scipy_chi2(covariance):
    # The increment is a sum of logs of scaled chi2 variables; integrate them with scipy.
    n, d, lam = 12, 3, 0.8
    m = n - 1  # unbiased
    if covariance == "full":
        dofs, scale, mult = [n - i for i in range(1, d + 1)], lam / m, 1
    elif covariance == "diag":
        dofs, scale, mult = [n - 1] * d, lam / m, 1
    else:
        dofs, scale, mult = [d * (n - 1)], lam / (m * d), d
    mean = sum(mult * stats.chi2(k).expect(lambda x: math.log(scale * x)) for k in dofs)
    log_means = {k: stats.chi2(k).expect(math.log) for k in set(dofs)}
    var = sum(mult**2 * stats.chi2(k).expect(lambda x, k=k: (math.log(x) - log_means[k]) ** 2) for k in dofs)
    got_mean, got_var = th.logdet_increment(n, lam, dim=d, covariance=covariance, estimator="unbiased")
    assert got_mean == pytest.approx(mean, rel=1e-6)
    assert got_var == pytest.approx(var, rel=1e-6)


@pytest.mark.parametrize("s", [0.5, 1.0, 2.0])
def test_scale_moment_against_scipy(s):
    n, lam = 9, 0.7
    expected = stats.chi2(n - 1).expect(lambda x: (lam * x / n) ** s)
    assert th.scale_moment(s, n, lam, estimator="mle") == pytest.approx(expected, rel=1e-7)


def test_fresh_fixed_point_matches_theory_md():
    loop = LoopConfig(name="fresh", n_real=10, n_syn=40, lam=1.0)
    a, b = th.fixed_point(loop, "unbiased")
    assert a == pytest.approx(1.0471, abs=5e-5) and b == pytest.approx(0.05765, abs=5e-6)
    a, b = th.fixed_point(LoopConfig(name="fresh", n_real=10, n_syn=40, lam=0.8), "unbiased")
    assert a == pytest.approx(0.5698, abs=5e-5) and b == pytest.approx(0.0314, abs=5e-5)


@pytest.mark.parametrize("n_init", [10, 50, 1000])
def test_fresh_limit_does_not_depend_on_initial_sample(n_init):
    # MAD's claim: the recursion forgets generation 1.
    loop = LoopConfig(name="fresh", n_real=10, n_syn=40, n_init=n_init, lam=0.8)
    mom = th.moments(loop, "unbiased", 400)
    a, b = th.fixed_point(loop, "unbiased")
    assert mom.trace_ratio[-1] == pytest.approx(a, rel=1e-10)
    assert mom.mean_sq_drift[-1] == pytest.approx(b, rel=1e-10)


@pytest.mark.parametrize("n", [5, 20])
def test_replace_closed_forms(n):
    g = 30
    mle = th.moments(LoopConfig(n_syn=n), "mle", g)
    t = np.arange(g + 1)  # generation t is t fits after the real data
    assert np.allclose(mle.trace_ratio, ((n - 1) / n) ** t)
    assert np.allclose(mle.mean_sq_drift, 1 - ((n - 1) / n) ** t)
    unbiased = th.moments(LoopConfig(n_syn=n), "unbiased", g)
    assert np.allclose(unbiased.trace_ratio, 1.0)  # a martingale
    assert np.allclose(unbiased.mean_sq_drift, t / n)  # unbounded drift (Shumailov et al.)


def test_accumulate_drift_is_bounded_by_basel_limit():
    n = 100
    mom = th.moments(LoopConfig(name="accumulate", n_syn=n), "unbiased", 5000)
    # Each batch is centred on the pool's own mean, so even the unbiased pooled variance shrinks
    # a little per step: a' = a (N' - 2 + N/N') / (N' - 1) with N' = N + n.
    sizes = n * np.arange(1, 5001)
    a = np.cumprod(np.concatenate([[1.0], (sizes[1:] - 2 + sizes[:-1] / sizes[1:]) / (sizes[1:] - 1)]))
    assert np.allclose(mom.trace_ratio[1:], a, rtol=1e-9)
    # Drift: mu_t - mu_0 = sum_k eps_k / k with Var eps_k = a_k tr Sigma_0 / n (Gerstgrasser et al.).
    assert mom.mean_sq_drift[-1] == pytest.approx((1 + np.sum(a[:-1] / np.arange(2, 5001) ** 2)) / n, rel=1e-9)
    assert mom.mean_sq_drift[-1] < th.accumulate_limit(n)
    assert mom.mean_sq_drift[-1] == pytest.approx(th.accumulate_limit(n), rel=2e-2)


def test_accumulate_subsample_with_whole_pool_equals_accumulate_at_start():
    # n_fit = n_init: generation 1 fits the whole real sample, as every other loop does.
    sub = th.moments(LoopConfig(name="accumulate_subsample", n_syn=20), "mle", 1)
    acc = th.moments(LoopConfig(name="accumulate", n_syn=20), "mle", 1)
    assert np.allclose(sub.trace_ratio, acc.trace_ratio) and np.allclose(sub.mean_sq_drift, acc.mean_sq_drift)


@pytest.mark.parametrize("k", [0.25, 1.0, 4.0])
def test_golden_ratio_minimises_weighted_mse(k):
    best = optimize.minimize_scalar(lambda w: th.weighted_mean_mse(w, k), bounds=(1e-6, 1), method="bounded")
    assert best.x == pytest.approx(th.golden_ratio_weight(k), abs=1e-5)
    assert th.golden_ratio_weight(1.0) == pytest.approx((math.sqrt(5) - 1) / 2)


def test_weighted_fresh_recursion_with_known_variance_is_he_et_al():
    # With the covariance pinned (a = 1), the mixing recursion's drift fixed point is He et al.'s MSE.
    n_r, n_s, w = 20, 40, 0.4
    loop = LoopConfig(name="fresh", n_real=n_r, n_syn=n_s, real_weight=w)
    v = th._mixing_step(np.array([1.0, 0.0, 0.0]), loop, "mle", "fresh")[1]
    slope = th._mixing_step(np.array([1.0, 1.0, 0.0]), loop, "mle", "fresh")[1] - v
    assert v / (1 - slope) == pytest.approx(th.weighted_mean_mse(w, n_r / n_s, n=n_r), rel=1e-12)


def test_linreg_formulas():
    from mad.theory import regression

    assert regression.random_design_test_error(3, 2.0, 5, 50, accumulate=False)[3] == pytest.approx(3 * 2.0 * 5 / 44)
    bound = math.pi**2 / 6 * 2.0 * 5 / 44
    assert regression.random_design_test_error(1000, 2.0, 5, 50, accumulate=True)[1000] < bound
    assert regression.random_design_test_error(1000, 2.0, 5, 50, accumulate=True)[1000] > 0.999 * bound


def test_predict_is_aligned_with_generations():
    cfg = Config(generations=7, data=DataConfig(dim=2, scale=3.0), model=ModelConfig(covariance="iso"))
    pred = th.predict(cfg)
    assert set(pred) >= {"trace_ratio", "mean_sq_drift", "logdet_ratio", "logdet_ratio_std", "kl_rev", "w2_sq"}
    for values in pred.values():
        assert values.shape == (8,) and values[0] == pytest.approx(0.0 if values is not pred["trace_ratio"] else 1.0)
