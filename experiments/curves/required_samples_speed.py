"""How long do repeated ``required_samples`` calls take? (Each one used to compile its own
bisection: ``planning._required_draws`` jitted a fresh closure per call.)

Fits a 3-task pairwise table by SVI, then times 9 calls (3 tasks x 3 target scores) twice in
one process: the first 9 include whatever compiles, the second 9 show whether calls reuse it.
Run it on two commits to compare (the numbers in RESULTS.md Q3 are from this script at
57c716f and at the commit that cached the program)::

    python experiments/curves/required_samples_speed.py
"""

from __future__ import annotations

import time

from lcurve.curves import fit_curves, simulate_results


def main() -> None:
    table, _ = simulate_results(n_tasks=3, seed=0)
    fit = fit_curves(table, transfer="pairwise", method="svi", svi_steps=300)
    calls = [(task, target) for task in fit.tasks for target in (0.7, 0.8, 0.9)]
    for label in ("first 9 calls", "9 more calls"):
        start = time.perf_counter()
        for task, target in calls:
            fit.required_samples(task, target)
        print(f"{label}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
