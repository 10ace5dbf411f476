"""Shumailov et al. (2024), the VAE experiment in miniature: VAEs trained on their own pictures
lose diversity and held-out likelihood generation after generation; 10% fresh real pictures slow
the decline."""

from mad.paper.base import K, Experiment, Row, metric_panels, recorded, rise

SHUMAILOV = "Shumailov et al. 2024 (Nature 631), VAE trained on MNIST"


def figure(ds, fig):
    panels = fig.subplots(1, 3)
    metric_panels(panels, ds, "setting", (("neg_elbo_test", "held-out negative ELBO (nats)"), ("recall", "recall (diversity)"), ("fd", "Frechet distance (classifier features)")))
    config = recorded(ds)  # the figure's title is the experiment's: the architecture heads the first panel
    panels[0].set_title(f"VAE, {config.model.depth} x {config.model.hidden} MLPs, latent {config.model.latent}", fontsize=8)


def rows(ds):
    last = int(ds.generation.values[-1])
    nll, nll_se = rise(ds, "neg_elbo_test", setting="replace")
    recall, recall_se = rise(ds, "recall", setting="replace")
    fd, fd_se = rise(ds, "fd", setting="replace")
    fresh, fresh_se = rise(ds, "fd", setting="real_10pct")
    note = "sem of a difference bounded by the sum of the two sems"
    return [
        Row("shumailov_vae", f"held-out negative ELBO rise, generation 1 to {last}, replace", nll, nll_se, None,
            "the real data become less likely (> 0)", SHUMAILOV, bool(nll > K * nll_se), note=note),
        Row("shumailov_vae", f"recall change, generation 1 to {last}, replace", recall, recall_se, None,
            "the tails and then the variety go (< 0)", SHUMAILOV, bool(recall < -K * recall_se), note=note),
        Row("shumailov_vae", f"Frechet distance rise to generation {last}, 10% real minus replace", fresh - fd, fresh_se + fd_se, None,
            "fresh real data slow the decline (< 0)", SHUMAILOV, bool(fresh - fd < -K * (fresh_se + fd_se)), note=note),
    ]  # fmt: skip


EXPERIMENT = Experiment(
    "shumailov_vae", "VAEs on their own pictures", figure, rows,
    ("loops=4", "generations=3", "loop.n_syn=64", "model.steps=20", "metrics.samples=64"), wide=True,
)  # fmt: skip
