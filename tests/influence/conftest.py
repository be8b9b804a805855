"""Shared tiny influence problems: one fitted MTIF per curvature, reused across tests."""

from __future__ import annotations

import pytest

from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic
from lcurve.influence import MTIF, InfluenceConfig

# every retrain pads to 16 runs and shares these settings: one compilation each
TRAIN = TrainConfig(hidden=(4,), steps=1500, learning_rate=2e-2, weight_decay=0.0)
INFLUENCE = InfluenceConfig(l2=1e-2, max_grad_norm=3e-2)  # hidden=4: ReLU kinks floor ~1e-2


@pytest.fixture(scope="session")
def influence_data():
    return make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)[0]


@pytest.fixture(scope="session")
def fitted(influence_data):
    return MTIF(influence_data, train=TRAIN, influence=INFLUENCE, run_bucket=16).fit()
