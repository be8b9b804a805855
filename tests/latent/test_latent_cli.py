"""``lcurve latent DIR`` writes its tables and figures."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from lcurve.transfer import TRANSFER_COLUMNS, transfer_matrix, transfer_table
from lcurve.latent._cli import add_latent_parser


def _parse(argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_latent_parser(sub)
    return parser.parse_args(argv)


def _fake_sweep(folder, tasks, random_pair_results):
    table = random_pair_results(tasks, seeds=range(2), sizes=(16, 32), n_test=40, n_test_pos=12)
    folder.mkdir(parents=True, exist_ok=True)
    table.to_parquet(folder / "results.parquet")
    (folder / "config.toml").write_text(
        '[data]\nsource = "synthetic"\nn_tasks = 4\nn_compounds = 200\nn_features = 8\n')


def test_latent_cli_writes_tables_and_figures(tmp_path, random_pair_results):
    _fake_sweep(tmp_path / "sweep", [f"task{k:02d}" for k in range(4)], random_pair_results)
    args = _parse(["latent", str(tmp_path / "sweep"), "--permutations", "19"])
    assert args.func(args) == 0
    out = tmp_path / "sweep" / "latent"
    for name in ("transfer.csv", "transfer_matrix.csv", "factors_explained.csv",
                 "factor_scores.csv", "task_traits.csv", "pair_traits.csv",
                 "trait_relations.csv", "summary.md", "biplot.png", "transfer_matrix.png"):
        assert (out / name).is_file(), name
    # the tables are the library's own results, not just files: the one transfer table of the
    # sweep, its pivot, and factor scores that reconstruct the matrix's leading structure
    results = pd.read_parquet(tmp_path / "sweep" / "results.parquet")
    expected = transfer_table(results)
    written = pd.read_csv(out / "transfer.csv")
    assert list(written.columns) == list(TRANSFER_COLUMNS) and len(written) == 12
    np.testing.assert_allclose(written["mean"], expected["mean"])
    matrix = pd.read_csv(out / "transfer_matrix.csv", index_col=0)
    pd.testing.assert_frame_equal(matrix, transfer_matrix(expected), check_names=False,
                                  check_dtype=False)
    explained = pd.read_csv(out / "factors_explained.csv")
    assert explained.select_dtypes("number").notna().all().all()
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# Latent transfer traits") and "| " in summary


def test_latent_cli_missing_results(tmp_path):
    args = _parse(["latent", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="no sweep results"):
        args.func(args)
