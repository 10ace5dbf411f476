"""The RealNVP flow: an exact, normalised density; training lowers the NLL; loops run batched."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mad
from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig
from mad.families import flow as flows
from mad.families.points import points

FLOW = flows.Flow(dim=2, layers=4, hidden=8, dtype=jnp.float64)


def random_params(seed=0):
    net = FLOW.init_net(jax.random.key(seed))  # the identity: perturb it to test a real map
    leaves, tree = jax.tree.flatten(net)
    keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
    net = jax.tree.unflatten(tree, [a + 0.3 * jax.random.normal(k, a.shape, a.dtype) for a, k in zip(leaves, keys)])
    return flows.FlowParams(net, jnp.array([0.5, -1.0]), jnp.array([0.2, -0.3]))


@pytest.mark.slow
def test_inverse_undoes_forward():
    params = random_params()
    x = jax.random.normal(jax.random.key(2), (50, 2))
    z, _ = FLOW.forward(params.net, x)
    np.testing.assert_allclose(FLOW.inverse(params.net, z), x, atol=1e-12)


@pytest.mark.slow
def test_density_integrates_to_one():
    params = random_params(3)
    ticks = jnp.linspace(-40.0, 40.0, 1601)  # wide: the perturbed flow has heavy tails
    grid = jnp.stack([a.ravel() for a in jnp.meshgrid(ticks, ticks)], axis=1)
    mass = jnp.sum(jnp.exp(FLOW.log_prob(params, grid))) * (ticks[1] - ticks[0]) ** 2
    assert float(mass) == pytest.approx(1.0, abs=1e-4)


def test_change_of_variables_matches_finite_differences():
    params = random_params(4)
    x = jnp.array([[0.3, -0.7]])
    z, log_det = FLOW.forward(params.net, x[0][None, :])
    jac = jax.jacobian(lambda v: FLOW.forward(params.net, v[None, :])[0][0])(x[0])
    assert float(log_det[0]) == pytest.approx(float(jnp.linalg.slogdet(jac)[1]), rel=1e-10)


@pytest.mark.slow
def test_training_lowers_the_nll_towards_the_entropy():
    x = jax.random.normal(jax.random.key(3), (2000, 2)) * jnp.array([[2.0, 0.5]]) + 3.0
    data = points(x)
    opt = flows.optimizer("adam", 3e-3)
    start = flows.train(FLOW, jax.random.key(4), FLOW.init_net(jax.random.key(5)), data, steps=1, batch_size=64, opt=opt)
    trained = flows.train(FLOW, jax.random.key(4), FLOW.init_net(jax.random.key(5)), data, steps=300, batch_size=128, opt=opt)
    entropy = np.log(2 * np.pi * np.e) + np.log(2.0 * 0.5)  # of N(3, diag(4, 0.25))
    nll = lambda p: -float(jnp.mean(FLOW.log_prob(p, x)))  # noqa: E731
    assert nll(trained) < nll(start) + 1e-9
    assert abs(nll(trained) - entropy) < 0.05  # a Gaussian is within reach of the flow


SMALL = Config(
    data=DataConfig(name="moons", scale=0.1, n_test=200),
    model=ModelConfig(name="flow", layers=2, hidden=8, steps=20, batch_size=32, lr=3e-3),
    metrics=MetricsConfig(samples=64),
    loop=LoopConfig(n_syn=100),
    loops=6, generations=2, progress=False,
)  # fmt: skip


@pytest.mark.slow
def test_flows_run_in_the_engine():
    # warm_start: generation 1 trains a fresh network, later ones continue the previous one
    config = dataclasses.replace(SMALL, model=dataclasses.replace(SMALL.model, warm_start=True))
    loops = mad.run(config, keep_loops=True).loops
    for name in ("nll_test", "precision", "recall", "trace_ratio", "mmd"):
        assert np.all(np.isfinite(loops[name].values)), name
    assert float(loops.nll_test.isel(generation=0).mean()) < float(loops.nll_test.isel(generation=2).mean())
