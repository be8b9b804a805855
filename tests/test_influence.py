"""MTIF: CG against the explicit Hessian inverse, and predictions against actual retraining."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr

from lcurve.datasets import make_synthetic
from lcurve.influence import MTIF, drop_harmful


# every retrain below pads to 16 runs and shares these settings: one compilation each
SETTINGS = dict(hidden=(4,), steps=1500, l2=1e-2, damping=0.0, learning_rate=2e-2,
                run_bucket=16)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)[0]


@pytest.fixture(scope="module")
def fitted(data):
    return MTIF(data, **SETTINGS).fit()


def test_fit_reaches_a_stationary_point(fitted):
    assert fitted.grad_norm_ < 0.02
    assert fitted.arrays_.n_ref == fitted.data.train_mask.sum()


def test_hvp_and_cg_match_explicit_hessian(fitted):
    h = fitted.hessian()
    rng = np.random.default_rng(0)
    v = rng.normal(size=h.shape[0]).astype(np.float32)
    np.testing.assert_allclose(fitted.hvp(v), h @ v, rtol=1e-3, atol=1e-4)
    cg = fitted.sample_influence()
    exact = fitted.sample_influence(exact=True)
    np.testing.assert_allclose(cg["influence"], exact["influence"], rtol=1e-3, atol=1e-3)
    # exact = dense solve with the explicit Hessian: -g_i^T H^-1 grad l_z by hand for one sample
    g = np.asarray(fitted.test_gradients(), np.float64)
    s = np.linalg.solve(h.astype(np.float64), g.T).T
    assert np.allclose(np.asarray(fitted.inverse_hvp(g, exact=True)), s, rtol=1e-6, atol=1e-8)


def test_sample_influence_predicts_leave_one_out(fitted):
    target = fitted.data.tasks[0]
    samples = fitted.sample_influence()
    samples = samples[samples.target == target]
    top = samples.loc[samples.removal_effect.abs().sort_values(ascending=False).index[:12]]
    removals = {}
    for i, (row, source) in enumerate(zip(top["row"], top["source"])):
        mask = np.zeros(fitted.arrays_.weights.shape, bool)
        mask[row, fitted.data.tasks.index(source)] = True
        removals[f"z{i}"] = mask
    actual = fitted.retrain(removals)
    actual = actual[actual.target == target]
    r = pearsonr(top["removal_effect"], actual["delta_loss"]).statistic
    assert r > 0.9
    assert (np.sign(top["removal_effect"].to_numpy()) == np.sign(actual["delta_loss"])).mean() > 0.8


def test_task_influence_agrees_with_leave_task_out(fitted):
    table = fitted.leave_task_out()
    assert len(table) == 9 and {"predicted", "actual"} <= set(table.columns)
    assert pearsonr(table["predicted"], table["actual"]).statistic > 0.6
    # a task's own samples help it: removing them raises its test loss
    own = table[table.source == table.target]
    assert (own["actual"] > 0).all()


def test_retrain_without_removal_is_exact(fitted):
    nothing = np.zeros(fitted.arrays_.weights.shape, bool)
    out = fitted.retrain({"nothing": nothing})
    assert (out["delta_loss"] == 0).all()


def test_drop_harmful_runs_and_reports_controls(data):
    out = drop_harmful(data, data.tasks[0], fractions=(0.1, 0.3), seeds=(0,),
                       mtif_kwargs=SETTINGS)
    assert set(out["variant"]) == {"all", "harmful", "random"}
    assert (out.loc[out.variant == "all", "n_dropped"] == 0).all()
    harmful = out[out.variant == "harmful"].set_index("fraction")
    random = out[out.variant == "random"].set_index("fraction")
    assert (harmful["n_dropped"] == random["n_dropped"]).all()
    assert harmful["n_dropped"].is_monotonic_increasing


def test_bad_inputs(data):
    with pytest.raises(RuntimeError, match="fit"):
        MTIF(data).sample_influence()
    with pytest.raises(ValueError, match="damping must be >= 0"):
        MTIF(data, damping=-1.0)
    with pytest.raises(ValueError, match="steps must be > 0"):
        MTIF(data, steps=0)
    with pytest.raises(ValueError, match="eval_mask"):
        MTIF(data, eval_mask=np.ones((2, 2), bool)).fit()
    with pytest.raises(KeyError, match="unknown task"):
        drop_harmful(data, "nope")
    with pytest.raises(ValueError, match="fractions"):
        drop_harmful(data, data.tasks[0], fractions=(1.5,))


def test_influence_cli_writes_tables_and_figures(tmp_path):
    """``lcurve influence CONFIG`` end to end, on the fixture's data and settings."""
    import argparse

    from lcurve.latent._cli import add_influence_parser

    config = tmp_path / "influence.toml"
    config.write_text(
        '[data]\nsource = "synthetic"\nn_tasks = 3\nn_compounds = 200\nn_features = 8\n'
        "[influence]\nhidden = [4]\nsteps = 1500\nlearning_rate = 0.02\nl2 = 0.01\n"
        "damping = 0.0\nfold_bits = 0\n"
        "[selection]\ntargets = ['task00']\nfractions = [0.2]\nseeds = [0]\n")
    parser = argparse.ArgumentParser()
    add_influence_parser(parser.add_subparsers())
    args = parser.parse_args(["influence", str(config), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    for name in ("sample_influence.parquet", "leave_task_out.csv", "agreement.csv",
                 "selection.csv", "selection_summary.csv", "summary.md", "config.toml",
                 "leave_task_out.png", "selection.png"):
        assert (tmp_path / "out" / name).is_file(), name
