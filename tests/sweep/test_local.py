import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import lcurve.sweep.local as sweep_module
from lcurve.config import TrainConfig
from lcurve.design import make_design, size_column
from lcurve.sweep import SweepMismatchError, read_results, run_sweep

TIMING = ["seconds"]


@pytest.fixture(scope="module")
def design(synthetic):
    data, _ = synthetic
    return make_design(data, kind="pairs", seeds=[0], min_size=64, aux_sizes=[64])


@pytest.fixture(scope="module")
def reference(synthetic, tiny_train, design):
    data, _ = synthetic
    return run_sweep(data, design, tiny_train, progress=False)


def test_results_schema_and_rows(synthetic, design, reference):
    data, _ = synthetic
    expected = ["run_id", "seed", "kind", "target", "task", "metric", "value", "n_test",
                "n_test_pos", "loss_final", "diverged", "steps_used", "best_step", "seconds",
                *[size_column(t) for t in data.tasks]]
    assert reference.columns.tolist() == expected
    trained = (design[[size_column(t) for t in data.tasks]] > 0).to_numpy().sum()
    assert len(reference) == 2 * trained  # one row per run x trained task x metric
    row = reference.iloc[0]
    assert reference.loc[reference["task"] == row["task"], "n_test"].nunique() == 1
    assert row["n_test"] == data.test_mask[:, data.task_index(row["task"])].sum()
    assert not reference.duplicated(["run_id", "task", "metric"]).any()
    assert reference["value"].between(0, 1).all()
    assert reference.attrs["versions"]["jax"]


def test_resume_after_interruption_equals_uninterrupted(synthetic, tiny_train, design,
                                                        reference, tmp_path, monkeypatch):
    data, _ = synthetic
    real_write = sweep_module._atomic_parquet
    calls = {"n": 0}

    def failing_write(df, path):
        if "chunks" in str(path):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt  # the user pressed Ctrl-C during chunk 3
        real_write(df, path)

    monkeypatch.setattr(sweep_module, "_atomic_parquet", failing_write)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(data, design, tiny_train, out_dir=tmp_path, progress=False)
    monkeypatch.setattr(sweep_module, "_atomic_parquet", real_write)
    partial = read_results(tmp_path)
    assert 0 < partial["run_id"].nunique() < len(design)
    resumed = run_sweep(data, design, tiny_train, out_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), reference.drop(columns=TIMING))
    on_disk = pd.read_parquet(tmp_path / "results.parquet")
    pd.testing.assert_frame_equal(on_disk.drop(columns=TIMING), reference.drop(columns=TIMING))
    assert on_disk.attrs["train_config"] == tiny_train.to_dict()
    assert on_disk.attrs["versions"]["numpyro"] and on_disk.attrs["data_fingerprint"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["versions"]["lcurve"] and manifest["n_runs"] == len(design)


def test_sigkill_then_rerun_loses_and_duplicates_nothing(tmp_path, sigkill_after_chunks):
    """Kill a real sweep process with SIGKILL mid-way, resume it, compare with a clean run."""
    script = textwrap.dedent(f"""
        import sys
        from lcurve.config import TrainConfig
        from lcurve.datasets import make_synthetic
        from lcurve.design import make_design
        from lcurve.sweep import run_sweep
        data, _ = make_synthetic(n_tasks=3, n_compounds=400, n_features=16, seed=1)
        design = make_design(data, kind="pairs", seeds=[0, 1], min_size=32)
        cfg = TrainConfig(hidden=(8,), steps=300, batch_size=16, chunk_size=4, vmap_width=4)
        run_sweep(data, design, cfg, out_dir=sys.argv[1], progress=False)
    """)
    (tmp_path / "job.py").write_text(script)
    killed = tmp_path / "killed"
    sigkill_after_chunks(tmp_path / "job.py", killed, n_chunks=2)
    subprocess.run([sys.executable, str(tmp_path / "job.py"), str(killed)], check=True)
    subprocess.run([sys.executable, str(tmp_path / "job.py"), str(tmp_path / "clean")], check=True)
    a = pd.read_parquet(killed / "results.parquet").drop(columns=TIMING)
    b = pd.read_parquet(tmp_path / "clean" / "results.parquet").drop(columns=TIMING)
    pd.testing.assert_frame_equal(a, b)
    assert not list((killed / "chunks").glob(".*.tmp"))


def test_folder_with_another_sweep_is_refused(synthetic, tiny_train, design, tmp_path):
    data, _ = synthetic
    small = design.iloc[:4]
    run_sweep(data, small, tiny_train, out_dir=tmp_path, progress=False)
    other = TrainConfig(hidden=(16,), steps=41, batch_size=32, chunk_size=8, vmap_width=4)
    with pytest.raises(SweepMismatchError, match="train differs"):
        run_sweep(data, small, other, out_dir=tmp_path, progress=False)
    with pytest.raises(SweepMismatchError, match="design_hash differs"):
        run_sweep(data, design.iloc[:5], tiny_train, out_dir=tmp_path, progress=False)


def test_read_results_without_a_sweep(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sweep results"):
        read_results(tmp_path)


def test_diverged_runs_are_flagged_not_averaged(synthetic, design):
    data, _ = synthetic
    exploding = TrainConfig(hidden=(16,), steps=30, batch_size=32, learning_rate=1e30,
                            chunk_size=8, vmap_width=4)
    with pytest.warns(RuntimeWarning, match="diverged"):
        results = run_sweep(data, design.iloc[:2], exploding, progress=False)
    assert results["diverged"].all()
    assert results["value"].isna().all()


def test_sharded_runs_equal_unsharded(tmp_path):
    """With 4 forced host devices, sharding the run axis gives bit-identical results."""
    script = textwrap.dedent("""
        import jax, numpy as np
        from lcurve.config import TrainConfig
        from lcurve.datasets import make_synthetic
        from lcurve.design import make_design
        from lcurve.sweep import run_sweep
        assert jax.device_count() == 4, jax.devices()
        data, _ = make_synthetic(n_tasks=3, n_compounds=400, n_features=16, seed=1)
        design = make_design(data, kind="pairs", seeds=[0], min_size=64)
        cfg = TrainConfig(hidden=(8,), steps=30, batch_size=16, chunk_size=8, vmap_width=2)
        sharded = run_sweep(data, design, cfg, progress=False)
        single = run_sweep(data, design, cfg, progress=False, devices=jax.devices()[:1])
        cols = ["value", "steps_used", "best_step"]
        assert np.array_equal(sharded[cols].to_numpy(), single[cols].to_numpy(), equal_nan=True)
        # the training-loss summary (not a result) may differ in its last bit: XLA compiles
        # the loss *value* (not its gradient) of the two programs differently
        np.testing.assert_allclose(sharded["loss_final"], single["loss_final"], rtol=1e-6)
        fixed = TrainConfig(hidden=(8,), steps=30, batch_size=16, chunk_size=8, vmap_width=2,
                            stopping="fixed", objective="pooled", batches="uniform")
        sharded = run_sweep(data, design, fixed, progress=False)
        single = run_sweep(data, design, fixed, progress=False, devices=jax.devices()[:1])
        cols = ["value", "loss_final", "steps_used"]
        assert np.array_equal(sharded[cols].to_numpy(), single[cols].to_numpy(), equal_nan=True)
        print("OK", len(sharded))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("OK")


def test_single_class_test_set_is_named_and_gives_nan(synthetic, tiny_train):
    from lcurve.data import MultiTaskData

    data, _ = synthetic
    Y = data.Y.copy()
    k = data.task_index("task02")
    Y[data.test_mask[:, k], k] = 1.0  # every test label of task02 is active
    one_class = MultiTaskData(X=data.X, Y=Y, tasks=data.tasks, compound_ids=data.compound_ids,
                              test_mask=data.test_mask)
    design = make_design(one_class, kind="single", seeds=[0], min_size=200,
                         targets=["task01", "task02"])
    with pytest.warns(RuntimeWarning, match=r"\['task02'\] have a single class"):
        results = run_sweep(one_class, design, tiny_train, progress=False)
    assert results.loc[results["task"] == "task02", "value"].isna().all()
    assert results.loc[results["task"] == "task01", "value"].notna().all()
    assert not results["diverged"].any()
