"""fit.findings(): the planted transfers come out as sentences with the fit's own numbers."""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lcurve.curves import CurveFitWarning, fit_curves, simulate_results
from lcurve.curves._summaries import separate_modes
from lcurve.curves.findings import (FINDING_COLUMNS, _transfer_rows, choose_target_score,
                                    format_findings, transfer_sentence, trust_findings)

_spec = importlib.util.spec_from_file_location(
    "lcurve_test_fake_fit_findings", Path(__file__).parents[1] / "plot" / "fake_fit.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)


@pytest.fixture(scope="module")
def good_fit(tmp_path_factory):
    return fake.fake_fit(tmp_path_factory.mktemp("good") / "fit.nc", n_draws=500)


@pytest.fixture(scope="module")
def good_table(good_fit):
    return good_fit.findings(target_score=0.75)


def test_planted_transfers_are_the_findings_with_the_fits_numbers(good_fit, good_table):
    table = good_table
    assert list(table.columns) == list(FINDING_COLUMNS)
    up = table[table["kind"] == "transfer_positive"]
    down = table[table["kind"] == "transfer_negative"]
    # planted: beta -> alpha 0.6, alpha -> beta 0.5 (credibly up), gamma -> delta -0.4 (down)
    assert list(zip(up["source"], up["target"])) == [("beta", "alpha"), ("alpha", "beta")]
    assert list(zip(down["source"], down["target"])) == [("gamma", "delta")]
    rates = good_fit.transfer_matrix().set_index(["source", "target"])
    for row in table[table["kind"].str.startswith("transfer_")].itertuples():
        rate = rates.loc[(row.source, row.target)]
        assert row.estimate == pytest.approx(rate["mean"])
        assert (row.low, row.high) == pytest.approx((rate["hdi_low"], rate["hdi_high"]))
        assert f"{rate['p_positive']:.2f}" in row.sentence
    assert "One sample of beta is worth 0.60 samples of alpha" in up["sentence"].iloc[0]
    assert "costs delta 0.40 of its own samples" in down["sentence"].iloc[0]


def test_sample_rows_are_required_samples(good_fit, good_table):
    table = good_table
    for task in ("alpha", "delta"):
        plan = good_fit.required_samples(task, 0.75).set_index("scenario")
        alone = table[(table["kind"] == "samples_alone") & (table["target"] == task)].iloc[0]
        both = table[(table["kind"] == "samples_with_partners") & (table["target"] == task)]
        assert alone.estimate == pytest.approx(plan.loc["alone", "median"])
        assert both["estimate"].iloc[0] == pytest.approx(plan.loc["with_context", "median"])
        assert f"{plan.loc['alone', 'median']:,.0f} samples alone" in alone.sentence
    # beta helps alpha: fewer samples with partners; gamma hurts delta: more
    est = table.set_index(["kind", "target"])["estimate"]
    assert est[("samples_with_partners", "alpha")] < est[("samples_alone", "alpha")]
    assert est[("samples_with_partners", "delta")] > est[("samples_alone", "delta")]


def test_chains_the_sampler_never_moved_fail_the_diagnostics(good_fit, tmp_path):
    # ArviZ gives constant draws an undefined R-hat and the full ESS: read as they came,
    # chains that rejected every proposal passed every check
    stuck = fake.fake_fit(tmp_path / "stuck.nc", n_draws=500, stuck_chains=(0, 1))
    with pytest.warns(CurveFitWarning, match=r"2 of 2 chains never moved \(chains \[0, 1\]"):
        diag = stuck.diagnostics()
    assert diag.stuck_chains == (0, 1) and not diag.ok
    assert diag.table[["r_hat", "ess_bulk", "ess_tail"]].isna().all(axis=None)  # say nothing
    sentence = next(row["sentence"] for row in trust_findings(stuck)
                    if row["sentence"].startswith("Sampler"))
    assert "FAILED" in sentence and "2 of 2 chains never moved" in sentence
    one = fake.fake_fit(tmp_path / "one.nc", n_draws=500, stuck_chains=(1,))
    with pytest.warns(CurveFitWarning, match="1 of 2 chains never moved"):
        assert one.diagnostics().stuck_chains == (1,)
    # moving chains are not flagged, nor are sites constant by construction (one task's
    # zero-sum deviations are 0 in every draw)
    assert good_fit.diagnostics().ok
    table, _ = simulate_results(n_tasks=1, structure="none", seed=0, seeds=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = fit_curves(table, transfer="none", method="svi", svi_steps=50, num_samples=50)
    assert np.ptp(alone.idata.posterior["c_z"].values) == 0
    assert alone.diagnostics().stuck_chains == ()


def test_one_nuts_chain_is_not_said_to_agree(tmp_path):
    one = fake.fake_fit(tmp_path / "one.nc", n_chains=1, n_draws=500, method="nuts")
    sentence = next(row["sentence"] for row in trust_findings(one)
                    if row["sentence"].startswith("Sampler"))
    assert "cannot be checked" in sentence and "num_chains" in sentence
    assert "agree" not in sentence.replace("agreement", "")


def test_trust_line_passes_fails_and_names_the_fix(good_table, tmp_path):
    trust = good_table["sentence"].iloc[-1]
    assert trust.startswith("Sampler diagnostics passed")
    bad = fake.fake_fit(tmp_path / "bad.nc", bad_rhat=True, divergences=4)
    sentences = [row["sentence"] for row in trust_findings(bad)
                 if row["sentence"].startswith("Sampler")]  # not the curve-gap line
    assert len(sentences) == 1 and "FAILED" in sentences[0]
    assert "R-hat" in sentences[0] and "run longer" in sentences[0]
    assert "4 divergent" in sentences[0] and "target_accept" in sentences[0]
    svi = fake.fake_fit(tmp_path / "svi.nc", n_chains=1, transfer="contextual")
    assert any("SVI" in row["sentence"] and "NUTS" in row["sentence"]
               for row in trust_findings(svi))
    rows = pd.DataFrame(_transfer_rows(svi, top=2, hdi_prob=0.9))
    assert rows.query("kind == 'transfer_positive'")["source"].eq("context").all()
    assert "One sample of the other tasks' data is worth" in rows["sentence"].iloc[0]


def test_terminal_text_has_each_sentence_once(good_table):
    text = format_findings(good_table)
    assert text.count("  - ") == len(set(good_table["sentence"]))
    for sentence in good_table["sentence"]:
        assert sentence.split()[0] in text


def test_sentence_verdicts_and_target_score():
    row = {"source": "a", "target": "b", "mean": 0.05, "hdi_low": -0.01, "hdi_high": 0.1,
           "p_positive": 0.8}
    assert transfer_sentence(row).endswith("not distinguishable from no transfer.")
    assert "0.050 samples of b" in transfer_sentence(row)
    assert choose_target_score([0.5, 0.6, 0.7, 0.9]) == pytest.approx(0.75)
    assert choose_target_score([0.99] * 4) == 0.95
    assert choose_target_score([]) == 0.8
    assert np.isfinite(choose_target_score([np.nan, 0.7]))


def test_a_target_reached_below_the_smallest_size_is_not_given_a_count(good_fit):
    """A score the curve reaches before the smallest size trained gets no sample count (the
    count would be an extrapolation to n -> 0), but a sentence saying so."""
    sizes = good_fit.idata.constant_data["sizes"].values
    smallest = np.where(sizes > 0, sizes, np.inf).min(axis=0)
    low_score = 0.05  # every curve is above this everywhere
    table = good_fit.findings(target_score=low_score)
    for k, task in enumerate(good_fit.tasks):
        plan = good_fit.required_samples(task, low_score).set_index("scenario")
        assert plan.loc["alone", "median"] == pytest.approx(smallest[k])  # "at most this many"
        alone = table[(table["kind"] == "samples_alone") & (table["target"] == task)].iloc[0]
        assert f"already at the smallest size trained (n={smallest[k]:g})" in alone.sentence
        assert "needs about" not in alone.sentence


def test_a_sample_count_beyond_the_largest_size_trained_is_called_an_extrapolation(good_fit):
    """Inside the data a count is stated plainly; beyond the largest size trained (or a curve
    that levels off below the target) the sentence names the family's extrapolation."""
    sizes = good_fit.idata.constant_data["sizes"].values
    largest = sizes.max(axis=0)
    seen = set()
    for target_score in (0.6, 0.7, 0.8, 0.9, 0.97):
        table = good_fit.findings(target_score=target_score)
        for k, task in enumerate(good_fit.tasks):
            plan = good_fit.required_samples(task, target_score).set_index("scenario")
            alone = table[(table["kind"] == "samples_alone") & (table["target"] == task)].iloc[0]
            beyond = (plan.loc["alone", "p_reachable"] < 0.5
                      or plan.loc["alone", "median"] > largest[k])
            assert ("an extrapolation of the" in alone.sentence) == beyond
            seen.add(bool(beyond))
            if beyond:
                assert f"n={largest[k]:g}" in alone.sentence
    assert seen == {True, False}  # both kinds of sentence were checked


def test_a_curve_that_misses_its_runs_is_flagged_in_the_trust_lines(good_fit):
    """The curve must pass through the task's own runs: when the nested-design effects carry
    the level instead (seen on MoleculeACE pairs), predictions are off and the fit says so."""
    import copy

    gaps = good_fit.curve_gaps()
    assert gaps["ok"].all() and (gaps["gap"].abs() < 0.02).all()
    assert set(gaps["task"]) == set(good_fit.tasks)
    shifted = copy.copy(good_fit)
    shifted.idata = good_fit.idata.copy()
    score = shifted.idata.observed_data["score"]
    is_alpha = shifted.idata.constant_data["task_index"].values == 0
    shifted.idata.observed_data["score"] = score.copy(data=score.values + 0.1 * is_alpha)
    gaps = shifted.curve_gaps().set_index("task")
    assert gaps.loc["alpha", "gap"] == pytest.approx(0.1, abs=0.02)
    assert not gaps.loc["alpha", "ok"] and gaps.drop("alpha")["ok"].all()
    lines = [row["sentence"] for row in trust_findings(shifted)]
    assert any("do not pass through the runs of 1 of 4 tasks (worst: alpha" in line
               for line in lines)
    assert not any("do not pass through" in row["sentence"] for row in trust_findings(good_fit))


def test_curve_gaps_by_size_see_a_curve_of_the_wrong_shape(good_fit):
    """Runs rotated about their mean (higher at small sizes, lower at large ones) leave the
    task's mean gap at zero; the per-size gaps show the curve missing each end."""
    import copy

    rotated = copy.copy(good_fit)
    rotated.idata = good_fit.idata.copy()
    const = rotated.idata.constant_data
    task = const["task_index"].values
    own = const["sizes"].values[np.arange(len(task)), task]
    log_n = np.log(own)
    tilt = np.zeros(len(task))
    for k in np.unique(task):
        rows = task == k
        centred = log_n[rows] - log_n[rows].mean()
        tilt[rows] = -0.05 * centred / np.abs(centred).max()
    score = rotated.idata.observed_data["score"]
    rotated.idata.observed_data["score"] = score.copy(data=score.values + tilt)
    assert rotated.curve_gaps()["ok"].all()
    by_size = rotated.curve_gaps(by_size=True)
    assert {"task", "size", "gap", "ok"} <= set(by_size.columns)
    assert len(by_size) == len(set(zip(task, own)))
    smallest = by_size.loc[by_size.groupby("task")["size"].idxmin()]
    assert (smallest["gap"] > 0.02).all() and not smallest["ok"].any()
    assert good_fit.curve_gaps(by_size=True)["ok"].all()


def test_chains_in_separate_modes_are_named_and_not_told_to_run_longer(tmp_path):
    # chains held apart (W3/X1: a contextual refit's chains 30 nats apart) are not a slow
    # sampler: "run longer" would be the wrong fix
    split = fake.fake_fit(tmp_path / "split.nc", n_chains=4, n_draws=300, mode_chains=(0, 2))
    with pytest.warns(CurveFitWarning, match=r"2 separate modes \(chains \[1, 3\] at mean "
                                             r"log-likelihood"):
        diag = split.diagnostics()
    assert diag.modes == ((1, 3), (0, 2)) and diag.max_rhat > 1.01
    assert diag.chain_loglik[0] < diag.chain_loglik[1] - 60
    assert not any("run longer" in m for m in diag.messages)
    sentence = next(row["sentence"] for row in trust_findings(split)
                    if row["sentence"].startswith("Sampler"))
    assert "separate modes" in sentence and "run longer" not in sentence
    # a slow chain (the same log-likelihood, elsewhere in a parameter) is still told to run
    # longer, and agreeing chains are one group
    slow = fake.fake_fit(tmp_path / "slow.nc", n_chains=4, n_draws=300, bad_rhat=True)
    with pytest.warns(CurveFitWarning, match="run longer"):
        assert len(slow.diagnostics().modes) == 1
    good = fake.fake_fit(tmp_path / "good.nc", n_chains=4, n_draws=300)
    assert good.diagnostics().modes == ((0, 1, 2, 3),)


def test_separate_modes_groups_chains_by_gaps_in_their_log_likelihood():
    rng = np.random.default_rng(0)
    loglik = rng.normal(0.0, 1.0, (5, 400, 10))  # total's within-chain sd ~3.2
    loglik[1] += 2.0   # chain 1: +20 nats, ~6 sds above
    loglik[4] -= 0.05  # chain 4: -0.5 nats, the same mode
    means, modes = separate_modes(loglik)
    assert modes == ((1,), (0, 2, 3, 4))
    assert means[1] == pytest.approx(loglik[1].sum(-1).mean())
    assert separate_modes(loglik, gap=10.0)[1] == ((0, 1, 2, 3, 4),)


def test_runs_that_transfer_moves_far_beyond_the_tasks_own_are_flagged(tmp_path):
    # X2: contextual rates that place runs at 32 own labels thousands of samples along draw
    # the curve's tail through them; the trust findings say so and name the task
    far = fake.fake_fit(tmp_path / "far.nc", transfer="contextual",
                        context_rates=(20.0, 0.3, 0.0, -0.2))
    reach = far.context_reach().set_index("task")
    assert reach.loc["alpha", "largest_alone"] == 256
    assert reach.loc["alpha", "reach"] == pytest.approx(256 + 20 * 256, rel=0.02)
    assert not reach.loc["alpha", "ok"] and reach.loc[["beta", "gamma", "delta"], "ok"].all()
    assert reach.loc["delta", "reach"] < 256  # negative transfer: below its own size
    assert (reach["rows"] == 5 * 3 * 2).all()  # 5 sizes x 3 partners x 2 seeds
    sentence = next(row for row in trust_findings(far)
                    if row["sentence"].startswith("Transfer places"))
    assert sentence["target"] == "alpha" and "1 of 4 tasks" in sentence["sentence"]
    assert re.search(r"up to 5,3\d\d effective samples against 256 alone", sentence["sentence"])
    assert "smaller context_scale (this fit: 0.5)" in sentence["sentence"]  # the default prior's
    # rates on the data's scale (the defaults of the fake fits) are not flagged
    for transfer in ("contextual", "pairwise", "none"):
        near = fake.fake_fit(tmp_path / f"{transfer}.nc", transfer=transfer)
        assert near.context_reach()["ok"].all()
        assert not any(row["sentence"].startswith("Transfer places")
                       for row in trust_findings(near))
