"""Curation by reward (Ferbach et al. 2024): the choice among K candidates against exact oracles,
and the loop against its idealised K, n -> infinity limit (mad.theory.curation)."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import mad
from mad.config import Config, CurationConfig, DataConfig, LoopConfig, ModelConfig
from mad.families import gaussian
from mad.loops.curation import rewarded
from mad.theory import curation

N = 40_000
FAMILY = gaussian.family(dim=1, scale=1.0, covariance="full", estimator="mle", backend="samples", dtype=jnp.float64)
STANDARD = gaussian.standard(1, dtype=jnp.float64)


def _picks(cfg: CurationConfig) -> np.ndarray:
    return np.asarray(rewarded(FAMILY, cfg).draw(jax.random.key(0), STANDARD, N, 1.0))[:, 0]


def test_argmax_of_two_candidates_is_the_maximum_of_two_normals():
    # E max(X1, X2) = 1/sqrt(pi), Var = 1 - 1/pi for independent standard normals.
    x = _picks(CurationConfig(reward="linear", candidates=2, choice="argmax", gamma=1.0))
    se = math.sqrt((1 - 1 / math.pi) / N)
    assert abs(x.mean() - 1 / math.sqrt(math.pi)) <= 5 * se


@pytest.mark.slow
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_bradley_terry_choice_of_two_candidates_matches_quadrature(gamma):
    # The chosen point is X1 with probability e^{g X1} / (e^{g X1} + e^{g X2}): its mean and second
    # moment by two-dimensional quadrature against the normal density.
    def moment(power):
        f = lambda a, b: a**power * stats.norm.pdf(a) * stats.norm.pdf(b) / (1 + np.exp(gamma * (b - a)))  # noqa: E731
        return 2 * integrate.dblquad(f, -9, 9, -9, 9, epsabs=1e-9)[0]

    mean, second = moment(1), moment(2)
    x = _picks(CurationConfig(reward="linear", candidates=2, choice="bt", gamma=gamma))
    se = math.sqrt((second - mean**2) / N)
    assert abs(x.mean() - mean) <= 5 * se
    assert abs(np.mean(x**2) - second) <= 5 * np.std(x**2) / math.sqrt(N)


@pytest.mark.slow
def test_many_candidates_approach_the_tilted_density():
    # K -> infinity: the Bradley-Terry choice draws from p(x) e^{r(x)} / Z; quadratic reward around 1
    # with gamma = 1 tilts N(0, 1) into N(1/2, 1/2).
    x = _picks(CurationConfig(reward="quadratic", candidates=256, choice="bt", gamma=1.0, target=1.0))
    assert abs(x.mean() - 0.5) < 0.01 and abs(x.var() - 0.5) < 0.01


LOOP = Config(data=DataConfig(dim=1), loop=LoopConfig(n_syn=1000), loops=64, generations=5, progress=False,
              curation=CurationConfig(reward="quadratic", gamma=1.0, target=1.0))  # fmt: skip


@pytest.mark.slow
def test_the_loop_approaches_the_idealised_limit_as_k_grows():
    limit = curation.ideal(LOOP)
    np.testing.assert_allclose(limit["trace_ratio"], [1, 1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])  # sigma_t^2 = 1 / (1 + (t - 1) gamma)
    gaps = {}
    for k in (2, 8, 32):
        ds = mad.simulate(dataclasses.replace(LOOP, curation=dataclasses.replace(LOOP.curation, candidates=k)))
        assert "trace_ratio_theory" not in ds  # finite K and n: no closed form is drawn
        gaps[k] = [np.max(np.abs(ds[m].sel(stat="mean").values[2:] - limit[m][2:])) for m in ("trace_ratio", "mean_sq_drift")]
    assert gaps[2][0] > gaps[8][0] > gaps[32][0] and gaps[2][1] > gaps[8][1] > gaps[32][1], gaps
    assert gaps[32][0] < 0.02 and gaps[32][1] < 0.03


@pytest.mark.slow
def test_every_point_family_can_be_curated_by_reward():
    config = Config(data=DataConfig(name="gmm_ring"), model=ModelConfig(name="kde"), loop=LoopConfig(n_syn=50), loops=4, generations=3,
                    progress=False, curation=CurationConfig(reward="density", candidates=3))  # fmt: skip
    ds = mad.simulate(config)
    assert np.all(np.isfinite(ds.nll_test.sel(stat="mean").values))


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(curation=CurationConfig(reward="shiny")), r"curation\.reward='shiny' is not allowed; choose one of none, quadratic, linear, density"),
        (dict(curation=CurationConfig(reward="linear", candidates=0)), r"curation\.candidates=0 must be an integer >= 1"),
        (dict(curation=CurationConfig(reward="linear", choice="best")), r"curation\.choice='best' is not allowed"),
        (dict(curation=CurationConfig(reward="linear", gamma=-1.0)), r"curation\.gamma=-1\.0 must be >= 0"),
        (dict(curation=CurationConfig(reward="linear", target=math.nan)), r"curation\.target=nan must be a finite number"),
        (dict(curation=CurationConfig(reward="linear"), model=ModelConfig(name="poisson"), data=DataConfig(name="poisson")),
         r"curation\.reward=linear needs a family that draws points: .*got model=poisson"),
        (dict(curation=CurationConfig(reward="linear"), model=ModelConfig(backend="suffstats")), r"use model\.backend=samples"),
        (dict(curation=CurationConfig(reward="linear"), loop=LoopConfig(keep=0.5)), r"both curate"),
    ],
)
def test_bad_curation_is_refused_naming_the_key(change, message, no_compilation):
    with pytest.raises(mad.ConfigError, match=message):
        mad.validate(dataclasses.replace(Config(), **change))


def test_remedies_report_their_cost_and_the_reward_they_optimise():
    from mad.config import CorrectionConfig
    from mad.loops.curation import remedy_report

    config = Config(data=DataConfig(dim=1), curation=CurationConfig(reward="quadratic", candidates=8, gamma=0.5, target=1.0),
                    correction=CorrectionConfig(gamma=3.0), metrics=dataclasses.replace(Config().metrics, samples=N))  # fmt: skip
    params = STANDARD._replace(mean=jnp.array([0.4]))
    report = remedy_report(config, FAMILY)(jax.random.key(1), params)
    assert float(report["candidates_per_point"]) == 8 and float(report["corrected_share"]) == 0.75
    # E r = -gamma/2 (sigma^2 + (mu - target)^2) for N(mu, sigma^2); r's variance gives the SE
    expected = -0.25 * (1.0 + 0.6**2)
    sd = 0.25 * math.sqrt(2 + 4 * 0.6**2)  # sd of (x - 1)^2 for x ~ N(0.4, 1), times gamma / 2
    assert abs(float(report["reward"]) - expected) <= 5 * sd / math.sqrt(N)
    keep = remedy_report(Config(loop=LoopConfig(n_syn=10, keep=0.3)), FAMILY)(jax.random.key(1), params)
    assert float(keep["candidates_per_point"]) == pytest.approx(3.4) and "reward" not in keep  # ceil(10 / 0.3) = 34 draws for 10 points
    assert remedy_report(Config(), FAMILY)(jax.random.key(1), params) == {}


@pytest.mark.parametrize("choice,gamma,dim,k,lam", [("bt", 1.0, 2, 4, 1.0), ("bt", 2.5, 3, 16, 0.6), ("argmax", 1.0, 2, 4, 1.0), ("argmax", 1.0, 1, 3, 1.0)])
def test_density_curation_factor_matches_a_numpy_monte_carlo(choice, gamma, dim, k, lam):
    # The chosen point of K candidates mu + sqrt(lam) L z is mu + sqrt(lam) L z*: c = E||z*||^2 / d.
    # Bradley-Terry on gamma log p: given the candidates, E[q*] = sum_i q_i softmax(-gamma lam q / 2)_i.
    m = 200_000
    q = np.sum(np.random.default_rng(0).standard_normal((m, k, dim)) ** 2, axis=-1)
    if choice == "bt":
        w = np.exp(-gamma * lam * (q - q.min(-1, keepdims=True)) / 2)
        est = np.sum(w * q, -1) / np.sum(w, -1)
    else:
        est = q.min(-1)
    got = curation.density_factor(gamma, k, dim, choice, lam)
    assert abs(got - est.mean() / dim) <= 5 * est.std() / math.sqrt(m) / dim


def test_density_curation_factor_limits():
    assert curation.density_factor(1.0, 1, 2, "bt") == 1.0 and curation.density_factor(0.0, 8, 2, "bt") == 1.0
    assert curation.density_factor(1.0, 2, 1, "argmax") == pytest.approx(1 - 2 / math.pi, rel=1e-9)  # E min(Z1^2, Z2^2)
    assert curation.density_factor(1.0, 64, 2, "argmax") == pytest.approx(1 / 64, rel=1e-9)  # min of exponentials
    # K -> infinity: Bradley-Terry draws from the tilt p^(1 + gamma), covariance Sigma / (1 + gamma lam)
    for gamma, lam in ((1.0, 1.0), (2.0, 0.5)):
        assert curation.density_factor(gamma, 4096, 3, "bt", lam) == pytest.approx(1 / (1 + gamma * lam), rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("loop,keys,choice", [("replace", dict(n_syn=10), "bt"), ("accumulate", dict(n_syn=10, n_init=20), "argmax")])
def test_density_curated_gaussian_loops_follow_their_recursion(loop, keys, choice):
    # A curated point is mu + sqrt(lam c) L z* with z* isotropic: the first moments follow the
    # uncurated recursion with lam c in place of lam, at every finite K and n.
    from theory_checks import assert_on_theory

    config = Config(data=DataConfig(dim=2), loop=LoopConfig(name=loop, **keys), generations=5, loops=2048, precision="float64", progress=False,
                    curation=CurationConfig(reward="density", candidates=4, choice=choice, gamma=1.5))  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds)
    assert "cov_frob_sq_theory" not in ds  # only the first moments are derived for curated draws


def test_the_largest_of_k_normals_has_its_order_statistic_moments():
    # Exact for K <= 3 (David & Nagaraja, Order Statistics, sec. 3.2); K = 16 against numpy.
    assert curation.max_normal_moments(1) == (0.0, 1.0)
    np.testing.assert_allclose(curation.max_normal_moments(2), (1 / math.sqrt(math.pi), 1 - 1 / math.pi), rtol=1e-10)
    np.testing.assert_allclose(curation.max_normal_moments(3), (1.5 / math.sqrt(math.pi), 1 + math.sqrt(3) / (2 * math.pi) - 2.25 / math.pi), rtol=1e-10)
    m = np.random.default_rng(0).standard_normal((200_000, 16)).max(axis=1)
    mean, var = curation.max_normal_moments(16)
    assert abs(m.mean() - mean) <= 5 * m.std() / math.sqrt(m.size)
    assert abs(m.var() - var) <= 5 * np.std((m - m.mean()) ** 2) / math.sqrt(m.size)


@pytest.mark.slow
@pytest.mark.parametrize("covariance,dim,lam,estimator", [("full", 1, 1.0, "mle"), ("iso", 3, 0.8, "unbiased"), ("diag", 3, 1.0, "mle")])
def test_the_argmax_of_a_linear_reward_shrinks_the_replace_loop_by_the_max_of_normals(covariance, dim, lam, estimator):
    # Each point is the candidate of largest x_1 among K = 4: its first standardised coordinate is
    # the largest of 4 normals, so that coordinate's variance is multiplied by Var M = 0.4917 per
    # generation on top of lam (n - 1)/n, at every n (docs/theory.md, curation).
    from theory_checks import assert_on_theory

    config = Config(data=DataConfig(dim=dim), model=ModelConfig(covariance=covariance, estimator=estimator), generations=6, loops=4096,
                    loop=LoopConfig(n_syn=8, n_init=8, lam=lam), precision="float64", progress=False,
                    curation=CurationConfig(reward="linear", candidates=4, choice="argmax", gamma=0.3))  # fmt: skip
    ds = mad.simulate(config)
    assert_on_theory(ds, ("trace_ratio",))
    assert "mean_sq_drift_theory" not in ds  # the mean moves by sqrt(Sigma_11) E M: not linear in the moments
    shrink = config.loop.lam * (1 - 1 / 8 if estimator == "mle" else 1.0)
    assert ds.trace_ratio_theory.values[-1] < shrink**5  # curation shrinks the loop below its uncurated law


def test_a_linear_reward_without_a_diagonal_law_draws_no_theory():
    base = Config(data=DataConfig(dim=3), curation=CurationConfig(reward="linear", candidates=4, choice="argmax"), generations=3)
    from mad.theory import predict

    assert predict(base) == {}  # a full covariance at d = 3 mixes the first column into every coordinate
    assert predict(dataclasses.replace(base, model=ModelConfig(covariance="diag"), loop=LoopConfig(name="accumulate"))) == {}  # pooled batches
    assert predict(dataclasses.replace(base, model=ModelConfig(covariance="diag"), curation=CurationConfig(reward="linear", candidates=4))) == {}  # Bradley-Terry
    assert set(predict(dataclasses.replace(base, model=ModelConfig(covariance="diag")))) == {"trace_ratio"}
