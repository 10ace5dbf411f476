"""Configs shared by test_devices.py and its four-device subprocess."""

from mad.config import Config, DataConfig, LoopConfig, MetricsConfig, ModelConfig

CONFIGS = [
    # 13 loops in calls of 8: two calls, the last padded, each split 2 per device
    Config(loop=LoopConfig(n_syn=20), loops=13, generations=4, chunk=16, precision="float64", progress=False, grid={"loop.lam": [1.0, 0.7]}),
    Config(
        data=DataConfig(name="gmm_ring", scale=0.1, n_test=40), model=ModelConfig(name="gmm", components=2, em_iters=3),
        metrics=MetricsConfig(samples=8), loop=LoopConfig(n_syn=40), loops=6, generations=2, precision="float64", progress=False,
    ),  # fmt: skip
]
