"""The leave-future-out harness (``experiments/curves/lfo.py``) builds its tables and scores
without fitting anything: its synthetic default once asked the simulator for a family it
cannot simulate and the one-command harness stopped there."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "curves"))
lfo = pytest.importorskip("lfo")


def test_every_synthetic_table_is_simulated_and_splits():
    tables = list(lfo.synthetic_tables(sim_seeds=(7, 8)))
    assert len(tables) == len(lfo.TRUTHS) * len(lfo.STRUCTURES) * 2
    for data, structure, table in tables:
        train, held = lfo.split(table)
        assert len(held) == 8  # 4 tasks x 2 seeds at the largest size, single-task runs
        assert len(train) > 0 and structure in lfo.STRUCTURES
    seeds = {t["sim_seed"].iloc[0] for _, _, t in tables}
    assert seeds == {7, 8}
    first = [t for d, s, t in tables if s == "none" and d.endswith("exp3")]
    assert not np.allclose(first[0]["value"], first[1]["value"])  # new noise per seed


def test_pooled_rows_average_over_held_out_runs_and_count_warned_fits():
    base = dict(data="synthetic-exp3", structure="none", family="pow4")
    rows = pd.DataFrame([
        {**base, "n_held": 8, "bias": 0.01, "mae": 0.02, "noise_mae": 0.01, "coverage90": 0.75,
         "width90": 0.1, "max_rhat": 1.002, "min_ess_bulk": 900, "divergences": 0},
        {**base, "n_held": 24, "bias": 0.03, "mae": 0.04, "noise_mae": 0.03, "coverage90": 1.0,
         "width90": 0.2, "max_rhat": 1.004, "min_ess_bulk": 350, "divergences": 2}])
    out = lfo.pooled(rows).iloc[0]
    assert out["fits"] == 2 and out["n_held"] == 32
    assert out["bias"] == pytest.approx(0.025) and out["coverage90"] == pytest.approx(0.9375)
    assert out["divergences"] == 2 and out["warned"] == 1 and out["min_ess_bulk"] == 350


def test_simulated_scores_stay_near_chance_beside_a_harmful_partner():
    """pow3 falls without bound as n_eff -> 0: a strongly negative partner used to give
    simulated AUROCs of 1e-5; the expected score is floored at chance (0.5)."""
    from lcurve.curves import simulate_results

    harmful = np.array([[0.0, -0.5], [0.0, 0.0]])
    options = dict(n_tasks=2, family="pow3", structure="pairwise", transfer=harmful,
                   sizes=(32, 64), source_sizes=(1024,), seeds=(0,), seed=1)
    table, truth = simulate_results(**options)
    assert truth["mean"].min() == pytest.approx(0.5)
    assert table["value"].min() > 0.3
    _, raw = simulate_results(**options, chance=None)
    assert raw["mean"].min() < 0.0  # the family's own form, without the floor


def test_the_context_sweep_fits_none_and_contextual_on_the_same_runs(monkeypatch):
    """``moleculeace-context``: both structures see one table, so lfo_paired can pair them
    (in ``moleculeace`` they fit different sweeps, whose single-task runs differ)."""
    import make_moleculeace_sweep

    read = []
    monkeypatch.setattr(make_moleculeace_sweep, "sweep_path", lambda kind: f"sweep-{kind}")
    monkeypatch.setattr(lfo, "read_results", lambda path: read.append(path) or pd.DataFrame())
    tables = list(lfo.moleculeace_context_tables())
    assert [(d, s) for d, s, _ in tables] == [("moleculeace-context", "none"),
                                               ("moleculeace-context", "contextual")]
    assert read == ["sweep-contextual"] and tables[0][2] is tables[1][2]


def test_context_levels_keep_single_runs_and_the_asked_levels():
    from lcurve.config import DataConfig
    from lcurve.curves import simulate_results
    from lcurve.datasets import load_data
    from lcurve.design import make_design

    data = load_data(DataConfig(source="synthetic", n_tasks=3, n_compounds=400))
    design = make_design(data, kind="contextual", seeds=[0], min_size=32, max_size=64,
                         context_fraction=[0.5, 1.0])
    table, _ = simulate_results(structure="contextual", family="pow3", design=design)
    runs = design.set_index("run_id")  # as a sweep writes them: each run's kind and target
    table["kind"], table["target"] = (table["run_id"].map(runs[c]) for c in ("kind", "target"))
    both, half, full = (lfo.context_levels(table, levels)
                        for levels in ((0.5, 1.0), (0.5,), (1.0,)))
    assert len(both) == len(table)
    single = table["kind"] == "single"
    assert single.sum() > 0 and set(table.index[single]) <= set(half.index) & set(full.index)
    assert len(half) + len(full) == len(table) + single.sum()  # the levels split the rest
    available = data.n_train()
    for _, row in half[half["kind"] != "single"].iterrows():  # others at half their labels
        others = [t for t in data.tasks if t != row["target"]]
        assert all(row[f"n_{t}"] == available[t] // 2 for t in others)
