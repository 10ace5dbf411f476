"""mad: a JAX testbed for model collapse in self-consuming generative loops.

    import mad
    ds = mad.simulate(mad.Config(loop=mad.LoopConfig(lam=0.8), loops=2048))
    ds = mad.simulate(*mad.compose("model=gmm", "+grid=lambda"))   # what the command line runs
"""

from mad.config import Config, ConfigError, DataConfig, LoopConfig, ModelConfig, SaveConfig, validate
from mad.grid import compose
from mad.simulation import Result, run, simulate

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
