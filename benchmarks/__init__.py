"""Benchmarks: scripts that measure speed and write their results (with the device) to results/."""
