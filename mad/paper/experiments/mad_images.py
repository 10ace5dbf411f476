"""Alemohammad et al. (2024, MAD), sec. 4-5, on pictures in miniature: a DDPM loop on 8 x 8 digits
loses quality and diversity without fresh data; sampling bias keeps precision while recall falls
faster; fresh real pictures bound the drift."""

import numpy as np

from mad.paper.base import K, Experiment, Row, final, metric_panels, recorded, rise

MAD = "Alemohammad et al. 2024 (ICLR), secs. 4-5, DDPM and StyleGAN loops"


SHOWN = 8  # pictures per generation in the mosaics


def mosaic(pictures: dict[int, np.ndarray]) -> np.ndarray:
    """One image: a row of SHOWN pictures per generation, one pixel apart."""
    from mad.data.images import SIDE

    rows = []
    for t in sorted(pictures):
        tiles = [np.pad(np.clip(p.reshape(SIDE, SIDE), 0, 1), 1, constant_values=np.nan) for p in pictures[t][:SHOWN]]
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def pictures_of(ds, axes):
    """Loop 0 of each setting recomputed (mad.report.images), its pictures by generation."""
    from mad.families.diffusion import architecture
    from mad.report.images import drawn_pictures

    for point, (ax, setting) in enumerate(zip(axes, ds.setting.values)):
        pictures = drawn_pictures(recorded(ds, setting=setting), lambda config, data: architecture(config).sample, point, n=SHOWN)
        ax.imshow(mosaic(pictures), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([(10 * i + 5) for i in range(len(pictures))], ["real" if t == 0 else f"gen {t}" for t in sorted(pictures)], fontsize=7)
        ax.set_title(f"what loop 0 draws: {setting}", fontsize=8)


def figure(ds, fig):
    grid = fig.add_gridspec(2, 3, height_ratios=(1.2, 0.8))
    config = recorded(ds)
    panels = [fig.add_subplot(grid[0, column]) for column in range(3)]
    metric_panels(panels, ds, "setting", (("fd", "Frechet distance (classifier features)"), ("precision", "precision (quality)"), ("recall", "recall (diversity)")))
    panels[0].set_title(f"DDPM, {config.model.depth} x {config.model.hidden} MLP, {config.model.steps} steps", fontsize=8)
    pictures_of(ds, [fig.add_subplot(grid[1, column]) for column in range(len(ds.setting))])


def rows(ds):
    last = int(ds.generation.values[-1])
    fd, fd_se = rise(ds, "fd", setting="fully_synthetic")
    recall, recall_se = rise(ds, "recall", setting="fully_synthetic")
    biased, biased_se = rise(ds, "recall", setting="sampling_bias")
    (p1, p1_se), (pb, pb_se) = (final(ds, "precision", setting=s) for s in ("fully_synthetic", "sampling_bias"))
    (f1, f1_se), (ff, ff_se) = (final(ds, "fd", setting=s) for s in ("fully_synthetic", "fresh"))
    note = "sem of a difference bounded by the sum of the two sems"
    return [
        Row("mad_images", f"Frechet distance rise, generation 1 to {last}, fully synthetic", fd, fd_se, None,
            "quality falls: FID grows (> 0)", MAD, bool(fd > K * fd_se), note=note),
        Row("mad_images", f"recall change, generation 1 to {last}, fully synthetic", recall, recall_se, None,
            "diversity falls (< 0)", MAD, bool(recall < -K * recall_se), note=note),
        Row("mad_images", f"precision at generation {last}, sampling bias lam = 0.5 minus lam = 1", pb - p1, pb_se + p1_se, None,
            "precision holds with sampling bias (not below lam = 1's)", MAD, bool(pb - p1 > -K * (pb_se + p1_se)), note=note),
        Row("mad_images", f"recall change to generation {last}, lam = 0.5 minus lam = 1", biased - recall, biased_se + recall_se, None,
            "recall falls faster with sampling bias (< 0)", MAD, bool(biased - recall < -K * (biased_se + recall_se)), note=note),
        Row("mad_images", f"Frechet distance at generation {last}, fresh (half real) minus fully synthetic", ff - f1, ff_se + f1_se, None,
            "fresh real data bound the drift (< 0)", MAD, bool(ff - f1 < -K * (ff_se + f1_se)), note=note),
    ]  # fmt: skip


EXPERIMENT = Experiment(
    "mad_images", "Diffusion models on their own pictures", figure, rows,
    ("loops=4", "generations=3", "loop.n_syn=64", "model.steps=20", "metrics.samples=64"), wide=True, height=7.5,
)  # fmt: skip
