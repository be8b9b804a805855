"""Wall time of the accumulating-data runs against TAG at the same network, steps and seeds.

    cd experiments/compare && PYTHONPATH=../.. nice -n 5 python bench_accumulating.py

For each data set of this folder (its TOML's network and ``train.steps``; 3 seeds) it times, after
one warm-up call (compilation excluded), the median of ``--repeats`` calls of:

* ``tag``: :func:`lcurve.affinity.tag_affinity` (one trajectory per seed, lookahead every k);
* ``accumulating``: the ``K + 1`` accumulating runs per seed of ``lc_accumulating``, with the
  held-out AUROC/AUPRC of every task at every stage of the schedule;
* ``accumulating, 1 stage``: the same ``K + 1`` runs and steps with a single evaluation at the
  end (what the runs cost without the per-stage evaluations).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lcurve.affinity import CompareExperiment, comparison_data
from lcurve.affinity.tag import TagConfig, tag_affinity
from lcurve.train.accumulating import accumulating_schedule, train_accumulating

HERE = Path(__file__).resolve().parent


def _median_seconds(fn, repeats: int) -> float:
    fn()  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "moleculeace"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print("| dataset | K | steps | seeds | TAG (s) | accumulating (s) | ratio | "
          "accumulating, 1 stage (s) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        exp = CompareExperiment.from_toml(HERE / f"{name}.toml")
        data, _ = comparison_data(exp.data)
        seeds = (0, 1, 2)
        tag = TagConfig.from_train(exp.train, every=exp.tag.every, seeds=seeds)
        schedule = accumulating_schedule(data, min_size=exp.design.min_size,
                                         max_size=exp.design.max_size,
                                         points_per_doubling=exp.design.points_per_doubling)
        k = data.n_tasks
        include = np.ones((k + 1, k), dtype=bool)
        include[np.arange(1, k + 1), np.arange(k)] = False
        t_tag = _median_seconds(lambda: tag_affinity(data, tag), args.repeats)
        t_acc = _median_seconds(lambda: train_accumulating(data, schedule, include, exp.train,
                                                           seeds=seeds), args.repeats)
        t_one = _median_seconds(
            lambda: train_accumulating(data, schedule[-1:], include, exp.train, seeds=seeds,
                                       steps_per_stage=(exp.train.steps // len(schedule))
                                       * len(schedule)), args.repeats)
        print(f"| {name} | {k} | {exp.train.steps} | {len(seeds)} | {t_tag:.3g} | {t_acc:.3g} | "
              f"{t_acc / t_tag:.2g}x | {t_one:.3g} | {t_one / t_tag:.2g}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
