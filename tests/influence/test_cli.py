"""``lcurve influence CONFIG`` end to end on a tiny synthetic problem."""

from __future__ import annotations

import pandas as pd

from lcurve.cli import main


def test_influence_cli_writes_tables(tmp_path, capsys):
    config = tmp_path / "influence.toml"
    config.write_text(
        '[data]\nsource = "synthetic"\nn_tasks = 3\nn_compounds = 200\nn_features = 8\n'
        "[train]\nhidden = [4]\nsteps = 1500\nlearning_rate = 0.02\nweight_decay = 0.0\n"
        "[influence]\nl2 = 0.01\nmax_grad_norm = 0.03\n[validation]\nfractions = [1.0]\n"
        "[selection]\ntargets = ['task00']\nfractions = [0.2]\nseeds = [0]\nl2_grid = [0.01]\n"
        "n_random = 1\n")
    out = tmp_path / "out"
    assert main(["influence", str(config), "--out", str(out)]) == 0
    solves = pd.read_csv(out / "solves.csv")
    curve = pd.read_csv(out / "removal_curve.csv")
    assert (solves["relative_residual"] < 1e-3).all() and len(solves) == 3 + 3
    assert len(curve) == 9 and set(curve["fraction"]) == {1.0}
    summary = (out / "summary.md").read_text()
    assert "relative residual max" in summary and "cross-task" in summary
    assert set(pd.read_csv(out / "selection.csv")["variant"]) == {
        "all", "harmful", "random", "harmful@val"}
    assert "influence: tables and figures in" in capsys.readouterr().out


def test_influence_cli_rejects_a_bad_config(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[influence]\nsolver = 'newton'\n")
    assert main(["influence", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "solver must be one of" in capsys.readouterr().err
