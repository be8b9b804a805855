"""Benchmarks of lcurve: training throughput, curve-fit speed, scaling, TAG, devices.

Run them with ``lcurve bench [--quick]`` (:mod:`lcurve.bench._cli`) or call the measuring
functions directly. Nothing here runs at import time.
"""

from lcurve.bench._cli import add_bench_parser, bench_markdown, run_bench, run_benchmarks
from lcurve.bench.fit_speed import measure_fit_speed, point_fits
from lcurve.bench.scaling import device_scaling, scale_runs, scale_tasks, tag_vs_curves
from lcurve.bench.throughput import (ThroughputSetup, matmul_peak_gflops, measure_throughput,
                                     training_flops)

__all__ = [
    "ThroughputSetup",
    "add_bench_parser",
    "bench_markdown",
    "device_scaling",
    "matmul_peak_gflops",
    "measure_fit_speed",
    "measure_throughput",
    "point_fits",
    "run_bench",
    "run_benchmarks",
    "scale_runs",
    "scale_tasks",
    "tag_vs_curves",
    "training_flops",
]
