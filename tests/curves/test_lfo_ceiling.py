"""The empirical extrapolation references (``experiments/curves/lfo_ceiling.py``): each
predictor is what its docstring says, the cross-target ones never see the predicted target's
own future, and fits scored on another sweep's runs are refused, not paired."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "curves"))
lfo_ceiling = pytest.importorskip("lfo_ceiling")

SIZES = (32, 64, 128, 512)


def _table(curves: dict, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Single-task runs of every task at SIZES, two seeds: ``curves[task](n)`` plus noise."""
    rng = np.random.default_rng(seed)
    tasks = list(curves)
    rows = []
    for task in tasks:
        for n in SIZES:
            for run_seed in (0, 1):
                rows.append({"task": task, "metric": "auroc", "seed": run_seed,
                             "value": curves[task](n) + noise * rng.normal(),
                             **{f"n_{t}": (n if t == task else 0) for t in tasks}})
    return pd.DataFrame(rows)


def _line(level: float, slope: float, future: float):
    """Scores at 32, 64, 128 on a line in log2 n (``slope`` per doubling), ``future`` per
    doubling from 128 to 512."""
    return lambda n: (level + slope * np.log2(n / 128) if n <= 128
                      else level + future * np.log2(n / 128))


def test_each_predictor_is_what_it_says():
    rng = np.random.default_rng(1)
    levels, slopes = rng.uniform(0.6, 0.9, 8), rng.uniform(0.01, 0.06, 8)
    futures = 0.01 + 0.5 * slopes - 0.02 * levels  # an exact linear law over targets
    table = _table({f"t{i}": _line(levels[i], slopes[i], futures[i]) for i in range(8)})
    curves, held = lfo_ceiling.target_curves(table)
    assert len(held) == 16 and set(curves["n_last"]) == {128} and set(curves["n_held"]) == {512}
    np.testing.assert_allclose(curves["last_gain"], slopes, atol=1e-12)
    np.testing.assert_allclose(curves["future_gain"], futures, atol=1e-12)
    predicted = lfo_ceiling.predict(curves)
    np.testing.assert_allclose(predicted["flat"], levels)
    np.testing.assert_allclose(predicted["own-slope"], levels + 2 * slopes)
    for i in range(8):  # the other seven targets' mean gain per doubling
        others = np.delete(futures, i).mean()
        assert predicted["mean-gain"].iloc[i] == pytest.approx(levels[i] + 2 * others)
    # the law is exact, so the regression on the other targets finds it for each one
    np.testing.assert_allclose(predicted["regression"], levels + 2 * futures, atol=1e-9)
    np.testing.assert_allclose(predicted["oracle-mean"], levels + 2 * futures)


def test_a_target_is_never_predicted_from_its_own_future():
    rng = np.random.default_rng(2)
    params = rng.uniform([0.6, 0.01, 0.0], [0.9, 0.06, 0.05], size=(6, 3))
    curves = {f"t{i}": _line(*params[i]) for i in range(6)}
    before = lfo_ceiling.predict(lfo_ceiling.target_curves(_table(curves))[0])
    fitted_part = curves["t0"]
    curves["t0"] = lambda n: fitted_part(n) if n <= 128 else 0.99  # only t0's future moves
    after = lfo_ceiling.predict(lfo_ceiling.target_curves(_table(curves))[0])
    for column in ("flat", "own-slope", "mean-gain", "regression"):
        assert after.at["t0", column] == pytest.approx(before.at["t0", column])
    for column in ("mean-gain", "regression"):  # the other targets' predictions do use it
        assert not np.allclose(after.drop(index="t0")[column], before.drop(index="t0")[column])
    assert after.at["t0", "oracle-mean"] == pytest.approx(0.99)


def test_errors_are_per_run_and_the_summary_pairs_them_with_the_reference():
    curves = {f"t{i}": _line(0.7 + 0.02 * i, 0.03, 0.02 + 0.005 * i) for i in range(5)}
    table = _table(curves, noise=0.01, seed=3)
    found, held = lfo_ceiling.target_curves(table)
    errors = lfo_ceiling.score_runs(held, lfo_ceiling.predict(found))
    assert len(errors) == 10
    observed = held.set_index(["task", "seed"])["value"]
    first = errors.iloc[0]
    assert first["flat"] == pytest.approx(found.at[first["task"], "last"]
                                          - observed.loc[(first["task"], first["seed"])])
    summary = lfo_ceiling.summarise(errors, lfo_ceiling.PREDICTORS, bootstrap=200)
    row = summary.set_index("predictor").loc["flat"]
    assert row["mae"] == pytest.approx(errors["flat"].abs().mean())
    assert row["minus_regression"] == pytest.approx(row["mae"] - errors["regression"].abs().mean())
    assert row["mae_lo"] <= row["mae"] <= row["mae_hi"]
    assert summary.set_index("predictor").loc["regression", "minus_hi"] == 0.0


def test_too_few_fitted_sizes_or_targets_are_refused():
    table = _table({"a": _line(0.7, 0.03, 0.02), "b": _line(0.8, 0.02, 0.01)})
    with pytest.raises(ValueError, match="a: fewer than two fitted sizes"):
        lfo_ceiling.target_curves(table[~((table["task"] == "a") & (table["n_a"] < 128))])
    with pytest.raises(ValueError, match="a: fewer than two fitted sizes"):
        lfo_ceiling.target_curves(table[~((table["task"] == "a") & (table["n_a"] < 512))])
    with pytest.raises(ValueError, match="2 targets"):
        lfo_ceiling.predict(lfo_ceiling.target_curves(table)[0])


def test_fits_are_paired_on_the_same_runs_or_refused():
    curves = {f"t{i}": _line(0.7 + 0.02 * i, 0.03, 0.02 + 0.004 * i) for i in range(5)}
    found, held = lfo_ceiling.target_curves(_table(curves, noise=0.01, seed=4))
    errors = lfo_ceiling.score_runs(held, lfo_ceiling.predict(found))
    fits = pd.DataFrame({"structure": "none", "family": "pow4", "task": errors["task"],
                         "seed": errors["seed"], "observed": errors["observed"],
                         "mean": errors["observed"] + 0.01})
    joined, names = lfo_ceiling.join_fits(errors, fits.iloc[::-1])  # any row order
    assert names == ["fit:none/pow4"]
    np.testing.assert_allclose(joined["fit:none/pow4"], 0.01)
    with pytest.raises(ValueError, match="not these"):
        lfo_ceiling.join_fits(errors, fits.assign(observed=fits["observed"] + 0.03))
    with pytest.raises(ValueError, match="not these"):
        lfo_ceiling.join_fits(errors, fits.iloc[1:])
    with pytest.raises(ValueError, match="more than one prediction"):
        lfo_ceiling.join_fits(errors, pd.concat([fits, fits]))
