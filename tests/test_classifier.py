"""A linear classifier relabelling its own data, with a verifier (Feng et al. 2025): against a
numpy simulation of the same law, against the large-sample map of mad.theory.classification,
and its threshold (the kept examples more or less than half correct)."""

import dataclasses

import numpy as np
import pytest
from scipy.stats import norm

import mad
from mad.config import Config, ConfigError, DataConfig, LoopConfig, ModelConfig, VerifierConfig, validate
from mad.loops import verification
from mad.theory import classification
from theory_checks import assert_on_theory

K = 5.0  # standard errors


def config(loop="replace", *, n_syn, n_init, verifier=VerifierConfig(), generations=4, loops=1024, dim=2, **loop_keys):
    return Config(
        data=DataConfig(name="two_classes", dim=dim, spread=2.0), model=ModelConfig("classifier"),
        loop=LoopConfig(name=loop, n_syn=n_syn, n_init=n_init, **loop_keys), verifier=verifier,
        generations=generations, loops=loops, precision="float64", progress=False,
    )  # fmt: skip


def numpy_replace(rng, *, loops, generations, n_syn, n_init, dim, tpr, fpr):
    """Reference: the replace loop of the class-mean classifier with a verifier, loop by loop in numpy."""
    mu = np.zeros(dim)
    mu[0] = 1.0

    def examples(n):
        y = rng.choice([-1.0, 1.0], size=(loops, n))
        return y, y[..., None] * mu + rng.normal(size=(loops, n, dim))

    y, x = examples(n_init)
    w = np.einsum("ln,lnd->ld", y, x) / n_init
    acc, kept, wrong = [norm.cdf(w @ mu / np.linalg.norm(w, axis=1))], [], []
    for _ in range(generations - 1):
        y, x = examples(n_syn)
        label = np.where(np.einsum("lnd,ld->ln", x, w) >= 0, 1.0, -1.0)
        correct = label == y
        keep = rng.uniform(size=label.shape) < np.where(correct, tpr, fpr)
        count = keep.sum(1)
        signed = np.einsum("ln,lnd->ld", keep * label, x)
        w = np.where(count[:, None] > 0, signed / np.maximum(count, 1)[:, None], w)
        acc.append(norm.cdf(w @ mu / np.linalg.norm(w, axis=1)))
        kept.append(count / n_syn)
        wrong.append((keep & ~correct).sum(1) / np.maximum(count, 1))
    return np.array(acc), np.array(kept), np.array(wrong)


@pytest.mark.slow
def test_replace_loop_matches_a_numpy_simulation_of_the_same_law():
    cfg = config(n_syn=30, n_init=6, dim=3, verifier=VerifierConfig(tpr=0.8, fpr=0.3), loops=4096)
    ds = mad.simulate(cfg)
    acc, kept, wrong = numpy_replace(np.random.default_rng(0), loops=8192, generations=4, n_syn=30, n_init=6, dim=3, tpr=0.8, fpr=0.3)
    for name, ref, first in (("accuracy", acc, 1), ("kept_share", kept, 2), ("wrong_share", wrong, 2)):
        mean = ds[name].sel(stat="mean").values[first:]
        sem = ds[name].sel(stat="sem").values[first:]
        ref_sem = ref.std(1, ddof=1) / np.sqrt(ref.shape[1])
        assert np.all(np.abs(mean - ref.mean(1)) <= K * np.hypot(sem, ref_sem)), (name, mean, ref.mean(1))


@pytest.mark.parametrize(
    "loop,sizes,verifier,dim",
    [
        ("replace", dict(n_syn=40, n_init=40), VerifierConfig(), 2),  # near the Bayes rule: the batches' noise is all
        ("fresh", dict(n_syn=40, n_init=40, n_real=20), VerifierConfig(), 2),
        ("accumulate", dict(n_syn=30, n_init=6), VerifierConfig(tpr=0.8, fpr=0.3), 3),
        pytest.param("replace", dict(n_syn=100, n_init=2), VerifierConfig(), 2, marks=pytest.mark.slow),  # a poor first fit recovers
        pytest.param("replace", dict(n_syn=100, n_init=3), VerifierConfig(tpr=0.6, fpr=0.6), 2, marks=pytest.mark.slow),  # random keeping
        pytest.param("replace", dict(n_syn=40, n_init=40), VerifierConfig(), 5, marks=pytest.mark.slow),  # (d - 1) / n_syn = 0.1
    ],
)
@pytest.mark.slow
def test_loops_follow_the_second_order_theory(loop, sizes, verifier, dim):
    ds = mad.simulate(config(loop, verifier=verifier, dim=dim, generations=6, loops=4096, **sizes))
    assert_on_theory(ds, ("accuracy", "alignment"))


def test_theory_is_drawn_only_where_its_expansion_holds():
    assert classification.predict(config(n_syn=40, n_init=40, dim=5))  # (d - 1) / n_syn = 0.1
    assert classification.predict(config(n_syn=40, n_init=40, dim=6)) == {}
    assert classification.predict(config("augment", n_syn=40, n_init=40, n_real=20)) == {}  # the fixed set is in the first fit
    assert classification.predict(config("fresh", n_syn=40, n_init=40, n_real=20, real_weight=0.5)) == {}
    assert classification.predict(config(n_syn=40, n_init=40, verifier=VerifierConfig(tpr=0.5, fpr=0.6))) == {}  # an unstable threshold


@pytest.mark.slow
def test_degrading_loops_follow_the_large_sample_map():
    # Away from the Bayes rule (an adversarial verifier drives the loops off it) the noise-free map
    # is within a few SE at a large n_syn.
    cfg = config(n_syn=4096, n_init=4, verifier=VerifierConfig(tpr=0.1, fpr=0.7), generations=6, loops=512)
    ds = mad.simulate(cfg)
    limit = classification.limit(cfg)
    for name in ("accuracy", "alignment"):
        mean, sem = ds[name].sel(stat="mean").values[1:], ds[name].sel(stat="sem").values[1:]
        assert np.all(np.abs(mean - limit[name][1:]) <= K * sem), (name, mean, limit[name])
    assert limit["accuracy"][-1] < limit["accuracy"][1] - 0.05  # it degrades


@pytest.mark.parametrize("loop", ["replace", "accumulate", "fresh"])
def test_the_kept_share_correct_decides_recovery(loop):
    # A first fit on 10^4 points is within 1e-4 of the Bayes classifier, accuracy Phi(1), and a
    # little off its axis (the unstable direction when the kept data are mostly wrong).
    bayes = norm.cdf(1.0)
    tpr = 0.1
    edge = tpr * bayes / (1 - bayes)  # fpr at which the kept examples are exactly half correct
    assert classification.threshold(tpr, edge) == pytest.approx(bayes)
    runs = {}
    for fpr in (0.8 * edge, 1.25 * edge):
        v = VerifierConfig(tpr=tpr, fpr=fpr)
        assert (verification.correct_share(bayes, v) > 0.5) == (fpr < edge)
        runs[fpr] = classification.trajectory(
            loop=loop, generations=200, n_init=10**4, n_syn=1000, n_real=10 if loop == "fresh" else 0, dim=2,
            margin=1.0, sigma=1.0, tpr=tpr, fpr=fpr, nodes=16, limit=True,
        )["accuracy"]  # fmt: skip
    below, above = runs[0.8 * edge], runs[1.25 * edge]
    assert below[-1] > below[1] and below[-1] == pytest.approx(bayes, abs=1e-4)  # recovers the Bayes classifier
    assert above[-1] < above[1]  # degrades
    if loop != "accumulate":  # (the pool's real start slows it down, but it goes the same way)
        assert above[-1] == pytest.approx(1 - bayes, abs=1e-6)  # into its mirror image


def test_a_verifier_that_drops_everything_keeps_the_model_finite():
    cfg = dataclasses.replace(config(n_syn=3, n_init=3, verifier=VerifierConfig(tpr=0.0, fpr=0.05), loops=256, generations=20), precision="float32")
    ds = mad.simulate(cfg)
    assert not ds.nonfinite.sel(stat="mean").values.any()
    assert np.all(np.isfinite(ds.accuracy.sel(stat="mean").values))
    assert ds.kept_share.sel(stat="mean").values[2] < 0.1


@pytest.mark.parametrize(
    "change,message",
    [
        ({"verifier": VerifierConfig(tpr=1.5)}, "verifier.tpr=1.5 must be a probability in [0, 1]"),
        ({"verifier": VerifierConfig(tpr=0.0, fpr=0.0)}, "keep no synthetic example"),
        ({"model": ModelConfig("gaussian"), "data": DataConfig(), "verifier": VerifierConfig(tpr=0.9, fpr=0.1)}, "model=classifier"),
        ({"loop": LoopConfig(name="replace", n_syn=10, lam=0.5)}, "loop.lam=0.5 has no meaning"),
    ],
)
def test_bad_verifier_configs_are_refused_by_name(change, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(dataclasses.replace(config(n_syn=10, n_init=4), **change))
