"""The SBC harness (``experiments/curves/sbc.py``) ranks a misspecified truth too: the truth
drawn from one model (``truth_options``), the fit another's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "curves"))
sbc = pytest.importorskip("sbc")


def test_a_replicate_records_the_truths_model_and_ranks_the_curve():
    row = sbc.one_replicate("none", 0, options={"num_warmup": 50, "num_samples": 60,
                                                "test_shared": 0.0},
                            truth_options={"test_shared": 0.8})
    assert row["options"] == "num_warmup=50 num_samples=60 test_shared=0.0 truth:test_shared=0.8"
    assert 0 <= row["curve_max"] <= sbc.THIN_TO and 0 <= row["c"] <= sbc.THIN_TO
    assert "test_z" not in row  # the fit has no offset to rank


def test_the_offset_is_ranked_where_the_fit_models_it():
    row = sbc.one_replicate("none", 1, options={"num_warmup": 50, "num_samples": 60,
                                                "test_shared": 0.5})
    assert 0 <= row["test_z"] <= sbc.THIN_TO


def test_summary_gives_the_ranks_lean_and_the_central_interval_coverage():
    """Beside the uniformity tests: the share of truths above the posterior median and inside
    the central 90% of the ranks (5..94 of 0..99), so a failure says how far off it is."""
    import numpy as np
    import pandas as pd

    ranks = np.r_[np.arange(100), [99] * 20]  # uniform, plus 20 truths above every draw
    table = pd.DataFrame({"structure": "none", "family": "pow4", "rep": np.arange(120),
                          "options": "", "c": ranks})
    row = sbc.summarise(table).set_index("parameter").loc["c"]
    assert row["reps"] == 120
    assert row["above_median"] == pytest.approx(70 / 120)  # ranks 50..99, and the 20
    assert row["cover90"] == pytest.approx(90 / 120)  # ranks 5..94
    assert row["histogram"].split()[-1] == "30" and row["ks_p"] < 0.05
