"""Do the 8 MoleculeACE curves speed up beyond 512 because of the data or of early stopping?

RESULTS J2: fitted on sizes <= 512, every curve family under-predicts the single-task AUROC at
2,048 on the ``pairs`` sweep's 8 targets, because log(1 - AUROC) falls faster per doubling
beyond 512 than up to it. Early stopping (the default protocol) picks the scored checkpoint on
``n // 5`` held-out training labels; the smaller ``n``, the noisier that choice and the earlier
(patience 4 x 25 steps) a run may stop, which can lower the small and middle sizes more than
the large ones and so bend the curve upward by itself.

This script trains the same single-task runs (the 8 targets of ``make_moleculeace_sweep.py``,
sizes 32..2,048, seeds 0 and 1, hidden 64, batch 64) under other protocols, in one process:

- ``default``: the library's protocol (early stopping, patience 4, at most 1,000 steps);
- ``patience16``: the same, patience 16 and at most 2,000 steps (a less hasty stop);
- ``fixed@S``: exactly ``S`` steps on all ``n`` labels, for S in ``--budgets``. AdamW runs at a
  constant rate and step ``t`` draws its batch from ``fold_in(key, t)``, so ``fixed@S`` is the
  first ``S`` steps of ``fixed@2S``: the runs trace one trajectory per (target, seed, size).
  ``envelope`` is the best test AUROC over the budgets of each run: an oracle that knows the
  test labels, as good as choosing the step count can be at each size (its optimism, the max
  over ``len(budgets)`` noisy scores of one fixed test set, is about the same at every size,
  so it does not bend the curve).

For each protocol it prints the mean single-task curve over targets, the change of
log(1 - AUROC) per doubling up to 512 and beyond, and the straight-line extrapolations of
``tail_speed.py`` (fit <= 512, predict 2,048). If the envelope's curve does not speed up where
the default's does, the speed-up measures the protocol, not the data. Usage::

    nice -n 5 python experiments/curves/stopping_envelope.py [--budgets 50 100 200 400 800 1600]

Sweeps are cached (resumable) under ``experiments/curves/cache/stopping_envelope/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import pandas as pd

from lcurve.config import DataConfig, DesignConfig, TrainConfig
from lcurve.datasets import load_data
from lcurve.design import design_from_config
from lcurve.sweep import run_sweep
from make_moleculeace_sweep import CACHE, TARGETS, TRAIN, single_runs
from tail_speed import extrapolate, log_error_slopes

DESIGN = DesignConfig(kind="single", seeds=(0, 1), min_size=32, max_size=2048,
                      points_per_doubling=1)
OUT = CACHE / "stopping_envelope"


def protocols(budgets) -> dict[str, TrainConfig]:
    out = {"default": TRAIN,
           "patience16": dataclasses.replace(TRAIN, patience=16, steps=2000)}
    for steps in budgets:
        out[f"fixed@{steps}"] = dataclasses.replace(TRAIN, stopping="fixed", steps=steps)
    return out


def train_all(budgets) -> dict[str, pd.DataFrame]:
    data = load_data(DataConfig(source="moleculeace", tasks=TARGETS))
    design = design_from_config(data, DESIGN)
    tables = {}
    for name, config in protocols(budgets).items():
        start = time.perf_counter()
        run_sweep(data, design, config, out_dir=OUT / name, progress=False)
        _, single = single_runs(OUT / name)
        tables[name] = single
        print(f"{name}: {len(single)} runs, {time.perf_counter() - start:.0f} s "
              "(0 if cached)", flush=True)
    return tables


def curves_of(single: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds: targets (rows) x own size (columns)."""
    return single.pivot_table(index="task", columns="own", values="value", aggfunc="mean")


def envelope(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per run (target, seed, size), the best test AUROC over the fixed budgets, and the
    budget that gave it."""
    fixed = pd.concat([t.assign(budget=int(name.split("@")[1]))
                       for name, t in tables.items() if name.startswith("fixed@")],
                      ignore_index=True)
    best = fixed.loc[fixed.groupby(["task", "seed", "own"])["value"].idxmax()]
    return best.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 100, 200, 400, 800, 1600])
    args = parser.parse_args()
    tables = train_all(args.budgets)
    best = envelope(tables)
    tables["envelope"] = best
    print("\nenvelope: best budget per size (median over targets and seeds):",
          best.groupby("own")["budget"].agg(lambda b: int(b.median())).to_dict())
    rows, means = [], {}
    for name, single in tables.items():
        curves = curves_of(single)
        means[name] = curves.mean()
        fitted, beyond = log_error_slopes(curves)
        lines = extrapolate(curves, None).groupby("scale")["error"].mean()
        rows.append({"protocol": name, "log_err/doubling <=512": fitted,
                     "log_err/doubling 512->2048": beyond, "speed-up": beyond - fitted,
                     "line bias log_error": lines["log_error"], "line bias logit": lines["logit"],
                     "AUROC@2048": curves[2048].mean()})
    print("\nmean single-task AUROC over the 8 targets:")
    print(pd.DataFrame(means).T.round(3).to_string())
    print("\nspeed-up beyond 512 (log(1 - AUROC) per doubling; straight lines fit <= 512, "
          "bias at 2,048):")
    print(pd.DataFrame(rows).set_index("protocol").round(3).to_string())
    gap = (curves_of(best) - curves_of(tables["default"])).mean()
    print("\nenvelope minus default, mean over targets, by size:",
          {int(n): round(float(g), 3) for n, g in gap.items()})
    if "default" in tables:
        steps = tables["default"].groupby("own")[["steps_used", "best_step"]].mean()
        print("default: mean steps used / best step by size:",
              {int(n): (int(r.steps_used), int(r.best_step)) for n, r in steps.iterrows()})


if __name__ == "__main__":
    main()
