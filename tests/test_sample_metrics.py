"""Sample-based metrics against independent implementations (scikit-learn neighbours, numpy)."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.neighbors import NearestNeighbors

from mad.metrics import samples


def reference(fake, real, k):
    """Kynkaanniemi et al. and Naeem et al., written from the papers with scikit-learn."""
    r_real = NearestNeighbors(n_neighbors=k + 1).fit(real).kneighbors(real)[0][:, k]
    r_fake = NearestNeighbors(n_neighbors=k + 1).fit(fake).kneighbors(fake)[0][:, k]
    d = np.sqrt(((fake[:, None, :] - real[None, :, :]) ** 2).sum(-1))
    inside = d <= r_real[None, :]
    return {
        "precision": inside.any(1).mean(),
        "recall": (d <= r_fake[:, None]).any(0).mean(),
        "density": inside.sum() / (k * len(fake)),
        "coverage": inside.any(0).mean(),
    }


def mmd_reference(fake, real, h2):
    def mean_kernel(a, b, same):
        k = np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * h2))
        return (k.sum() - np.trace(k)) / (len(a) * (len(a) - 1)) if same else k.mean()

    return mean_kernel(fake, fake, True) + mean_kernel(real, real, True) - 2 * mean_kernel(fake, real, False)


@pytest.mark.slow
@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_manifold_metrics_and_mmd_match_references(shift):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 2))
    fake = rng.normal(size=(200, 2)) * 0.6 + shift
    side = samples.RealSide(real, 5, modes=None, mode_radius=1.0)
    got = samples.sample_metrics(side, jnp.asarray(fake), None, mode_share=0.25)
    for name, value in reference(fake, real, 5).items():
        assert float(got[name]) == pytest.approx(value, abs=1e-12), name
    assert float(got["mmd"]) == pytest.approx(mmd_reference(fake, real, side.bandwidth_sq), rel=1e-9)
    assert "modes_covered" not in got and "nll_test" not in got


@pytest.mark.parametrize("m,d", [(6, 2), (37, 2), (70, 6)])
def test_blocked_scoring_matches_the_references_whatever_the_draw_count(m, d):
    # draws are scored in blocks of ROW_BLOCK rows: fewer draws than a block, a padded last block,
    # and distances by coordinate sums (d <= ELEMENTWISE_DIM) or by a matrix product
    rng = np.random.default_rng(m)
    real = rng.normal(size=(50, d))
    fake = rng.normal(size=(m, d)) * 0.8 + 0.3
    side = samples.RealSide(real, 3, modes=None, mode_radius=1.0)
    got = samples.sample_metrics(side, jnp.asarray(fake), None, mode_share=0.25)
    for name, value in reference(fake, real, 3).items():
        assert float(got[name]) == pytest.approx(value, abs=1e-12), name
    assert float(got["mmd"]) == pytest.approx(mmd_reference(fake, real, side.bandwidth_sq), rel=1e-9, abs=1e-12)


@pytest.mark.slow
def test_modes_covered_counts_modes_with_their_share():
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0]])
    rng = np.random.default_rng(1)
    # 60 draws at mode 0, 30 at mode 1, 10 at mode 2, none at mode 3, 20 far from every mode
    counts = [60, 30, 10, 0]
    fake = np.concatenate([c + 0.1 * rng.normal(size=(n, 2)) for c, n in zip(centres, counts)] + [np.full((20, 2), 50.0)])
    side = samples.RealSide(rng.normal(size=(50, 2)), 5, modes=centres, mode_radius=1.0)
    # share 0.25 of 120 draws over 4 modes: a mode needs >= 7.5 draws -> modes 0, 1, 2
    got = samples.sample_metrics(side, jnp.asarray(fake), None, mode_share=0.25)
    assert float(got["modes_covered"]) == 3.0
    got = samples.sample_metrics(side, jnp.asarray(fake), None, mode_share=0.5)  # >= 15 draws
    assert float(got["modes_covered"]) == 2.0


def test_identical_sets_score_perfectly():
    real = np.random.default_rng(2).normal(size=(200, 3))
    got = samples.sample_metrics(samples.RealSide(real, 3, None, 1.0), jnp.asarray(real), lambda x: -jnp.sum(x**2, 1), mode_share=0.25)
    assert float(got["precision"]) == float(got["recall"]) == float(got["coverage"]) == 1.0
    assert float(got["nll_test"]) == pytest.approx(np.mean(np.sum(real**2, 1)))


def test_kth_neighbour_radius_counts_ties():
    # duplicated points (an empirical distribution's draws repeat) against scikit-learn
    rng = np.random.default_rng(3)
    base = rng.normal(size=(100, 2))
    points = np.concatenate([base[:40], base[:40], base[:40], base[40:]])
    want = NearestNeighbors(n_neighbors=6).fit(points).kneighbors(points)[0][:, 5] ** 2
    np.testing.assert_allclose(samples._kth_radius_sq(jnp.asarray(points), 5), want, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 5),
    cols=st.integers(2, 40),
    levels=st.integers(1, 6),  # few distinct values: ties everywhere
    k=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_kth_smallest_is_numpys_sorted_entry(rows, cols, levels, k, seed):
    # Oracle: numpy's sort, on small integer matrices where most entries tie (and rows of one value).
    k = min(k, cols - 1)
    d = np.random.default_rng(seed).integers(0, levels, size=(rows, cols)).astype(float)
    np.testing.assert_array_equal(samples._kth_smallest(jnp.asarray(d), k), np.sort(d, axis=1)[:, k])
