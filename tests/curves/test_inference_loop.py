"""NUTS compiles its sampling loop once per model shape, not once per chain and fit; SVI's
init is one compiled program; a CPU gets one JAX device per chain when asked before any JAX
work; compiled programs are keyed by every static setting of the model, and a reused program
starts from its own fit's metric; warm-up trees are as deep as the draws' unless asked;
warm-up windows follow Stan's rule with the first window and buffer asked; a dense block of the
metric is estimated dense once a window's draws span it, diagonal before; SVI starts as
asked."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.infer.hmc
import numpyro.infer.hmc_util as hmc_util
import numpyro.util
import pytest
from numpyro.infer import init_to_median, init_to_uniform

from lcurve.config import ConfigError
from lcurve.curves import CurveFit, FitConfig, _inference, fit_curves, simulate_results

from .conftest import saved_before


def test_jit_wrappers_are_reused_only_inside_the_sampler_and_restored_after():
    original = numpyro.util.maybe_jit

    def body(x):
        return x

    with _inference._reused_jit_wrappers():
        first = numpyro.util.maybe_jit(body, donate_argnums=0)
        assert numpyro.util.maybe_jit(body, donate_argnums=0) is first
        assert numpyro.util.maybe_jit(body) is not first  # other options, other wrapper
    assert numpyro.util.maybe_jit is original
    assert original(body) is not original(body)  # numpyro's own: a new wrapper each call


def test_two_fits_of_one_shape_compile_the_sampling_loop_once(caplog, monkeypatch):
    starts = []

    def initialize_model(rng_key, *args, **kwargs):
        starts.append(isinstance(rng_key, jax.core.Tracer))
        return original(rng_key, *args, **kwargs)

    original = numpyro.infer.hmc.initialize_model
    monkeypatch.setattr(numpyro.infer.hmc, "initialize_model", initialize_model)
    table, _ = simulate_results(n_tasks=2, structure="none", seed=0, seeds=(0, 1),
                                sizes=(32, 128, 512))
    options = dict(transfer="none", method="nuts", num_warmup=20, num_samples=10,
                   num_chains=3, chain_method="sequential", init_steps=20)
    with warnings.catch_warnings(), jax.log_compiles(True), \
            caplog.at_level(logging.WARNING, logger="jax"):
        warnings.simplefilter("ignore")
        first = fit_curves(table, seed=0, **options)
        second = fit_curves(table, seed=1, **options)
    compiled = [r.getMessage() for r in caplog.records
                if "Finished XLA compilation of jit(" in r.getMessage()]
    # a chain, its start included, is one program compiled once (numpyro alone compiled its
    # sampling loop once per chain and fit, 6 times, and started every chain op by op)
    assert sum("jit(chain)" in m for m in compiled) == 1
    assert not any("jit(_fori_collect_loop)" in m for m in compiled)
    assert starts and all(starts)  # every chain's start was traced, none ran eagerly
    assert first.idata.posterior.sizes["chain"] == second.idata.posterior.sizes["chain"] == 3


def _fresh_python(code: str, **env) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, "-c", code], env={**environment, **env,
                                                            "JAX_PLATFORMS": "cpu"},
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_cpu_devices_are_requested_before_jax_runs_and_then_chains_run_in_parallel():
    code = ("import lcurve, jax\n"
            "from lcurve.curves import request_cpu_devices\n"
            "from lcurve.curves._inference import resolve_chain_method\n"
            "first = request_cpu_devices(3)\n"
            "print(first, jax.local_device_count(), resolve_chain_method('auto', 3),\n"
            "      resolve_chain_method('auto', 4), request_cpu_devices(2))")
    assert _fresh_python(code) == "True 3 parallel sequential False"  # too late the 2nd time
    explicit = _fresh_python(code, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert explicit == "False 2 sequential sequential False"  # the user's choice stands


def test_cpu_devices_cannot_be_requested_once_jax_has_run():
    jax.numpy.zeros(1).block_until_ready()
    assert _inference.request_cpu_devices(4) is False
    with pytest.raises(ValueError, match="n >= 1"):
        _inference.request_cpu_devices(0)


def test_svi_init_runs_as_one_compiled_program_and_fits_as_well_as_eager(caplog, monkeypatch):
    # numpyro runs SVI.init eagerly: the model dispatched op by op, 8-9 s the first time in a
    # process for a 5-task model (RESULTS.md J1); the library jits it
    table, _ = simulate_results(n_tasks=2, structure="none", seed=3, seeds=(0, 1),
                                sizes=(48, 192, 768))
    options = dict(transfer="none", method="svi", svi_steps=400, num_samples=50)
    with warnings.catch_warnings(), jax.log_compiles(True), \
            caplog.at_level(logging.WARNING, logger="jax"):
        warnings.simplefilter("ignore")
        jitted = fit_curves(table, **options)
    assert any("Finished XLA compilation of jit(init)" in r.getMessage()
               for r in caplog.records)
    monkeypatch.setattr(_inference, "JIT_SVI_INIT", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eager = fit_curves(table, **options)
    tail_jit, tail_eager = jitted.svi_losses[-100:].mean(), eager.svi_losses[-100:].mean()
    assert abs(tail_jit - tail_eager) <= 0.01 * abs(tail_eager), (tail_jit, tail_eager)


def test_an_svi_refit_of_one_shape_compiles_nothing_and_draws_from_its_own_guide(caplog):
    # the draws from the guide were a new program at every fit (its parameters constants)
    design = dict(n_tasks=2, structure="none", seeds=(0, 1), sizes=(32, 128, 512))
    a, _ = simulate_results(seed=0, **design)
    b, _ = simulate_results(seed=5, **design)
    options = dict(transfer="none", method="svi", svi_steps=100, num_samples=20)
    with warnings.catch_warnings(), jax.log_compiles(True), \
            caplog.at_level(logging.WARNING, logger="jax"):
        warnings.simplefilter("ignore")
        fit_curves(a, **options)
        caplog.clear()
        after_a = fit_curves(b, **options).idata.posterior
        refit = [r.getMessage() for r in caplog.records
                 if "Finished XLA compilation" in r.getMessage()]
        _inference._CACHE.clear()
        alone = fit_curves(b, **options).idata.posterior
    assert refit == []
    for name in ("c", "noise_sd"):  # the second table's guide, not the first's
        assert (after_a[name].values == alone[name].values).all(), name


def test_parallel_chains_compile_once_per_shape_and_a_refit_uses_its_own_data():
    # numpyro's "parallel" pmaps a fresh partial holding the data at every run: every fit
    # recompiled warm-up and sampling (5.4-5.9 s of a 5-task refit). The library's keeps the
    # mapped program, the data an argument: the second table must still be the one fitted.
    code = """
import logging, warnings, jax
from lcurve.curves import _inference, fit_curves, simulate_results
class Count(logging.Handler):
    n = 0
    def emit(self, record):
        Count.n += "Finished XLA compilation of jit(_fun)" in record.getMessage()
logging.getLogger("jax").addHandler(Count())
design = dict(n_tasks=2, structure="none", seeds=(0, 1), sizes=(32, 128, 512))
a, _ = simulate_results(seed=0, **design)
b, _ = simulate_results(seed=5, **design)
opts = dict(transfer="none", method="nuts", num_warmup=50, num_samples=50, num_chains=3,
            init_steps=50, seed=0)
warnings.simplefilter("ignore")
def asymptote(fit):
    return fit.idata.posterior["c"].mean(("chain", "draw")).values
with jax.log_compiles(True):
    fit_a, fit_b = fit_curves(a, **opts), fit_curves(b, **opts)
    reused = Count.n
    _inference._CACHE.clear()
    fresh_b = fit_curves(b, **opts)
print(fit_b.idata.posterior.sizes["chain"], reused, Count.n - reused,
      abs(asymptote(fit_b) - asymptote(fresh_b)).max(),
      abs(asymptote(fit_a) - asymptote(fresh_b)).max())
"""
    out = _fresh_python(code, XLA_FLAGS="--xla_force_host_platform_device_count=3").split()
    chains, reused, later = int(out[0]), int(out[1]), int(out[2])
    same_table, other_table = float(out[3]), float(out[4])
    assert chains == 3 and reused == 1  # two fits of one shape, one compiled program
    assert later == 1  # a new sampler compiles again (the count sees compilations)
    # the same draws as a fresh process's: the program's metric is this fit's, not the
    # first fit's (it was baked into the mapped program: the refit differed by 0.006)
    assert same_table == 0.0 < 0.03 < other_table, (same_table, other_table)


def test_a_fit_does_not_depend_on_what_was_fitted_before_it():
    # a cached sampler kept the initial metric (the SVI guide's variances) of the fit
    # that built it: the same table and seed gave other draws after another table
    design = dict(n_tasks=2, seeds=(0, 1), sizes=(32, 64, 128, 256), source_sizes=(256,))
    a, _ = simulate_results(seed=0, **design)
    b, _ = simulate_results(seed=5, **design)
    opts = dict(num_warmup=60, num_samples=30, num_chains=2, init_steps=50, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_curves(a, **opts)
        after_a = fit_curves(b, **opts).idata.posterior
        _inference._CACHE.clear()  # a new sampler, built by this table's fit
        alone = fit_curves(b, **opts).idata.posterior
    for name in ("transfer", "c", "noise_sd"):
        assert (after_a[name].values == alone[name].values).all(), name


def test_every_static_setting_of_the_model_is_in_its_compile_cache_key():
    # programs are cached by this key and the data's shapes; a setting left out (a prior
    # scale is not a shape) would let a fit run a program compiled for another setting
    # (seen when transfer_scale was dropped from the key: an SVI fit at scale 10 kept the
    # N(0, 1) rates of a fit at 0.01)
    table, _ = simulate_results(n_tasks=2, structure="pairwise", seed=0, seeds=(0,))
    fit = CurveFit(table)
    key, keywords = fit._model_key(), fit.model().keywords
    assert set(keywords) - {"family"} <= {name for name, _ in key[1:]}
    for change in (dict(transfer_scale=0.5), dict(zero_sum_curves=False),
                   dict(family="exp3"), dict(test_noise="none"), dict(pair_shift=True)):
        assert CurveFit(table, **change)._model_key() != key, change


def test_warm_up_trees_are_as_deep_as_the_draws_unless_asked(monkeypatch, pairwise_fit,
                                                              tmp_path):
    # numpyro's max_tree_depth=(warm-up, draws); the warm-up depth is capped at the draws'
    class Built(Exception):
        pass

    depths = []

    def nuts(*args, max_tree_depth, **kwargs):
        depths.append(max_tree_depth)
        raise Built

    monkeypatch.setattr(_inference, "NUTS", nuts)
    table, _ = simulate_results(n_tasks=2, structure="none", seed=0, seeds=(0,))
    for options in ({}, dict(max_tree_depth=3), dict(warmup_tree_depth=6),
                    dict(warmup_tree_depth=8, max_tree_depth=10), dict(warmup_tree_depth=9)):
        with pytest.raises(Built):
            fit_curves(table, transfer="none", init_steps=0, **options)
    assert depths == [(8, 8), (3, 3), (6, 8), (8, 10), (8, 8)]
    with pytest.raises(ConfigError, match="warmup_tree_depth"):
        FitConfig(warmup_tree_depth=-1)
    # fits saved before the field ran warm-up at the draws' depth, and say so when loaded
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "warmup_tree_depth")
    assert loaded.config.warmup_tree_depth == 0


def test_without_the_svi_start_the_metric_is_still_dense_over_the_global_sites(monkeypatch):
    """``init_steps=0``: no SVI program, chains where ``init_strategy`` says, and the same
    dense block as with the SVI start (it used to fall back to a diagonal metric, RESULTS.md N3)."""
    class Built(Exception):
        pass

    built = []

    def nuts(*args, dense_mass, inverse_mass_matrix, init_strategy, **kwargs):
        built.append((dense_mass, inverse_mass_matrix, init_strategy))
        raise Built

    def no_svi(*args, **kwargs):
        raise AssertionError("init_steps=0 must not run SVI")

    monkeypatch.setattr(_inference, "NUTS", nuts)
    table, _ = simulate_results(n_tasks=2, structure="pairwise", seed=0, seeds=(0,))
    with pytest.raises(Built):
        fit_curves(table, init_steps=20, seed=0)
    monkeypatch.setattr(_inference, "run_svi", no_svi)
    with pytest.raises(Built):
        fit_curves(table, init_steps=0, init_strategy="uniform", seed=0)
    with pytest.raises(Built):
        fit_curves(table, seed=0)  # the default: no SVI, the prior median
    (with_svi, metric, _), (without, start, chains_at), (_, _, median_at) = built
    assert len(without) == len(with_svi) == 1 and set(without[0]) == set(with_svi[0])
    assert {"transfer_z", "c_z", "noise_sd"} <= set(without[0])
    assert metric is not None and start is None  # identity start, adapted in warm-up
    # without SVI, init_strategy places the chains (numpyro's default, or prior medians)
    assert chains_at is init_to_uniform
    assert median_at.func is init_to_median and median_at.keywords == {"num_samples": 15}


def test_the_default_start_is_the_prior_median_without_svi():
    """``init_strategy="auto"``: NUTS without SVI (the default) starts at the prior median
    (a uniform start diverged more often, RESULTS.md N3/O); SVI guides keep numpyro's
    uniform start; an explicit choice is kept and a bad one named."""
    assert FitConfig().init_steps == 0 and FitConfig().init_strategy == "auto"
    assert FitConfig().resolved_init_strategy() == "median"
    assert FitConfig(init_steps=500).resolved_init_strategy() == "uniform"
    assert FitConfig(method="svi").resolved_init_strategy() == "uniform"
    assert FitConfig(init_strategy="uniform").resolved_init_strategy() == "uniform"
    assert FitConfig(init_steps=500, init_strategy="median").resolved_init_strategy() == "median"
    with pytest.raises(ConfigError, match="init_strategy.*'auto', 'uniform', 'median'"):
        FitConfig(init_strategy="mode")


def test_warm_up_windows_follow_stan_with_the_first_window_asked():
    from numpyro.infer.hmc_util import build_adaptation_schedule as numpyro_schedule

    def windows(schedule):
        return [(int(w.start), int(w.end)) for w in schedule]

    for steps in (150, 151, 500, 1000, 3333):  # Stan's rule reproduces numpyro's at 25
        assert windows(_inference._stan_windows(steps, 25)) == windows(numpyro_schedule(steps))
        assert windows(_inference.adaptation_schedule(steps)) == windows(
            numpyro_schedule(steps))
    assert windows(_inference.adaptation_schedule(1000, 100)) == [
        (0, 74), (75, 174), (175, 374), (375, 949), (950, 999)]
    assert windows(_inference.adaptation_schedule(500, 100)) == [
        (0, 74), (75, 174), (175, 449), (450, 499)]
    assert windows(_inference.adaptation_schedule(200, 100)) == windows(numpyro_schedule(200))
    # the initial fast buffer asked (Stan's init_buffer), the library's default of 25
    assert windows(_inference.adaptation_schedule(1000, 25, 25)) == [
        (0, 24), (25, 49), (50, 99), (100, 199), (200, 399), (400, 949), (950, 999)]
    assert windows(_inference.adaptation_schedule(150, 25, 25)) == [
        (0, 24), (25, 49), (50, 99), (100, 149)]
    assert windows(_inference.adaptation_schedule(90, 25, 25)) == windows(numpyro_schedule(90))
    assert FitConfig().adapt_init_buffer == _inference.STAN_INIT_BUFFER == 75
    # the sampler sees the schedule only while it is initialised, and numpyro's after
    import numpyro.infer.hmc_util as hmc_util
    with _inference._adaptation_window(100):
        assert windows(hmc_util.build_adaptation_schedule(500))[1] == (75, 174)
    with _inference._adaptation_window(25, 25):
        assert windows(hmc_util.build_adaptation_schedule(500))[:2] == [(0, 24), (25, 49)]
    assert hmc_util.build_adaptation_schedule is numpyro_schedule


def _welford_state(estimator, draws):
    init, update, _ = estimator(diagonal=False)
    state = init({("a",): (draws.shape[1], draws.shape[1]), ("b",): (draws.shape[1],)})
    for row in draws:
        state = update({"a": row, "b": row}, state)
    return state


def test_a_dense_block_is_estimated_diagonal_until_a_window_spans_it():
    # from fewer draws than dimensions the sample covariance is singular and Stan's
    # regularisation leaves ~1e-3 variance in the directions not spanned: trajectories ran
    # into the tree cap (RESULTS.md L2b, T1); then the block's variances, regularised as a
    # diagonal metric is
    rng = np.random.default_rng(0)
    scales = np.array([0.05, 0.3, 1.0, 2.0, 0.5, 0.1])
    numpyro_final = _inference._NUMPYRO_WELFORD(diagonal=False)[2]
    spanned_final = _inference._spanned_welford(diagonal=False)[2]
    for n in (4, 5, 6, 40):
        draws = jnp.asarray(rng.normal(size=(n, 6)) * scales, jnp.float32)
        state = _welford_state(_inference._NUMPYRO_WELFORD, draws)
        ours = spanned_final(state, regularize=True)
        theirs = numpyro_final(state, regularize=True)
        var = np.var(np.asarray(draws), axis=0, ddof=1)
        stan_diagonal = n / (n + 5) * var + 1e-3 * 5 / (n + 5)
        for mine, numpyros in zip(ours, theirs):  # a diagonal block: numpyro's estimate
            assert (np.asarray(mine[("b",)]) == np.asarray(numpyros[("b",)])).all()
        if n < 6:
            np.testing.assert_allclose(ours[0][("a",)], np.diag(stan_diagonal), rtol=1e-5)
            np.testing.assert_allclose(ours[1][("a",)], np.diag(stan_diagonal ** -0.5),
                                       rtol=1e-4)
            np.testing.assert_allclose(ours[2][("a",)], np.diag(stan_diagonal ** 0.5),
                                       rtol=1e-4)
        else:  # spanned: numpyro's (Stan's) dense estimate, bit for bit
            for mine, numpyros in zip(ours, theirs):
                assert (np.asarray(mine[("a",)]) == np.asarray(numpyros[("a",)])).all()


def test_the_dense_metric_rule_and_the_buffer_reach_the_sampler(monkeypatch, pairwise_fit,
                                                                tmp_path):
    # what numpyro's warm-up adapter would look up when MCMC.run initialises the sampler
    class Ran(Exception):
        pass

    seen = []

    def recorded(self, *args, **kwargs):
        seen.append((hmc_util.welford_covariance, hmc_util.build_adaptation_schedule(1000)))
        raise Ran

    monkeypatch.setattr(_inference.MCMC, "run", recorded)
    table, _ = simulate_results(n_tasks=2, structure="none", seed=0, seeds=(0, 1),
                                sizes=(32, 128, 512))
    options = dict(transfer="none", num_warmup=150, num_samples=5, num_chains=1)
    for settings in (dict(dense_metric="spanned", adapt_init_buffer=25),
                     {}):  # the default: numpyro's (Stan's)
        with pytest.raises(Ran):
            fit_curves(table, **options, **settings)
    (estimator, schedule), (stan_estimator, stan_schedule) = seen
    assert estimator is _inference._spanned_welford and schedule[0].end == 24
    assert stan_estimator is _inference._NUMPYRO_WELFORD and stan_schedule[0].end == 74
    assert hmc_util.welford_covariance is _inference._NUMPYRO_WELFORD  # restored
    assert hmc_util.build_adaptation_schedule is _inference._NUMPYRO_SCHEDULE
    assert FitConfig().dense_metric == "always"
    for bad in (dict(dense_metric="never"), dict(adapt_init_buffer=0)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            FitConfig(**bad)
    # fits saved before the fields ran Stan's buffer and dense estimate, and say so
    loaded = saved_before(pairwise_fit, tmp_path / "old.nc", "dense_metric", "adapt_init_buffer")
    assert (loaded.config.dense_metric, loaded.config.adapt_init_buffer) == ("always", 75)


def test_the_first_window_and_the_svi_start_reach_the_sampler(monkeypatch):
    seen = {}

    def schedule(num_steps, window=_inference.STAN_WINDOW,
                 init_buffer=_inference.STAN_INIT_BUFFER):
        seen.setdefault("windows", []).append((window, init_buffer))
        return _inference._NUMPYRO_SCHEDULE(num_steps)

    monkeypatch.setattr(_inference, "adaptation_schedule", schedule)
    run_svi = _inference.run_svi

    def recorded_svi(*args, init_strategy, **kwargs):
        seen.setdefault("starts", []).append(init_strategy)
        return run_svi(*args, init_strategy=init_strategy, **kwargs)

    monkeypatch.setattr("lcurve.curves.fit.run_svi", recorded_svi)
    monkeypatch.setattr(_inference, "run_svi", recorded_svi)

    class Ran(Exception):
        pass

    def recorded_run(self, *args, **kwargs):
        # what numpyro's warm-up adapter would build when MCMC.run initialises the sampler
        hmc_util.build_adaptation_schedule(200)
        raise Ran

    monkeypatch.setattr(_inference.MCMC, "run", recorded_run)
    table, _ = simulate_results(n_tasks=2, structure="none", seed=0, seeds=(0, 1),
                                sizes=(32, 128, 512))
    options = dict(transfer="none", num_warmup=200, num_samples=5, num_chains=1,
                   init_steps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for settings in (dict(adapt_window=60, init_strategy="median"), {}):
            with pytest.raises(Ran):
                fit_curves(table, **options, **settings)
        fit_curves(table, method="svi", svi_steps=5, init_strategy="median", **options)
    assert seen == {"windows": [(60, 75)], "starts": ["median", "uniform", "median"]}
    for bad in (dict(adapt_window=0), dict(init_strategy="mode")):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            FitConfig(**bad)


def test_fits_saved_before_the_warm_up_options_load_with_numpyros(pairwise_fit, tmp_path):
    for field, old in (("adapt_window", 25), ("init_strategy", "uniform")):
        loaded = saved_before(pairwise_fit, tmp_path / f"{field}.nc", field)
        assert getattr(loaded.config, field) == old
