"""Harmful-sample selection: controls, and choices that never look at the test labels."""

from __future__ import annotations

import numpy as np
import pytest

from lcurve.data import MultiTaskData
from lcurve.influence import choose_l2, drop_harmful

from .conftest import INFLUENCE, TRAIN

SETTINGS = dict(train=TRAIN, influence=INFLUENCE, fractions=(0.1, 0.3), seeds=(0,),
                l2_grid=(1e-2, 1e-1), n_random=2)


@pytest.fixture(scope="module")
def selection(influence_data):
    return drop_harmful(influence_data, influence_data.tasks[0], **SETTINGS)


def test_selection_reports_controls(selection):
    assert set(selection["variant"]) == {"all", "harmful", "random", "harmful@val"}
    assert (selection.loc[selection.variant == "all", "n_dropped"] == 0).all()
    harmful = selection[selection.variant == "harmful"].set_index("fraction")
    random = selection[selection.variant == "random"]
    assert len(random) == 2 * len(harmful)
    for f, part in random.groupby("fraction"):
        assert (part["n_dropped"] == harmful.loc[f, "n_dropped"]).all()
    assert harmful["n_dropped"].is_monotonic_increasing


def test_choices_use_validation_labels_only(influence_data, selection):
    # the chosen L2 is the validation-loss minimiser of the grid ...
    picked = selection[selection.variant == "harmful@val"].iloc[0]
    candidates = selection[selection.variant.isin(["all", "harmful"])]
    assert picked["val_loss"] == candidates["val_loss"].min()
    # ... and scrambling the test labels changes no choice, only the test metrics
    d = influence_data
    Y = np.where(d.test_mask, 1.0 - np.nan_to_num(d.Y), d.Y)
    scrambled = MultiTaskData(X=d.X, Y=Y, tasks=d.tasks, compound_ids=d.compound_ids,
                              test_mask=d.test_mask, info=d.info)
    again = drop_harmful(scrambled, d.tasks[0], **SETTINGS)
    cols = ["variant", "fraction", "n_dropped", "l2"]
    assert again[cols].equals(selection[cols])
    np.testing.assert_allclose(again["val_loss"], selection["val_loss"], rtol=1e-6)
    assert not np.allclose(again["test_loss"], selection["test_loss"])


def test_choose_l2_returns_the_grid_minimiser(influence_data):
    d = influence_data
    val = np.zeros_like(d.train_mask)
    members = np.flatnonzero(d.train_mask[:, 0])[:20]
    val[members, 0] = True
    l2, losses = choose_l2(d, d.tasks[0], train_mask=d.train_mask & ~val, eval_mask=val,
                           l2_grid=(1e-3, 1.0), train=TRAIN, influence=INFLUENCE)
    assert l2 == (1e-3, 1.0)[int(np.argmin(losses))] and len(losses) == 2


def test_bad_inputs(influence_data):
    with pytest.raises(KeyError, match="unknown task"):
        drop_harmful(influence_data, "nope", **SETTINGS)
    with pytest.raises(ValueError, match="fractions"):
        drop_harmful(influence_data, influence_data.tasks[0],
                     **(SETTINGS | {"fractions": (1.5,)}))
    with pytest.raises(ValueError, match="n_random"):
        drop_harmful(influence_data, influence_data.tasks[0], **(SETTINGS | {"n_random": 0}))
