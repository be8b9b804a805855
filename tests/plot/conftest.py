"""Fixtures for the plot tests: a fake posterior (see fake_fit.py) and the Agg backend."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

_spec = importlib.util.spec_from_file_location("lcurve_test_fake_fit",
                                               Path(__file__).with_name("fake_fit.py"))
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)


@pytest.fixture(scope="session")
def pairwise_fit(tmp_path_factory):
    return fake.fake_fit(tmp_path_factory.mktemp("fit") / "fit.nc")


@pytest.fixture(scope="session")
def contextual_fit(tmp_path_factory):
    return fake.fake_fit(tmp_path_factory.mktemp("fitc") / "fit.nc", transfer="contextual")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
