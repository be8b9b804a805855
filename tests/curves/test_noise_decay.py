"""``FitConfig.noise_decay="learned"``: the run noise and the seed-trajectory effect shrink
with a run's own size as ``(100 / n)^gamma``, in the fitted likelihood and in predictions of
new runs; the default keeps them constant."""

import jax.numpy as jnp
import numpy as np
import pytest
from numpyro import handlers

from lcurve.config import ConfigError
from lcurve.curves import CurveFit, FitConfig, simulate_results
from lcurve.curves.model import SUBSAMPLE_REF

PARAMS = {"noise_sd": jnp.array([0.2, 0.3]), "subsample_sd": 0.1, "trajectory_sd": 0.15,
          "noise_decay": 0.4}


@pytest.fixture(scope="module")
def table():
    table, _ = simulate_results(n_tasks=2, structure="none", source_sizes=(),
                                sizes=(32, 128, 512), seeds=(0, 1), seed=3)
    return table


def _likelihood(table, noise_decay, groups):
    """The score site's distribution at PARAMS (no test-set term), and the rows' own sizes."""
    fit = CurveFit(table, family="exp3", transfer="none", test_noise="none",
                   noise_decay=noise_decay)
    fit._prepared()
    model = handlers.substitute(handlers.seed(fit.model(), 0), data=PARAMS)
    site = handlers.trace(model).get_trace(**fit.model_args(fit._data, groups=groups))["score"]
    data = fit._data
    return site["fn"], data.task, data.sizes[np.arange(data.n_obs), data.task]


def test_observed_runs_see_the_noise_and_trajectory_shrink(table):
    fn, task, own = _likelihood(table, "learned", groups=True)
    shrink = (SUBSAMPLE_REF / own) ** PARAMS["noise_decay"]
    noise = np.asarray(PARAMS["noise_sd"])[task]
    np.testing.assert_allclose(np.asarray(fn.var), (noise * shrink) ** 2, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(fn.traj_load), shrink, rtol=1e-5)
    assert len(set(np.round(shrink, 6))) == 3  # one factor per size
    fn, _, _ = _likelihood(table, "none", groups=True)  # the default: constant
    np.testing.assert_allclose(np.asarray(fn.var), noise**2, rtol=1e-5)
    assert fn.traj_load is None


def test_a_new_run_is_predicted_with_the_variance_at_its_size(table):
    fn, task, own = _likelihood(table, "learned", groups=False)
    shrink2 = (SUBSAMPLE_REF / own) ** (2 * PARAMS["noise_decay"])
    expected = ((np.asarray(PARAMS["noise_sd"])[task] ** 2 + PARAMS["trajectory_sd"] ** 2)
                * shrink2 + PARAMS["subsample_sd"] ** 2 * SUBSAMPLE_REF / own)
    np.testing.assert_allclose(np.asarray(fn.scale) ** 2, expected, rtol=1e-4)
    at_512 = expected[own == 512].mean()
    assert at_512 < expected[own == 32].mean() / 2  # a run at 512 is far less noisy


def test_noise_decay_is_checked():
    with pytest.raises(ConfigError, match="unknown noise_decay"):
        FitConfig(noise_decay="linear")
    with pytest.raises(ConfigError, match="centred"):
        FitConfig(noise_decay="learned", seed_effects="centred")
    assert FitConfig().noise_decay == "none"
    assert FitConfig.from_dict({"family": "pow4"}).noise_decay == "none"  # fits saved before


class _Stop(Exception):
    pass


@pytest.mark.parametrize("transfer, warns", [("contextual", True), ("joint", True),
                                             ("pairwise", False), ("none", False)])
def test_a_fit_warns_where_the_option_is_not_calibrated(table, monkeypatch, transfer, warns):
    """``contextual`` failed SBC with the option and ``joint`` was not run: those fits warn
    as they start (stopped right after, before any inference)."""
    import warnings

    from lcurve.curves import CurveFitWarning

    def stop(self):
        raise _Stop

    monkeypatch.setattr(CurveFit, "_prepared", stop)
    fit = CurveFit(table, transfer=transfer, noise_decay="learned")
    with warnings.catch_warnings(record=True) as caught, pytest.raises(_Stop):
        warnings.simplefilter("always")
        fit.fit()
    hits = [w for w in caught if issubclass(w.category, CurveFitWarning)
            and "simulation-based calibration" in str(w.message)]
    assert len(hits) == (1 if warns else 0)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(_Stop):
        warnings.simplefilter("always")
        CurveFit(table, transfer=transfer).fit()  # the default noise: never
    assert not [w for w in caught if "simulation-based calibration" in str(w.message)]
