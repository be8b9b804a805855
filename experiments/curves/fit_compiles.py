"""What a first fit and a refit of the same shape compile: wall time, the number of XLA
compilations and their seconds, per fit, for NUTS or SVI on a small simulated table.

Usage::

    python experiments/curves/fit_compiles.py --method nuts --variants chain=jit chain=eager
    python experiments/curves/fit_compiles.py --method svi --n-tasks 2 --rounds 2
    python experiments/curves/fit_compiles.py --second other --variants chain=jit chain=eager

Every variant runs in a fresh Python process (a first fit pays for everything the process
has not compiled yet: numpyro's eager operations compile one small program each), and the
processes alternate ``--rounds`` times (variant A, B, B, A, ...) on a shared machine.
``chain=eager`` starts chains run one after another as numpyro does, op by op
(``lcurve.curves._inference.JIT_CHAIN = False``); ``chain=jit`` is the library's default.
Chains run one after another (one CPU device), as in a notebook or a test process. With
``--second other`` the second fit is of another shape (one replicate seed more): what a test
process or a notebook fitting several tables pays once the first fit has compiled numpyro's
eager operations.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import time
import warnings


def one_process(args) -> list[dict]:
    """Fit two tables in this process (simulation seeds 0 and 1; the second of the first's
    shape or, ``--second other``, with one replicate seed more); one row per fit."""
    import jax

    from lcurve.curves import _inference, fit_curves, simulate_results

    _inference.JIT_CHAIN = args.variant != "chain=eager"
    compiled: list[tuple[str, float]] = []

    class Count(logging.Handler):
        def emit(self, record):
            found = re.match(r"Finished XLA compilation of (.*) in ([0-9.e-]+) sec",
                             record.getMessage())
            if found:
                compiled.append((found.group(1), float(found.group(2))))

    logging.getLogger("jax").addHandler(Count())
    logging.getLogger("jax").setLevel(logging.WARNING)
    options = dict(transfer=args.transfer, method=args.method, num_warmup=args.num_warmup,
                   num_samples=args.num_samples, num_chains=args.num_chains,
                   chain_method="sequential", svi_steps=args.svi_steps)
    rows = []
    for fit_index in (0, 1):
        seeds = (0, 1, 2) if fit_index and args.second == "other" else (0, 1)
        table, _ = simulate_results(n_tasks=args.n_tasks, structure=args.transfer,
                                    seed=fit_index, seeds=seeds)
        compiled.clear()
        start = time.perf_counter()
        with warnings.catch_warnings(), jax.log_compiles(True):
            warnings.simplefilter("ignore")
            fit_curves(table, seed=fit_index, **options)
        biggest = sorted(compiled, key=lambda c: -c[1])[:3]
        second = "refit" if args.second == "same" else "another shape"
        rows.append(dict(variant=args.variant, fit=second if fit_index else "first",
                         wall_s=round(time.perf_counter() - start, 2),
                         compilations=len(compiled),
                         compile_s=round(sum(s for _, s in compiled), 2),
                         biggest=[f"{name} {s:.1f} s" for name, s in biggest]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=("nuts", "svi"), default="nuts")
    parser.add_argument("--transfer", default="pairwise")
    parser.add_argument("--n-tasks", type=int, default=2)
    parser.add_argument("--num-chains", type=int, default=2)
    parser.add_argument("--num-warmup", type=int, default=100)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--svi-steps", type=int, default=500)
    parser.add_argument("--second", choices=("same", "other"), default="same",
                        help="the second table: the first's shape, or one seed more (rows)")
    parser.add_argument("--variants", nargs="+", default=["chain=jit"],
                        choices=("chain=jit", "chain=eager"))
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate the variants' processes this many times (A B, B A, ...)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # set in the child process
    args = parser.parse_args()
    if args.variant is not None:
        print(json.dumps(one_process(args)))
        return
    for round_index in range(args.rounds):
        order = args.variants if round_index % 2 == 0 else args.variants[::-1]
        for variant in order:
            out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--variant", variant],
                                 capture_output=True, text=True, check=True)
            for row in json.loads(out.stdout.strip().splitlines()[-1]):
                print(f"round {round_index}, {row['variant']}, {row['fit']}: "
                      f"{row['wall_s']:.1f} s wall, {row['compilations']} XLA compilations "
                      f"({row['compile_s']:.1f} s; largest {', '.join(row['biggest'])})",
                      flush=True)


if __name__ == "__main__":
    main()
