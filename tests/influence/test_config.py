"""Influence experiment configs: TOML round trip, composition of the shared sections, errors."""

from __future__ import annotations

import pytest

from lcurve.config import ConfigError, DataConfig, TrainConfig
from lcurve.influence import InfluenceConfig, InfluenceExperimentConfig

TEXT = """
name = "x"
[data]
source = "synthetic"
n_tasks = 3
[train]
hidden = [4]
weight_decay = 0.0
[influence]
l2 = 0.1
solver = "lissa"
lissa_batch_size = 32
[validation]
fractions = [0.5, 1.0]
"""


def test_round_trip_and_composition(tmp_path):
    config = InfluenceExperimentConfig.from_toml_string(TEXT)
    config.to_toml(tmp_path / "c.toml")
    assert InfluenceExperimentConfig.from_toml(tmp_path / "c.toml") == config
    assert type(config.data) is DataConfig and type(config.train) is TrainConfig
    assert config.train.hidden == (4,) and config.influence.lissa_batch_size == 32
    assert config.validation.fractions == (0.5, 1.0)


@pytest.mark.parametrize("text, match", [
    ("[train]\nweight_decay = 0.0\n[influence]\nlr = 1\n", "unknown key"),
    ("[train]\nweight_decay = 0.0\n[selection]\nfractions = [2.0]\n", "fractions must be in"),
    ("[train]\nweight_decay = 0.0\n[influence]\ndamping = -1.0\n", "damping must be >= 0"),
    ("[train]\nweight_decay = 0.0\n[influence]\ncurvature = 'fisher'\n", "curvature must be one of"),
    ("[train]\nweight_decay = 0.0\n[influence]\nl2 = 0.0\n", "l2 \\+ influence.damping"),
    ("[train]\nweight_decay = 0.0\n[validation]\nfractions = [1.5]\n", "fractions must be in"),
    ("[influence]\nl2 = 0.1\n", "weight_decay must be 0"),
])
def test_errors_name_the_bad_value(text, match):
    with pytest.raises(ConfigError, match=match):
        InfluenceExperimentConfig.from_toml_string(text)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        InfluenceExperimentConfig.from_toml(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="on_failure"):
        InfluenceConfig(on_failure="ignore")
