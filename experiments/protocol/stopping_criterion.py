"""Which held-out criterion should early stopping watch? Single-task MoleculeACE curves.

Trains the single-task runs of 8 MoleculeACE targets (seed 0, sizes 32..2048, one point per
doubling, hidden width 64) under two protocols and prints, per size, the mean test AUROC,
the mean steps trained and the mean step of the scored parameters:

* early stopping on the held-out BCE (``criterion="loss"``), at most 1500 steps;
* the former default: 300 fixed steps, pooled loss, uniform batches.

(The default AUROC criterion is measured in ``protocol_sensitivity.py``.)

Run (about 4 min on 2 CPU cores)::

    PYTHONPATH=$PWD nice -n 5 python experiments/protocol/stopping_criterion.py
"""

import time

from lcurve.config import TrainConfig
from lcurve.datasets import load_moleculeace
from lcurve.design import make_design, size_column
from lcurve.sweep import run_sweep

TASKS = ("CHEMBL234_Ki", "CHEMBL219_Ki", "CHEMBL214_Ki", "CHEMBL228_Ki", "CHEMBL238_Ki",
         "CHEMBL204_Ki", "CHEMBL244_Ki", "CHEMBL236_Ki")
PROTOCOLS = {
    "early, held-out loss": TrainConfig(hidden=(64,), steps=1500, criterion="loss"),
    "fixed 300 steps, pooled": TrainConfig(hidden=(64,), steps=300, stopping="fixed",
                                           objective="pooled", batches="uniform"),
}


def main() -> None:
    data = load_moleculeace(TASKS)
    design = make_design(data, kind="single", seeds=[0], min_size=32, max_size=2048,
                         points_per_doubling=1)
    for name, config in PROTOCOLS.items():
        start = time.perf_counter()
        results = run_sweep(data, design, config, progress=False)
        auroc = results[results["metric"] == "auroc"]
        auroc = auroc.assign(n=[row[size_column(t)] for t, (_, row)
                                in zip(auroc["task"], auroc.iterrows())])
        table = auroc.groupby("n")[["value", "steps_used", "best_step"]].mean()
        print(f"\n{name} ({time.perf_counter() - start:.0f} s)")
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
