"""Test settings: float64 available, implicit rank promotion is an error, W&B off, hypothesis
derandomized (fixed seeds), every statistical tolerance stated in standard errors."""

import os

os.environ.setdefault("WANDB_MODE", "disabled")
# The suite compiles hundreds of small programs and runs each for milliseconds: XLA's backend
# optimisations would cost more than they save (about half of each compile on CPU). Rounding may
# differ from an optimised build; every tolerance here is statistical or stated to rounding.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import pytest  # noqa: E402
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


@pytest.fixture
def no_compilation(monkeypatch):
    """Fail if anything reaches the engine: a config must be refused before it compiles."""
    from mad import simulation

    def refuse(*args, **kwargs):
        raise AssertionError("the engine ran for a config that should have been refused")

    monkeypatch.setattr(simulation, "run_program", refuse)


# No persistent compilation cache: writing an entry segfaulted intermittently inside JAX
# (put_executable_and_time, even with one folder per xdist worker), which killed a worker and
# failed a test. Programs are still compiled once per process (jit's and mad.engine's caches).


@pytest.fixture(autouse=True)
def _unmap_compiled_programs():
    """A worker compiles thousands of programs over the session; XLA maps each executable's code in
    several regions, and at Linux's vm.max_map_count (65530) the next compile crashes the worker.
    Before each test, drop the compiled programs once 40% of that is held, so that no test starts
    near the engine's own threshold of 50% (mad.engine.release_compiled) and its caches stay put
    while it runs."""
    from mad.engine import release_compiled

    release_compiled(threshold=0.4)

