"""Real data: a mixture on scikit-learn's handwritten digits (PCA-reduced) under sampling bias,
which costs held-out likelihood and recall (Alemohammad et al. 2023)."""

from mad.paper.base import Experiment, curves, monotone_rows, recorded


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    config = recorded(ds)
    curves(a, ds, "nll_test", "lam")
    a.set_ylabel("held-out NLL (nats)")
    a.set_title(f"GMM ({config.model.components} components) on handwritten digits (PCA {config.data.dim})")
    curves(b, ds, "recall", "lam")
    b.set_ylabel("recall")
    b.legend(fontsize=7)


EXPERIMENT = Experiment(
    "digits", "Real data: handwritten digits", figure,
    monotone_rows("digits", "lam", "sampling bias costs held-out likelihood", "Alemohammad et al. 2023", better_when_larger=False),
    ("loops=4", "generations=2", "loop.n_syn=300", "metrics.samples=32"), wide=True,
)  # fmt: skip
