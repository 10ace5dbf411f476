"""mad.random against scipy.stats: exact laws of the fast gamma and chi-square samplers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from mad.random import SMALL_DF, log_chisquare, log_gamma

ALPHA = 1e-3  # declared false-failure rate of each KS test


@pytest.mark.slow
@pytest.mark.parametrize("a", [0.05, 0.5, 1.0, 4.5, 50.0, 5000.0])
def test_log_gamma_is_gamma(a):
    log_x = np.asarray(log_gamma(jax.random.key(0), a, (50000,), jnp.float64))
    assert np.all(np.isfinite(log_x))
    assert stats.kstest(log_x, lambda t: stats.gamma(a).cdf(np.exp(t))).pvalue > ALPHA


@pytest.mark.slow
def test_log_chisquare_mixes_small_and_large_dof():
    df = [1, 2, SMALL_DF, SMALL_DF + 1, 9, 400]
    draws = jax.vmap(lambda k: log_chisquare(k, df, jnp.float64))(jax.random.split(jax.random.key(1), 20000))
    draws = np.exp(np.asarray(draws))
    for j, k in enumerate(df):
        assert stats.kstest(draws[:, j], stats.chi2(k).cdf).pvalue > ALPHA, k
    # independent across entries: correlation within 5 standard errors (1 / sqrt(n)) of zero
    assert abs(np.corrcoef(draws[:, 4], draws[:, 5])[0, 1]) < 5 / np.sqrt(20000)


def test_log_chisquare_rejects_zero_dof():
    with pytest.raises(ValueError, match="degrees of freedom"):
        log_chisquare(jax.random.key(0), [3, 0], jnp.float32)
