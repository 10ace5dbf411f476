"""Every workload of the performance milestone against its baselines, in one run.

    python -m benchmarks.run [--only G1,M1] [--budget 8] [--scale 1.0]

Each workload runs in its own subprocess (so its peak memory is its own) and is timed against
its baselines in that process:
  (a) a Python loop over loops and generations with numpy.random.multivariate_normal and np.cov,
      the style of published model-collapse code;
  (b) the best batched numpy: every loop at once (one normal array, batched matmul and Cholesky);
  (c) a Python loop calling scikit-learn's GaussianMixture (mixtures);
  (d) for flows: one network at a time, a jitted training step in a Python loop over loops;
  (e) for language models: one n-gram model at a time in numpy (its sequences written together,
      position by position, counted with bincount), as a careful single-model script would;
  (f) for transformers: one network at a time, a jitted optax step and a jitted writer called
      from a Python loop over loops and generations;
  (g) for image generators: the family's own fit and draw, each jitted for one network, called
      loop after loop from Python (everything as in mad but the vmap over loops).
Baselines run for about `--budget` seconds each (as many loops as fit) and are compared by
loop-generations per second. mad is timed as the loop alone (fits and draws, what the
baselines compute) and as the full engine (plus every metric each generation). The machine's
limits are measured in the same run (normal random numbers per second, float32 matmul FLOP/s),
and each workload states the floor they imply and the fraction of it reached.

Writes benchmarks/results/run-<device>.json and prints the markdown table of benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# name -> (description, config overrides, loops, baselines)
WORKLOADS = {
    "G1-samples": ("Gaussian replace, d=10, n=100, 100 generations, samples backend", dict(dim=10, n=100, generations=100, backend="samples"), 10_000, ("a", "b")),
    "G1-suffstats": ("Gaussian replace, d=10, n=100, 100 generations, suffstats backend", dict(dim=10, n=100, generations=100, backend="suffstats"), 10_000, ("a", "b")),
    "G2-suffstats": ("Gaussian replace, d=10, n=10^4, 100 generations, suffstats backend", dict(dim=10, n=10_000, generations=100, backend="suffstats"), 10_000, ("a", "b")),
    "G3": ("Gaussian replace, d=1, n=10, 1000 generations, samples backend", dict(dim=1, n=10, generations=1000, backend="samples"), 100_000, ("a", "b")),
    "M1": ("GMM gmm_ring, K=4, d=2, n=1000, 30 EM iterations (tol 1e-3), 20 generations", {}, 1000, ("c",)),
    "F1": ("RealNVP on moons, 4 layers x 16 units, 200 steps of batch 128 per generation, 10 generations", {}, 1024, ("d",)),
    "L1": ("character trigram LM on English text, V=32, 256 sequences of 32 characters, 20 generations", {}, 1000, ("e",)),
    "T1": ("causal transformer on English text, 2 layers x 32 units, 100 steps of batch 32, 128 windows of 16, 5 generations", {}, 64, ("f",)),
    "I1": ("VAE on 8 x 8 digits (model=vae defaults: 2 x 128 MLPs, latent 8, 400 steps of batch 64, 500 pictures), 10 generations", {}, 16, ("g",)),
    "I2": ("DDPM on 8 x 8 digits (model=diffusion defaults: 2 x 128 MLP, 400 steps of batch 64, 500 pictures in 25 steps), 10 generations", {}, 16, ("g",)),
}  # fmt: skip


# ----------------------------------------------------------------------------- configs


def config_of(name: str, loops: int):
    from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig

    if name.startswith("G"):
        o = WORKLOADS[name][1]
        return Config(
            data=DataConfig(dim=o["dim"]), model=ModelConfig(backend=o["backend"]), loop=LoopConfig(n_syn=o["n"]),
            generations=o["generations"], loops=loops, progress=False,
        )  # fmt: skip
    if name == "M1":
        return Config(
            data=DataConfig(name="gmm_ring", dim=2, scale=0.1), model=ModelConfig(name="gmm", components=4, em_iters=30, tol=1e-3),
            loop=LoopConfig(n_syn=1000), generations=20, loops=loops, progress=False,
        )  # fmt: skip
    if name == "L1":
        return Config(
            data=DataConfig(name="text", vocab=32, context=32, n_test=256), model=ModelConfig(name="ngram", order=3, alpha=0.01),
            metrics=MetricsConfig(samples=256), loop=LoopConfig(n_syn=256), generations=20, loops=loops, progress=False,
        )  # fmt: skip
    if name in ("I1", "I2"):
        from mad.grid import load_option

        return Config(
            data=load_option("data", "digit_images"), model=load_option("model", "vae" if name == "I1" else "diffusion"),
            metrics=MetricsConfig(samples=256), loop=LoopConfig(n_syn=500), generations=10, loops=loops, progress=False,
        )  # fmt: skip
    if name == "T1":
        return Config(
            data=DataConfig(name="text", vocab=32, context=16, n_test=256),
            model=ModelConfig(name="transformer", layers=2, width=32, heads=2, steps=100, batch_size=32, lr=3e-3),
            metrics=MetricsConfig(samples=64), loop=LoopConfig(n_syn=128), generations=5, loops=loops, progress=False,
        )  # fmt: skip
    return Config(
        data=DataConfig(name="moons", dim=2, scale=0.1),
        model=ModelConfig(name="flow", layers=4, hidden=16, steps=200, batch_size=128, lr=3e-3),
        metrics=MetricsConfig(samples=256), loop=LoopConfig(n_syn=1000), generations=10, loops=loops, progress=False,
    )  # fmt: skip


# ----------------------------------------------------------------------------- machine limits


def machine_limits() -> dict:
    import jax
    import jax.numpy as jnp

    def best(fn, *args, repeats=5):
        jax.block_until_ready(fn(*args))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times.append(time.perf_counter() - start)
        return min(times)

    size = 1 << 24
    normal = jax.jit(lambda k: jax.random.normal(k, (size,), jnp.float32))
    rng_rate = size / best(normal, jax.random.key(0))
    m = 2048 if jax.default_backend() == "cpu" else 8192
    a = jnp.ones((m, m), jnp.float32)
    matmul = jax.jit(lambda x: x @ x)
    flops = 2 * m**3 / best(matmul, a)
    return {"normals_per_s": rng_rate, "matmul_flops_per_s": flops}


# ----------------------------------------------------------------------------- mad


def mad_loop_seconds(config) -> tuple[float, float]:
    """(compile, run) seconds of the loop alone: fits and draws, no metrics, as the engine runs it."""
    import jax
    import jax.numpy as jnp

    from mad.data import make_data
    from mad.engine import Program, enable_precision, lane_block
    from mad.families import make_family
    from mad.loops import Knobs, make_loop

    enable_precision(config.precision)
    data = make_data(config)
    family = make_family(config, data)
    loop = make_loop(family, config.loop, config.generations)
    knobs = Knobs(jnp.float32(1.0), jnp.float32(0.0))

    def trajectory(key):
        state = loop.init(jax.random.fold_in(key, 1), knobs)

        def body(state, t):
            state = loop.step(state, jax.random.fold_in(key, t), knobs)
            return state, jax.tree.leaves(state.params)[0].ravel()[0]  # keeps every fit alive

        return jax.lax.scan(body, state, jnp.arange(2, config.generations + 1))[1]

    block = lane_block(Program.of(config))
    fn = jax.jit(lambda keys: jax.lax.map(trajectory, keys, batch_size=block) if block else jax.vmap(trajectory)(keys))
    keys = jax.random.split(jax.random.key(0), config.loops)  # every workload fits one call
    start = time.perf_counter()
    compiled = fn.lower(keys).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(keys))  # warm
    start = time.perf_counter()
    jax.block_until_ready(compiled(keys))
    return compile_s, time.perf_counter() - start


def mad_engine_seconds(config) -> float:
    from mad.simulation import simulate

    simulate(config)  # compile
    start = time.perf_counter()
    simulate(config)
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- baselines


def _budgeted(run_one, budget: float, max_loops: int) -> tuple[int, float]:
    """Run loops one after another for about `budget` seconds: (loops run, seconds)."""
    start, done = time.perf_counter(), 0
    while done < max_loops and (done == 0 or time.perf_counter() - start < budget):
        run_one(done)
        done += 1
    return done, time.perf_counter() - start


def baseline_numpy_loop(dim: int, n: int, generations: int, budget: float, max_loops: int) -> tuple[int, float]:
    """(a) one loop at a time: np.random.multivariate_normal and np.cov, as published code does."""
    import numpy as np

    def one(seed):
        rng = np.random.default_rng(seed)
        x = rng.multivariate_normal(np.zeros(dim), np.eye(dim), size=n)
        for _ in range(generations):
            mean, cov = x.mean(axis=0), np.atleast_2d(np.cov(x.T, bias=True))
            x = rng.multivariate_normal(mean, cov, size=n)

    return _budgeted(one, budget, max_loops)


def baseline_numpy_batched(dim: int, n: int, generations: int, loops: int, budget: float) -> tuple[int, float]:
    """(b) every loop at once in numpy: one normal array per generation, batched matmul, batched
    Cholesky; loops in blocks so that a block's draws stay under 256 MiB."""
    import numpy as np

    rng = np.random.default_rng(0)
    block = max(1, min(loops, (1 << 25) // (n * dim)))

    def one_block(_):
        mean = np.zeros((block, dim))
        chol = np.broadcast_to(np.eye(dim), (block, dim, dim))
        for _ in range(generations + 1):
            z = rng.standard_normal((block, n, dim))
            x = mean[:, None, :] + z @ np.swapaxes(chol, 1, 2)
            mean = x.mean(axis=1)
            centred = x - mean[:, None, :]
            cov = np.einsum("lni,lnj->lij", centred, centred) / n
            chol = np.linalg.cholesky(cov + 1e-300 * np.eye(dim))

    blocks, seconds = _budgeted(one_block, budget, math.ceil(loops / block))
    return blocks * block, seconds


def baseline_sklearn(config, budget: float, max_loops: int) -> tuple[int, float]:
    """(c) one loop at a time calling scikit-learn's GaussianMixture, as published code does."""
    import jax
    import numpy as np
    from sklearn.mixture import GaussianMixture

    from mad.data import make_data

    data = make_data(config)
    k, n = config.model.components, config.loop.n_syn

    def one(seed):
        x = np.asarray(data.sample(jax.random.key(seed), n), np.float64)
        for g in range(config.generations):
            gm = GaussianMixture(k, max_iter=config.model.em_iters, tol=config.model.tol, init_params="k-means++", random_state=g)
            x = gm.fit(x).sample(n)[0]

    return _budgeted(one, budget, max_loops)


def baseline_flow_one_at_a_time(config, budget: float, max_loops: int) -> tuple[int, float]:
    """(d) the same flows trained one network at a time: a jitted optax step in a Python loop."""
    import jax
    import optax

    from mad.data import make_data
    from mad.families.flow import FlowParams, build, optimizer, standardisation
    from mad.families.points import points, resample_rows

    data = make_data(config)
    m = config.model
    _, flow = build(config, data)
    opt = optimizer(m.optimizer, m.lr)

    @jax.jit
    def step(net, state, x, w, key):
        loss = lambda net: -jax.numpy.mean(flow.log_prob_std(net, x[resample_rows(key, w, m.batch_size)]))  # noqa: E731
        grads = jax.grad(loss)(net)
        updates, state = opt.update(grads, state, net)
        return optax.apply_updates(net, updates), state

    sample = jax.jit(flow.sample, static_argnums=2)

    def one(seed):
        key = jax.random.key(seed)
        x = data.sample(key, config.loop.n_syn)
        for g in range(config.generations):
            sample_points = points(x)
            loc, log_scale = standardisation(sample_points)
            xs = (x - loc[None, :]) * jax.numpy.exp(-log_scale)[None, :]
            net = flow.init_net(jax.random.fold_in(key, g))
            state = opt.init(net)
            for s in range(m.steps):
                net, state = step(net, state, xs, sample_points.w, jax.random.fold_in(key, 1000 * g + s))
            x = sample(jax.random.fold_in(key, 10**6 + g), FlowParams(net, loc, log_scale), config.loop.n_syn)
        jax.block_until_ready(x)

    return _budgeted(one, budget, max_loops)


def baseline_family_one_at_a_time(config, budget: float, max_loops: int) -> tuple[int, float]:
    """(g) the same family's own fit and draw, each jitted for one network, called loop after loop
    from Python: everything as in mad but the vmap over loops."""
    import jax

    from mad.data import make_data
    from mad.families import make_family

    data = make_data(config)
    family = make_family(config, data)
    fit = jax.jit(lambda key, stats: family.fit(key, None, stats))
    draw = jax.jit(family.draw, static_argnums=2)
    n, lam = config.loop.n_syn, config.loop.lam

    def one(seed):
        key = jax.random.key(seed)
        stats = family.real(key, n)
        for g in range(config.generations):
            params = fit(jax.random.fold_in(key, g), stats)
            stats = family.summarize(draw(jax.random.fold_in(key, 10**6 + g), params, n, lam))
        jax.block_until_ready(stats)

    return _budgeted(one, budget, max_loops)


def baseline_ngram_one_at_a_time(config, budget: float, max_loops: int) -> tuple[int, float]:
    """(e) one n-gram model at a time in numpy: sequences written position by position (all of a
    generation's sequences together), counted with bincount, refit with additive smoothing."""
    import numpy as np

    from mad.data import make_data

    text = make_data(config)
    v, order, length, n, alpha = text.vocab, config.model.order, text.context, config.loop.n_syn, config.model.alpha
    contexts = (v + 1) ** (order - 1)

    def counts_of(seqs):
        ctx = np.full(len(seqs), contexts - 1)
        flat = np.zeros(contexts * v)
        for j in range(length):
            flat += np.bincount(ctx * v + seqs[:, j], minlength=flat.size)
            ctx = (ctx * (v + 1) + seqs[:, j]) % contexts
        return flat.reshape(contexts, v)

    def fit(counts):
        row = counts.sum(1, keepdims=True) + v * alpha
        return np.where(row > 0, (counts + alpha) / np.where(row > 0, row, 1), 1 / v)

    def one(seed):
        rng = np.random.default_rng(seed)
        starts = rng.integers(0, len(text.train) - length + 1, n)
        probs = fit(counts_of(text.train[starts[:, None] + np.arange(length)]))
        for _ in range(config.generations):
            cdf = np.cumsum(probs, axis=1)
            seqs, ctx = np.empty((n, length), np.int64), np.full(n, contexts - 1)
            for j in range(length):
                row = cdf[ctx]
                seqs[:, j] = np.minimum((row <= rng.random(n)[:, None] * row[:, -1:]).sum(1), v - 1)
                ctx = (ctx * (v + 1) + seqs[:, j]) % contexts
            probs = fit(counts_of(seqs))

    return _budgeted(one, budget, max_loops)


def baseline_transformer_one_at_a_time(config, budget: float, max_loops: int) -> tuple[int, float]:
    """(f) the same transformers trained one network at a time: a jitted optax step and a jitted
    writer, called from Python for every step, generation and loop."""
    import jax
    import optax

    from mad.data import make_data
    from mad.families.ngram import real_windows
    from mad.families.transformer import INIT_KEY, architecture
    from mad.families.flow import optimizer

    data = make_data(config)
    m = config.model
    lm = architecture(config)
    opt = optimizer(m.optimizer, m.lr)
    windows = real_windows(data)
    initial = lm.init_net(jax.random.key(INIT_KEY))

    @jax.jit
    def step(net, state, x, key):
        batch = x[jax.random.randint(key, (m.batch_size,), 0, x.shape[0])]
        grads = jax.grad(lm.loss)(net, batch)
        updates, state = opt.update(grads, state, net)
        return optax.apply_updates(net, updates), state

    write = jax.jit(lambda key, net: lm.write(key, net, config.loop.n_syn))

    def one(seed):
        key = jax.random.key(seed)
        x = windows(key, config.loop.init_size)
        for g in range(config.generations):
            net, state = initial, opt.init(initial)
            for s in range(m.steps):
                net, state = step(net, state, x, jax.random.fold_in(key, 1000 * g + s))
            x = write(jax.random.fold_in(key, 10**6 + g), net)
        jax.block_until_ready(x)

    return _budgeted(one, budget, max_loops)


# ----------------------------------------------------------------------------- floors


def floor_needs(name: str, config) -> tuple[float, float]:
    """(normal random numbers, FLOPs) one loop-generation needs at least."""
    d, n = config.data.dim, config.loop.n_syn
    if name.startswith("G"):
        if config.model.backend == "suffstats":
            rng = d + d * (d - 1) / 2 + 2 * d  # mean, Bartlett off-diagonals, d chi-squares (~2 each)
            flops = 2 * d**3
        else:
            rng = n * d
            flops = 2 * 2 * n * d * d  # draw (z L^T) and scatter (X^T X)
        return rng, flops
    if name == "L1":
        symbols = n * config.data.context  # one uniform and a V-wide comparison per symbol written
        return symbols, 2 * symbols * config.data.vocab
    if name == "T1":
        m, length, v = config.model, config.data.context, config.data.vocab
        weights = m.layers * 12 * m.width**2 + 2 * v * m.width
        # training: forward and backward (6 FLOPs per weight and symbol); writing: a forward of the
        # window per position written (2 per weight and symbol, L positions)
        return n * length, 6 * weights * m.steps * m.batch_size * length + 2 * weights * n * length * length
    if name in ("I1", "I2"):
        m, d = config.model, config.data.dim

        def weights(inputs, outputs):
            widths = [inputs, *([m.hidden] * m.depth), outputs]
            return sum((a + 1) * b for a, b in zip(widths, widths[1:]))

        if name == "I1":  # encoder and decoder trained; the decoder writes n pictures
            trained, written = weights(d, 2 * m.latent) + weights(m.latent, d), 2 * weights(m.latent, d) * n
            rng = m.steps * m.batch_size * m.latent + n * (m.latent + d)
        else:  # the denoiser trained; the sampler runs it sample_steps times per picture
            from mad.families.diffusion import TIME_FEATURES

            inputs = d + 2 * TIME_FEATURES
            trained, written = weights(inputs, d), 2 * weights(inputs, d) * n * m.sample_steps
            rng = m.steps * m.batch_size * d + n * d * (m.sample_steps + 1)
        return rng, 6 * trained * m.steps * m.batch_size + written
    if name == "M1":
        k = config.model.components
        return n * (d + 1), config.model.em_iters * n * k * (6 * d * d + 10)  # draws and a component choice; EM passes
    m = config.model
    per_sample = 2 * (d * m.hidden + m.hidden * m.hidden + m.hidden * 2 * d)  # one coupling net, forward
    return m.steps * m.batch_size * d, m.steps * m.batch_size * m.layers * per_sample * 3  # forward + backward


# ----------------------------------------------------------------------------- one workload


def run_workload(name: str, budget: float, scale: float) -> dict:
    import jax

    description, _, loops, baselines = WORKLOADS[name]
    loops = max(1, int(loops * scale))
    config = config_of(name, loops)
    limits = machine_limits()
    compile_s, loop_s = mad_loop_seconds(config)
    engine_s = mad_engine_seconds(config)
    work = loops * config.generations
    record = {
        "workload": name,
        "description": description,
        "loops": loops,
        "mad_compile_s": round(compile_s, 3),
        "mad_loop_run_s": round(loop_s, 3),
        "mad_loop_generations_per_s": work / loop_s,
        "mad_engine_run_s": round(engine_s, 3),
        "mad_engine_loop_generations_per_s": work / engine_s,
        **limits,
    }
    g = config.generations
    for b in baselines:
        if b == "a":
            done, seconds = baseline_numpy_loop(config.data.dim, config.loop.n_syn, g, budget, loops)
        elif b == "b":
            done, seconds = baseline_numpy_batched(config.data.dim, config.loop.n_syn, g, loops, budget)
        elif b == "c":
            done, seconds = baseline_sklearn(config, budget, loops)
        elif b == "e":
            done, seconds = baseline_ngram_one_at_a_time(config, budget, loops)
        elif b == "f":
            done, seconds = baseline_transformer_one_at_a_time(config, budget, loops)
        elif b == "g":
            done, seconds = baseline_family_one_at_a_time(config, budget, loops)
        else:
            done, seconds = baseline_flow_one_at_a_time(config, budget, loops)
        rate = done * g / seconds
        record[f"baseline_{b}_loops"] = done
        record[f"baseline_{b}_loop_generations_per_s"] = rate
        record[f"ratio_vs_{b}"] = record["mad_loop_generations_per_s"] / rate
    rng, flops = floor_needs(name, config)
    floor_s = max(work * rng / limits["normals_per_s"], work * flops / limits["matmul_flops_per_s"])
    record["floor_bound"] = "random numbers" if work * rng / limits["normals_per_s"] >= work * flops / limits["matmul_flops_per_s"] else "FLOPs"
    record["floor_s"] = floor_s
    record["fraction_of_floor"] = floor_s / loop_s
    record["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        record["peak_device_mb"] = stats["peak_bytes_in_use"] / 2**20
    return record


# ----------------------------------------------------------------------------- the table

# "engine": the engine's loop-generations per second as a share of the loop's (issue 15).
TARGETS = {
    "G1-samples": {"a": 5, "floor": 0.6, "engine": 0.5},
    "G1-suffstats": {"a": 25, "engine": 0.5},
    "G2-suffstats": {"a": 1000, "engine": 0.5},
    "G3": {"a": 100},
    "M1": {"c": 30, "engine": 0.3},
}


def table(records: list[dict], device: str) -> str:
    lines = [
        f"| workload ({device}) | loops | mad loop-gen/s | compile | engine loop-gen/s | baseline loop-gen/s | ratio | floor | of floor | peak RSS | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        bases = [k.split("_")[1] for k in r if k.startswith("baseline_") and k.endswith("_per_s")]
        base_txt = "; ".join(f"({b}) {r[f'baseline_{b}_loop_generations_per_s']:,.0f}" for b in bases)
        ratio_txt = "; ".join(f"{r[f'ratio_vs_{b}']:,.1f}x ({b})" for b in bases)
        goals = TARGETS.get(r["workload"], {})
        met = []
        for key, goal in goals.items():
            if key == "floor":
                value, what = r["fraction_of_floor"], f"{goal:g} of floor"
            elif key == "engine":
                value = r["mad_engine_loop_generations_per_s"] / r["mad_loop_generations_per_s"]
                what = f"engine {goal:g} of loop ({value:.2f})"
            else:
                value, what = r[f"ratio_vs_{key}"], f"{goal:g}x ({key})"
            met.append(f"{'met' if value >= goal else 'MISSED'}: {what}")
        lines.append(
            f"| {r['workload']} | {r['loops']:,} | {r['mad_loop_generations_per_s']:,.0f} | {r['mad_compile_s']:.1f} s | "
            f"{r['mad_engine_loop_generations_per_s']:,.0f} | {base_txt} | {ratio_txt} | {r['floor_bound']}, {r['floor_s']:.2f} s | "
            f"{100 * r['fraction_of_floor']:.0f}% | {r['peak_rss_mb']:,.0f} MB | {'; '.join(met) or '-'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per baseline")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload's loops")
    parser.add_argument("--workload", help=argparse.SUPPRESS)  # one workload, in a subprocess
    args = parser.parse_args()
    if args.workload:
        print(json.dumps(run_workload(args.workload, args.budget, args.scale)))
        return
    import jax

    records = []
    for name in args.only.split(","):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", "--workload", name, "--budget", str(args.budget), "--scale", str(args.scale)],
            cwd=REPO, capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "disabled"},
        )  # fmt: skip
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{name} failed")
        records.append({**json.loads(proc.stdout.strip().splitlines()[-1]), "measured": time.strftime("%Y-%m-%d %H:%M")})
        print(json.dumps(records[-1], indent=1), file=sys.stderr)
    device = jax.devices()[0].device_kind
    out = HERE / "results" / f"run-{device.lower().replace(' ', '_')}.json"
    # workloads not rerun keep their last measurement (each record says when it was taken)
    if out.exists():
        kept = {r["workload"]: r for r in json.loads(out.read_text())["workloads"]}
        kept.update({r["workload"]: r for r in records})
        records = [kept[name] for name in WORKLOADS if name in kept]
    result = {
        "device": device,
        "backend": jax.default_backend(),
        "jax_version": jax.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
        "workloads": records,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(records, f"{device}, {os.cpu_count()} cores" if jax.default_backend() == "cpu" else device))
    print(f"\nwritten to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
