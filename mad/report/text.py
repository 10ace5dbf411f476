"""What a language-model loop writes, generation by generation: Shumailov et al.'s Fig. 1c (the
histogram of the perplexity the generation-0 model assigns to each generation's text) and one
prompt continued by the models of several generations (their "churches" example in miniature).

Loop 0 of the first grid point is recomputed exactly as the run computed it (mad.samples), so the
models shown are the ones behind the run's numbers. Text is written as the loop writes it
(truncated, tempered by lam); generation 0 is real training windows.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mad.config import Config

CONTINUATIONS = 3  # continuations of the prompt per generation


class Writer(NamedTuple):
    """How a language-model family writes, for the report (each family's showcase builds one)."""

    scorer: Any  # (grams, probs): the generation-0 n-gram model that scores written windows
    write: Callable  # write(key, params, n) -> (n, L) windows, as the loop writes them
    extend: Callable  # extend(key, params, prompt, k) -> (k, L - len(prompt)): the rest of k windows
    shown: int = 2000  # windows per generation in the histogram

def shown_generations(generations: int) -> list[int]:
    return sorted({0, 1, max(1, generations // 4), max(1, generations // 2), generations})


def written_text(config: Config, writer_of: Callable, point: int = 0, loop: int = 0, n: int | None = None):
    """{t: per-window generation-0 perplexities}, {t: continuations of the prompt} (0: the real
    one), the prompt; writer_of(config, data, family) -> Writer."""
    from mad.data import make_data
    from mad.families import make_family
    from mad.families.ngram import log_likelihood, real_windows
    from mad.samples import SAMPLE_KEYS, model_params

    data = make_data(config)
    family = make_family(config, data)
    writer = writer_of(config, data, family)
    n = writer.shown if n is None else n
    grams, scorer = writer.scorer
    params = model_params(config, point, loop)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(config.seed), point), loop)
    window = np.asarray(data.test[0])
    cut = max(1, data.context // 2)
    prompt = jnp.asarray(window[:cut])
    score = jax.jit(lambda seqs: jnp.exp(-log_likelihood(grams, scorer, seqs) / grams.length))
    perplexities, continuations = {}, {0: [data.decode(window[cut:])]}
    for t in shown_generations(config.generations):
        k_text, k_prompt = jax.random.split(jax.random.fold_in(key, SAMPLE_KEYS + t))
        if t == 0:
            perplexities[t] = np.asarray(score(real_windows(data)(k_text, n)))
            continue
        perplexities[t] = np.asarray(score(writer.write(k_text, params[t - 1], n)))
        continuations[t] = [data.decode(row) for row in np.asarray(writer.extend(k_prompt, params[t - 1], prompt, CONTINUATIONS))]
    return perplexities, continuations, data.decode(window[:cut])


def histogram_figure(perplexities: dict[int, np.ndarray], title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    values = np.concatenate(list(perplexities.values()))
    bins = np.geomspace(max(values.min(), 1.0), values.max() * 1.01, 60)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(perplexities)))
    for colour, (t, ppl) in zip(colours, sorted(perplexities.items())):
        label = "real text" if t == 0 else f"generation {t}"
        ax.hist(ppl, bins=bins, weights=np.full(len(ppl), 1 / len(ppl)), histtype="step", lw=1.6, color=colour, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("perplexity of a written sequence under the generation-0 model")
    ax.set_ylabel("share of sequences (log-spaced bins)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def showcase(config: Config, run_dir: Path, writer_of: Callable, point: int = 0) -> tuple[list[Path], str]:
    """figures/written_perplexity.png and the report's HTML section of continuations, for loop 0
    of grid point `point`."""
    import matplotlib.pyplot as plt

    from mad.files import atomic_path

    perplexities, continuations, prompt = written_text(config, writer_of, point)
    folder = Path(run_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "written_perplexity.png"
    fig = histogram_figure(perplexities, f"loop 0 of grid point {point} ({config.loop.name}, lam={config.loop.lam}): the tail grows")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    rows = "\n".join(
        f"<tr><td>{'real' if t == 0 else t}</td><td><code>{'<br>'.join(html.escape(c) for c in texts)}</code></td></tr>"
        for t, texts in sorted(continuations.items())
    )
    section = f"""<h2>What the models write</h2>
<p>Loop 0 of grid point {point}, recomputed. Each row completes the held-out window that
begins <code>{html.escape(prompt)}</code> with the model of one generation (real: how the
held-out text goes on).</p>
<table><tr><th>generation</th><th>continuations</th></tr>
{rows}</table>"""
    return [path], section
