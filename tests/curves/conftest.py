"""Shared simulated tables and fits for the curve tests (small, SVI unless NUTS is the point)."""

from __future__ import annotations

import json
import warnings

import arviz as az
import pytest

from lcurve.curves import CurveFit, fit_curves, load_fit, simulate_results
from lcurve.curves.fit import _site_names

#: SVI settings used throughout: a full-rank Gaussian guide keeps interval coverage honest.
SVI = dict(method="svi", guide="mvn", svi_steps=3000, num_samples=300, learning_rate=0.02)


def prepared(table, **options) -> CurveFit:
    """An unfitted :class:`CurveFit` of ``table`` with its model's static settings set up."""
    fit = CurveFit(table, **options)
    fit._prepared()
    return fit


def latent_sites(table, **options) -> set[str]:
    """Names of the sampled sites of the model :class:`CurveFit` builds for ``table``."""
    fit = prepared(table, **options)
    return set(_site_names(fit.model(), fit.model_args(fit._data))[0])


def fit_command(table, tmp_path, monkeypatch):
    """``(parser, path)``: an argument parser with the ``lcurve fit`` subcommand and ``table``
    written to ``tmp_path/results.parquet`` (the CPU-device request stubbed: the test
    process has started JAX already)."""
    import argparse

    from lcurve.curves._cli import add_fit_parser

    path = tmp_path / "results.parquet"
    table.to_parquet(path)
    monkeypatch.setattr("lcurve.curves._inference.request_cpu_devices", lambda n: None)
    parser = argparse.ArgumentParser()
    add_fit_parser(parser.add_subparsers(dest="command"))
    return parser, path


def saved_before(fit, path, *fields):
    """Save ``fit`` as a release before ``fields`` existed would have (no such settings in
    the file) and load it back with :func:`lcurve.curves.load_fit`."""
    idata = fit.idata.copy()
    meta = json.loads(idata.attrs["lcurve_fit"])
    for field in fields:
        del meta["config"][field]
        meta.pop(field, None)
    idata.attrs["lcurve_fit"] = json.dumps(meta)
    az.to_netcdf(idata, str(path))
    return load_fit(path)


@pytest.fixture(scope="session")
def pairs_table():
    """Three tasks, pair runs: a table to build models from (no fit)."""
    return simulate_results(n_tasks=3, structure="pairwise", seed=0)[0]


@pytest.fixture(scope="session")
def pairwise_data():
    """Three tasks, pair runs, two replicate seeds, a known sparse transfer matrix."""
    return simulate_results(n_tasks=3, structure="pairwise", seed=0,
                            transfer=[[0.0, 0.6, 0.0], [-0.3, 0.0, 0.0], [0.0, 0.5, 0.0]])


@pytest.fixture(scope="session")
def pairwise_fit(pairwise_data):
    table, _ = pairwise_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fit_curves(table, family="exp3", transfer="pairwise", seed=0, **SVI)
