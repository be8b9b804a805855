"""Leave-future-out on one's own runs (:func:`lcurve.curves.leave_future_out`): the split, the
noise floor, the summary, the findings sentence, the CLI option and the report."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lcurve.curves import fit_curves, leave_future_out, load_fit, simulate_results
from lcurve.curves._cli import run_fit
from lcurve.curves.checks import (INSIDE_COLUMNS, inside_count_check, lfo_path, noise_mae,
                                   split_future, summarise_future)
from lcurve.design import own_sizes
from lcurve.curves.findings import extrapolation_findings, extrapolation_flags
from tests.curves.conftest import fit_command

SVI = dict(method="svi", svi_steps=200, num_samples=200)
SIZES = (32, 64, 128, 256, 512)


@pytest.fixture(scope="module")
def table():
    table, _ = simulate_results(n_tasks=2, sizes=SIZES, source_sizes=(256,), seed=0)
    return table


def test_split_holds_out_the_largest_single_runs_when_context_trains_a_task_on_more():
    from lcurve.config import DataConfig
    from lcurve.datasets import load_data
    from lcurve.design import make_design

    data = load_data(DataConfig(source="synthetic", n_tasks=3, n_compounds=400))
    design = make_design(data, kind="contextual", seeds=[0, 1], min_size=16, max_size=64,
                         context_fraction=[0.5, 1.0])  # context at up to all ~270 labels
    table, _ = simulate_results(structure="contextual", family="pow3", design=design)
    own = own_sizes(table)
    assert own.max() > 64
    train, held = split_future(table, 0.25)
    assert len(held) == 3 * 2 and set(own_sizes(held)) == {64}  # every task and seed
    assert own_sizes(train).max() == 16
    with pytest.raises(ValueError, match="no single-task runs"):
        split_future(table[(table.filter(like="n_task") > 0).sum(axis=1) > 1])


def test_split_refits_sizes_up_to_the_fraction_and_holds_out_the_largest_single_runs(table):
    train, held = split_future(table, 0.25)
    own = lambda t: np.array([row[f"n_{task}"] for task, (_, row)  # noqa: E731
                              in zip(t["task"], t.iterrows())])
    assert own(train).max() == 128 and set(own(held)) == {512}
    assert (held.filter(like="n_task") > 0).sum(axis=1).eq(1).all()  # single-task runs only
    assert len(held) == 2 * table["seed"].nunique()  # every task, every seed
    assert (train.filter(like="n_task") > 0).sum(axis=1).max() == 2  # pair runs refitted too
    _, half = split_future(table, 0.5)
    assert len(half) == len(held)
    with pytest.raises(ValueError, match="fraction"):
        split_future(table, 1.0)
    with pytest.raises(ValueError, match="no 'loss' scores"):
        split_future(table, 0.25, metric="loss")
    with pytest.raises(ValueError, match="lacks columns"):
        split_future(table.drop(columns="metric"))


def test_noise_mae_is_the_mean_absolute_run_noise():
    rng = np.random.default_rng(0)
    sd, tasks, seeds = 0.02, 400, 3
    mu = rng.uniform(0.7, 0.9, tasks)
    held = pd.DataFrame({"task": np.repeat(np.arange(tasks), seeds),
                         "value": np.repeat(mu, seeds) + rng.normal(0, sd, tasks * seeds)})
    assert noise_mae(held) == pytest.approx(sd * np.sqrt(2 / np.pi), rel=0.05)
    assert np.isnan(noise_mae(held.drop_duplicates("task")))  # one run per task: unknown


def _runs(observed, mean, half_width=0.02):
    observed, mean = np.asarray(observed, float), np.asarray(mean, float)
    return pd.DataFrame({"task": ["a", "a", "b", "b"][:len(observed)], "seed": 0, "size": 1024,
                         "fitted_max": 256, "observed": observed, "mean": mean,
                         "low": mean - half_width, "high": mean + half_width,
                         "interval": 0.9, "fraction": 0.25, "family": "pow4",
                         "transfer": "pairwise"})


def test_summary_and_sentence_say_how_far_off_the_extrapolation_was():
    runs = _runs([0.90, 0.92, 0.80, 0.84], [0.87, 0.89, 0.79, 0.79])
    found = summarise_future(runs)
    assert found["bias"] == pytest.approx(-0.03) and found["mae"] == pytest.approx(0.03)
    assert found["n_inside"] == 1 and found["coverage"] == 0.25
    assert found["noise_mae"] == pytest.approx((0.01 + 0.02) / 2 * np.sqrt(2))  # |v - mean| x rt 2
    (row,) = extrapolation_findings(runs)
    text = row["sentence"]
    assert row["kind"] == "extrapolation" and row["estimate"] == pytest.approx(-0.03)
    assert "refitted on sizes up to 256 (0.25 of each task's largest)" in text
    assert ("4 single-task runs at 1,024 with mean error -0.030 (MAE 0.030; the runs' own "
            "seed-to-seed spread alone gives 0.021); 1 of 4 fell inside their 90% intervals."
            in text)
    assert "more likely too high than too low" in text and "too narrow" in text
    assert "A rough check: 4 runs" in text
    over = extrapolation_findings(_runs([0.80, 0.80], [0.83, 0.83]))[0]["sentence"]
    assert "may be too optimistic" in over
    fine = extrapolation_findings(_runs([0.80, 0.81], [0.805, 0.805]))[0]["sentence"]
    assert "No sign of bias" in fine and "too narrow" not in fine
    assert "sampler warned" not in fine  # no diagnostics in the table: nothing to say
    warned = _runs([0.80, 0.81], [0.805, 0.805]).assign(max_rhat=1.002, min_ess_bulk=900,
                                                         divergences=3)
    assert "sampler warned (max R-hat 1.002, min bulk ESS 900, 3 divergent transitions)" in \
        extrapolation_findings(warned)[0]["sentence"]
    assert "900, 1 divergent transition)" in \
        extrapolation_findings(warned.assign(divergences=1))[0]["sentence"]
    assert "(max R-hat 1.020, min bulk ESS 900, nan divergent transitions)" in \
        extrapolation_findings(warned.assign(divergences=np.nan, max_rhat=1.02))[0]["sentence"]
    split = extrapolation_findings(warned.assign(max_rhat=1.83, modes=2))[0]["sentence"]
    assert "chains sat in 2 separate modes (max R-hat 1.830)" in split
    assert "not to be used" in split and "sampler warned" not in split
    assert "sampler warned" in extrapolation_findings(warned.assign(modes=1))[0]["sentence"]
    svi = extrapolation_findings(warned.assign(method="svi", max_rhat=np.nan))[0]["sentence"]
    assert "SVI approximation" in svi and "sampler warned" not in svi
    assert extrapolation_findings(None) == []
    # too narrow / too wide only when a calibrated 90% interval would rarely give that count
    many = pd.concat([_runs([0.80, 0.81], [0.805, 0.805])] * 30, ignore_index=True)
    assert "wider than needed" in extrapolation_findings(many)[0]["sentence"]  # 60 of 60
    most = many.assign(high=np.r_[[0.80] * 6, many["high"].to_numpy()[6:]])
    text = extrapolation_findings(most)[0]["sentence"]  # 57 of 60: as calibrated
    assert "wider than needed" not in text and "too narrow" not in text
    three = _runs([0.80, 0.81, 0.80, 0.81], [0.805] * 4).assign(high=[0.79, 0.82, 0.82, 0.82])
    assert summarise_future(three)["n_inside"] == 3
    assert "too narrow" not in extrapolation_findings(three)[0]["sentence"]  # 3 of 4: p 0.34
    with pytest.raises(ValueError, match="not a leave-future-out table"):
        summarise_future(runs.drop(columns="fitted_max"))


def test_flags_warn_on_whatever_the_sentence_qualifies():
    """The report's warning level reads these flags (not the sentence's words), so a check
    without bias whose refit warned or was SVI still warns."""
    fine = _runs([0.80, 0.81], [0.805, 0.805])
    assert not extrapolation_flags(fine)["flagged"]
    assert extrapolation_flags(_runs([0.90, 0.92], [0.87, 0.89]))["under"]
    warned = fine.assign(max_rhat=1.002, min_ess_bulk=900, divergences=3)
    assert extrapolation_flags(warned) == {**extrapolation_flags(fine), "warned": True,
                                           "flagged": True}
    svi = extrapolation_flags(warned.assign(method="svi", max_rhat=np.nan))
    assert svi["svi"] and not svi["warned"] and svi["flagged"]
    many = pd.concat([fine] * 30, ignore_index=True)
    assert extrapolation_flags(many)["wide"] and not extrapolation_flags(many)["flagged"]


def test_inside_count_is_read_against_the_joint_predictive_not_a_binomial():
    """Runs that share an error go in and out of their intervals together: all 20 inside is
    then unremarkable, where independent runs make it rare (0.9^20 = 0.12 and below)."""
    rng = np.random.default_rng(1)
    low, high = np.full(20, -1.645), np.full(20, 1.645)
    independent = rng.normal(size=(8000, 20))
    together = rng.normal(size=(8000, 1)) + 0.05 * rng.normal(size=(8000, 20))
    all_in = inside_count_check(np.zeros(20), low, high, independent)
    assert all_in["n_inside"] == 20 and all_in["p_narrow"] == 1.0  # (1 + 8000) / (1 + 8000)
    assert abs(all_in["p_wide"] - 0.9**20) < 0.02  # independent draws: the binomial's tail
    assert abs(all_in["expected_inside"] - 18.0) < 0.1
    assert inside_count_check(np.zeros(20), low, high, together)["p_wide"] > 0.8
    # 14 of 20 inside: narrow for independent runs, not for runs that move together
    observed = np.r_[np.zeros(14), np.full(6, 3.0)]
    assert inside_count_check(observed, low, high, independent)["p_narrow"] < 0.01
    assert inside_count_check(observed, low, high, together)["p_narrow"] > 0.05
    spread = inside_count_check(observed, low, high, independent)
    assert spread["inside_low"] <= 18 <= spread["inside_high"]
    with pytest.raises(ValueError, match="draws must be"):
        inside_count_check(np.zeros(20), low, high, independent[:, :19])
    with pytest.raises(ValueError, match="too few"):
        inside_count_check(np.zeros(20), low, high, independent[:50])
    with pytest.raises(ValueError, match="one length"):
        inside_count_check(np.zeros(20), low[:19], high, independent)
    with pytest.raises(ValueError, match="finite"):
        inside_count_check(np.r_[np.nan, np.zeros(19)], low, high, independent)


def test_flags_read_the_joint_count_where_the_table_has_it():
    """60 of 60 inside is "wider than needed" for 60 independent runs; not when the refit's
    joint predictive says that count is common (its runs move together), and the sentence
    gives the count the refit expected."""
    many = pd.concat([_runs([0.80, 0.81], [0.805, 0.805])] * 30, ignore_index=True)
    assert extrapolation_flags(many)["wide"]  # no joint count: binomial
    joint = many.assign(expected_inside=54.2, inside_low=41, inside_high=60, p_narrow=1.0,
                        p_wide=0.31)
    assert not extrapolation_flags(joint)["wide"]
    text = extrapolation_findings(joint)[0]["sentence"]
    assert "60 of 60 fell inside their 90% intervals (the refit expected 54.2, 90% of its " \
        "joint draws 41-60)." in text and "wider than needed" not in text
    assert extrapolation_flags(joint.assign(p_wide=0.01))["wide"]
    assert extrapolation_flags(joint.assign(p_narrow=0.01, p_wide=1.0))["narrow"]
    assert summarise_future(joint)["p_wide"] == 0.31
    unread = joint.assign(**dict.fromkeys(INSIDE_COLUMNS, np.nan))  # a refit of few draws
    assert extrapolation_flags(unread)["wide"]  # read as a binomial again
    assert "intervals." in extrapolation_findings(unread)[0]["sentence"]


def test_leave_future_out_refits_and_predicts_the_largest_size(table):
    lfo = leave_future_out(table, transfer="pairwise", family="exp3", **SVI)
    assert set(lfo["size"]) == {512} and set(lfo["fitted_max"]) == {128}
    assert len(lfo) == 4 and set(lfo["task"]) == {"task00", "task01"}
    assert ((lfo["low"] <= lfo["mean"]) & (lfo["mean"] <= lfo["high"])).all()
    assert lfo["inside"].equals((lfo["observed"] >= lfo["low"]) & (lfo["observed"] <= lfo["high"]))
    summary = lfo.attrs["summary"]
    assert summary["n_held"] == 4 and summary["n_train"] == len(split_future(table)[0])
    assert np.isfinite(summary["min_ess_bulk"]) and summary["mae"] >= abs(summary["bias"])
    assert summary["min_ess_bulk"] == lfo["min_ess_bulk"].iloc[0]  # the refit's, in the table
    assert (lfo["family"].iloc[0], lfo["transfer"].iloc[0]) == ("exp3", "pairwise")
    assert lfo["method"].iloc[0] == "svi"
    assert (lfo["modes"] == 1).all() and summary["modes"] == 1  # SVI: one "chain", one mode
    assert all(lfo[key].nunique() == 1 for key in INSIDE_COLUMNS)  # one check per table
    assert 0 <= summary["inside_low"] <= summary["expected_inside"] <= summary["inside_high"] <= 4
    assert 0 < summary["p_narrow"] <= 1 and 0 < summary["p_wide"] <= 1
    assert summary["p_narrow"] + summary["p_wide"] >= 1  # both tails include the count
    with pytest.raises(ValueError, match="every task has fewer than two sizes"):
        leave_future_out(table, fraction=0.1, **SVI)  # only 32 <= 51.2 is left to refit


def test_tasks_that_cannot_be_refitted_are_left_out_with_a_warning(table):
    capped = table[~((table["task"] == "task01") & table["n_task01"].isin([64, 128, 256]))]
    with pytest.warns(UserWarning, match=r"\['task01'\] have fewer than two sizes"):
        lfo = leave_future_out(capped, transfer="none", family="exp3", **SVI)
    assert set(lfo["task"]) == {"task00"} and lfo.attrs["summary"]["left_out"] == ["task01"]


def test_leave_future_out_takes_a_fit_but_not_a_loaded_one(table, tmp_path):
    fit = fit_curves(table, family="exp3", transfer="none", **SVI)
    lfo = leave_future_out(fit)
    assert (lfo["family"].iloc[0], lfo["transfer"].iloc[0]) == ("exp3", "none")
    fit.save(tmp_path / "fit.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_fit(tmp_path / "fit.nc")
    with pytest.raises(ValueError, match="no results table"):
        leave_future_out(loaded)
    findings = fit.findings(lfo=lfo)
    kinds = findings["kind"].tolist()
    assert kinds.index("extrapolation") < kinds.index("trust")
    with pytest.raises(ValueError, match=r"checks \('pow4', 'none'\), not this fit's"):
        fit.findings(lfo=lfo.assign(family="pow4"))


def test_fit_command_writes_the_leave_future_out_table(table, tmp_path, capsys, monkeypatch):
    parser, table_path = fit_command(table, tmp_path, monkeypatch)
    base = ["fit", str(table_path), "--family", "exp3", "--method", "svi", "--svi-steps", "100",
            "--num-samples", "100", "--out", str(tmp_path / "fit.nc")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_fit(parser.parse_args([*base, "--leave-future-out"])) == 0
    saved = pd.read_csv(lfo_path(tmp_path / "fit.nc"))
    assert lfo_path(tmp_path / "fit.nc").name == "fit_lfo.csv"
    assert set(saved["fitted_max"]) == {128} and saved["family"].iloc[0] == "exp3"
    out = capsys.readouterr().out
    assert "leave-future-out: 4 held-out runs" in out and "Leave-future-out on these runs" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_fit(parser.parse_args([*base, "--leave-future-out", "0.1"])) == 2
