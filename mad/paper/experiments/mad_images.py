"""Alemohammad et al. (2024, MAD), sec. 4-5, on pictures in miniature: a DDPM loop on 8 x 8 digits
loses quality and diversity without fresh data; sampling bias keeps precision while recall falls
faster; fresh real pictures bound the drift."""

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, recorded, rise

MAD = "Alemohammad et al. 2024 (ICLR), secs. 4-5, DDPM and StyleGAN loops"


def figure(ds, fig):
    panels = fig.subplots(1, 3)
    for ax, (metric, label) in zip(panels, (("fd", "Frechet distance (classifier features)"), ("precision", "precision (quality)"), ("recall", "recall (diversity)"))):
        curves(ax, ds, metric, "setting")
        ax.set_ylabel(label)
        dashed_legend(ax)
    config = recorded(ds)
    fig.suptitle(f"DDPM ({config.model.depth} x {config.model.hidden} MLP, {config.model.steps} steps) on 8 x 8 digits, {ds.attrs.get('loops', '?')} loops", fontsize=10)


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
    ("loops=4", "generations=3", "loop.n_syn=64", "model.steps=20", "metrics.samples=64"), wide=True,
)  # fmt: skip
