"""One timed ``pytest -n 2`` run of (part of) the suite, for the benchmarks of how the suite
is run (``suite_compile_cache.py``, ``suite_optimization_level.py``)."""

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def time_suite(label: str, tests: list[str], env: dict[str, str]) -> float:
    """Run ``pytest -n 2 -q tests`` from the repository root with ``env``; print and return
    its wall seconds; exit with pytest's output if a test failed."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q",
                           "-p", "no:cacheprovider", *tests], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(f"{label:5s} {seconds:6.0f} s  {done.stdout.strip().splitlines()[-1]}", flush=True)
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:])
    return seconds
