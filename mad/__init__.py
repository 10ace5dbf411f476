"""mad: a JAX testbed for model collapse in self-consuming generative loops.

    import mad
    ds = mad.simulate(mad.Config(loop=mad.LoopConfig(lam=0.8), loops=2048))
    ds = mad.simulate(*mad.compose("model=gmm", "+grid=lambda"))   # what the command line runs
"""

from mad.config import Config, ConfigError, DataConfig, LoopConfig, ModelConfig, SaveConfig, validate


def __getattr__(name: str):
    # The simulation (JAX, xarray, the theory) loads on first use, so that `python -m mad.sweep`
    # with an invalid config fails without importing it.
    if name in ("Result", "run", "simulate"):
        from mad import simulation

        return getattr(simulation, name)
    if name == "compose":
        from mad.grid import compose

        return compose
    raise AttributeError(f"module 'mad' has no attribute {name!r}")


__all__ = [
    "compose",
    "Config",
    "ConfigError",
    "DataConfig",
    "LoopConfig",
    "ModelConfig",
    "Result",
    "SaveConfig",
    "run",
    "simulate",
    "validate",
]
