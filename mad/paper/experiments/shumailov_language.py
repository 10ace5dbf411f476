"""Shumailov et al. (2024), language models, in miniature: held-out perplexity rises when each
generation trains on the previous one's text, keeping 10% real data slows it, the perplexity
that the generation-0 model gives the written text grows a tail, and accumulating the text
(Gerstgrasser et al. 2024) all but stops the rise."""

import numpy as np

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, recorded, rise

SHUMAILOV = "Shumailov et al. 2024 (Nature 631), language-model experiment (OPT-125m, wikitext2)"
GERSTGRASSER = "Gerstgrasser et al. 2024, language-model experiments"
SETTINGS = {"replace": "replace (no real data kept)", "real_10pct": "10% fresh real data", "accumulate": "accumulate"}


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    curves(a, ds, "perplexity", "setting")
    a.set_ylabel("held-out perplexity per character")
    a.set_title("perplexity of real text")
    dashed_legend(a)
    curves(b, ds, "gen0_ppl_q95", "setting", log=True)
    b.set_ylabel("q95, gen-0 perplexity of written text")
    b.set_title("the tail of improbable text grows")
    dashed_legend(b)
    config = recorded(ds)
    fig.suptitle(f"order-{config.model.order} character models, {config.data.vocab} symbols, windows of {config.data.context}", fontsize=10)


def rows(ds):
    last = int(ds.generation.values[-1])
    up, up_se = rise(ds, "perplexity", setting="replace")
    slowed, slowed_se = rise(ds, "perplexity", setting="real_10pct")
    acc, acc_se = rise(ds, "perplexity", setting="accumulate")
    tail, tail_se = rise(ds, "gen0_ppl_q95", start=0, setting="replace")
    share = acc / up
    share_se = abs(share) * np.hypot(acc_se / acc if acc else 0.0, up_se / up)
    note = "sem of a difference bounded by the sum of the two sems"
    return [
        Row("shumailov_language", f"perplexity rise, generation 1 to {last}, replace", up, up_se, None,
            "rises (> 0)", SHUMAILOV, bool(up > K * up_se), note=note),
        Row("shumailov_language", f"perplexity rise, generation 1 to {last}, 10% fresh real data", slowed, slowed_se, None,
            f"smaller than replace's ({up:.3g})", SHUMAILOV, bool(up - slowed > K * (up_se + slowed_se)), note=note),
        Row("shumailov_language", f"95% quantile of written-text perplexity, rise from real text to generation {last}, replace",
            tail, tail_se, None, "grows (> 0)", SHUMAILOV, bool(tail > K * tail_se), note=note),
        Row("shumailov_language", f"perplexity rise to generation {last}, accumulate / replace", share, share_se, None,
            "small: accumulating avoids collapse (< 0.25)", GERSTGRASSER, bool(share + K * share_se < 0.25),
            note="smoothing noise diluted by 1/t still adds a slow, harmonic creep"),
    ]  # fmt: skip


EXPERIMENT = Experiment(
    "shumailov_language", "Language models trained on their own text", figure, rows,
    ("loops=16", "generations=4", "data.vocab=16", "data.context=16"), wide=True,
)  # fmt: skip
