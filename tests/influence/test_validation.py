"""Removal-fraction curves: nested removals, retrained truth, and the agreement summary."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from lcurve.influence import agreement, removal_curve
from lcurve.influence.validation import removal_masks


@pytest.fixture(scope="module")
def curve(fitted):
    return removal_curve(fitted, fractions=(0.5, 1.0))


def test_removals_are_nested_and_sized(fitted):
    masks = removal_masks(fitted, (0.25, 0.5, 1.0), seed=3)
    w = fitted.arrays_.weights
    for j, source in enumerate(fitted.data.tasks):
        small, half, whole = (masks[(source, f)] for f in (0.25, 0.5, 1.0))
        assert not (small & ~half).any() and not (half & ~whole).any()
        assert whole[:, j].sum() == (w[:, j] > 0).sum() and not np.delete(whole, j, 1).any()
        assert half.sum() == round(0.5 * (w[:, j] > 0).sum())


def test_leave_task_out_rows_equal_direct_retraining(fitted, curve):
    whole = curve[curve.fraction == 1.0].set_index(["source", "target"])
    direct = fitted.leave_task_out().set_index(["source", "target"]).loc[whole.index]
    np.testing.assert_allclose(whole["actual"], direct["actual"], atol=1e-6)
    np.testing.assert_allclose(whole["predicted"], direct["predicted"], rtol=1e-5, atol=1e-8)
    assert (curve["n_removed"] > 0).all()
    assert curve["cross_task"].sum() == len(curve) - 2 * 3


def test_agreement_matches_scipy(curve):
    table = agreement(curve)
    row = table[(table.fraction == 1.0) & (table.pairs == "cross-task")
                & (table.estimate == "newton")].iloc[0]
    part = curve[(curve.fraction == 1.0) & curve.cross_task]
    assert row["n"] == len(part) == 6
    assert row["spearman"] == pytest.approx(
        spearmanr(part.predicted_newton, part.actual).statistic)
    assert row["pearson"] == pytest.approx(pearsonr(part.predicted_newton, part.actual).statistic)
    auroc = agreement(curve, metric="actual_auroc")
    assert set(auroc["metric"]) == {"test_auroc"} and auroc["slope"].isna().all()
    with pytest.raises(ValueError, match="metric must be"):
        agreement(curve, metric="auprc")


def test_bad_fractions(fitted):
    with pytest.raises(ValueError, match="fractions must be in"):
        removal_curve(fitted, fractions=(0.0,))
