"""The shared test set: ``FitConfig.test_shared`` and ``simulate_results(test_shared=...)``."""

from __future__ import annotations

import json
import warnings

import arviz as az
import numpy as np
import pytest

from lcurve.config import ConfigError
from lcurve.curves import CurveFit, leave_future_out, load_fit, simulate_results
from lcurve.curves.fit import TEST_SHARED
from lcurve.curves.model import test_share_at as share_at  # not collected as a test
from tests.curves.conftest import fit_command, latent_sites, saved_before

#: one worker runs this module, so its module fixtures are built once (tests/conftest.py)
pytestmark = pytest.mark.xdist_group("curves_shared_test_set")

SIZES = (32, 64, 128, 256, 512)


@pytest.fixture(scope="module")
def shared_table():
    """Three tasks whose runs share most of their test-set error (one test set per task)."""
    return simulate_results(n_tasks=3, family="exp3", structure="none", sizes=SIZES,
                            source_sizes=(), test_shared=0.8, noise_sd=0.005, seed=3)[0]


#: short NUTS: the mean-field and full-rank SVI guides both understate the ridge between a
#: task's asymptote and its test-set offset (the curve's interval widened 1.19x under the
#: full-rank guide, 1.39x under NUTS on this table)
NUTS = dict(num_warmup=300, num_samples=300, num_chains=2)


def _fit(table, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CurveFit(table, family="exp3", transfer="none", **{**NUTS, **options}).fit()


@pytest.fixture(scope="module")
def fits(shared_table):
    return {share: _fit(shared_table, test_shared=share) for share in (0.0, 0.8)}


@pytest.mark.parametrize("options, message", [
    (dict(test_offsets="integrated", likelihood="truncnormal"), "test_offsets='integrated'"),
    (dict(test_offsets="integrated", seed_effects="centred"), "test_offsets='integrated'"),
    (dict(test_offsets="integrated", random_effects=False), "test_offsets='integrated'"),
    (dict(test_offsets="marginal"), "unknown test_offsets"),
    (dict(test_shared=1.0), "must be in"), (dict(test_shared=-0.1), "must be in"),
    (dict(test_shared=0.5, test_noise="none"), "test_noise='none'")])
def test_bad_test_shared_is_refused(shared_table, options, message):
    with pytest.raises(ConfigError, match=message):
        CurveFit(shared_table, **options)._prepared()


def test_test_shared_needs_test_set_sizes(shared_table):
    table = shared_table.drop(columns=["n_test", "n_test_pos"])
    with pytest.raises(ConfigError, match="n_test"):
        CurveFit(table, transfer="none", test_shared=0.5)._prepared()


def test_the_offset_is_modelled_by_default_where_there_are_test_sets(shared_table):
    """``test_shared=None`` ("auto"): the measured share where the table has test-set sizes
    and a test-set term, else none; an explicit 0 turns it off."""
    assert "test_z" in latent_sites(shared_table, transfer="none")
    assert "test_z" not in latent_sites(shared_table, transfer="none", test_shared=0.0)
    assert "test_z" not in latent_sites(shared_table, transfer="none", test_noise="none")
    assert "test_z" not in latent_sites(shared_table, transfer="joint")  # not converged yet
    assert "test_z" in latent_sites(shared_table, transfer="joint", test_shared=0.5)
    bare = shared_table.drop(columns=["n_test", "n_test_pos"])
    assert "test_z" not in latent_sites(bare, transfer="none")
    # integrated out: the sampler sees only the standard normals of the drawn offsets
    integrated = latent_sites(shared_table, transfer="none", test_offsets="integrated")
    assert "test_z_decentered" in integrated and "test_z" not in integrated
    fit = CurveFit(shared_table, transfer="none")
    assert fit._prepared()["test_shared"] == TEST_SHARED
    assert CurveFit(bare, transfer="none")._prepared()["test_shared"] == 0.0


def test_simulated_runs_of_a_task_share_an_offset():
    """With the shared part, a task's mean residual varies across tasks by ~sqrt(rho v_test);
    without it, by ~sqrt(v_test / runs)."""
    spread = {}
    for share in (0.0, 0.9):
        table, truth = simulate_results(n_tasks=40, family="exp3", structure="none",
                                        sizes=SIZES, source_sizes=(), seeds=(0, 1, 2),
                                        noise_sd=0.0, subsample_sd=0.0, trajectory_sd=0.0,
                                        test_shared=share, seed=5)
        residual = (table["value"] - truth["mean"]).groupby(table["task"]).mean()
        spread[share] = residual.std()
    assert spread[0.9] > 2.5 * spread[0.0]


def test_simulation_without_the_shared_part_is_unchanged():
    a = simulate_results(n_tasks=2, structure="none", source_sizes=(), seed=1)[0]
    b = simulate_results(n_tasks=2, structure="none", source_sizes=(), seed=1,
                         test_shared=0.0)[0]
    assert np.array_equal(a["value"], b["value"])
    with pytest.raises(ValueError, match="test_shared"):
        simulate_results(n_tasks=2, structure="none", source_sizes=(), test_shared=1.2)


def test_the_curve_carries_the_test_sets_uncertainty(fits):
    """The curve (score on a new test set) is wider when the test set's offset is modelled,
    while runs on the task's own test set are predicted no less sharply."""
    at = {task: [512] for task in fits[0.0].tasks}
    narrow, wide = (fits[s].predict(at) for s in (0.0, 0.8))
    curve_width = lambda p: (p["hdi_high"] - p["hdi_low"]).mean()  # noqa: E731
    run_width = lambda p: (p["pred_high"] - p["pred_low"]).mean()  # noqa: E731
    assert curve_width(wide) > 1.25 * curve_width(narrow)
    assert run_width(wide) < 1.1 * run_width(narrow)
    assert np.allclose(narrow["test_mean"], narrow["mean"])
    assert not np.allclose(wide["test_mean"], wide["mean"], atol=1e-3)


def test_leave_future_out_centres_on_the_tasks_test_set(shared_table, fits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lfo = leave_future_out(fits[0.8], fraction=0.5)
    pred = _fit(shared_table[shared_table[[c for c in shared_table if c.startswith("n_task")]]
                             .max(axis=1) <= 256], test_shared=0.8)
    assert lfo["mean"].between(0, 1).all()
    assert len(lfo) == 6 and lfo["transfer"].eq("none").all()
    # the refit is the same model; its own-test-set centre is what the table reports
    held = pred.predict({task: [512] for task in pred.tasks})
    assert np.allclose(np.sort(lfo["mean"].unique()), np.sort(held["test_mean"]), atol=0.02)


def test_fits_saved_before_the_option_load_without_it(fits, tmp_path):
    loaded = saved_before(fits[0.0], tmp_path / "old.nc", "test_shared")
    assert loaded.config.test_shared == 0.0
    assert loaded.model().keywords["test_shared"] == 0.0


def test_fit_command_takes_test_shared(shared_table, tmp_path, monkeypatch):
    from lcurve.curves._cli import run_fit

    parser, path = fit_command(shared_table, tmp_path, monkeypatch)
    base = ["fit", str(path), "--family", "exp3", "--transfer", "none", "--method", "svi",
            "--svi-steps", "100", "--num-samples", "50", "--out", str(tmp_path / "fit.nc")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_fit(parser.parse_args([*base, "--test-shared", "0.5"])) == 0
        assert run_fit(parser.parse_args([*base, "--test-shared", "1.5"])) == 2
    loaded = load_fit(tmp_path / "fit.nc")
    assert loaded.config.test_shared == 0.5 and "test_z" in loaded.idata.posterior
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert run_fit(parser.parse_args([*base, "--test-shared", "0.5", "--test-offsets",
                                          "integrated"])) == 0
    loaded = load_fit(tmp_path / "fit.nc")  # the offsets drawn from the likelihood, saved
    assert loaded.config.test_offsets == "integrated"
    assert {"test_z", "test_z_decentered"} <= set(loaded.idata.posterior)
    assert loaded.predict({loaded.tasks[0]: [512]})["test_mean"].between(0, 1).all()


def test_curve_gaps_compare_runs_with_their_test_sets_curve(fits):
    """Runs centre on the curve moved by their task's test-set offset, not on the curve of a
    new test set: the gap check measures the former (else every task with a large offset
    would read as a curve that misses its runs)."""
    fit = fits[0.8]
    gaps = fit.curve_gaps()
    at_offset = fit.predict({task: [512] for task in fit.tasks})
    moved = (at_offset["test_mean"] - at_offset["mean"]).abs().max()
    assert moved > 0.01  # the table's offsets are visible at 512 ...
    assert gaps["gap"].abs().max() < 0.5 * moved  # ... and the gaps do not carry them


def test_a_saved_auto_fit_loads_with_the_share_it_used(shared_table, tmp_path):
    fit = _fit(shared_table, method="svi", svi_steps=50, num_samples=20)
    assert fit.config.test_shared is None
    loaded = load_fit(fit.save(tmp_path / "auto.nc"))
    assert loaded.config == fit.config  # still "auto" ...
    assert loaded.model().keywords["test_shared"] == TEST_SHARED  # ... as it resolved


def test_findings_say_when_the_curve_is_the_test_sets(fits):
    said = lambda fit: fit.findings()["sentence"].str.contains("test_shared=0").any()  # noqa: E731
    assert said(fits[0.0]) and not said(fits[0.8])


def test_a_stacked_prediction_centres_on_the_test_sets_too(fits):
    from lcurve.curves import predict_stacked

    at = {task: [512] for task in fits[0.0].tasks}
    stacked = predict_stacked([fits[0.0], fits[0.8]], at, weights=[0.25, 0.75],
                              names=["independent", "shared"])
    alone = [fits[s].predict(at) for s in (0.0, 0.8)]
    expected = 0.25 * alone[0]["test_mean"] + 0.75 * alone[1]["test_mean"]
    assert np.allclose(stacked["test_mean"], expected, atol=1e-6)
    assert not np.allclose(stacked["test_mean"], stacked["mean"], atol=1e-3)


def test_integrated_offsets_are_the_same_model(shared_table, fits):
    """Offsets integrated out of the likelihood (drawn from their exact conditional) give the
    sampled model's posterior: the curve, its interval, the runs' centre on the task's test
    set and the offsets agree within Monte Carlo error."""
    integrated = _fit(shared_table, test_shared=0.8, test_offsets="integrated")
    assert "test_z_decentered" in integrated.idata.posterior
    at = {task: [64, 512] for task in integrated.tasks}
    ref, got = fits[0.8].predict(at), integrated.predict(at)
    for column, tol in (("mean", 0.01), ("test_mean", 0.01), ("hdi_low", 0.03),
                        ("hdi_high", 0.03)):  # (seed to seed: up to 0.005 and 0.015)
        np.testing.assert_allclose(got[column], ref[column], atol=tol)
    z_ref, z_got = (f.idata.posterior["test_z"].values.reshape(-1, 3) for f in
                    (fits[0.8], integrated))
    np.testing.assert_allclose(z_got.mean(0), z_ref.mean(0), atol=0.25)
    np.testing.assert_allclose(z_got.std(0), z_ref.std(0), rtol=0.2)
    assert (np.abs(z_got.mean(0)) > 0.4).any()  # the runs moved an offset off its prior


def _likelihood_variance(table, **options):
    """The per-row variance the model hands the likelihood with no run noise, and own sizes."""
    import jax.numpy as jnp
    from numpyro import handlers

    fit = CurveFit(table, family="exp3", transfer="none", **options)
    fit._prepared()
    model = handlers.substitute(handlers.seed(fit.model(), 0),
                                data={"noise_sd": jnp.zeros(3)})
    site = handlers.trace(model).get_trace(**fit.model_args(fit._data))["score"]
    data = fit._data
    return np.asarray(site["fn"].var), data.sizes[np.arange(data.n_obs), data.task]


def test_a_share_by_size_leaves_large_runs_less_test_noise_of_their_own(shared_table):
    """``test_share="by_size"``: the share is a logistic in the log size, ``logit(share) =
    logit(0.40) + 0.73 log(n / 100)`` (0.23 at 32 samples, 0.86 at 2,048: never all nor
    none of it), against 0.55 at every size; the fit records the share and slope it used,
    and ``joint`` keeps none."""
    from lcurve.curves.fit import TEST_SHARE_SLOPE, TEST_SHARED_AT_REF

    by_size, own = _likelihood_variance(shared_table, test_share="by_size")
    constant, _ = _likelihood_variance(shared_table)
    logit = np.log(TEST_SHARED_AT_REF / (1 - TEST_SHARED_AT_REF))
    share = 1 / (1 + np.exp(-(logit + TEST_SHARE_SLOPE * np.log(own / 100))))
    np.testing.assert_allclose(by_size / constant, (1 - share) / (1 - TEST_SHARED), rtol=1e-4)
    assert share[own == 512].min() > 0.65 and 0.15 < share[own == 32].max() < 0.3
    np.testing.assert_allclose(share_at(np.array([100.0, 2048.0, 1.0]), 0.4, 0.73),
                               [0.4, 0.858, 0.0226], atol=1e-3)
    meta = CurveFit(shared_table, transfer="none", test_share="by_size")._prepared()
    assert (meta["test_shared"], meta["test_share_slope"]) == (TEST_SHARED_AT_REF,
                                                               TEST_SHARE_SLOPE)
    meta = CurveFit(shared_table, transfer="none", test_share="by_size",
                    test_shared=0.6)._prepared()  # an explicit share: the one at 100 samples
    assert (meta["test_shared"], meta["test_share_slope"]) == (0.6, TEST_SHARE_SLOPE)
    assert CurveFit(shared_table, transfer="joint",
                    test_share="by_size")._prepared()["test_share_slope"] == 0.0
    with pytest.raises(ConfigError, match="unknown test_share"):
        CurveFit(shared_table, test_share="linear")


def test_a_fit_with_a_share_by_size_predicts_and_checks_its_runs(shared_table, tmp_path):
    fit = _fit(shared_table, method="svi", svi_steps=50, num_samples=20, test_share="by_size")
    gaps = fit.curve_gaps(by_size=True)  # the runs' test-set offsets, moved by size
    assert np.isfinite(gaps["gap"]).all()
    loaded = load_fit(fit.save(tmp_path / "by_size.nc"))
    assert loaded.model().keywords["test_share_slope"] == fit.model().keywords[
        "test_share_slope"] > 0
    pred = loaded.predict({loaded.tasks[0]: [64, 2048]})
    assert pred["test_mean"].between(0, 1).all()
    idata = fit.idata.copy()  # a fit of the share's earlier power-law form: refused
    meta = json.loads(idata.attrs["lcurve_fit"])
    meta["test_share_decay"] = meta.pop("test_share_slope")
    idata.attrs["lcurve_fit"] = json.dumps(meta)
    az.to_netcdf(idata, str(tmp_path / "power.nc"))
    with pytest.raises(ValueError, match="power-law form"):
        load_fit(tmp_path / "power.nc")
