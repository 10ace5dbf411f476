"""Test settings: float64 available, implicit rank promotion is an error, W&B off, hypothesis
derandomized (fixed seeds), every statistical tolerance stated in standard errors."""

import os

os.environ.setdefault("WANDB_MODE", "disabled")

import jax  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile(
    "mad",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("mad")
