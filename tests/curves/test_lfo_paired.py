"""The paired leave-future-out comparison (``experiments/curves/lfo_paired.py``): the MAE
difference is the mean paired difference, its interval a bootstrap over tasks, and runs that
do not pair are said so, not paired."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "curves"))
lfo_paired = pytest.importorskip("lfo_paired")


def _runs(structure: str, errors, observed=None, data: str = "d") -> pd.DataFrame:
    tasks = [f"t{i // 2}" for i in range(len(errors))]
    observed = np.full(len(errors), 0.8) if observed is None else np.asarray(observed)
    return pd.DataFrame({"data": data, "family": "pow4", "options": np.nan,
                         "structure": structure, "task": tasks,
                         "seed": [i % 2 for i in range(len(errors))], "observed": observed,
                         "mean": observed - np.asarray(errors)})


def test_the_difference_is_paired_and_its_interval_resamples_tasks():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.02, 0.05, 40)  # 20 tasks x 2 seeds
    runs = pd.concat([_runs("none", base), _runs("pairwise", base - 0.01),
                      _runs("joint", base + rng.normal(0, 0.005, 40))])
    table = lfo_paired.paired(runs).set_index("structure")
    shifted = table.loc["pairwise"]
    # every run 0.01 better: the difference is exact and no resample of tasks moves it
    assert shifted["difference"] == pytest.approx(-0.01)
    assert shifted[["low", "high"]].to_numpy() == pytest.approx([-0.01, -0.01])
    assert shifted["tasks_better"] == 1.0 and shifted["n_tasks"] == 20
    # its predictions sit 0.01 higher on every run (errors are observed - mean here)
    assert shifted["shift"] == pytest.approx(0.01) and shifted["tasks_above"] == 1.0
    noisy = table.loc["joint"]
    assert noisy["low"] < noisy["difference"] < noisy["high"]
    assert noisy["mae"] - noisy["mae_none"] == pytest.approx(noisy["difference"])


def test_other_runs_are_not_paired_and_a_missing_reference_is_refused():
    base = np.full(4, 0.02)
    runs = pd.concat([_runs("none", base), _runs("contextual", base, observed=[0.7] * 4)])
    row = lfo_paired.paired(runs).iloc[0]
    assert "not paired" in row["note"] and np.isnan(row["difference"])
    stacked = pd.concat([_runs(s, base) for s in ("none", "pairwise")]).assign(
        family="stacked:pow4+exp3", options=["pow4=0.9 exp3=0.1"] * 4 + ["pow4=0.6 exp3=0.4"] * 4)
    assert lfo_paired.paired(stacked).iloc[0]["difference"] == 0.0  # weights are no setting
    with pytest.raises(ValueError, match="no 'none' runs"):
        lfo_paired.paired(_runs("pairwise", base))
