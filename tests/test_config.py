import pytest

from lcurve.config import ConfigError, DataConfig, DesignConfig, SweepConfig, TrainConfig


def test_toml_round_trip(tmp_path):
    cfg = SweepConfig(
        name="x",
        data=DataConfig(source="synthetic", n_tasks=3, tasks=("task00", "task01")),
        design=DesignConfig(kind="pairs", seeds=(0, 5), aux_sizes=(8, 32)),
        train=TrainConfig(hidden=(32, 16), steps=7),
    )
    path = tmp_path / "c.toml"
    cfg.to_toml(path)
    assert SweepConfig.from_toml(path) == cfg


@pytest.mark.parametrize("name", ["synthetic_planted", "moleculeace_pairs",
                                  "moleculeace_contextual"])
def test_shipped_sweep_configs_parse(name):
    from pathlib import Path

    path = Path(__file__).parents[1] / "experiments" / f"{name}.toml"
    assert SweepConfig.from_toml(path).name == name


@pytest.mark.parametrize(
    "text, match",
    [
        ("[train]\nstepz = 3", r"unknown key\(s\) \['stepz'\] in \[train\]"),
        ("[trian]\nsteps = 3", r"unknown top-level key"),
        ("[train]\nsteps = 'many'", r"train.steps: expected an integer"),
        ("[train]\nsteps = 1.5", r"train.steps: expected an integer"),
        ("[train]\nsteps = 0", r"train.steps must be a finite number > 0"),
        ("[train]\nhidden = [0]", r"train.hidden must be positive"),
        ("[train]\nlearning_rate = true", r"expected a number"),
        ("[design]\nkind = 'triples'", r"design.kind must be one of"),
        ("[design]\nseeds = []", r"at least one seed"),
        ("[design]\nseeds = [1, 1]", r"duplicates"),
        ("[design]\ncontext_fraction = 1.5", r"context_fraction must be in"),
        ("[design]\nmin_size = 64\nmax_size = 8", r"max_size .* must be >= design.min_size"),
        ("[design]\nkind = 'custom'", r"custom_sizes is required"),
        ("[data]\nsource = 'sql'", r"data.source must be one of"),
        ("[data]\nsource = 'csv'", r"data.path is required"),
        ("[data]\ntasks = ['a', 'a']", r"duplicate names"),
        ("name = 3", r"name: expected str"),
        ("[train\nsteps = 3", r"invalid TOML"),
    ],
)
def test_bad_configs_name_the_problem(text, match):
    with pytest.raises(ConfigError, match=match):
        SweepConfig.from_toml_string(text)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        SweepConfig.from_toml(tmp_path / "nope.toml")


def test_configs_are_frozen():
    cfg = TrainConfig()
    with pytest.raises(AttributeError):
        cfg.steps = 3
