"""Transfer matrix heatmap, contextual forest plot, TAG comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from lcurve.plot import (TRANSFER_LABEL, cluster_order, plot_affinity_comparison,
                         plot_contextual, plot_transfer_matrix)


def _signs(ax):
    return sorted(t.get_text() for t in ax.texts)


def test_transfer_matrix_heatmap_markers_and_colorbar(pairwise_fit):
    ax = plot_transfer_matrix(pairwise_fit, annotate="sign")
    assert len(ax.images) == 1
    assert len(ax.figure.axes) == 2  # heatmap + colour bar
    assert ax.figure.axes[1].get_ylabel() == TRANSFER_LABEL
    assert ax.get_xlabel().startswith("target") and ax.get_ylabel().startswith("source")
    table = pairwise_fit.transfer_matrix()
    expected = (table["hdi_low"] > 0).sum() * ["+"] + (table["hdi_high"] < 0).sum() * ["\u2212"]
    assert _signs(ax) == sorted(expected) and len(expected) == 3  # planted: 2 up, 1 down
    values = ax.images[0].get_array()
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert rows == cols
    i, j = rows.index("beta"), cols.index("alpha")
    assert values[i, j] == pytest.approx(table.query("source == 'beta' and target == 'alpha'")
                                         ["mean"].item())


def test_transfer_matrix_cells_give_mean_and_interval(pairwise_fit):
    ax = plot_transfer_matrix(pairwise_fit)  # auto: 4 tasks with intervals -> intervals
    table = pairwise_fit.transfer_matrix()
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    cells = {(rows[round(t.get_position()[1])], cols[round(t.get_position()[0])]): t
             for t in ax.texts}
    assert len(cells) == len(table) == 12  # every off-diagonal pair, nothing on the diagonal
    for row in table.itertuples():
        text = cells[(row.source, row.target)]
        expected = f"{row.mean:+.2f}\n[{row.hdi_low:+.2f}, {row.hdi_high:+.2f}]"
        assert text.get_text() == expected.replace("-", "\u2212")
        credible = row.hdi_low > 0 or row.hdi_high < 0
        assert (text.get_fontweight() == "bold") == credible
    with pytest.raises(ValueError, match="annotate must be"):
        plot_transfer_matrix(pairwise_fit, annotate="stars")


def test_transfer_matrix_accepts_a_pivoted_matrix_in_its_order():
    from lcurve.transfer import transfer_matrix

    table = pd.DataFrame({"source": ["b", "a", "c", "a"], "target": ["a", "b", "a", "c"],
                          "mean": [0.3, -0.1, 0.2, 0.05]})
    matrix = transfer_matrix(table)
    ax = plot_transfer_matrix(matrix, order="given", annotate="none")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(matrix.index)
    values = ax.images[0].get_array()
    assert values[labels.index("b"), labels.index("a")] == pytest.approx(0.3)
    assert np.ma.is_masked(values[labels.index("b"), labels.index("c")]) or \
        not np.isfinite(values[labels.index("b"), labels.index("c")])


def test_cluster_order_puts_related_tasks_together():
    tasks = ["a1", "b1", "a2", "b2", "a3"]
    group = {t: t[0] for t in tasks}
    m = pd.DataFrame([[0.5 if group[s] == group[t] and s != t else 0.0 for t in tasks]
                      for s in tasks], index=tasks, columns=tasks)
    order = cluster_order(m)
    positions = [order.index(t) for t in ("a1", "a2", "a3")]
    assert max(positions) - min(positions) == 2


def test_transfer_matrix_rejects_contextual(contextual_fit):
    with pytest.raises(ValueError, match="plot_contextual"):
        plot_transfer_matrix(contextual_fit)
    with pytest.raises(ValueError, match="order must be"):
        plot_transfer_matrix(pd.DataFrame({"source": ["a"], "target": ["b"], "mean": [1.0]}),
                             order="random")


def test_contextual_forest(contextual_fit):
    ax = plot_contextual(contextual_fit)
    table = contextual_fit.transfer_matrix().sort_values("mean")
    assert [t.get_text() for t in ax.get_yticklabels()] == table["target"].tolist()
    assert len(ax.containers) == len(table)  # one errorbar per task
    assert "contextual transfer" in ax.get_xlabel()
    xs = [c.lines[0].get_xdata()[0] for c in ax.containers]
    assert xs == pytest.approx(table["mean"].tolist())


def test_contextual_needs_context_rows(pairwise_fit):
    with pytest.raises(ValueError, match="contextual"):
        plot_contextual(pairwise_fit)


def test_affinity_comparison_points_intervals_and_rho(pairwise_fit):
    rates = pairwise_fit.transfer_matrix()
    rng = np.random.default_rng(0)
    tag = rates[["source", "target"]].assign(affinity=rates["mean"] + rng.normal(0, .1, len(rates)))
    ax = plot_affinity_comparison(tag, pairwise_fit)
    (container,) = ax.containers
    assert len(container.lines[0].get_xdata()) == len(rates)
    rho = spearmanr(tag["affinity"], rates["mean"]).statistic
    assert f"\u03c1 = {rho:.2f}" in ax.get_title()
    assert "TAG affinity" in ax.get_xlabel() and ax.get_ylabel() == TRANSFER_LABEL
    # intervals drawn are the 90% HDIs
    segments = container.lines[2][0].get_segments()
    spans = sorted(round(float(s[1, 1] - s[0, 1]), 6) for s in segments)
    assert spans == pytest.approx(sorted((rates["hdi_high"] - rates["hdi_low"]).round(6)))


def test_affinity_comparison_with_measured_gains_uses_se():
    gains = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "a"],
                          "mean": [0.1, 0.0, -0.05], "se": [0.01, 0.02, 0.01]})
    tag = gains[["source", "target"]].assign(affinity=[0.2, 0.0, -0.1])
    ax = plot_affinity_comparison(tag, gains)
    assert "se" in ax.get_title() and "gain" in ax.get_ylabel()
    with pytest.raises(ValueError, match="no \\(source, target\\) pair"):
        plot_affinity_comparison(tag.assign(source="z"), gains)


def test_affinity_comparison_labels_never_overlap():
    """Many pairs crowded near one point: every label drawn stays clear of the others."""
    from lcurve.plot._labels import text_overlaps

    rng = np.random.default_rng(2)
    tasks = [f"CHEMBL{k:03d}_Ki" for k in range(6)]
    rows = [(s, t) for s in tasks for t in tasks if s != t]
    mean = rng.normal(0, 0.02, len(rows))
    rates = pd.DataFrame(rows, columns=["source", "target"]).assign(
        mean=mean, hdi_low=mean - 0.05, hdi_high=mean + 0.05)
    tag = rates[["source", "target"]].assign(affinity=rng.normal(0, 0.01, len(rows)))
    ax = plot_affinity_comparison(tag, rates)
    labels = [t for t in ax.texts if "\u2192" in t.get_text()]
    assert len(labels) >= 5             # the strongest pairs are labelled ...
    assert text_overlaps(ax.texts) == []  # ... and no two texts overlap
    omitted = len(rows) - len(labels)
    assert (f"{omitted} pair label(s) left out" in ax.get_title()) == (omitted > 0)
    strongest = rates.loc[rates["mean"].abs().idxmax()]
    assert f"{strongest.source}\u2192{strongest.target}" in [t.get_text() for t in labels]


def test_text_overlaps_detects_overlap():
    import matplotlib.pyplot as plt

    from lcurve.plot._labels import text_overlaps

    _, ax = plt.subplots()
    first = ax.text(0.5, 0.5, "overlapping label")
    second = ax.text(0.52, 0.5, "overlapping label")
    ax.text(0.1, 0.1, "far away")
    assert text_overlaps([first, second, ax.texts[2]]) == [(0, 1)]
