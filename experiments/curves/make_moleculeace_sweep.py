"""Generate (or resume) the small MoleculeACE sweeps the curve-calibration harness reads.

Eight ChEMBL targets with >= 2000 training labels, the demo's network width (64 hidden units)
with the library's default protocol (early stopping, at most ``TrainConfig.steps`` = 1000
steps: with the demo's 200-step cap every run at 2048 labels hit the cap, its best step at 178
on average, so the largest sizes measured the step budget), two seeds, sizes 32..2048 (one
point per doubling):

- ``pairs``: single-task runs plus every ordered pair with the partner at 256 and 1024 labels;
- ``contextual``: single-task runs plus runs with every other task at half its labels;
- ``contextual2`` (not made unless asked): as ``contextual`` with two context levels, every
  other task at half and at all of its labels (the library's default contextual design);
- ``joint30`` (not made unless asked: ``--kinds joint30``): all 30 targets, sizes 32..512
  (capped at a target's labels), single-task runs plus each target beside three fixed
  partners (the 1st, 3rd and 7th next in name order) at 256 labels: 90 of the 435 pairs,
  both directions scored, for the 30-task ``joint`` fit (``joint30.py``);
- ``contextual30`` (not made unless asked): all 30 targets, sizes 32..512 (capped), two
  seeds, single-task runs plus every target beside all 29 others at half and at all of
  their labels (the library's default contextual design at the ``joint30`` sizes; 898 runs).
- ``single8`` (not made unless asked): the 8 targets' single-task runs alone at the
  ``pairs`` sizes (32..2048, two seeds; 112 runs), for single-task leave-future-out checks;
- ``single30`` (not made unless asked): the single-task runs of ``joint30`` and
  ``contextual30`` alone (30 targets, sizes 32..512, two seeds; 300 runs, minutes rather
  than the hour ``contextual30`` takes), for the single-task leave-future-out checks.

Results are cached under ``experiments/curves/cache/`` (gitignored). Usage::

    nice -n 5 python experiments/curves/make_moleculeace_sweep.py [--kinds pairs contextual]
    python experiments/curves/make_moleculeace_sweep.py --summary [DIR]   # single-task curves

``--summary`` prints the mean single-task AUROC of every target at every size (and the mean
gain from one size to the next), for contextual sweeps the targets' mean AUROC beside each
context level, the mean
optimizer steps used and best step per size (is a size limited by the step budget?) and, for
pairs, how far a pair run's score moves from the single run on the same subsample.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pandas as pd

from lcurve.config import DataConfig, DesignConfig, TrainConfig
from lcurve.datasets import load_data
from lcurve.design import design_from_config, own_sizes, size_columns
from lcurve.sweep import run_sweep

TARGETS = ("CHEMBL234_Ki", "CHEMBL214_Ki", "CHEMBL233_Ki", "CHEMBL244_Ki", "CHEMBL264_Ki",
           "CHEMBL204_Ki", "CHEMBL237_Ki", "CHEMBL236_Ki")
CACHE = Path(__file__).parent / "cache"
DESIGNS = {
    "pairs": DesignConfig(kind="pairs", seeds=(0, 1), min_size=32, max_size=2048,
                          points_per_doubling=1, aux_sizes=(256, 1024)),
    "contextual": DesignConfig(kind="contextual", seeds=(0, 1), min_size=32, max_size=2048,
                               points_per_doubling=1, context_fraction=0.5),
}
#: ``contextual2`` (not made unless asked: ``--kinds contextual2``): the ``contextual`` design
#: with the library's default two context levels, half and all of the other tasks' labels
CONTEXTUAL2 = dataclasses.replace(DESIGNS["contextual"], context_fraction=(0.5, 1.0))
TRAIN = TrainConfig(hidden=(64,), batch_size=64, chunk_size=64)
#: ``joint30``: each target's partners, as offsets in the sorted task list
PARTNER_OFFSETS = (1, 3, 7)
JOINT30 = DesignConfig(kind="single", seeds=(0, 1), min_size=32, max_size=512,
                       points_per_doubling=1)
#: ``contextual30``: the default two-level contextual design over all 30 targets at the
#: ``joint30`` sizes
CONTEXTUAL30 = dataclasses.replace(JOINT30, kind="contextual", context_fraction=(0.5, 1.0))


def joint30_design(data):
    """Single-task runs of every task plus each task beside its ``PARTNER_OFFSETS`` partners
    (at 256 labels, capped) at every own size of its grid (a ``custom`` design)."""
    tasks, available = sorted(data.tasks), data.n_train()
    single = design_from_config(data, JOINT30)
    columns = size_columns(single)
    runs = [{t: int(n) for t, n in zip(data.tasks, row)} for row in
            single[columns].drop_duplicates().to_numpy()]
    for i, task in enumerate(tasks):
        for n in sorted(single.loc[single[f"n_{task}"] > 0, f"n_{task}"].unique()):
            for offset in PARTNER_OFFSETS:
                partner = tasks[(i + offset) % len(tasks)]
                runs.append({task: int(n), partner: min(256, available[partner])})
    return design_from_config(data, dataclasses.replace(
        JOINT30, kind="custom", custom_sizes=tuple(runs)))


def sweep_path(kind: str) -> Path:
    return CACHE / f"moleculeace_{kind}"


def single_task(table: pd.DataFrame) -> pd.DataFrame:
    """``table``'s single-task runs (one task trained), their own size in column ``own``."""
    columns = size_columns(table)
    return table[((table[columns] > 0).sum(axis=1) == 1).to_numpy()].assign(
        own=lambda t: t[columns].max(axis=1))


def single_runs(path: Path):
    """(the sweep's AUROC rows, its single-task runs with their own size in column ``own``)."""
    from lcurve.sweep import read_results

    table = read_results(path)
    table = table[table["metric"] == "auroc"]
    return table, single_task(table)


def summary(path: Path) -> None:
    table, single = single_runs(path)
    columns = size_columns(table)
    curves = single.pivot_table(index="task", columns="own", values="value")
    print(curves.round(3).to_string())
    gains = curves.diff(axis=1).iloc[:, 1:]  # does the curve slow down? (gain per doubling)
    print("mean gain from the previous size (over targets):",
          " ".join(f"{n}: {g:+.3f}" for n, g in gains.mean().items()))
    print(single.groupby("own")[["steps_used", "best_step"]].mean().round(0).T.to_string())
    context = table[(table["kind"] == "contextual") & (table["task"] == table["target"])]
    if len(context):  # the target's own score beside each context level
        from lfo import context_fraction_of

        by_level = context.assign(own=own_sizes(context), level=context_fraction_of(context).round(2)
                                  ).pivot_table(index="level", columns="own", values="value")
        alone = single.groupby("own")["value"].mean().rename("alone").to_frame().T
        print("mean AUROC of the targets alone and beside each context level (fraction of "
              "the largest context):")
        print(pd.concat([alone, by_level]).round(4).to_string())
    pairs = table[(table[columns] > 0).sum(axis=1) == 2]
    if len(pairs):  # how much does training beside a partner move the target's score?
        own = pairs.apply(lambda row: row[f"n_{row['task']}"], axis=1)
        pairs = pairs.assign(own=own, partner=pairs[columns].sum(axis=1) - own)
        alone = single.set_index(["task", "seed", "own"])["value"].rename("alone")
        pairs = pairs.join(alone, on=["task", "seed", "own"])
        print("pair run minus the single run on the same subsample (mean over targets, seeds"
              " and partners), by own size and partner size:")
        print(pairs.assign(diff=pairs["value"] - pairs["alone"])
              .pivot_table(index="own", columns="partner", values="diff").round(3).to_string())
        spread = pairs.groupby(["task", "seed", "own", "partner"])["value"].std()
        print("sd of the pair runs' scores over partners, same target subsample and partner "
              "size:", round(float(spread.mean()), 4), "; sd of single runs over seeds:",
              round(float(single.groupby(["task", "own"])["value"].std().mean()), 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=list(DESIGNS),
                        choices=[*DESIGNS, "contextual2", "joint30", "contextual30",
                                                 "single30", "single8"])
    parser.add_argument("--summary", nargs="?", const=str(sweep_path("pairs")), metavar="DIR",
                        help="summarise the single-task runs of a sweep folder (default: the "
                             "cached pairs sweep) and exit")
    args = parser.parse_args()
    if args.summary:
        summary(Path(args.summary))
        return
    for kind in args.kinds:
        if kind == "joint30":
            data = load_data(DataConfig(source="moleculeace"))
            design = joint30_design(data)
        elif kind in ("contextual30", "single30"):
            data = load_data(DataConfig(source="moleculeace"))
            design = design_from_config(data, CONTEXTUAL30 if kind == "contextual30" else JOINT30)
        else:
            data = load_data(DataConfig(source="moleculeace", tasks=TARGETS))
            config = {"contextual2": CONTEXTUAL2,
                      "single8": dataclasses.replace(DESIGNS["pairs"], kind="single",
                                                     aux_sizes=())}.get(kind)
            design = design_from_config(data, config or DESIGNS[kind])
        print(f"{kind}: {len(design)} runs", flush=True)
        results = run_sweep(data, design, TRAIN, out_dir=sweep_path(kind), progress=False)
        print(f"{kind}: {len(results)} rows -> {sweep_path(kind)}", flush=True)


if __name__ == "__main__":
    main()
