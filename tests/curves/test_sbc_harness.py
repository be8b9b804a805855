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
