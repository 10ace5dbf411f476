"""Loops split across several devices give the per-loop results of one device.

Four CPU devices are forced in a subprocess (XLA_FLAGS must be set before JAX starts), under a
timeout: XLA is known to hang on some scans over forced CPU devices (see mad.engine.lane_block).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from test_simulate import per_loop
from test_devices_configs import CONFIGS

pytestmark = pytest.mark.slow  # subprocesses: the slow tier (pytest -m 'not slow' skips them)


def test_four_devices_match_one(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        import jax
        import numpy as np
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        assert jax.local_device_count() == 4
        from test_devices_configs import CONFIGS
        from test_simulate import per_loop
        for i, config in enumerate(CONFIGS):
            np.save({str(tmp_path)!r} + f"/{{i}}.npy", per_loop(config)[CONFIGS[i].grid and "logdet_ratio" or "recall"].values)
        """
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "WANDB_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for i, config in enumerate(CONFIGS):
        one = per_loop(config)["logdet_ratio" if config.grid else "recall"].values
        np.testing.assert_allclose(np.load(tmp_path / f"{i}.npy"), one, rtol=1e-12, atol=1e-13)
