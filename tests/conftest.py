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


def pytest_configure(config):
    # A compilation cache for this session (the xdist workers inherit its folder from the
    # controller, which configures first): a program two tests need is compiled once per worker.
    # A fresh folder each session, removed at its end.
    if "MAD_TEST_JAX_CACHE" not in os.environ:
        import tempfile

        os.environ["MAD_TEST_JAX_CACHE"] = tempfile.mkdtemp(prefix="mad-jax-cache-")
        config._mad_cache_owner = True
    # One folder per xdist worker: JAX writes cache entries in place, so a worker reading an entry
    # another is still writing deserialises half an executable and crashes (a segfault in
    # get_executable_and_time). JAX's own file lock (a cache size bound) avoids that but scans the
    # whole folder on every write, which doubled the suite's time.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    jax.config.update("jax_compilation_cache_dir", os.path.join(os.environ["MAD_TEST_JAX_CACHE"], worker))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config):
    if getattr(config, "_mad_cache_owner", False):
        import shutil

        shutil.rmtree(os.environ.pop("MAD_TEST_JAX_CACHE"), ignore_errors=True)
