"""Predictions of a stacked mixture of fits (:func:`lcurve.curves.predict_stacked`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcurve.curves import (compare_curves, fit_curves, predict_stacked, required_samples_stacked,
                           simulate_results)

#: one worker runs this module, so its module fixtures are built once (tests/conftest.py)
pytestmark = pytest.mark.xdist_group("curves_stacking")

SIZES = {"task00": [64, 4096], "task01": [4096]}


@pytest.fixture(scope="module")
def two_families():
    table, _ = simulate_results(n_tasks=2, seed=0)
    return [fit_curves(table, family=family, transfer="pairwise", method="svi",
                       svi_steps=300, num_samples=300) for family in ("exp3", "pow4")]


def test_all_weight_on_one_fit_is_that_fits_prediction(two_families):
    first, second = two_families
    alone = first.predict(SIZES, seed=3)
    stacked = predict_stacked(two_families, SIZES, weights=[1.0, 0.0], seed=3)
    for column in ("mean", "hdi_low", "hdi_high", "pred_low", "pred_high"):
        np.testing.assert_allclose(stacked[column], alone[column], rtol=1e-6)
    assert stacked.attrs["weights"] == {"exp3/pairwise/svi": 1.0, "pow4/pairwise/svi": 0.0}


def test_the_mixture_mean_is_the_weighted_mean_and_weights_are_normalised(two_families):
    first, second = two_families
    stacked = predict_stacked(two_families, SIZES, weights=[3, 1], names=["a", "b"], seed=3)
    expected = (0.75 * first.predict(SIZES, seed=3)["mean"]
                + 0.25 * second.predict(SIZES, seed=3)["mean"])
    np.testing.assert_allclose(stacked["mean"], expected, rtol=1e-6)
    assert stacked.attrs["weights"] == {"a": 0.75, "b": 0.25}
    assert (stacked["pred_low"] <= stacked["mean"]).all()
    assert (stacked["mean"] <= stacked["pred_high"]).all()


def test_an_equal_mixture_spans_both_families_where_they_disagree(two_families):
    first, second = two_families
    a, b = (fit.predict(SIZES, seed=3) for fit in two_families)
    stacked = predict_stacked(two_families, SIZES, weights=[1, 1], seed=3)
    far = stacked["task"].eq("task00") & stacked["n_task00"].eq(4096)
    low, high = (np.minimum(a["mean"], b["mean"])[far].item(),
                 np.maximum(a["mean"], b["mean"])[far].item())
    assert stacked.loc[far, "hdi_low"].item() <= low
    assert stacked.loc[far, "hdi_high"].item() >= high


def test_default_weights_are_the_stacking_weights(two_families):
    weights = compare_curves(two_families, method="stacking")["weight"]
    stacked = predict_stacked(two_families, SIZES, seed=3)
    assert stacked.attrs["weights"] == pytest.approx(weights.to_dict())


@pytest.mark.parametrize("weights, match", [([1.0], "2 non-negative"),
                                            ([-1.0, 2.0], "non-negative"),
                                            ([0.0, 0.0], "not all zero"),
                                            ([np.nan, 1.0], "non-negative")])
def test_bad_weights_are_refused(two_families, weights, match):
    with pytest.raises(ValueError, match=match):
        predict_stacked(two_families, SIZES, weights=weights)


def test_one_fit_or_different_tasks_are_refused(two_families):
    with pytest.raises(ValueError, match="at least two fits"):
        predict_stacked(two_families[:1], SIZES)
    other, _ = simulate_results(n_tasks=3, seed=1)
    three = fit_curves(other, family="exp3", transfer="pairwise", method="svi", svi_steps=50,
                       num_samples=50)
    with pytest.raises(ValueError, match="same tasks"):
        predict_stacked([two_families[0], three], SIZES, weights=[1, 1])


def test_required_samples_with_all_weight_on_one_fit_are_that_fits(two_families):
    for weights, fit in (([1.0, 0.0], two_families[0]), ([0.0, 2.0], two_families[1])):
        alone = fit.required_samples("task00", 0.75)
        stacked = required_samples_stacked(two_families, "task00", 0.75, weights=weights)
        pd.testing.assert_frame_equal(stacked, alone)
    # each fit's own answer comes with the stack, from the same draws
    for name, fit in zip(stacked.attrs["weights"], two_families):
        pd.testing.assert_frame_equal(pd.DataFrame(stacked.attrs["per_fit"][name]),
                                      fit.required_samples("task00", 0.75))


def test_required_samples_of_a_mixture_keep_the_scenarios_every_fit_has(two_families):
    table, _ = simulate_results(n_tasks=2, seed=0)
    alone_only = fit_curves(table, family="exp3", transfer="none", method="svi",
                            svi_steps=100, num_samples=100)
    stacked = required_samples_stacked([two_families[0], alone_only], "task00", 0.75,
                                       weights=[1, 1])
    assert stacked["scenario"].tolist() == ["alone"]
    row = stacked.iloc[0]
    assert row["low"] <= row["median"] <= row["high"]
    assert stacked.attrs["weights"] == {"exp3/pairwise/svi": 0.5, "exp3/none/svi": 0.5}


def _extrapolated_target(fit, task):
    """A target score the fit reaches only beyond its largest size trained."""
    largest = fit.idata.constant_data["sizes"].values.max()
    for target in np.linspace(0.6, 0.97, 38):
        need = fit.required_samples(task, float(target)).iloc[0]
        if need["p_reachable"] >= 0.5 and need["median"] > 1.5 * largest:
            return float(target)
    pytest.skip("no target score extrapolates on this table")


def test_findings_stack_the_alternatives_where_a_sample_size_extrapolates(two_families):
    from lcurve.curves.findings import fit_findings

    first, second = two_families
    target = _extrapolated_target(first, "task00")
    plain = fit_findings(first, target_score=target)
    stacked = fit_findings(first, target_score=target, alternatives=[second])
    sentence = lambda table: table.loc[(table["kind"] == "samples_alone")  # noqa: E731
                                       & (table["target"] == "task00"), "sentence"].item()
    assert "compare or stack families" in sentence(plain)
    text = sentence(stacked)
    assert "stacking it with pow4 by LOO over the sizes trained" in text
    assert "(pow4 alone: " in text  # what the other family alone says, beside the stack
    weight = compare_curves(two_families, names=["exp3", "pow4"])["weight"]["exp3"]
    if weight >= 0.99:
        assert f"gives exp3 weight {weight:.2f}, so the stacked answer is the same" in text
    else:
        assert f"(weights exp3 {weight:.2f}, pow4 {1 - weight:.2f})" in text
    # the transfer and trust rows do not change
    others = ~stacked["kind"].str.startswith("samples")
    pd.testing.assert_frame_equal(stacked[others], plain[~plain["kind"].str.startswith("samples")])


def test_the_stacked_sentence_gives_the_mixtures_answer_and_failed_diagnostics(two_families):
    from lcurve.curves.findings import _stacked_text

    first, second = two_families
    target = _extrapolated_target(first, "task00")
    stack = (two_families, np.array([0.5, 0.5]), ["exp3", "pow4"], ["pow4"])
    text = _stacked_text(stack, "task00", target, 0.9)
    need = required_samples_stacked(two_families, "task00", target, weights=[0.5, 0.5],
                                    names=["exp3", "pow4"]).iloc[0]
    assert "(weights exp3 0.50, pow4 0.50) gives about" in text
    assert f"{need['median']:,.0f}" in text or need["p_reachable"] < 0.5
    assert text.endswith("(pow4 did not pass its sampler diagnostics)")
