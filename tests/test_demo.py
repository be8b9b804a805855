"""The main job's pipeline (sweep -> fit -> TAG -> report) end to end, at toy size."""

import re

import pandas as pd

from lcurve.config import DataConfig, DesignConfig, SweepConfig, TrainConfig
from lcurve.report.demo import demo_config, run_demo


def test_demo_pipeline_end_to_end_at_toy_size(tmp_path, capsys):
    config = SweepConfig(
        name="toy-demo",
        data=DataConfig(source="synthetic", n_tasks=3, n_compounds=400, n_features=16),
        design=DesignConfig(kind="pairs", seeds=(0,), min_size=32, points_per_doubling=1,
                            aux_sizes=(128,)),
        train=TrainConfig(hidden=(8,), steps=40, batch_size=32, chunk_size=32),
    )
    path = run_demo(tmp_path, progress=False, top=3, config=config,
                    fit_options={"svi_steps": 200, "num_samples": 50},
                    tag_options={"hidden": (8,), "steps": 20, "every": 5, "seeds": (0,),
                                 "max_size": None})
    out = capsys.readouterr().out
    assert path == tmp_path / "report" / "index.html" and path.is_file()
    assert f"report: {path}" in out.splitlines()[-1]
    assert len(re.findall(r"-> task0\d +tau [+-]\d", out)) == 3  # the strongest transfers
    for name in ("results.parquet", "fit.nc", "tag.csv", "config.toml"):
        assert (tmp_path / name).is_file(), name
    tag = pd.read_csv(tmp_path / "tag.csv")
    assert len(tag) == 6 and tag["affinity"].notna().all()
    assert "<img" in path.read_text()


def test_default_demo_is_moleculeace_pairs():
    config = demo_config()
    assert config.data.source == "moleculeace" and len(config.data.tasks) == 4
    assert config.design.kind == "pairs"
