"""The compare harness's configuration, CLI wiring, public names and markdown output."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lcurve.affinity as affinity
from lcurve.affinity import CompareConfig, CompareExperiment, Comparison, comparison_data
from lcurve.affinity._cli import add_compare_parser
from lcurve.config import ConfigError, DataConfig, DesignConfig, TrainConfig

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments" / "compare"


def test_every_public_name_imports():
    for name in affinity.__all__:
        assert getattr(affinity, name) is not None


@pytest.mark.parametrize("name", ["synthetic.toml", "moleculeace.toml"])
def test_shipped_compare_configs_round_trip(name):
    exp = CompareExperiment.from_toml(EXPERIMENTS / name)
    assert CompareExperiment.from_toml_string(exp.to_toml_string()) == exp
    assert exp.tag.hidden == exp.train.hidden and exp.design.kind == "pairs"


def test_compare_composes_design_config_defaults():
    exp = CompareExperiment.from_toml_string("[train]\nhidden = [8]\n[tag]\nhidden = [8]\n")
    assert exp.design == DesignConfig()  # one definition of min_size, points_per_doubling...
    assert not {"min_size", "points_per_doubling", "seeds"} & set(CompareConfig().to_dict())


@pytest.mark.parametrize("text, match", [
    ("[train]\nhidden = [8]\n", "same network"),
    ("[design]\nkind = 'single'\n", "pairs"),
    ("[compare]\nbenefit_seeds = [0, 100]\n", "fresh seeds"),
])
def test_experiment_refuses_unfair_or_circular_settings(text, match):
    with pytest.raises(ConfigError, match=match):
        CompareExperiment.from_toml_string(text)


def test_synthetic_tasks_are_honoured_with_their_planted_truth():
    config = DataConfig(source="synthetic", n_tasks=4, n_compounds=300, n_features=8,
                        tasks=("task03", "task01"))
    data, truth = comparison_data(config)
    assert list(data.tasks) == ["task03", "task01"]
    assert set(truth.relatedness["source"]) == {"task03", "task01"} and len(truth.relatedness) == 2
    full_data, full_truth = comparison_data(DataConfig(source="synthetic", n_tasks=4,
                                                       n_compounds=300, n_features=8))
    kept = truth.relatedness.merge(full_truth.relatedness, on=["source", "target"])
    np.testing.assert_array_equal(kept["relatedness_x"], kept["relatedness_y"])
    assert data.n_train()["task01"] == full_data.n_train()["task01"]
    with pytest.raises(ConfigError, match="task09"):
        comparison_data(DataConfig(source="synthetic", n_tasks=4, tasks=("task09",)))


def test_unknown_keys_and_values_are_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[compare]\nmethod = ['tag']\n")
    with pytest.raises(ConfigError, match="valid keys"):
        CompareExperiment.from_toml(path)
    path.write_text("[extra]\n")
    with pytest.raises(ConfigError, match="top-level"):
        CompareExperiment.from_toml(path)
    with pytest.raises(ConfigError, match="methods"):
        CompareConfig(methods=("tag", "oracle"))


def test_parser_declares_compare():
    parser = argparse.ArgumentParser()
    add_compare_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["compare", "x.toml", "--out", "o", "--no-progress"])
    assert args.config == Path("x.toml") and args.out == Path("o") and args.no_progress


def test_markdown_has_one_line_per_row():
    table = pd.DataFrame({"method": ["tag", "lc_full"], "seconds": [1.0, float("nan")]})
    text = Comparison(table=table, scores=pd.DataFrame(), fidelity={"mae": 0.01},
                      groupings={}).markdown()
    lines = text.splitlines()
    assert lines[0] == "| method | seconds |" and lines[3] == "| lc_full |  |"
    assert "mae 0.01" in text


@pytest.mark.slow  # several compiled sweeps (truth, groupings): minutes on 2 shared cores
def test_compare_methods_runs_lc_accumulating_as_on_its_own():
    from lcurve.affinity import accumulating_sweep, accumulating_transfer, compare_methods
    from lcurve.affinity.tag import TagConfig

    data, truth = comparison_data(DataConfig(source="synthetic", n_tasks=3, n_compounds=400,
                                             n_features=16))
    train = TrainConfig(hidden=(8,), steps=30, batch_size=32, chunk_size=16, vmap_width=4)
    design = DesignConfig(seeds=(0, 1), min_size=32, max_size=64, points_per_doubling=1,
                          aux_sizes=(32,))
    cmp = compare_methods(data, truth=truth, train=train, design=design,
                          tag=TagConfig.from_train(train, every=10, seeds=(0,)),
                          compare=CompareConfig(methods=("lc_accumulating",),
                                                benefit_seeds=(7,), max_groups=2),
                          progress=False)
    row = cmp.table.set_index("method").loc["lc_accumulating"]
    assert row["train_steps"] == 2 * (data.n_tasks + 1) * 30 and row["seconds"] > 0
    alone = accumulating_transfer(accumulating_sweep(data, train, seeds=(0, 1), min_size=32,
                                                     max_size=64, points_per_doubling=1))
    got = cmp.scores[cmp.scores["method"] == "lc_accumulating"].merge(alone,
                                                                      on=["source", "target"])
    assert len(got) == 6
    np.testing.assert_array_equal(got["score"], got["mean"])
    assert {"auroc_related", "spearman_benefit", "group_auroc"} <= set(cmp.table.columns)


def test_a_design_that_measures_the_truths_point_is_refused():
    from lcurve.affinity import method_scores
    from lcurve.affinity.tag import TagConfig

    data, _ = comparison_data(DataConfig(source="synthetic", n_tasks=2, n_compounds=200,
                                         n_features=8))
    train = TrainConfig(hidden=(4,), steps=5)
    with pytest.raises(ConfigError, match="full data"):
        method_scores("lc_full", data, train=train, design=DesignConfig(seeds=(0,)),
                      tag=TagConfig.from_train(train, every=5))
