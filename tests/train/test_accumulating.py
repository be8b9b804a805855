"""Accumulating-data training: nested stage pools, equality with a plain run, reproducibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic
from lcurve.design import training_rows
from lcurve.train import RunTrainer
from lcurve.train.accumulating import accumulating_schedule, stage_rows, train_accumulating

CONFIG = TrainConfig(hidden=(8,), steps=24, batch_size=16, learning_rate=1e-2, chunk_size=8)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_tasks=3, n_compounds=400, n_features=12, seed=4)[0]


def test_schedule_is_geometric_nested_and_capped(data):
    schedule = accumulating_schedule(data, min_size=16, points_per_doubling=1)
    available = np.array([data.n_train()[t] for t in data.tasks])
    assert (np.diff(schedule, axis=0) >= 0).all() and (schedule[-1] == available).all()
    assert schedule[:3, 0].tolist() == [16, 32, 64]


def test_each_stage_pool_is_a_prefix_equal_to_the_runs_training_rows(data):
    schedule = accumulating_schedule(data, min_size=16, points_per_doubling=1)
    sizes = schedule * np.array([True, False, True])  # task 1 held out
    rows, n_rows = stage_rows(data, 3, sizes)
    for s, stage in enumerate(sizes):
        expected = training_rows(data, 3, dict(zip(data.tasks, stage.tolist())))
        np.testing.assert_array_equal(np.sort(rows[:n_rows[s]]), expected)


@pytest.mark.parametrize("protocol", [dict(), dict(objective="pooled", batches="uniform")])
def test_one_stage_run_equals_the_sweeps_fixed_step_run(data, protocol):
    config = dataclasses.replace(CONFIG, stopping="fixed", **protocol)
    sizes = np.array([[40, 0, 60]], dtype=np.int32)
    acc = train_accumulating(data, sizes, np.array([[True, False, True]]), config, seeds=(2,))
    plain = RunTrainer(data, config, seeds=(2,)).train_chunk([2], [0], sizes)
    np.testing.assert_allclose(acc.auroc[0, 0, 0], plain.auroc[0], rtol=1e-5, atol=1e-6)
    assert acc.finite.all() and plain.finite.all()


def test_reproducible_bit_for_bit_and_seeds_differ(data):
    schedule = accumulating_schedule(data, min_size=32, points_per_doubling=1)
    include = np.array([[True, True, True], [False, True, True]])
    a = train_accumulating(data, schedule, include, CONFIG, seeds=(0, 1))
    b = train_accumulating(data, schedule, include, CONFIG, seeds=(0, 1))
    np.testing.assert_array_equal(a.auroc, b.auroc)
    assert not np.allclose(a.auroc[0], a.auroc[1])
    assert a.train_steps == 2 * 2 * len(schedule) * (CONFIG.steps // len(schedule))


def test_rejects_bad_schedules(data):
    with pytest.raises(ValueError, match="non-decreasing"):
        train_accumulating(data, np.array([[64, 64, 64], [32, 32, 32]]), np.ones((1, 3), bool),
                           CONFIG, seeds=(0,))
    with pytest.raises(ValueError, match="include"):
        train_accumulating(data, np.array([[32, 32, 32]]), np.zeros((1, 3), bool), CONFIG,
                           seeds=(0,))
