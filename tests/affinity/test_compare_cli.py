"""The compare harness's configuration, CLI wiring, public names and markdown output."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest

import lcurve.affinity as affinity
from lcurve.affinity import CompareConfig, Comparison
from lcurve.affinity._cli import CompareExperiment, add_compare_parser
from lcurve.config import ConfigError

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_every_public_name_imports():
    for name in affinity.__all__:
        assert getattr(affinity, name) is not None


@pytest.mark.parametrize("name", ["compare_synthetic.toml", "compare_moleculeace.toml"])
def test_shipped_compare_configs_parse(name):
    exp = CompareExperiment.from_toml(EXPERIMENTS / name)
    assert exp.tag.every <= exp.tag.steps
    assert set(exp.compare.methods) <= set(affinity.METHODS)
    assert CompareConfig.from_dict(exp.compare.to_dict()) == exp.compare


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
