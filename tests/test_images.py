"""Image generators (model=vae, model=diffusion) and their metrics, against closed forms:
the ELBO of a linear VAE, the exact law of the DDPM sampler for a Gaussian target with the exact
score, the Frechet distance of two Gaussians (scipy), and the classifier behind the metrics."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.stats

import mad
from mad.config import Config, ConfigError, MetricsConfig, ModelConfig, replace_path, validate
from mad.data import images
from mad.families import diffusion as diffusions
from mad.families import vae as vaes
from mad.families.flow import optimizer
from mad.families.points import points
from mad.grid import load_option
from mad.metrics import images as image_metrics

# ----------------------------------------------------------------------------- the VAE's ELBO


def perturbed(net, seed, scale=0.3):
    leaves, tree = jax.tree.flatten(net)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(tree, [a + scale * jax.random.normal(k, a.shape, a.dtype) for a, k in zip(leaves, keys)])


def linear_elbo(net, x, latent):
    """The exact ELBO of a linear VAE (depth 0) at each row of standardised x: with
    q(z | x) = N(mu, diag s^2), mu = x A + a, log s = x C + c, and p(x | z) = N(z K + b, diag sigma^2),
    E_q log p(x | z) = log N(x; mu K + b, sigma^2) - 1/2 sum_i sum_j K_ji^2 s_j^2 / sigma_i^2,
    minus the Gaussian KL(q || N(0, I))."""
    enc, dec = net["encoder"]["params"]["Dense_0"], net["decoder"]["params"]["Dense_0"]
    out = x @ np.asarray(enc["kernel"]) + np.asarray(enc["bias"])
    mu, log_s = out[:, :latent], np.clip(out[:, latent:], *vaes.LOG_SD_RANGE)
    kernel, bias = np.asarray(dec["kernel"]), np.asarray(dec["bias"])
    sigma2 = np.exp(2 * np.clip(np.asarray(net["log_sigma"]), *vaes.LOG_SIGMA_RANGE))
    mean = mu @ kernel + bias
    spread = np.exp(2 * log_s) @ kernel**2  # (n, d): sum_j s_j^2 K_ji^2
    expected_lik = -0.5 * np.sum(np.log(2 * np.pi * sigma2) + ((x - mean) ** 2 + spread) / sigma2, axis=1)
    kl = 0.5 * np.sum(mu**2 + np.exp(2 * log_s) - 1 - 2 * log_s, axis=1)
    return expected_lik - kl


@pytest.mark.slow
def test_linear_vae_elbo_matches_its_closed_form():
    # The single-sample ELBO the VAE trains on, averaged over many draws, is the exact one.
    dim, latent = 5, 2
    vae = vaes.VAE(dim=dim, latent=latent, hidden=3, depth=0, decoder_noise=True, dtype=jnp.float64)
    net = perturbed(vae.init_net(jax.random.key(0)), 1)
    x = np.asarray(jax.random.normal(jax.random.key(2), (4, dim), jnp.float64))
    draws = 40_000
    elbos = jax.vmap(lambda k: vae.elbo_std(net, jnp.asarray(x), k))(jax.random.split(jax.random.key(3), draws))
    mc, se = np.mean(elbos, axis=0), np.std(elbos, axis=0) / np.sqrt(draws)
    z = (mc - linear_elbo(net, x, latent)) / se
    assert np.all(np.abs(z) < 5), z


@pytest.mark.slow
def test_a_trained_linear_vae_reaches_probabilistic_pca():
    # Gaussian data N(0, W W^T + 0.25 I) with W of rank 2: a linear VAE with a 2-dimensional latent
    # contains the true law, and its ELBO's optimum is probabilistic PCA's likelihood, the true one
    # (Lucas et al. 2019). Paired on held-out points, log p(x) - ELBO(x) has mean KL(p || model) plus
    # the posterior gap: >= 0 (within 5 SE), and small once trained (the optimisation's tolerance).
    rng = np.random.default_rng(0)
    dim, latent = 4, 2
    w = rng.normal(size=(dim, latent))
    cov = w @ w.T + 0.25 * np.eye(dim)
    x, test = (rng.multivariate_normal(np.zeros(dim), cov, size=size) for size in (4000, 20_000))
    vae = vaes.VAE(dim=dim, latent=latent, hidden=1, depth=0, decoder_noise=True, dtype=jnp.float64)
    fit = jax.jit(lambda k: vaes.train(vae, k, vae.init_net(jax.random.key(0)), points(jnp.asarray(x)), steps=2000, batch_size=256, opt=optimizer("adam", 1e-2)))
    params = fit(jax.random.key(1))
    scaled = (test - np.asarray(params.loc)) / np.exp(float(params.log_scale))
    elbo = linear_elbo(params.net, scaled, latent) - dim * float(params.log_scale)
    gap = scipy.stats.multivariate_normal(np.zeros(dim), cov).logpdf(test) - elbo
    mean, se = gap.mean(), gap.std() / np.sqrt(len(gap))
    assert mean > -5 * se, (mean, se)  # the ELBO cannot beat the true law
    assert mean < 0.02, (mean, se)  # probabilistic PCA's optimum reached to 0.02 nats (of 4.7)


@pytest.mark.slow
def test_vae_elbo_in_pixel_units_accounts_for_the_standardisation():
    vae = vaes.VAE(dim=3, latent=2, hidden=4, depth=1, decoder_noise=True, dtype=jnp.float64)
    net = perturbed(vae.init_net(jax.random.key(4)), 5)
    loc, log_scale = jnp.array([0.2, -0.1, 0.4]), jnp.asarray(-1.3)
    x = jax.random.normal(jax.random.key(6), (7, 3), jnp.float64)
    key = jax.random.key(7)
    got = vae.elbo(vaes.VaeParams(net, loc, log_scale), x, key)
    want = vae.elbo_std(net, (x - loc[None, :]) / jnp.exp(log_scale), key) - 3 * log_scale
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_vae_draws_at_latent_temperature_lam_follow_the_linear_model():
    # depth 0, decoder noise: x = z K + b + sigma eps with z ~ N(0, lam I): covariance lam K^T K + diag sigma^2.
    vae = vaes.VAE(dim=3, latent=2, hidden=1, depth=0, decoder_noise=True, dtype=jnp.float64)
    net = perturbed(vae.init_net(jax.random.key(8)), 9, scale=0.8)
    params = vaes.VaeParams(net, jnp.zeros(3), jnp.asarray(0.0))
    kernel = np.asarray(net["decoder"]["params"]["Dense_0"]["kernel"])
    sigma2 = np.exp(2 * np.asarray(net["log_sigma"]))
    n = 50_000
    for lam in (1.0, 0.3):
        x = np.asarray(vae.sample(jax.random.key(10), params, n, lam))
        want = lam * kernel.T @ kernel + np.diag(sigma2)
        got = np.cov(x.T)
        se = np.sqrt((want**2 + np.outer(np.diag(want), np.diag(want))) / n)  # SE of a Gaussian sample covariance
        assert np.all(np.abs(got - want) < 5 * se), (lam, got, want)


# ----------------------------------------------------------------------------- the DDPM sampler


def exact_sampler_law(model, m, s2, lam, variance):
    """Mean and variance (per coordinate) of the DDPM sampler with the exact noise prediction of a
    N(m, s2 I) target, by the eps form of Ho et al.'s step, written independently of mad's x_0 form:
    x_prev = (x - beta / sqrt(1 - abar) eps(x)) / sqrt(1 - beta) + sqrt(lam var) z."""
    abar = model.alpha_bar
    taus = model.taus
    mean, var = np.zeros_like(m), lam * np.ones_like(m)
    for i in range(len(taus) - 1, 0, -1):
        ab_t, ab_s = abar[taus[i]], abar[taus[i - 1]]
        beta = 1 - ab_t / ab_s
        post = beta if variance == "beta" else beta * (1 - ab_s) / (1 - ab_t)
        k1 = np.sqrt(1 - ab_t) / (ab_t * s2 + 1 - ab_t)  # eps(x) = k1 (x - sqrt(abar) m)
        slope = (1 - beta / np.sqrt(1 - ab_t) * k1) / np.sqrt(1 - beta)
        shift = beta / np.sqrt(1 - ab_t) * k1 * np.sqrt(ab_t) * m / np.sqrt(1 - beta)
        mean, var = slope * mean + shift, slope**2 * var + lam * post
    return mean, var


@pytest.mark.parametrize("variance", diffusions.SAMPLER_VARIANCES)
@pytest.mark.parametrize("sample_steps", [100, 10])
@pytest.mark.parametrize("lam", [1.0, 0.5])
def test_diffusion_sampler_follows_the_exact_law_of_a_gaussian_target(sample_steps, lam, variance):
    m, s2 = np.array([1.0, -0.5, 0.25]), 0.3
    model = diffusions.Diffusion(dim=3, hidden=1, depth=0, steps=100, sample_steps=sample_steps, dtype=jnp.float64, variance=variance)

    def oracle(x, t):  # E[x_0 | x_t] for the target N(m, s2 I)
        ab = jnp.asarray(model.alpha_bar)[t][:, None]
        return jnp.asarray(m)[None, :] + jnp.sqrt(ab) * s2 * (x - jnp.sqrt(ab) * jnp.asarray(m)[None, :]) / (ab * s2 + 1 - ab)

    n = 40_000
    x = np.asarray(jax.jit(lambda k: model.reverse(oracle, k, n, lam))(jax.random.key(11)))
    mean, var = exact_sampler_law(model, m, s2, lam, variance)
    z_mean = (x.mean(0) - mean) / np.sqrt(var / n)
    z_var = (x.var(0, ddof=1) - var) / (var * np.sqrt(2 / (n - 1)))
    assert np.all(np.abs(z_mean) < 5) and np.all(np.abs(z_var) < 5), (z_mean, z_var)
    np.testing.assert_allclose(mean, m, rtol=1e-6)  # the exact score recovers the mean ...
    if lam == 1.0 and variance == "beta" and sample_steps == 100:
        assert var == pytest.approx(np.full(3, s2), rel=0.02)  # ... and, with every step, the variance
    if variance == "posterior" or lam < 1.0:
        assert np.all(var < 0.95 * s2)  # the posterior variance, or a colder sampler, draws a narrower law


def test_cosine_schedule_runs_from_data_to_noise():
    abar = diffusions.cosine_alpha_bar(100)
    assert abar[0] == 1.0 and abar[-1] < 1e-6 and np.all(np.diff(abar) < 0)
    assert list(diffusions.respaced(100, 4)) == [0, 25, 50, 75, 100]


def test_diffusion_denoiser_recovers_x0_from_the_exact_velocity():
    # v = sqrt(abar) eps - sqrt(1 - abar) x_0, so sqrt(abar) x_t - sqrt(1 - abar) v = x_0 exactly.
    model = diffusions.Diffusion(dim=2, hidden=1, depth=0, steps=50, sample_steps=5, dtype=jnp.float64)
    x0, eps = jax.random.normal(jax.random.key(12), (2, 6, 2), jnp.float64)
    t = jnp.arange(1, 51, 9)  # six times
    ab = jnp.asarray(model.alpha_bar)[t][:, None]
    xt, v = jnp.sqrt(ab) * x0 + jnp.sqrt(1 - ab) * eps, jnp.sqrt(ab) * eps - jnp.sqrt(1 - ab) * x0
    model.velocity = lambda net, x, t: v  # the exact network
    np.testing.assert_allclose(model.denoise(None, xt, t), x0, atol=1e-12)


# ----------------------------------------------------------------------------- metrics


def test_frechet_distance_matches_the_gaussian_closed_form():
    rng = np.random.default_rng(0)
    for dim in (1, 3, 16):
        a, b = rng.normal(size=(dim, dim)), rng.normal(size=(dim, dim))
        c1, c2 = a @ a.T + 0.1 * np.eye(dim), b @ b.T / dim
        m1, m2 = rng.normal(size=dim), rng.normal(size=dim)
        want = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * np.real(scipy.linalg.sqrtm(c1 @ c2)))
        real = image_metrics.FeatureGaussian(m2, float(np.trace(c2)), image_metrics.sqrtm_psd(c2))
        got = float(image_metrics.frechet(real, jnp.asarray(m1), jnp.asarray(c1)))
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
        got32 = float(image_metrics.frechet(real, jnp.asarray(m1, jnp.float32), jnp.asarray(c1, jnp.float32)))
        assert got32 == pytest.approx(want, rel=1e-3, abs=1e-3 * np.trace(c1))
        assert float(image_metrics.frechet(real, jnp.asarray(m2), jnp.asarray(c2))) == pytest.approx(0.0, abs=1e-9)


def test_the_feature_classifier_reads_held_out_digits():
    net = image_metrics.classifier()
    assert net.accuracy > 0.93
    data = images.split()
    assert data.train.shape == (1438, 64) and data.test.shape == (359, 64)
    assert 0.0 <= data.train.min() and data.train.max() <= 1.0
    f = image_metrics.features(net, jnp.asarray(data.test))
    assert f.shape == (359, 64) and np.all(np.asarray(f) >= 0)


def small(family: str, **keys) -> Config:
    config = Config(
        model=ModelConfig(family), loop=dataclasses.replace(load_option("loop", "replace"), n_syn=64), generations=2, loops=4,
        metrics=MetricsConfig(samples=64), progress=False,
    )  # fmt: skip
    for path, value in {"data.name": "digit_images", "data.dim": 64, "model.hidden": 16, "model.steps": 20, **keys}.items():
        config = replace_path(config, path, value)
    return config


@pytest.mark.slow
def test_real_images_score_as_real():
    from mad.data import make_data
    from mad.families import make_family
    from mad.metrics import make_metrics

    config = small("vae")
    data = make_data(config)
    real = make_metrics(config, make_family(config, data), data).real(jax.random.key(0))
    assert float(real["classes_covered"]) == 10.0
    assert float(real["precision"]) > 0.8 and float(real["recall"]) > 0.8
    assert np.isnan(float(real["neg_elbo_test"]))


@pytest.mark.parametrize(
    "family, key, value, words",
    [
        ("vae", "data.name", "gaussian", "data=gaussian cannot be fitted by model=vae"),
        ("vae", "model.latent", 0, "model.latent"),
        ("vae", "model.depth", -1, "model.depth"),
        ("diffusion", "model.sample_steps", 200, "model.sample_steps"),
        ("diffusion", "metrics.test_set", "per_loop", "metrics.test_set"),
        ("diffusion", "model.latent", 4, "model.latent"),
    ],
)
def test_bad_image_configs_are_refused_by_name(family, key, value, words, no_compilation):
    with pytest.raises(ConfigError, match=words):
        validate(replace_path(small(family), key, value))


@pytest.mark.slow
def test_an_image_loop_loses_diversity_without_fresh_data():
    # Fully synthetic loops with small samples lose recall and spread; fresh real data hold them.
    ds = mad.simulate(replace_path(small("vae", generations=6, loops=8), "model.steps", 150))
    recall = ds.recall.sel(stat="mean").values.ravel()
    assert recall[-1] < recall[1] < recall[0]


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_a_vae_fitted_on_copies_of_one_picture_is_collapsed_not_nan(precision):
    # Its standardisation scale is the smallest float: held-out pictures have no density under it.
    from mad.data import make_data
    from mad.families import make_family
    from mad.metrics import make_metrics

    config = dataclasses.replace(small("vae"), precision=precision)
    data = make_data(config)
    family = make_family(config, data)
    one = jnp.repeat(jnp.asarray(data.test[:1], precision), 16, axis=0)
    params = jax.jit(lambda k: family.fit(k, None, points(one)))(jax.random.key(0))
    out = jax.jit(make_metrics(config, family, data).model)(jax.random.key(1), params)
    assert all(np.isfinite(float(v)) for v in out.values()), out
    assert bool(out["collapsed"]) and float(out["neg_elbo_test"]) > 1e30
