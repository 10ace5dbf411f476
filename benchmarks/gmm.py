"""Mixture loops: mad's batched EM against a Python loop calling scikit-learn, in one run.

    python -m benchmarks.gmm [--loops 1000] [--baseline-loops 10]

Workload M1: data gmm_ring, K = 4 components (full covariance), d = 2, n = 1000 points per
generation, 30 EM iterations (tol 1e-3), 20 generations, replace loop. The baseline is the style
of published model-collapse code: for each loop and generation, `GaussianMixture(4, max_iter=30,
tol=1e-3, init_params="k-means++").fit(x)` then `.sample(1000)`. mad is timed twice: the loop
alone (fit and sample, as the baseline does), and the full engine (plus every sample-based metric
each generation). Writes benchmarks/results/gmm-<device>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mad.config import Config, DataConfig, LoopConfig, ModelConfig
from mad.data import make_data
from mad.engine import Program, lane_block
from mad.families import make_family
from mad.loops import Knobs, make_loop

K, N, ITERS, GENERATIONS = 4, 1000, 30, 20
CONFIG = Config(
    data=DataConfig(name="gmm_ring", dim=2, scale=0.1),
    model=ModelConfig(name="gmm", components=K, em_iters=ITERS, tol=1e-3),
    loop=LoopConfig(n_syn=N),
    generations=GENERATIONS,
    progress=False,
)


def mad_loop_seconds(loops: int) -> tuple[float, float]:
    """Compile and run time of the loop alone (fits and draws, no metrics)."""
    data = make_data(CONFIG)
    family = make_family(CONFIG, data)
    loop = make_loop(family, CONFIG.loop, GENERATIONS)
    knobs = Knobs(jnp.float32(1.0), jnp.float32(0.0))

    def trajectory(key):
        state = loop.init(jax.random.fold_in(key, 1), knobs)

        def body(state, t):
            state = loop.step(state, jax.random.fold_in(key, t), knobs)
            return state, state.params.means[0, 0]

        return jax.lax.scan(body, state, jnp.arange(2, GENERATIONS + 1))[1]

    # Blocks of lanes as the engine runs them on this backend (mad.engine.lane_block).
    block = lane_block(Program.of(CONFIG))
    fn = jax.jit(lambda keys: jax.lax.map(trajectory, keys, batch_size=block) if block else jax.vmap(trajectory)(keys))
    keys = jax.random.split(jax.random.key(0), loops)
    start = time.perf_counter()
    fn.lower(keys).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(fn(keys))
    start = time.perf_counter()
    jax.block_until_ready(fn(keys))
    return compile_s, time.perf_counter() - start


def mad_engine_seconds(loops: int) -> float:
    import dataclasses

    from mad.simulation import simulate

    config = dataclasses.replace(CONFIG, loops=loops)
    simulate(config)  # compile
    start = time.perf_counter()
    simulate(config)
    return time.perf_counter() - start


def sklearn_seconds(loops: int) -> float:
    from sklearn.mixture import GaussianMixture

    data = make_data(CONFIG)
    start = time.perf_counter()
    for i in range(loops):
        x = np.asarray(data.sample(jax.random.key(i), N), np.float64)
        for g in range(GENERATIONS):
            gm = GaussianMixture(K, max_iter=ITERS, tol=1e-3, init_params="k-means++", random_state=g).fit(x)
            x = gm.sample(N)[0]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=1000)
    parser.add_argument("--baseline-loops", type=int, default=10)
    args = parser.parse_args()
    work = GENERATIONS  # loop-generations per loop
    compile_s, loop_s = mad_loop_seconds(args.loops)
    engine_s = mad_engine_seconds(args.loops)
    base_s = sklearn_seconds(args.baseline_loops)
    rate = lambda loops, s: loops * work / s  # noqa: E731
    record = {
        "workload": f"M1: gmm_ring, K={K}, d=2, n={N}, {ITERS} EM iterations, {GENERATIONS} generations, replace",
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
        "mad_loops": args.loops,
        "mad_compile_s": round(compile_s, 2),
        "mad_loop_run_s": round(loop_s, 3),
        "mad_loop_generations_per_s": round(rate(args.loops, loop_s), 1),
        "mad_engine_with_metrics_run_s": round(engine_s, 3),
        "mad_engine_loop_generations_per_s": round(rate(args.loops, engine_s), 1),
        "sklearn_loops": args.baseline_loops,
        "sklearn_run_s": round(base_s, 3),
        "sklearn_loop_generations_per_s": round(rate(args.baseline_loops, base_s), 1),
        "ratio_loop_vs_sklearn": round(rate(args.loops, loop_s) / rate(args.baseline_loops, base_s), 1),
        "ratio_engine_vs_sklearn": round(rate(args.loops, engine_s) / rate(args.baseline_loops, base_s), 1),
    }
    out = Path(__file__).parent / "results" / f"gmm-{record['device'].lower().replace(' ', '_')}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
