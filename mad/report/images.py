"""What an image-generating loop draws, generation by generation: a grid of pictures per
generation (MAD's Fig. 1 in miniature) and a 2-D embedding of real and drawn pictures (the
principal components of the real training images), where merging modes and shrinking spread
show.

Loop 0 of a grid point is recomputed exactly as the run computed it (mad.samples), so the models
shown are the ones behind the run's numbers; they draw as the loop draws (with its lam).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import jax
import numpy as np

from mad.config import Config
from mad.data.images import SIDE
from mad.report.text import shown_generations

PER_ROW = 12  # pictures per generation in the grid
EMBEDDED = 300  # drawn pictures per generation in the embedding


def drawn_pictures(config: Config, draw_of: Callable, point: int = 0, loop: int = 0, n: int = EMBEDDED) -> dict[int, np.ndarray]:
    """{t: (n, 64) pictures}: real training images at t = 0, then loop `loop`'s model at the shown
    generations, drawn with the loop's lam."""
    from mad.data import make_data
    from mad.samples import SAMPLE_KEYS, model_params

    data = make_data(config)
    draw = jax.jit(draw_of(config, data), static_argnums=2)
    params = model_params(config, point, loop)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), point), loop)
    out = {}
    for t in shown_generations(config.generations):
        k = jax.random.fold_in(key, SAMPLE_KEYS + t)
        out[t] = np.asarray(data.sample(k, n) if t == 0 else draw(k, params[t - 1], n, config.loop.lam))
    return out


def grid_figure(pictures: dict[int, np.ndarray], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(pictures)
    fig, axes = plt.subplots(len(rows), PER_ROW, figsize=(PER_ROW * 0.62, len(rows) * 0.7 + 0.5), squeeze=False)
    for r, t in enumerate(rows):
        for c in range(PER_ROW):
            ax = axes[r, c]
            ax.imshow(np.clip(pictures[t][c].reshape(SIDE, SIDE), 0.0, 1.0), cmap="gray_r", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel("real" if t == 0 else f"gen {t}", rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def embedding_figure(pictures: dict[int, np.ndarray], real: np.ndarray, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centre = real.mean(0)
    _, _, vt = np.linalg.svd(real - centre, full_matrices=False)
    project = lambda x: (x - centre) @ vt[:2].T  # noqa: E731
    base = project(real)
    rows = sorted(pictures)
    fig, axes = plt.subplots(1, len(rows), figsize=(2.6 * len(rows), 2.9), sharex=True, sharey=True, squeeze=False)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(rows)))
    for ax, colour, t in zip(axes[0], colours, rows):
        ax.scatter(base[:, 0], base[:, 1], s=2, c="0.8", lw=0)
        xy = project(pictures[t])
        ax.scatter(xy[:, 0], xy[:, 1], s=3, color=colour, lw=0)
        ax.set_title("real" if t == 0 else f"generation {t}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    lo, hi = base.min(0), base.max(0)
    pad = 0.15 * (hi - lo)
    axes[0, 0].set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    axes[0, 0].set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def showcase(config: Config, run_dir: Path, draw_of: Callable, point: int = 0) -> tuple[list[Path], str]:
    """figures/image_samples_<point>.png and figures/image_embedding_<point>.png for loop 0 of grid
    point `point`, and a line for the report."""
    import matplotlib.pyplot as plt

    from mad.data.images import split
    from mad.files import atomic_path

    pictures = drawn_pictures(config, draw_of, point)
    folder = Path(run_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    what = f"{config.model.name}, {config.loop.name}, lam={config.loop.lam}: loop 0 of grid point {point}"
    paths = []
    for name, fig in (
        (f"image_samples_{point}.png", grid_figure(pictures, f"what the models draw ({what})")),
        (f"image_embedding_{point}.png", embedding_figure(pictures, split().train, f"real (grey) and drawn pictures, first two principal components of the real ones ({what})")),
    ):
        path = folder / name
        try:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=110)
        finally:
            plt.close(fig)
        paths.append(path)
    section = f"<p>Grid point {point} ({config.loop.name}, lam={config.loop.lam}): pictures drawn by loop 0's models at generations {', '.join(str(t) for t in sorted(pictures) if t)} (figures image_samples_{point}, image_embedding_{point}).</p>"
    if point == 0:
        section = "<h2>What the models draw</h2>\n" + section
    return paths, section
