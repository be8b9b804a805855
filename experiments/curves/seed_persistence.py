"""Does a seed's deviation persist along a target's nested sizes? If so, a held-out run of a
seed whose smaller runs were fitted could be predicted better than a new seed's run.

For every target of a sweep's single-task runs with two seeds, the difference between the two
seeds' scores at each own size (both are scored on the target's one test set, so the test set's
own error cancels); then, over targets, the correlation of that difference between two sizes.
A persistent seed effect (a seed's nested subsample that is good at 128 stays good at 512)
gives a positive correlation; none gives ~0. Also prints the seed-to-seed spread at each
target's largest size (the sd of the difference over sqrt(2): one run's own noise about its
seed mean).

    python experiments/curves/seed_persistence.py \
        [experiments/curves/cache/moleculeace_contextual30/results.parquet]

(The cache is written by ``make_moleculeace_sweep.py --kinds contextual30``.)
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from lcurve.design import own_sizes

DEFAULT = Path(__file__).parent / "cache" / "moleculeace_contextual30" / "results.parquet"


def seed_differences(results: pd.DataFrame, metric: str = "auroc") -> pd.DataFrame:
    """``(task x own size)`` table of seed 0's score minus seed 1's, single-task runs only."""
    runs = results[(results["metric"] == metric) & (results["kind"] == "single")].copy()
    seeds = sorted(runs["seed"].unique())[:2]
    if len(seeds) < 2:
        raise SystemExit("needs single-task runs of two seeds")
    runs["own"] = own_sizes(runs)
    table = runs.pivot_table(index=["task", "own"], columns="seed", values="value")
    return (table[seeds[0]] - table[seeds[1]]).unstack("own")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=str(DEFAULT))
    parser.add_argument("--metric", default="auroc")
    args = parser.parse_args(argv)
    diff = seed_differences(pd.read_parquet(args.results), args.metric)
    largest = diff.apply(lambda row: row.dropna().iloc[-1], axis=1)
    columns = {**{int(c): diff[c] for c in diff.columns}, "largest": largest}
    print(f"{len(diff)} targets; correlation over targets of (seed 0 - seed 1) between sizes:")
    names = list(columns)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pair = pd.concat([columns[a], columns[b]], axis=1).dropna()
            if len(pair) >= 5:  # sizes only a few targets have (their largest) are skipped
                r = np.corrcoef(pair.iloc[:, 0], pair.iloc[:, 1])[0, 1]
                print(f"  {a} vs {b}: {r:+.2f} ({len(pair)} targets)")
    print(f"seed-to-seed sd at each target's largest size: {largest.std():.4f}; one run's "
          f"own noise about its seed mean ~ {largest.std() / np.sqrt(2):.4f}")


if __name__ == "__main__":
    main()
