"""The fit behind ``FitConfig.test_share="by_size"`` (``experiments/curves/test_set_share.py``
``share_by_size_fit``): it recovers an exact logistic law, reproduces the library's
constants from the committed table, and refuses tables it cannot fit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments" / "curves"
sys.path.insert(0, str(EXPERIMENTS))
test_set_share = pytest.importorskip("test_set_share")


def _table(shares: dict) -> pd.DataFrame:
    return pd.DataFrame({f"same_{n}": [s] for n, s in shares.items()}, index=["mean"])


def test_the_fit_recovers_an_exact_logistic_law():
    sizes = [64, 128, 256, 512]
    shares = {n: 1 / (1 + np.exp(-(-0.5 + 0.8 * np.log(n / 100)))) for n in sizes}
    at_ref, slope, by_size = test_set_share.share_by_size_fit(_table(shares))
    assert at_ref == pytest.approx(1 / (1 + np.exp(0.5)), abs=1e-9)
    assert slope == pytest.approx(0.8, abs=1e-9)
    np.testing.assert_allclose(by_size["fitted"], by_size["measured"], atol=1e-9)


def test_the_library_constants_are_the_committed_tables_fit():
    from lcurve.curves.fit import TEST_SHARE_SLOPE, TEST_SHARED_AT_REF

    table = pd.read_csv(EXPERIMENTS / "lfo_runs" / "test_set_share_by_size.csv",
                        index_col="target")
    at_ref, slope, _ = test_set_share.share_by_size_fit(table)
    assert (round(at_ref, 2), round(slope, 2)) == (TEST_SHARED_AT_REF, TEST_SHARE_SLOPE)


def test_tables_it_cannot_fit_are_refused():
    with pytest.raises(ValueError, match="two sizes"):
        test_set_share.share_by_size_fit(_table({64: 0.3}))
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        test_set_share.share_by_size_fit(_table({64: 0.0, 128: 0.5}))
