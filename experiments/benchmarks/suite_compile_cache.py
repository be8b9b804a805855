"""What the test suite's shared XLA compilation cache (tests/conftest.py) saves.

Runs the same slow part of the suite (the NUTS inference loop, the Ray executor, the
leave-future-out refits and the chain-method test: compilation-heavy, in-process and in
subprocesses) with ``pytest -n 2``, once per setting, in the order given, and prints each
wall time and its ratio to the run without the cache:

* ``off``: no persistent cache (``LCURVE_TEST_XLA_CACHE=0``);
* ``min1``: the cache with JAX's default floor, only programs that took >= 1 s to compile
  are written (the suite's setting);
* ``min0``: the cache with every program written.

Each setting starts with an empty cache, as CI does. Run it alone: the host's speed moves
with its load, so compare ratios of one call, and run it again in the reverse order.

    python experiments/benchmarks/suite_compile_cache.py [--order off min1 min0]
"""

import argparse
import os

from _suite import time_suite
SUBSET = ["tests/curves/test_inference_loop.py", "tests/sweep/test_ray.py",
          "tests/curves/test_api.py::"
          "test_chain_method_auto_runs_chains_one_after_another_on_one_cpu_device",
          "tests/curves/test_leave_future_out.py"]


def run(setting: str) -> float:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LCURVE_TEST_XLA_CACHE", "JAX_COMPILATION_CACHE_DIR",
                        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")}
    if setting == "off":
        env["LCURVE_TEST_XLA_CACHE"] = "0"
    elif setting == "min0":  # read by JAX at import; the conftest leaves it as it is
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    return time_suite(setting, SUBSET, env)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order", nargs="+", default=["off", "min1", "min0"],
                        choices=["off", "min1", "min0"])
    args = parser.parse_args(argv)
    times = {setting: run(setting) for setting in args.order}
    if "off" in times:
        print("ratio to off: " + ", ".join(f"{s} {t / times['off']:.2f}"
                                            for s, t in times.items() if s != "off"))


if __name__ == "__main__":
    main()
