import pandas as pd

from lcurve.cli import main

CONFIG = """
name = "tiny"
[data]
source = "synthetic"
n_tasks = 3
n_compounds = 300
n_features = 16
[design]
kind = "pairs"
seeds = [0]
min_size = 64
[train]
hidden = [8]
steps = 20
batch_size = 16
chunk_size = 8
vmap_width = 4
"""


def test_sweep_command_writes_and_resumes(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    out = tmp_path / "run"
    assert main(["sweep", str(config), "--out", str(out), "--no-progress"]) == 0
    results = pd.read_parquet(out / "results.parquet")
    assert set(results["task"]) == {"task00", "task01", "task02"}
    assert (out / "config.toml").read_text().startswith('name = "tiny"')
    assert main(["sweep", str(config), "--out", str(out), "--no-progress"]) == 0
    assert "runs in" in capsys.readouterr().out


def test_bad_config_exits_2_with_message(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text("[train]\nsteps = -1\n")
    assert main(["sweep", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "train.steps must be a finite number > 0" in capsys.readouterr().err


def test_datasets_command_lists_moleculeace(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "30 tasks" in out and "CHEMBL204_Ki" in out and "MIT" in out


def test_sweep_ray_options_need_the_ray_executor(tmp_path, capsys, monkeypatch):
    import sys

    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    args = ["sweep", str(config), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([*args, "--gpus-per-task", "1"]) == 2
    assert "need --executor ray" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    assert main([*args, "--executor", "ray"]) == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err
