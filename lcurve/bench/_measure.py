"""Shared measuring tools of the benchmarks: timers, peak-RSS sampling, log-log slopes.

Every benchmark measures its contenders side by side in one process, interleaved and repeated,
and reports medians and ratios: the absolute times of a shared machine are noisy, ratios much
less so.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import numpy as np

__all__ = ["PeakRSS", "growth_exponent", "interleaved", "machine_info", "rss_bytes"]


def rss_bytes() -> int:
    """The resident set size of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


class PeakRSS(contextlib.AbstractContextManager):
    """Sample the RSS every ``interval`` seconds; ``.peak_mb`` is the rise above the start.

    Example
    -------
    >>> with PeakRSS() as mem:
    ...     block = bytearray(50_000_000)
    >>> mem.peak_mb >= 0
    True
    """

    def __init__(self, *, interval: float = 0.01):
        self.interval = interval
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.start = self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        return False

    @property
    def peak_mb(self) -> float:
        return (self.peak - self.start) / 2**20

    @property
    def peak_total_mb(self) -> float:
        return self.peak / 2**20


def interleaved(contenders: dict, *, repeats: int) -> dict[str, list[float]]:
    """Call each ``name -> fn()`` once per round, ``repeats`` rounds; wall seconds per call.

    Interleaving spreads the load of a shared machine evenly over the contenders.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def growth_exponent(x, y) -> float:
    """Least-squares slope of ``log y`` on ``log x``: ``y ~ x**slope``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = (x > 0) & (y > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def machine_info() -> dict:
    """CPU count, load average and the JAX backend/devices (for the report header)."""
    import platform

    import jax

    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(load[0], 2),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
    }
