"""Run a sweep's chunks on a Ray cluster: ``run_sweep(..., executor="ray")``.

The driver (the process calling :func:`lcurve.run_sweep`) plans the chunks exactly as the local
executor does (:func:`lcurve.sweep.local.plan_chunks`), checks the manifest and reads back what
already landed; this module only decides *where* chunks train. Each worker slot of the cluster
(one CPU, or ``gpus_per_task`` GPUs) holds one :class:`_ChunkWorker` actor: a process that keeps
its :class:`~lcurve.train.RunTrainer` (data on its devices, one jitted program per chunk shape)
for the whole sweep and trains chunks on its local devices (several devices: the chunk is sharded
over them by the trainer's ``shard_map`` path). Each chunk is one actor call running
:func:`lcurve.sweep.local.train_chunk_file`: train, then write ``chunks/chunk-<id>.parquet``
atomically, or read the file back if it is already there (idempotent by chunk id).

Fault tolerance
---------------
* A worker process dies mid-chunk (killed, out of memory, node lost): Ray restarts the actor
  (``max_restarts``) and retries the call (``max_task_retries``). The chunk either had not
  written its file (it is trained again, giving the same values: runs are keyed by
  ``fold_in(seed, run_id)``) or had (it is read back). No run is lost, none is written twice.
* The driver dies: its actors die with its job. Re-running the same sweep into the same
  ``out_dir`` resumes from the chunk files that landed.

Why actors and not plain tasks: Ray gives a GPU task a fresh process per call (``max_calls=1``),
which would recompile the program and re-upload the data for every chunk; an actor holds its
GPU(s) and its compiled program for its lifetime.

Ray is optional (``pip install -e ".[ray]"``) and imported only when this executor is used.
"""

from __future__ import annotations

import collections
import logging
import os
from typing import Any

import pandas as pd

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData

logger = logging.getLogger(__name__)

__all__ = ["connect", "run_chunks"]

#: calls queued per worker so it never idles while the driver collects a result
CALLS_IN_FLIGHT_PER_WORKER = 2


def _import_ray():
    try:
        import ray  # optional
    except ImportError as err:
        raise ImportError(
            'executor="ray" needs Ray, an optional extra: pip install -e ".[ray]" '
            '(or pip install "ray>=2.9")'
        ) from err
    return ray


def connect(address: str | None = None) -> bool:
    """Connect this process to a Ray cluster; return True when this call did (and so owns it).

    Order: a connection this process already has (``ray.is_initialized()``); else ``address``;
    else the ``RAY_ADDRESS`` environment variable (Ray's own convention, which ``ray job submit``
    and ``ray start`` set); else a new local cluster on node address 127.0.0.1, without
    dashboard, shut down by the caller. Unlike ``ray.init()``, it never attaches silently to
    another cluster found on this machine. (Ray's gRPC servers still listen on all interfaces,
    which Ray has no option to change; Ray 2.60 guards them with token authentication.)
    """
    ray = _import_ray()
    if ray.is_initialized():
        return False
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        ray.init(address=target, logging_level=logging.WARNING)
    else:
        ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1",
                 logging_level=logging.WARNING)
    return True


class _ChunkWorker:
    """A worker slot of the sweep: trains chunks, keeping one trainer (compile cache) alive."""

    def __init__(self, config: TrainConfig, seeds: list[int], manifest: dict[str, Any]):
        self.config, self.seeds, self.manifest = config, seeds, manifest
        self.trainer = None  # built on the first chunk: construction does no work

    def train(self, data_ref: list, chunk: pd.DataFrame, n_rows_bucket: int,
              out_dir: str | None):
        # the data come as [ObjectRef] (a ref inside a list is not resolved by Ray): fetched
        # once per process, on its first chunk (a restarted worker fetches them again)
        import ray  # optional

        from lcurve.sweep.local import train_chunk_file
        from lcurve.train import RunTrainer

        if self.trainer is None:
            data: MultiTaskData = ray.get(data_ref[0])
            self.trainer = RunTrainer(data, self.config, seeds=self.seeds)
        rows = train_chunk_file(self.trainer, chunk, n_rows_bucket=n_rows_bucket,
                                manifest=self.manifest, out_dir=out_dir)
        return rows, self.trainer.n_compiles


def _worker_slots(ray, gpus_per_task: float) -> int:
    """How many workers the cluster holds at once: its CPUs, or GPUs / ``gpus_per_task``."""
    resources = ray.cluster_resources()
    if gpus_per_task:
        n = int(resources.get("GPU", 0) // gpus_per_task)
        if n < 1:
            raise ValueError(f"gpus_per_task={gpus_per_task} but the cluster has "
                             f"{resources.get('GPU', 0)} GPU(s)")
        return n
    return max(1, int(resources.get("CPU", 1)))


def run_chunks(
    data: MultiTaskData,
    chunks: list[pd.DataFrame],
    config: TrainConfig,
    *,
    seeds: list[int],
    n_rows_bucket: int,
    manifest: dict[str, Any],
    out_dir: str | None,
    bar=None,
    address: str | None = None,
    gpus_per_task: float = 0,
    max_retries: int = 3,
) -> tuple[list[pd.DataFrame], int]:
    """Train planned chunks on a Ray cluster; return their result rows and the compile count.

    Called by :func:`lcurve.run_sweep` with ``executor="ray"``; use that. Chunks are handed out
    dynamically, ``CALLS_IN_FLIGHT_PER_WORKER`` at a time per worker; ``bar`` (a tqdm bar) is
    advanced as chunks finish, in whatever order. A cluster this call started is shut down at
    the end, also on error. ``max_retries`` bounds the restarts of each worker and the retries
    of each chunk after its worker died.

    Returns
    -------
    (list of pandas.DataFrame, int)
        The chunks' result rows (completion order) and the number of compilations summed over
        the worker processes (one per process and chunk shape when the cache works).
    """
    if not chunks:
        return [], 0
    ray = _import_ray()
    started = connect(address)
    inflight: dict[Any, tuple[Any, pd.DataFrame]] = {}
    try:
        n_workers = min(_worker_slots(ray, gpus_per_task), len(chunks))
        worker_cls = ray.remote(_ChunkWorker).options(
            num_cpus=1, num_gpus=gpus_per_task, max_restarts=max_retries,
            max_task_retries=max_retries,
        )
        data_ref = ray.put(data)
        workers = [worker_cls.remote(config, list(seeds), manifest) for _ in range(n_workers)]
        logger.info("ray: %d chunks on %d workers (%s)", len(chunks), n_workers,
                    f"{gpus_per_task} GPU(s) each" if gpus_per_task else "1 CPU each")
        queue = collections.deque(chunks)

        def submit(worker) -> None:
            chunk = queue.popleft()
            inflight[worker.train.remote([data_ref], chunk, n_rows_bucket, out_dir)] = (
                worker, chunk)

        for _ in range(CALLS_IN_FLIGHT_PER_WORKER):
            for worker in workers:
                if queue:
                    submit(worker)
        parts, compiles = [], {}
        while inflight:
            ready, _ = ray.wait(list(inflight), num_returns=1)
            worker, chunk = inflight.pop(ready[0])
            rows, n_compiles = ray.get(ready[0])
            compiles[worker] = n_compiles  # the latest count of this worker's process
            parts.append(rows)
            if bar is not None:
                bar.update(len(chunk))
            if queue:
                submit(worker)
        return parts, int(sum(compiles.values()))
    finally:
        for ref in inflight:  # an error or Ctrl-C: stop what is queued
            try:
                ray.cancel(ref)
            except Exception:  # noqa: BLE001 - best effort; the job's end stops it anyway
                pass
        if started:
            ray.shutdown()
