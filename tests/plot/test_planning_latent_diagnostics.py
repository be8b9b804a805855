"""plot_required_samples, plot_latent, ArviZ wrappers, and the shape of every plot_* API."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import lcurve.plot as lplot
from lcurve.plot import (plot_biplot, plot_diagnostics, plot_latent, plot_rank,
                         plot_required_samples, plot_trace)


def test_required_samples_from_fit(pairwise_fit):
    ax = plot_required_samples(pairwise_fit, target_score=0.8, tasks=["alpha", "delta"])
    assert ax.get_xscale() == "log"
    assert "samples" in ax.get_xlabel() and "compounds" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alpha", "delta"]
    assert len(ax.containers) == 2  # alone, with context
    labels = ax.get_legend_handles_labels()[1]
    assert any("alone" in label for label in labels)
    alone, context = (c.lines[0].get_xdata() for c in ax.containers)
    assert context[0] < alone[0]    # alpha needs fewer samples with beta's data
    assert context[1] > alone[1]    # delta needs more with gamma's (negative transfer)


def test_required_samples_table_with_unreachable_target():
    table = pd.DataFrame({"task": ["a", "a", "b", "b"],
                          "scenario": ["alone", "with_context"] * 2, "target_score": 0.9,
                          "p_reachable": [1, 1, 0.2, 1.0], "median": [400, 100, np.inf, 900],
                          "low": [200, 50, 300, 400], "high": [900, 300, np.inf, np.inf]})
    ax = plot_required_samples(table)
    assert ax.get_xscale() == "log"
    assert len(ax.texts) == 1  # one arrow: b alone never reaches 0.9
    assert "0.9" in ax.get_title()
    with pytest.raises(ValueError, match="lacks column"):
        plot_required_samples(table.drop(columns="median"))


def test_latent_biplot_from_fit_and_table(pairwise_fit):
    ax = plot_latent(pairwise_fit)
    assert ax.get_xlabel().startswith("factor 1") and ax.get_ylabel().startswith("factor 2")
    assert len(ax.collections[0].get_offsets()) == len(pairwise_fit.tasks)  # one per source
    ax = plot_latent(pairwise_fit.transfer_matrix(), factors_kwargs={"center": "none"},
                     biplot_kwargs={"x": 2, "y": 1})
    assert ax.get_xlabel().startswith("factor 2")
    with pytest.raises(TypeError, match="transfer DataFrame"):
        plot_latent([[0.0, 1.0], [1.0, 0.0]])


def test_biplot_labels_every_source_and_target_without_overlap():
    from lcurve.latent import transfer_factors
    from lcurve.plot._labels import text_overlaps

    m = pd.DataFrame(np.eye(3) + 0.1, index=list("abc"), columns=list("abc"))
    ax = plot_biplot(transfer_factors(m))
    assert ax.get_xlabel().startswith("factor 1")
    assert sorted(t.get_text() for t in ax.texts) == ["a", "a", "b", "b", "c", "c"]
    assert text_overlaps(ax.texts) == []
    with pytest.raises(ValueError, match="factor numbers"):
        plot_biplot(transfer_factors(m), y=5)


def test_diagnostics_summary_flags_the_bad_variables(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ff", Path(__file__).with_name("fake_fit.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    bad = module.fake_fit(tmp_path / "bad.nc", bad_rhat=True, divergences=2)
    fig = plot_diagnostics(bad)
    ax_r, ax_e = fig.axes
    names = [t.get_text() for t in ax_r.get_yticklabels()]
    table = bad.diagnostics().table.set_index("variable")
    # bar ends are the worst R-hat per variable; "a" was planted with a displaced chain
    ends = {n: p.get_x() + p.get_width() for n, p in zip(names, ax_r.patches)}
    assert ends["a"] == pytest.approx(table.loc["a", "r_hat"]) and ends["a"] > 1.01
    assert "FAILED" in fig._suptitle.get_text() and "2 divergent" in fig._suptitle.get_text()
    ess = {n: p.get_width() for n, p in zip(names, ax_e.patches)}
    assert ess["c"] == pytest.approx(table.loc["c", ["ess_bulk", "ess_tail"]].min())
    svi = module.fake_fit(tmp_path / "svi.nc", n_chains=1)
    fig = plot_diagnostics(svi)
    assert "2+ chains" in fig.axes[0].texts[0].get_text()


def test_trace_and_rank_reuse_arviz(pairwise_fit, tmp_path):
    axes = plot_trace(pairwise_fit, var_names=["a", "transfer"])
    assert np.shape(axes) == (2, 2)  # a row per variable: density and trace
    assert axes[0, 0].get_title() == "a"
    axes = plot_rank(pairwise_fit, var_names=["c"])
    assert len(np.ravel(axes)) == len(pairwise_fit.tasks)
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("ff", Path(__file__).with_name("fake_fit.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    svi = module.fake_fit(tmp_path / "svi.nc", n_chains=1)
    with pytest.raises(ValueError, match="one chain"):
        plot_rank(svi)


@pytest.mark.parametrize("name", [n for n in lplot.__all__ if n.startswith("plot_")])
def test_plot_api_shape(name):
    """Data first, ax=None (axes=None for several panels), only named *_kwargs dicts."""
    params = inspect.signature(getattr(lplot, name)).parameters
    kinds = [p.kind for p in params.values()]
    assert inspect.Parameter.VAR_KEYWORD not in kinds
    assert inspect.Parameter.VAR_POSITIONAL not in kinds
    for pname, p in params.items():
        if pname.endswith("_kwargs"):
            assert p.default is None and p.kind is inspect.Parameter.KEYWORD_ONLY
    if name not in ("plot_trace", "plot_rank"):  # ArviZ lays out its own figures
        assert (params["ax"] if "ax" in params else params["axes"]).default is None
    assert any(p.endswith("_kwargs") for p in params)
