"""API behaviour of lcurve.curves: families, inputs, outputs, persistence, planning, CLI."""

from __future__ import annotations

import argparse
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import lcurve.curves as curves
from lcurve.curves import (FAMILIES, CurveDataError, FitConfig, effective_size, get_family,
                           load_fit, simulate_results)
from lcurve.curves._cli import add_fit_parser, run_fit
from lcurve.curves._table import prepare


def test_every_public_name_imports():
    for name in curves.__all__:
        assert getattr(curves, name) is not None


def test_curves_never_import_train_or_sweep():
    import pathlib
    for path in pathlib.Path(curves.__file__).parent.glob("*.py"):
        imports = [line for line in path.read_text().splitlines()
                   if line.lstrip().startswith(("import ", "from "))]
        assert not [line for line in imports if "train" in line or "sweep" in line], path


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_families_increase_towards_their_asymptote(name):
    family = get_family(name)
    rng = np.random.default_rng(0)
    params = {p.name: family.constrain(p.name, p.loc + 0.3 * rng.standard_normal())
              for p in family.params}
    x = jnp.geomspace(0.01, 100.0, 50)
    y = np.asarray(family(x, params))
    assert np.all(np.diff(y) >= -1e-6), y
    assert abs(y[-1] - float(params["c"])) < abs(y[0] - float(params["c"]))


def test_unknown_family_names_the_options():
    with pytest.raises(ValueError, match="exp3"):
        get_family("exp5")
    with pytest.raises(ValueError, match="unknown transfer 'pairs'"):
        FitConfig(transfer="pairs")
    with pytest.raises(ValueError, match="num_samples"):
        FitConfig(num_samples=0)


def test_effective_size_stays_positive_under_negative_transfer():
    sizes = jnp.array([[10.0, 1000.0], [500.0, 100.0]])
    params = {"transfer": jnp.array([[0.0, -0.5], [0.2, 0.0]])}
    n_eff = np.asarray(effective_size("pairwise", params, jnp.array([0, 0]), sizes))
    # negative transfer shrinks n_eff multiplicatively: positive, first-order n_i + tau n_j
    assert n_eff[0] == pytest.approx(10.0 * np.exp(-50.0), rel=1e-4) and n_eff[0] > 0
    assert n_eff[1] == pytest.approx(500.0 * np.exp(-0.1), rel=1e-5)
    # strictly monotone in tau (no flat floor), also far below zero
    taus = jnp.linspace(-0.25, 1.0, 31)  # down to tau n_j = -25 n_i
    curve = jax.vmap(lambda t: effective_size(
        "pairwise", {"transfer": jnp.array([[0.0, t], [0.0, 0.0]])}, jnp.array([0]),
        sizes[:1])[0])(taus)
    assert np.all(np.diff(np.log(np.asarray(curve))) > 0)
    ctx = np.asarray(effective_size("contextual", {"transfer_context": jnp.array([0.5, 0.0])},
                                    jnp.array([0, 1]), sizes))
    assert ctx == pytest.approx([510.0, 100.0])


@pytest.mark.parametrize("drop, match", [("value", "value"), ("task", "task")])
def test_missing_columns_are_named(pairwise_data, drop, match):
    with pytest.raises(CurveDataError, match=match):
        curves.fit_curves(pairwise_data[0].drop(columns=drop), method="svi")


def test_bad_inputs_give_clear_errors(pairwise_data):
    table = pairwise_data[0]
    with pytest.raises(CurveDataError, match="metrics present"):
        curves.fit_curves(table, metric="auprc", method="svi")
    with pytest.raises(CurveDataError, match=r"\[0, 1\]"):
        curves.fit_curves(table.assign(value=table["value"] + 1), method="svi")
    with pytest.raises(CurveDataError, match="no size column"):
        curves.fit_curves(table.assign(task="elsewhere"), method="svi")
    with pytest.raises(CurveDataError, match="only the evaluated task"):
        curves.fit_curves(table[table["n_task01"] > 0].query("task == 'task00'"),
                          transfer="none", method="svi")


def test_missing_scores_are_dropped_with_a_count():
    table, _ = simulate_results(n_tasks=2, seed=5, seeds=(0,))
    table.loc[:2, "value"] = np.nan
    before = table.copy()
    with pytest.warns(UserWarning, match="dropping 3 of"):
        data = prepare(table.drop(columns=["n_test", "n_test_pos", "run_id"]), metric="auroc",
                       transfer="pairwise")
    pd.testing.assert_frame_equal(table, before)  # caller's table untouched
    assert data.n_obs == len(table) - 3 and data.n_test is None  # per-task noise only
    single = prepare(table.dropna(), metric="auroc", transfer="none")
    assert (single.sizes > 0).sum(axis=1).max() == 1  # 'none' keeps single-task runs only


def test_idata_has_named_dims_and_one_log_likelihood(pairwise_fit):
    idata = pairwise_fit.idata
    assert list(idata.log_likelihood.data_vars) == ["score"]
    assert idata.posterior["transfer"].dims[2:] == ("target", "source")
    assert idata.posterior["c"].dims[2:] == ("task",)
    assert list(idata.posterior["task"].values) == ["task00", "task01", "task02"]


def test_transfer_matrix_and_params_are_tidy(pairwise_fit):
    rates = pairwise_fit.transfer_matrix()
    assert list(rates.columns[:9]) == ["source", "target", "mean", "sd", "se", "hdi_low",
                                       "hdi_high", "n", "p_positive"]
    draws = pairwise_fit.idata.posterior["transfer"].values
    first = rates.iloc[0]
    tasks = pairwise_fit.tasks
    column = draws[..., tasks.index(first["target"]), tasks.index(first["source"])].ravel()
    assert first["sd"] == pytest.approx(column.std(ddof=1), rel=1e-5)  # posterior sd
    assert rates[["se", "n"]].isna().all().all()
    assert len(rates) == 6 and (rates["source"] != rates["target"]).all()
    assert (rates["hdi_low"] <= rates["mean"]).all() and (rates["mean"] <= rates["hdi_high"]).all()
    assert rates["p_positive"].between(0, 1).all()
    params = pairwise_fit.curve_params()
    assert set(params["parameter"]) == {"c", "a", "b"} and len(params) == 9
    assert "transfer" in pairwise_fit.summary().index.str.split("[").str[0].tolist()


def test_predict_is_monotone_and_bounded(pairwise_fit):
    sizes = [16, 64, 256, 1024, 4096]
    pred = pairwise_fit.predict({"task00": sizes})
    assert pred["mean"].is_monotonic_increasing
    assert pred[["pred_low", "pred_high", "hdi_low", "hdi_high"]].stack().between(0, 1).all()
    assert (pred["pred_high"] - pred["pred_low"] >= pred["hdi_high"] - pred["hdi_low"]).all()
    # task00 gains from task01 (true rate 0.6): adding task01's samples raises the prediction
    both = pairwise_fit.predict(pd.DataFrame({"task": ["task00"] * 2, "n_task00": [32, 32],
                                              "n_task01": [0, 256]}))
    assert both["mean"].iloc[1] > both["mean"].iloc[0] + 0.02
    with pytest.raises(CurveDataError, match="unknown task"):
        pairwise_fit.predict({"task99": [10]})


def test_required_samples_with_context_need_fewer(pairwise_fit):
    plan = pairwise_fit.required_samples("task00", 0.75).set_index("scenario")
    assert plan.loc["alone", "p_reachable"] > 0.9
    assert plan.loc["alone", "low"] <= plan.loc["alone", "median"] <= plan.loc["alone", "high"]
    assert plan.loc["with_context", "median"] < plan.loc["alone", "median"]
    curve = pairwise_fit.predict({"task00": [plan.loc["alone", "median"]]})["mean"].iloc[0]
    assert curve == pytest.approx(0.75, abs=0.02)
    unreachable = pairwise_fit.required_samples("task00", 0.999)
    assert unreachable["p_reachable"].iloc[0] < 0.1
    with pytest.raises(ValueError, match="target_score"):
        pairwise_fit.required_samples("task00", 1.5)


def test_required_samples_compiles_its_bisection_once_per_model_shape(pairwise_fit):
    from lcurve.curves.planning import _solve_sizes

    pairwise_fit.required_samples("task00", 0.7)
    compiled = _solve_sizes._cache_size()
    other = [t for t in pairwise_fit.tasks if t != "task00"][0]
    for task, target in ((other, 0.8), ("task00", 0.6)):
        pairwise_fit.required_samples(task, target, context={}, max_samples=1e6)
    assert _solve_sizes._cache_size() == compiled  # task, target, context, bounds are arguments


def test_save_and_load_round_trip(pairwise_fit, tmp_path):
    path = pairwise_fit.save(tmp_path / "fit.nc")
    loaded = load_fit(path)
    assert loaded.config == pairwise_fit.config and loaded.tasks == pairwise_fit.tasks
    pd.testing.assert_frame_equal(loaded.transfer_matrix(), pairwise_fit.transfer_matrix())
    pd.testing.assert_frame_equal(loaded.predict({"task01": [100]}, seed=3),
                                  pairwise_fit.predict({"task01": [100]}, seed=3))
    with pytest.raises(FileNotFoundError):
        load_fit(tmp_path / "missing.nc")


def test_cli_fit_writes_a_loadable_file(pairwise_data, pairwise_fit, tmp_path, capsys,
                                        monkeypatch):
    table_path = tmp_path / "results.parquet"
    pairwise_data[0].to_parquet(table_path)
    seen = {}

    def fake_fit_curves(table, **options):  # the fit itself is tested elsewhere
        seen.update(options, n_rows=len(table))
        return pairwise_fit

    monkeypatch.setattr("lcurve.curves.fit.fit_curves", fake_fit_curves)
    requested = []  # one CPU device per chain, asked before any JAX work
    monkeypatch.setattr("lcurve.curves._inference.request_cpu_devices", requested.append)
    parser = argparse.ArgumentParser()
    add_fit_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fit", str(table_path), "--transfer", "joint", "--method", "svi",
                              "--svi-steps", "50", "--out", str(tmp_path / "fit.nc")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_fit(args) == 0
    assert seen["transfer"] == "joint" and seen["svi_steps"] == 50
    assert requested == [FitConfig().num_chains]
    assert seen["n_rows"] == len(pairwise_data[0])
    out = capsys.readouterr().out
    assert "diagnostics" in out and "task01" in out
    assert load_fit(tmp_path / "fit.nc").tasks == pairwise_fit.tasks
    args.results = tmp_path / "nope.parquet"
    assert run_fit(args) == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["fit", str(table_path), "--family", "exp9", "--out", "x.nc"])


def test_svi_with_sampled_random_effects_warns_that_the_curve_can_be_absorbed():
    import warnings

    from lcurve.curves import CurveFitWarning, simulate_results

    class Warned(Exception):
        pass

    def stop(*args, **kwargs):
        raise Warned

    table, _ = simulate_results(n_tasks=2, seed=0)
    options = dict(transfer="none", method="svi", svi_steps=5, num_samples=5)
    # the warning comes before inference: stopped there, the truncnormal model (with its
    # sampled effects, another model shape) is not compiled
    with pytest.warns(CurveFitWarning, match="random_effects=False"), \
            pytest.MonkeyPatch.context() as patch, pytest.raises(Warned):
        patch.setattr("lcurve.curves.fit.run_svi", stop)
        curves.fit_curves(table, likelihood="truncnormal", **options)
    with warnings.catch_warnings():  # the logit likelihood integrates the effects out
        warnings.simplefilter("error", CurveFitWarning)
        fit = curves.fit_curves(table, **options)
    assert "subsample_z" not in fit.idata.posterior and "subsample_sd" in fit.idata.posterior
    assert fit.idata.log_likelihood["score"].dims[-1] == "trajectory"


def test_sum_to_zero_seed_effects_fit_has_one_log_likelihood_term_per_task():
    from lcurve.curves import FitConfig, simulate_results

    table, _ = simulate_results(n_tasks=2, seed=0)
    fit = curves.fit_curves(table, transfer="none", method="svi", svi_steps=50, num_samples=5,
                            seed_effects="sum_to_zero")
    loglik = fit.idata.log_likelihood["score"]
    assert loglik.dims[-1] == "task" and loglik.shape[-1] == 2
    assert np.isfinite(loglik.values).all()
    with pytest.raises(ValueError, match="seed_effects"):
        FitConfig(seed_effects="shared")
    for without in (dict(likelihood="truncnormal"), dict(random_effects=False)):
        with pytest.raises(ValueError, match="needs the logit likelihood"):
            FitConfig(seed_effects="sum_to_zero", **without)


def test_chain_method_auto_runs_chains_one_after_another_on_one_cpu_device(monkeypatch):
    import jax

    from lcurve.curves import FitConfig, simulate_results
    from lcurve.curves._inference import resolve_chain_method

    assert resolve_chain_method("vectorized", 4) == "vectorized"
    if jax.default_backend() == "cpu" and jax.local_device_count() == 1:
        assert resolve_chain_method("auto", 4) == "sequential"
    monkeypatch.setattr(jax, "local_device_count", lambda: 4)
    assert resolve_chain_method("auto", 4) == "parallel"
    assert resolve_chain_method("auto", 1) != "parallel"
    monkeypatch.undo()
    with pytest.raises(ValueError, match="chain_method"):
        FitConfig(chain_method="threads")
    table, _ = simulate_results(n_tasks=2, seed=0, seeds=(0,), sizes=(32, 128))
    options = dict(transfer="none", num_warmup=20, num_samples=10, num_chains=2)
    fits = {m: curves.fit_curves(table, chain_method=m, **options)
            for m in ("sequential", "vectorized")}
    for fit in fits.values():  # both give (chain, draw) posteriors of the same shape
        assert fit.idata.posterior["c"].shape == (2, 10, 2)
        assert fit.idata.sample_stats["n_steps"].shape == (2, 10)


def test_centred_seed_effects_fit_and_prior_draws():
    """``seed_effects='centred'``: one log-likelihood term per task, and its generative path
    (centred effects sampled explicitly) draws scores in (0, 1). That the likelihood is the
    marginal of that path is tested against a dense normal in test_nested_likelihood.py."""
    import jax

    from lcurve.curves import CurveFit, simulate_results
    from lcurve.curves.checks import prior_draws

    table, _ = simulate_results(n_tasks=2, seed=0, seeds=(0, 1, 2))
    fit = curves.fit_curves(table, transfer="none", method="svi", svi_steps=50, num_samples=5,
                            seed_effects="centred")
    loglik = fit.idata.log_likelihood["score"]
    assert loglik.dims[-1] == "task" and np.isfinite(loglik.values).all()
    plan = CurveFit(table, transfer="none", seed_effects="centred")
    plan._prepared()
    data = plan._data
    draws = prior_draws(plan.model(), plan.model_args(data, observed=False, groups=True),
                        jax.random.PRNGKey(0), num_samples=3)
    score = np.asarray(draws["score"])
    assert "subsample_z" in draws and score.shape == (3, len(data.task))
    assert np.isfinite(score).all() and ((score >= 0) & (score <= 1)).all()


def test_fit_command_fits_alternative_families_beside_the_first(pairwise_data, tmp_path, capsys,
                                                                  monkeypatch):
    table_path = tmp_path / "results.parquet"
    pairwise_data[0].to_parquet(table_path)
    monkeypatch.setattr("lcurve.curves._inference.request_cpu_devices", lambda n: None)
    parser = argparse.ArgumentParser()
    add_fit_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fit", str(table_path), "--family", "exp3", "--method", "svi",
                              "--svi-steps", "100", "--num-samples", "100",
                              "--alternatives", "pow4", "exp3", "--out", str(tmp_path / "fit.nc")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_fit(args) == 0
    assert load_fit(tmp_path / "fit.nc").config.family == "exp3"
    assert load_fit(tmp_path / "fit_pow4.nc").config.family == "pow4"
    assert not (tmp_path / "fit_exp3.nc").exists()  # the main family is not fitted twice
    out = capsys.readouterr().out
    assert out.count("fit: CurveFit(") == 2 and "findings" in out


def test_draw_programs_equal_the_per_draw_functions():
    # expected_score_draws / effective_size_draws: one compiled program for all posterior
    # draws, the same numbers as calling the per-draw functions draw by draw
    import jax.numpy as jnp

    from lcurve.curves import FAMILIES
    from lcurve.curves.model import (effective_size, effective_size_draws, expected_score,
                                     expected_score_draws)

    rng = np.random.default_rng(0)
    draws = {"c": jnp.asarray(rng.uniform(0.7, 0.9, (5, 2))),
             "a": jnp.asarray(rng.uniform(0.5, 2.0, (5, 2))),
             "b": jnp.asarray(rng.uniform(0.5, 2.0, (5, 2))),
             "alpha": jnp.asarray(rng.uniform(0.3, 1.0, (5, 2))),
             "transfer": jnp.asarray(rng.normal(0, 0.2, (5, 2, 2)))}
    task = jnp.array([0, 1, 0], jnp.int32)
    sizes = jnp.array([[64.0, 0.0], [32.0, 128.0], [256.0, 512.0]])
    family = FAMILIES["pow4"]
    together = expected_score_draws(draws, task, sizes, family=family, structure="pairwise")
    n_eff = effective_size_draws(draws, task, sizes, structure="pairwise")
    for d in range(5):
        one = {k: v[d] for k, v in draws.items()}
        np.testing.assert_allclose(together[d],
                                   expected_score(family, "pairwise", one, task, sizes),
                                   rtol=1e-6)
        np.testing.assert_allclose(n_eff[d], effective_size("pairwise", one, task, sizes),
                                   rtol=1e-6)
    assert together.shape == (5, 3)
