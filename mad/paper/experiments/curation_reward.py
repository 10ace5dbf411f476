"""Ferbach et al. (2024): curation by a reward drives the model to p exp(t r) / Z; as the number of
candidates K grows, the simulated loop approaches that idealised limit (mad.theory.curation)."""

from mad.paper.base import K, Experiment, Row, curves, dashed_legend, final, recorded
from mad.theory import curation

SOURCE = "Ferbach et al. 2024 (K, n -> inf: density times exp(r) per generation)"


def figure(ds, fig):
    a, b = fig.subplots(1, 2)
    limit = curation.ideal(recorded(ds, candidates=int(ds.candidates.values[-1])))
    for ax, metric, label in ((a, "trace_ratio", "E sigma_t^2 / sigma_0^2"), (b, "mean_sq_drift", "E (mu_t - mu_0)^2")):
        curves(ax, ds, metric, "candidates")
        ax.plot(ds.generation.values, limit[metric], ":", color="grey", marker="x", label="K, n -> infinity")
        ax.set_ylabel(label)
        dashed_legend(ax)
    a.set_title("precision grows by gamma per generation")
    b.set_title("the mean moves to the reward's target")
    config = recorded(ds)
    fig.suptitle(f"quadratic reward, gamma = {config.curation.gamma:g}, target {config.curation.target:g}, n = {config.loop.n_syn}", fontsize=10)


def rows(ds):
    out = []
    config = recorded(ds, candidates=int(ds.candidates.values[-1]))
    limit = curation.ideal(config)
    g = int(ds.generation.values[-1])
    gaps, ses = [], []
    for k in ds.candidates.values:
        m, se = final(ds, "trace_ratio", candidates=k)
        gaps.append(abs(m - limit["trace_ratio"][-1]))
        ses.append(se)
        if k == 1:
            out.append(Row("curation_reward", f"E sigma_G^2 / sigma_0^2, K = 1 (no curation), G = {g}", m, se, None,
                           f"(1 - 1/n)^{g - 1} = {(1 - 1 / config.loop.n_syn) ** (g - 1):.4f}", "uncurated replace loop",
                           bool(abs(m - (1 - 1 / config.loop.n_syn) ** (g - 1)) <= K * se)))  # fmt: skip
    largest = int(ds.candidates.values[-1])
    m, se = final(ds, "trace_ratio", candidates=largest)
    out.append(Row("curation_reward", f"E sigma_G^2 / sigma_0^2, K = {largest}, G = {g}", m, se, None, f"{limit['trace_ratio'][-1]:.4f} (K, n -> inf)",
                   SOURCE, bool(abs(m - limit["trace_ratio"][-1]) <= 0.05 * limit["trace_ratio"][-1]), note="within 5% of the limit"))  # fmt: skip
    md, sed = final(ds, "mean_sq_drift", candidates=largest)
    out.append(Row("curation_reward", f"E (mu_G - mu_0)^2, K = {largest}, G = {g}", md, sed, None, f"{limit['mean_sq_drift'][-1]:.4f} (K, n -> inf)",
                   SOURCE, bool(abs(md - limit["mean_sq_drift"][-1]) <= 0.05 * limit["mean_sq_drift"][-1]), note="within 5% of the limit"))  # fmt: skip
    # Each larger K is closer to the limit, until the gap is within K standard errors (the finite-n floor and noise).
    shrinks = all(y < x or y <= K * s for x, y, s in zip(gaps[1:], gaps[2:], ses[2:]))
    out.append(Row("curation_reward", "distance to the limit at G, K = 2 (vs larger K)", float(gaps[1]), float("nan"), None,
                   "shrinks as K grows", SOURCE, bool(shrinks),
                   note="gaps " + ", ".join(f"{x:.3g} at K = {k}" for x, k in zip(gaps, ds.candidates.values))
                   + f"; below {K:g} SE counts as reached"))  # fmt: skip
    return out


EXPERIMENT = Experiment(
    "curation_reward", "Curation by reward optimises it", figure, rows,
    ("loops=8", "generations=3", "loop.n_syn=100", "grid.curation.candidates=[1,2,8]"), wide=True,
)  # fmt: skip
