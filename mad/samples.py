"""What the models draw, generation by generation: ``python -m mad.samples RUN_DIR [options]``.

The classic MAD picture: samples of one loop's model at chosen generations beside the real data
(a scatter of the first two coordinates; a histogram in one dimension), so mode dropping on the
ring or the thinning of the moons can be seen. The loop is recomputed exactly as the run computed
it, from the grid point's recorded config and the run's seed (keys fold_in(fold_in(key(seed),
point), loop), then the generation), so its models are the ones behind the run's numbers.
Writes RUN_DIR/figures/samples[_<point>].png.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Optional, Sequence

import jax
import numpy as np

from mad.config import Config

SAMPLE_KEYS = 1 << 29  # draws for the figure use fold_in(loop_key, SAMPLE_KEYS + t), apart from the loop's keys


def model_params(config: Config, point: int = 0, loop: int = 0) -> list:
    """The parameters of one loop's model for generations 1..G, as the engine computes them
    (grid point `point` of `config`'s run, loop index `loop`)."""
    from mad.data import make_data
    from mad.engine import Program, enable_precision, knobs_of
    from mad.families import make_family
    from mad.loops import make_loop, schedule

    enable_precision(config.precision)
    program = Program.of(config)
    data = make_data(config)
    family = make_family(program.config(), data)
    steps = make_loop(family, program.loop, config.generations, schedule.of(config), config.curation, config.correction, schedule.steps_of(config))
    knobs = jax.tree.map(lambda x: x[0], knobs_of([config], program.dtype))
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), point), loop)
    state = jax.jit(steps.init)(jax.random.fold_in(key, 1), knobs)
    step = jax.jit(steps.step)
    out = [state.params]
    for t in range(2, config.generations + 1):
        state = step(state, jax.random.fold_in(key, t), knobs)
        out.append(state.params)
    return out


def model_samples(config: Config, generations: Sequence[int], n: int = 1000, point: int = 0, loop: int = 0) -> dict[int, np.ndarray]:
    """{t: (n, d) points} drawn from the loop's model at each generation t (0: the real data)."""
    from mad.config import ConfigError
    from mad.data import make_data
    from mad.families import family_spec, make_family

    spec = family_spec(config.model.name)
    if spec.showcase is not None:
        raise ConfigError(f"model={config.model.name} shows what it writes in its run's report.html (and figures/), not as sample figures")
    if not spec.draws_points:
        raise ConfigError(f"model={config.model.name} does not draw points: sample figures need a family that does")
    bad = [t for t in generations if not 0 <= t <= config.generations]
    if bad:
        raise ConfigError(f"generations {bad} are outside 0..{config.generations}")
    params = model_params(config, point, loop)
    family = make_family(config, make_data(config))
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), point), loop)
    out = {}
    for t in generations:
        k = jax.random.fold_in(key, SAMPLE_KEYS + t)
        out[t] = np.asarray(family.draw(k, None if t == 0 else params[t - 1], n, 1.0))
    return out


def figure(samples: dict[int, np.ndarray], title: str = ""):
    """One panel per generation: scatter of the first two coordinates (histogram in 1-D), all
    panels on the real data's limits so that shrinking and drifting show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gens = sorted(samples)
    fig, axes = plt.subplots(1, len(gens), figsize=(2.8 * len(gens) + 0.6, 3.2), dpi=110, squeeze=False)
    reference = samples[gens[0]]
    low, high = np.nanpercentile(reference, 0.5, axis=0), np.nanpercentile(reference, 99.5, axis=0)
    pad = 0.15 * (high - low)
    for ax, t in zip(axes[0], gens):
        x = samples[t]
        if x.shape[1] == 1:
            ax.hist(x[:, 0], bins=60, range=(low[0] - pad[0], high[0] + pad[0]), color="C0" if t else "grey")
        else:
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5, color="C0" if t else "grey", linewidths=0)
            ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
            ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
            ax.set_aspect("equal", adjustable="box")
        ax.set_title("real data" if t == 0 else f"generation {t}", fontsize=9)
        ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _point(ds, selection: dict[str, str]) -> tuple[int, dict]:
    """(grid point index, its coordinates) for `axis=value` selections (the first point if none)."""
    dims = [d for d in ds.point_config.dims]
    positions, coords = [], {}
    for dim in dims:
        values = [str(v) for v in ds[dim].values]
        want = selection.get(dim, values[0])
        matches = [i for i, v in enumerate(values) if v == want or _same_number(v, want)]
        if not matches:
            raise ValueError(f"{dim}={want} is not a value of the run's grid axis {dim} ({', '.join(values)})")
        positions.append(matches[0])
        coords[dim] = ds[dim].values[matches[0]].item()
    unknown = set(selection) - set(dims)
    if unknown:
        raise ValueError(f"the run has no grid axis {', '.join(sorted(unknown))} (its axes: {', '.join(dims) or 'none'})")
    index = int(np.ravel_multi_index(positions, [ds.sizes[d] for d in dims])) if dims else 0
    return index, coords


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def main(argv: Optional[Sequence[str]] = None) -> int:
    from mad.config import ConfigError, from_yaml
    from mad.files import atomic_path
    from mad.results import ResultsError, read_netcdf

    parser = argparse.ArgumentParser(prog="python -m mad.samples", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory holding results.nc")
    parser.add_argument("--generations", default=None, help="comma-separated generations (default: 0, 1, G/2, G)")
    parser.add_argument("--point", action="append", default=[], metavar="AXIS=VALUE", help="the grid point (default: the first)")
    parser.add_argument("--loop", type=int, default=0, help="loop index within the grid point")
    parser.add_argument("-n", type=int, default=1000, help="points drawn per generation")
    args = parser.parse_args(argv)
    try:
        ds = read_netcdf(args.run / "results.nc")
        index, coords = _point(ds, dict(p.split("=", 1) for p in args.point))
        config = from_yaml(str(ds.point_config.sel(coords).values.item() if coords else ds.point_config.values.item()))
        config = dataclasses.replace(config, seed=int(ds.attrs["seed"]))
        g = config.generations
        gens = [int(t) for t in args.generations.split(",")] if args.generations else sorted({0, 1, g // 2, g})
        samples = model_samples(config, gens, args.n, index, args.loop)
    except (FileNotFoundError, ResultsError, ConfigError, ValueError) as err:
        print(f"mad.samples: {err}", file=sys.stderr)
        return 2
    import matplotlib.pyplot as plt

    where = ", ".join(f"{k}={v}" for k, v in coords.items())
    fig = figure(samples, f"model={config.model.name}, data={config.data.name}, loop {args.loop}" + (f", {where}" if where else ""))
    suffix = "_" + "_".join(f"{k}={v}" for k, v in coords.items()) if coords else ""
    path = args.run / "figures" / f"samples{suffix}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
