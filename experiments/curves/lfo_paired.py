"""Paired leave-future-out comparison: is a structure's MAE on the held-out runs really above
or below ``none``'s, or within what the held-out runs themselves leave uncertain?

Reads the per-run predictions that ``lfo.py --runs-out CSV`` writes (every fit predicts the
same held-out runs: one per task and seed at each task's largest size) and, per data set and
family, pairs each structure's absolute error with ``none``'s on the same run. The MAE
difference is the mean of those paired differences; its interval is a bootstrap over tasks
(a task's runs share its test set and its curve, so tasks, not runs, are the independent
units; 10,000 resamples, percentile interval). ``shift`` is the mean of the structure's
prediction minus ``none``'s on the same runs, ``tasks_above`` the share of tasks whose mean
prediction it raises: where a structure moves the extrapolation, whichever way the errors go.

Usage::

    python experiments/curves/lfo.py --data moleculeace30 --structures none contextual \\
        pairwise --families pow4 --cpu-devices 4 --out lfo_runs/X.csv --runs-out lfo_runs/X_runs.csv
    python experiments/curves/lfo_paired.py lfo_runs/X_runs.csv
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

#: a held-out run: its simulated table (synthetic data, else -1), task and training seed;
#: the bootstrap resamples (table, task) units
KEYS = ["sim_seed", "task", "seed"]


def paired(runs: pd.DataFrame, *, reference: str = "none", interval: float = 0.9,
           resamples: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """One row per (data, family, options, structure other than ``reference``): both MAEs, their
    paired difference (structure minus ``reference``) with a task-bootstrap interval, and the
    share of tasks whose mean absolute error the structure lowers, and how far it moves the
    predictions (``shift``, ``tasks_above``; module docstring). A structure whose fits
    predicted other runs (another sweep's) gets a row with only a ``note``."""
    options = runs["options"].astype(object).fillna("")
    stacked = runs["family"].str.startswith("stacked:")  # its options are its own weights
    runs = runs.assign(error=(runs["mean"] - runs["observed"]).abs(),
                       options=options.where(~stacked, ""),
                       sim_seed=runs.get("sim_seed", pd.Series(-1, index=runs.index)).fillna(-1))
    rows = []
    for (data, family, options), group in runs.groupby(["data", "family", "options"],
                                                      sort=False):
        base = group[group["structure"] == reference].set_index(KEYS)
        if base.empty:
            raise ValueError(f"{data}/{family}: no {reference!r} runs to pair with")
        observed, predicted, base = base["observed"], base["mean"], base["error"]
        for structure, other in group[group["structure"] != reference].groupby(
                "structure", sort=False):
            other = other.set_index(KEYS)
            same = other.index.sort_values().equals(base.index.sort_values()) and np.allclose(
                other["observed"].sort_index(), observed.sort_index())
            if not same:  # e.g. the 8-target contextual sweep: its own single-task runs
                rows.append({"data": data, "family": family, "options": options,
                             "structure": structure, "n_runs": len(other),
                             "note": f"other held-out runs than {reference}'s: not paired"})
                continue
            moved = (other["mean"] - predicted.reindex(other.index)).groupby(
                level=["sim_seed", "task"]).mean()
            other = other["error"]
            diff = (other - base.reindex(other.index)).groupby(level=["sim_seed", "task"])
            per_task_sum, per_task_n = diff.sum().to_numpy(), diff.size().to_numpy()
            # a generator per comparison: its interval does not depend on what else was read
            rng = np.random.default_rng(seed)
            picks = rng.integers(0, len(per_task_sum), (resamples, len(per_task_sum)))
            boot = per_task_sum[picks].sum(1) / per_task_n[picks].sum(1)
            low, high = np.quantile(boot, [(1 - interval) / 2, (1 + interval) / 2])
            rows.append({"data": data, "family": family, "options": options,
                         "structure": structure,
                         "n_runs": len(other), "n_tasks": len(per_task_sum),
                         "mae": other.mean(), f"mae_{reference}": base.mean(),
                         "difference": per_task_sum.sum() / per_task_n.sum(),
                         "low": low, "high": high,
                         "tasks_better": float((diff.mean() < 0).mean()),
                         "shift": float(moved.mean()), "tasks_above": float((moved > 0).mean()),
                         "note": ""})
    columns = ["data", "family", "options", "structure", "n_runs", "n_tasks", "mae",
               f"mae_{reference}", "difference", "low", "high", "tasks_better", "shift",
               "tasks_above", "note"]
    return pd.DataFrame(rows, columns=columns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="per-run CSVs from lfo.py --runs-out")
    parser.add_argument("--reference", default="none")
    args = parser.parse_args()
    runs = pd.concat([pd.read_csv(path) for path in args.runs], ignore_index=True)
    print(paired(runs, reference=args.reference).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
