"""Time a fitted curve's findings (``CurveFit.findings``, what the report and the demo print)
and count the XLA compilations they cause, in a fresh process.

    python experiments/benchmarks/findings_time.py lcurve_runs/demo/fit.nc

Run it from two checkouts in turn (``PYTHONPATH=<checkout>``) to compare revisions.
"""

import argparse
import logging
import time
import warnings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", help="a saved fit (e.g. the demo's fit.nc)")
    args = parser.parse_args(argv)

    import jax

    from lcurve.curves import load_fit

    class Count(logging.Handler):
        n = 0

        def emit(self, record):
            Count.n += "Finished XLA compilation" in record.getMessage()

    logging.getLogger("jax").addHandler(Count())
    fit = load_fit(args.fit)
    with warnings.catch_warnings(), jax.log_compiles(True):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        fit.findings()
        seconds = time.perf_counter() - start
    print(f"findings of {args.fit}: {seconds:.2f} s, {Count.n} XLA compilations")


if __name__ == "__main__":
    main()
