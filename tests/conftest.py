"""Shared fixtures: tiny generated data so every test is fast and nothing is downloaded."""

from __future__ import annotations

import pytest

from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic


@pytest.fixture(scope="session")
def synthetic():
    """Four planted tasks over 600 compounds with 32 binary features, and the truth."""
    return make_synthetic(n_tasks=4, n_compounds=600, n_features=32, seed=3)


@pytest.fixture(scope="session")
def tiny_train() -> TrainConfig:
    return TrainConfig(hidden=(16,), steps=40, batch_size=32, learning_rate=3e-3,
                       chunk_size=8, vmap_width=4)
