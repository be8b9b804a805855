"""The Ray executor: same table as the local one, no run lost or duplicated when processes die.

One local Ray cluster (node address 127.0.0.1, no dashboard, 100 MB object store, 2 CPUs: two
worker processes of 1 CPU each) serves the whole module and is shut down at its end, also on
failure. Its workers see 2 (forced host) devices each, so every chunk is sharded over two devices
there while the reference runs on one in this process. Results folders are ``file://`` URLs, so the fsspec path is the one exercised. The
module's tests share that cluster: they run in one xdist worker (``--dist loadgroup``).
"""

import os
import signal
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

import lcurve.sweep.local as sweep_module
from lcurve.sweep import read_results, run_sweep

TIMING = ["seconds"]
pytestmark = pytest.mark.xdist_group("ray_cluster")

# Built the same way in this process and in the driver subprocesses of the kill test.
SETUP = """
from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic
from lcurve.design import make_design
data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16, seed=1)
design = make_design(data, kind="pairs", seeds=[0], min_size=32).iloc[:32]
config = TrainConfig(hidden=(8,), steps=150, batch_size=16, chunk_size=4, vmap_width=4)
"""
N_CHUNKS = 8  # 32 runs / 4


@pytest.fixture(scope="module")
def sweep_inputs():
    namespace: dict = {}
    exec(SETUP, namespace)  # noqa: S102 - the same text the subprocess drivers run
    return namespace["data"], namespace["design"], namespace["config"]


@pytest.fixture(scope="module")
def reference(sweep_inputs):
    data, design, config = sweep_inputs
    return run_sweep(data, design, config, progress=False)


# Every process of the test cluster inherits this variable: the kill test only ever kills
# those, and teardown kills any that outlive ray.shutdown() (a worker stuck after its raylet
# died has been seen to linger).
MARKER = f"LCURVE_TEST_RAY_CLUSTER={uuid.uuid4().hex}".encode()


def _cluster_processes(title_prefix: bytes = b"") -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0]
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if MARKER in environ and title.startswith(title_prefix):
            pids.append(int(entry.name))
    return pids


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]")')
    name, value = MARKER.decode().split("=")
    xla_flags = os.environ.get("XLA_FLAGS")
    os.environ[name] = value
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"  # for the workers
    try:
        ray.init(address="local", num_cpus=2, include_dashboard=False,
                 _node_ip_address="127.0.0.1", object_store_memory=100 * 1024**2,
                 logging_level="WARNING")
        _restore_env("XLA_FLAGS", xla_flags)  # this process keeps its own device count
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        _restore_env("XLA_FLAGS", xla_flags)
        del os.environ[name]
        for pid in _cluster_processes():
            os.kill(pid, signal.SIGKILL)


def _url(path: Path) -> str:
    return f"file://{path}"


def _assert_same_table(results: pd.DataFrame, reference: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(results.drop(columns=TIMING), reference.drop(columns=TIMING))


def test_ray_table_is_bit_identical_to_local(ray_cluster, sweep_inputs, reference, tmp_path):
    data, design, config = sweep_inputs
    results = run_sweep(data, design, config, out_dir=_url(tmp_path), executor="ray",
                        progress=False)
    _assert_same_table(results, reference)
    _assert_same_table(pd.read_parquet(tmp_path / "results.parquet"), reference)
    assert len(list((tmp_path / "chunks").glob("chunk-*.parquet"))) == N_CHUNKS
    # one compilation per worker process (2), not one per chunk (8)
    assert 1 <= results.attrs["n_compiles"] <= 2
    import jax
    import ray

    worker_devices = ray.get(ray.remote(lambda: len(__import__("jax").local_devices())).remote())
    assert (worker_devices, len(jax.local_devices())) == (2, 1)  # sharded there, not here


def test_killed_worker_loses_and_duplicates_nothing(sweep_inputs, reference, ray_cluster,
                                                     tmp_path):
    data, design, config = sweep_inputs
    killed: list[int] = []
    stop = threading.Event()

    def kill_first_busy_worker():  # SIGKILL a worker process in the middle of a chunk
        while not stop.is_set() and not killed:
            # a worker process of the test cluster executing a chunk (titled by the method)
            for pid in _cluster_processes(b"ray::_ChunkWorker.train"):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.01)

    killer = threading.Thread(target=kill_first_busy_worker, daemon=True)
    killer.start()
    try:
        results = run_sweep(data, design, config, out_dir=_url(tmp_path), executor="ray",
                            progress=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was killed"
    _assert_same_table(results, reference)  # 0 runs lost, 0 duplicated, same values
    files = sorted((tmp_path / "chunks").glob("chunk-*.parquet"))
    assert len(files) == N_CHUNKS
    runs = pd.concat([pd.read_parquet(f)[["run_id"]].drop_duplicates() for f in files])
    assert sorted(runs["run_id"]) == sorted(design["run_id"])


def test_sigkilled_driver_resumes_to_the_same_table(sweep_inputs, reference, ray_cluster,
                                                    tmp_path, sigkill_after_chunks):
    """A driver subprocess is SIGKILLed mid-sweep; this process, connected to the same cluster,
    re-runs the sweep into the same folder."""
    data, design, config = sweep_inputs
    script = tmp_path / "driver.py"
    script.write_text(SETUP + textwrap.dedent("""
        import sys
        from lcurve.sweep import run_sweep
        run_sweep(data, design, config, out_dir="file://" + sys.argv[1], executor="ray",
                  progress=False)
    """))
    env = dict(os.environ, RAY_ADDRESS=ray_cluster)
    out = tmp_path / "out"
    sigkill_after_chunks(script, out, n_chunks=2, env=env)
    landed = read_results(_url(out))["run_id"].nunique()
    assert 0 < landed < len(reference["run_id"].unique())
    resumed = run_sweep(data, design, config, out_dir=_url(out), executor="ray", progress=False)
    _assert_same_table(resumed, reference)
    _assert_same_table(pd.read_parquet(out / "results.parquet"), reference)


def test_object_store_url_folder_resumes(sweep_inputs, reference, monkeypatch):
    """An fsspec ``memory://`` folder: same manifest, atomic chunks and resume as a path."""
    data, design, config = sweep_inputs
    url = "memory://lcurve-test/sweep"
    memory = pytest.importorskip("fsspec").filesystem("memory")
    if memory.exists("/lcurve-test"):  # memory:// lives as long as this process
        memory.rm("/lcurve-test", recursive=True)
    real_write = sweep_module._atomic_parquet
    calls = {"n": 0}

    def failing_write(df, path):
        if "/chunks/" in str(path):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
        real_write(df, path)

    monkeypatch.setattr(sweep_module, "_atomic_parquet", failing_write)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(data, design, config, out_dir=url, progress=False)
    monkeypatch.setattr(sweep_module, "_atomic_parquet", real_write)
    assert read_results(url)["run_id"].nunique() == 8  # two chunks of 4 landed
    resumed = run_sweep(data, design, config, out_dir=url, progress=False)
    _assert_same_table(resumed, reference)
    _assert_same_table(read_results(url), reference)


def test_missing_ray_names_the_extra(sweep_inputs, monkeypatch):
    data, design, config = sweep_inputs
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[ray\]"'):
        run_sweep(data, design.iloc[:4], config, executor="ray", progress=False)


def test_unknown_executor_and_misplaced_options_are_refused(sweep_inputs):
    data, design, config = sweep_inputs
    with pytest.raises(ValueError, match=r"executor='dask' is not one of \['local', 'ray'\]"):
        run_sweep(data, design, config, executor="dask", progress=False)
    with pytest.raises(ValueError, match="executor='ray' only"):
        run_sweep(data, design, config, gpus_per_task=1, progress=False)


def test_chunk_file_already_there_is_read_back_not_retrained(sweep_inputs, reference,
                                                             tmp_path):
    """Idempotent by chunk id: a retried chunk whose file landed neither trains nor rewrites."""
    from lcurve.sweep.local import chunk_file, plan_chunks, train_chunk_file

    data, design, config = sweep_inputs
    chunk = plan_chunks(design.sort_values("run_id").reset_index(drop=True), 4)[1]
    path = Path(chunk_file(tmp_path, chunk))
    path.parent.mkdir(parents=True)
    landed = reference[reference["run_id"].isin(chunk["run_id"])].reset_index(drop=True)
    landed.to_parquet(path, index=False)
    before = path.read_bytes()

    class MustNotTrain:
        data = sweep_inputs[0]

        def train_chunk(self, *args, **kwargs):
            raise AssertionError("a chunk whose file exists was trained again")

    rows = train_chunk_file(MustNotTrain(), chunk, n_rows_bucket=256, manifest={},
                            out_dir=str(tmp_path))
    pd.testing.assert_frame_equal(rows, landed)
    assert path.read_bytes() == before
