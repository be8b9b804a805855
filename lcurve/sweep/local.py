"""Run a design: train every run, evaluate every trained task, keep every result.

:func:`run_sweep` returns a tidy DataFrame with one row per (run, evaluated task, metric).
With ``out_dir`` (a local path or an fsspec URL such as ``s3://bucket/sweep``) it writes each
finished chunk to ``out_dir/chunks/`` as parquet (atomically: a temporary file renamed into
place, see :func:`lcurve._io.atomic_write_bytes`), so a killed sweep loses at most the chunks
in flight; re-running the same sweep into the same folder skips the finished runs and ends
with the same table as an uninterrupted run. A folder holding a *different* sweep (other data,
design or training settings) is refused rather than mixed.

Folder layout::

    out_dir/manifest.json      what was run: data fingerprint, design hash, config, versions
    out_dir/design.parquet     the design
    out_dir/chunks/*.parquet   results, one file per trained chunk
    out_dir/results.parquet    all results, sorted, written when the sweep completes

The unit of work is one planned chunk (:func:`plan_chunks`, :func:`train_chunk_file`); the
``executor`` decides where chunks run: ``"local"`` (this process, default) or ``"ray"``
(:mod:`lcurve.sweep.ray`: workers on a Ray cluster, an optional extra).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcurve import _io
from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_column, size_columns, training_rows, validate_design
from lcurve.train import RunTrainer, row_bucket

logger = logging.getLogger(__name__)

__all__ = [
    "METRICS",
    "EXECUTORS",
    "SweepMismatchError",
    "chunk_file",
    "plan_chunks",
    "read_results",
    "result_rows",
    "rows_bucket",
    "run_sweep",
    "sort_results",
    "train_chunk_file",
    "versions",
]

METRICS = ("auroc", "auprc")
TIMING_COLUMNS = ("seconds",)
EXECUTORS = ("local", "ray")


class SweepMismatchError(RuntimeError):
    """``out_dir`` already holds a different sweep; results would be mixed."""


def versions() -> dict[str, str]:
    """Versions of lcurve and the numerical stack, recorded with every result."""
    out = {}
    for name in ("lcurve", "jax", "jaxlib", "flax", "optax", "numpyro", "numpy", "rdkit"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    _io.atomic_write_bytes(path, payload)


def _atomic_parquet(df: pd.DataFrame, path: str | Path) -> None:
    buffer = io.BytesIO()
    df.to_parquet(buffer, index=False)
    _io.atomic_write_bytes(path, buffer.getvalue())


def _read_parquet(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(_io.read_bytes(path)))


def _design_hash(design: pd.DataFrame) -> str:
    cols = ["run_id", "seed", *sorted(size_columns(design))]
    payload = design[cols].sort_values("run_id").to_numpy(dtype=np.int64).tobytes()
    return hashlib.sha256(payload + "|".join(cols).encode()).hexdigest()[:16]


def _manifest(data: MultiTaskData, design: pd.DataFrame, config: TrainConfig) -> dict[str, Any]:
    return {
        "data_fingerprint": data.fingerprint(),
        "tasks": list(data.tasks),
        "design_hash": _design_hash(design),
        "n_runs": int(len(design)),
        "train": config.to_dict(),
        "data_info": {k: v for k, v in data.info.items() if isinstance(v, (str, int, float))},
    }


def _check_or_write_manifest(out_dir: str, manifest: dict[str, Any], design: pd.DataFrame):
    path = _io.join(out_dir, "manifest.json")
    if _io.exists(path):
        old = json.loads(_io.read_bytes(path))
        for key in ("data_fingerprint", "design_hash", "train", "tasks"):
            if old.get(key) != manifest[key]:
                raise SweepMismatchError(
                    f"{out_dir} holds a different sweep ({key} differs: {old.get(key)!r} vs "
                    f"{manifest[key]!r}); use a new --out folder or delete this one"
                )
        return
    _atomic_parquet(design, _io.join(out_dir, "design.parquet"))
    full = {**manifest, "versions": versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _atomic_write_bytes(path, json.dumps(full, indent=2).encode())


def read_results(out_dir: str | Path) -> pd.DataFrame:
    """All results written so far under ``out_dir`` (finished chunks), sorted and deduplicated.

    ``out_dir`` is a local path or an fsspec URL. Raises ``FileNotFoundError`` when the folder
    holds no sweep.
    """
    final = _io.join(out_dir, "results.parquet")
    chunk_files = _io.list_files(_io.join(out_dir, "chunks"), "chunk-*.parquet")
    if not chunk_files:
        if _io.exists(final):
            return _read_parquet(final)
        raise FileNotFoundError(f"no sweep results under {out_dir}")
    table = pd.concat([_read_parquet(f) for f in chunk_files], ignore_index=True)
    return sort_results(table)


def sort_results(table: pd.DataFrame) -> pd.DataFrame:
    """Sort a results table by run, task and metric; refuse duplicated result rows."""
    dup = table.duplicated(["run_id", "task", "metric"])
    if dup.any():  # cannot happen through run_sweep; guards against hand-copied files
        raise SweepMismatchError(f"{int(dup.sum())} duplicated result rows in the chunk files")
    return table.sort_values(["run_id", "task", "metric"], kind="stable").reset_index(drop=True)


def result_rows(chunk: pd.DataFrame, data: MultiTaskData, trained, seconds: float):
    """Tidy rows for one trained chunk: one per (run, task with n_task > 0, metric).

    ``chunk`` holds the chunk's design rows, ``trained`` its :class:`~lcurve.train.ChunkResult`
    and ``seconds`` the wall time per run; diverged runs get NaN values and ``diverged=True``.
    ``steps_used`` is the number of optimizer steps a run trained before it stopped and
    ``best_step`` the step of the parameters that were scored (both equal ``steps`` under the
    fixed protocol); the stopping rule itself is in ``.attrs["train_config"]``.
    """
    n_test = data.test_mask.sum(axis=0)
    n_test_pos = (np.nan_to_num(data.Y) * data.test_mask).sum(axis=0).astype(int)
    sizes = chunk[[size_column(t) for t in data.tasks]].to_numpy()
    r_idx, k_idx = np.nonzero(sizes > 0)
    blocks = []
    for metric in METRICS:
        values = getattr(trained, metric)[r_idx, k_idx].astype(float)
        diverged = ~trained.finite[r_idx]
        values = np.where(diverged, np.nan, values)
        block = chunk.iloc[r_idx][["run_id", "seed", "kind", "target"]].reset_index(drop=True)
        block["task"] = np.asarray(data.tasks, dtype=object)[k_idx]
        block["metric"] = metric
        block["value"] = values
        block["n_test"] = n_test[k_idx]
        block["n_test_pos"] = n_test_pos[k_idx]
        block["loss_final"] = trained.final_loss[r_idx].astype(float)
        block["diverged"] = diverged
        for column in ("steps_used", "best_step"):
            block[column] = np.asarray(getattr(trained, column))[r_idx].astype(np.int64)
        block["seconds"] = seconds
        sizes_df = chunk.iloc[r_idx][[size_column(t) for t in data.tasks]].reset_index(drop=True)
        blocks.append(pd.concat([block, sizes_df], axis=1))
    return pd.concat(blocks, ignore_index=True)


def rows_bucket(data: MultiTaskData, runs: pd.DataFrame) -> int:
    """The padded per-run compound-list length that fits every run of ``runs`` (one compiled
    shape for all their chunks): :func:`lcurve.train.row_bucket` of the widest run."""
    sizes = runs[[size_column(t) for t in data.tasks]].to_numpy()
    return row_bucket(max(len(training_rows(data, int(s), dict(zip(data.tasks, sz.tolist()))))
                          for s, sz in zip(runs["seed"], sizes)))


def plan_chunks(pending: pd.DataFrame, chunk_size: int) -> list[pd.DataFrame]:
    """Cut the pending runs (sorted by ``run_id``) into consecutive chunks of ``chunk_size``.

    Every executor trains exactly these chunks. A chunk's id is its first ``run_id`` (its file
    is ``chunks/chunk-<id>.parquet``). Chunks finish whole, so a resumed sweep's pending runs are
    a union of whole chunks of the interrupted one, and re-planning them with the same
    ``chunk_size`` gives back the same chunks (the ones that were not finished), in any order
    they had finished.
    """
    return [pending.iloc[i:i + chunk_size] for i in range(0, len(pending), chunk_size)]


def chunk_file(out_dir: str | Path, chunk: pd.DataFrame) -> str:
    """Where a planned chunk's results live: ``out_dir/chunks/chunk-<first run_id>.parquet``."""
    return _io.join(out_dir, "chunks", f"chunk-{int(chunk['run_id'].iloc[0]):09d}.parquet")


def train_chunk_file(trainer: RunTrainer, chunk: pd.DataFrame, *, n_rows_bucket: int,
                     manifest: dict[str, Any], out_dir: str | Path | None = None) -> pd.DataFrame:
    """Train one planned chunk, write its file atomically, return its result rows.

    The unit of work of every executor, idempotent by chunk id: when the chunk's file already
    exists (a retried task whose first attempt wrote it, then died) it is read back, not
    retrained or rewritten.
    """
    path = chunk_file(out_dir, chunk) if out_dir is not None else None
    if path is not None and _io.exists(path):
        return _read_parquet(path)
    start = time.perf_counter()
    trained = trainer.train_chunk(
        chunk["seed"].to_numpy(), chunk["run_id"].to_numpy(),
        chunk[[size_column(t) for t in trainer.data.tasks]].to_numpy(),
        n_rows_bucket=n_rows_bucket,
    )
    seconds = (time.perf_counter() - start) / len(chunk)
    rows = result_rows(chunk, trainer.data, trained, seconds)
    rows.attrs.update(_provenance(manifest))
    if path is not None:
        _atomic_parquet(rows, path)
    return rows


def run_sweep(
    data: MultiTaskData,
    design: pd.DataFrame,
    config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    devices=None,
    executor: str = "local",
    address: str | None = None,
    gpus_per_task: float = 0,
) -> pd.DataFrame:
    """Train every run of ``design`` on ``data`` and return the tidy results table.

    Parameters
    ----------
    data
        The multi-task data.
    design
        A design from :func:`lcurve.design.make_design` (or any table of that shape).
    config
        Training settings (default :class:`~lcurve.config.TrainConfig()`).
    out_dir
        Folder to write results to chunk by chunk: a local path or an fsspec URL
        (``s3://bucket/sweep``, ``file:///shared/sweep``; a URL needs the store's fsspec
        package, e.g. ``s3fs``). An interrupted sweep re-run into the same folder resumes
        (finished runs are read back, not retrained), with either executor.
    progress
        Show a progress bar with runs/s and ETA.
    devices
        Devices to shard the run axis over (default: all local devices; ``"local"`` only).
    executor
        ``"local"`` (default): chunks train one after another in this process. ``"ray"``:
        each chunk is a Ray task on a cluster (:func:`lcurve.sweep.ray.run_chunks`; needs
        ``pip install -e ".[ray]"``); with ``out_dir`` on a multi-node cluster it must be a
        location every node can write (shared file system or object store URL).
    address
        Ray only: the cluster to connect to (``"auto"``, ``"ray://head:10001"``, ``host:port``).
        Default: the cluster this process is connected to, else ``RAY_ADDRESS``, else a new local
        one (shut down at the end).
    gpus_per_task
        Ray only: GPUs each chunk task reserves (its devices then shard the chunk); 0 on CPUs.

    Returns
    -------
    pandas.DataFrame
        ``run_id, seed, kind, target, task, metric, value, n_test, n_test_pos, loss_final,
        diverged, steps_used, best_step, seconds, n_<task>...``: one row per run, trained task
        (``n_task > 0``) and metric (``auroc``, ``auprc``). ``steps_used``: optimizer steps the
        run trained (early stopping ends runs before ``config.steps``); ``best_step``: the step
        of the scored parameters. ``value`` is NaN when the metric is undefined (a test set
        with one class) or the run's loss became NaN (``diverged`` is then True); a warning says
        how many. ``seconds`` is the chunk's wall time per run (the first chunk includes
        compilation). ``.attrs`` (kept in the parquet file too) records the package versions,
        the training config, the data fingerprint and the design hash. The values do not depend
        on the executor, the chunking or the number of devices (bit-identical).

    Example
    -------
    >>> from lcurve.datasets import make_synthetic
    >>> from lcurve.design import make_design
    >>> data, _ = make_synthetic(n_tasks=2, n_compounds=300)
    >>> design = make_design(data, kind="single", seeds=[0], min_size=64)
    >>> results = run_sweep(data, design, TrainConfig(steps=20, chunk_size=8), progress=False)
    >>> sorted(results["metric"].unique())
    ['auprc', 'auroc']
    """
    config = config or TrainConfig()
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r} is not one of {list(EXECUTORS)}")
    if executor == "local" and (address is not None or gpus_per_task):
        raise ValueError(f"address={address!r} and gpus_per_task={gpus_per_task!r} apply to "
                         "executor='ray' only")
    if executor == "ray" and devices is not None:
        raise ValueError("devices= applies to executor='local'; Ray tasks use their worker's "
                         "devices (set gpus_per_task)")
    validate_design(design, data)
    design = design.sort_values("run_id").reset_index(drop=True)
    design = design[["run_id", "seed", *[c for c in ("kind", "target") if c in design],
                     *[size_column(t) for t in data.tasks]]].copy()
    for col, default in (("kind", "custom"), ("target", "")):
        if col not in design:
            design[col] = default

    _warn_single_class_test_sets(data)
    manifest = _manifest(data, design, config)
    done: set[int] = set()
    out = str(out_dir) if out_dir is not None else None
    parts: list[pd.DataFrame] = []
    if out is not None:
        _check_or_write_manifest(out, manifest, design)
        for stale in _io.list_files(_io.join(out, "chunks"), ".*.tmp"):
            _io.remove(stale)  # a chunk killed mid-write never became a result
        try:
            previous = read_results(out)
            done = set(previous["run_id"].unique().tolist())
            parts.append(previous)
        except FileNotFoundError:
            pass
    pending = design[~design["run_id"].isin(done)].reset_index(drop=True)

    seeds = sorted(design["seed"].unique().tolist())
    bucket = rows_bucket(data, pending) if len(pending) else 0
    bar = tqdm(total=len(design), initial=len(done), unit="run", desc="sweep",
               disable=not progress, dynamic_ncols=True)
    try:
        if executor == "local":
            trainer = RunTrainer(data, config, seeds=seeds, devices=devices)
            chunks = plan_chunks(pending, trainer.chunk_size)
            logger.info("sweep: %d runs (%d already done), %d chunks of %d", len(design),
                        len(done), len(chunks), trainer.chunk_size)
            for chunk in chunks:
                parts.append(train_chunk_file(trainer, chunk, n_rows_bucket=bucket,
                                              manifest=manifest, out_dir=out))
                bar.update(len(chunk))
            n_compiles = trainer.n_compiles
        else:
            from lcurve.sweep.ray import run_chunks

            # plan for the devices one task gets (1 on CPU): the chunk size a trainer with
            # that many devices uses; construction touches no device
            n_task_devices = max(1, int(np.ceil(gpus_per_task)))
            chunk_size = RunTrainer(data, config, seeds=seeds,
                                    devices=[None] * n_task_devices).chunk_size
            new_parts, n_compiles = run_chunks(
                data, plan_chunks(pending, chunk_size), config, seeds=seeds,
                n_rows_bucket=bucket, manifest=manifest, out_dir=out, bar=bar,
                address=address, gpus_per_task=gpus_per_task,
            )
            parts.extend(new_parts)
    finally:
        bar.close()

    results = sort_results(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()
    n_div = int(results.loc[results["diverged"], "run_id"].nunique()) if len(results) else 0
    n_undef = int((results["value"].isna() & ~results["diverged"]).sum()) if len(results) else 0
    if n_div:
        warnings.warn(f"{n_div} run(s) diverged (NaN training loss); their scores are NaN and "
                      "flagged in the 'diverged' column", RuntimeWarning, stacklevel=2)
    if n_undef:
        warnings.warn(f"{n_undef} score(s) are undefined (a test set with a single class) "
                      "and are NaN", RuntimeWarning, stacklevel=2)
    results.attrs.update(_provenance(manifest))
    results.attrs["n_compiles"] = n_compiles
    if out is not None:
        _atomic_parquet(results, _io.join(out, "results.parquet"))
    return results


def _provenance(manifest: dict[str, Any]) -> dict[str, Any]:
    """What every results table carries in ``.attrs`` (and its parquet file's metadata)."""
    return {
        "versions": versions(),
        "train_config": manifest["train"],
        "data_fingerprint": manifest["data_fingerprint"],
        "design_hash": manifest["design_hash"],
        "data_info": manifest["data_info"],
    }


def _warn_single_class_test_sets(data: MultiTaskData) -> None:
    """Warn up front, by name, about tasks whose test metrics will be undefined."""
    test_pos = (np.nan_to_num(data.Y) * data.test_mask).sum(axis=0)
    test_n = data.test_mask.sum(axis=0)
    bad = [t for t, p, n in zip(data.tasks, test_pos, test_n) if p == 0 or p == n]
    if bad:
        warnings.warn(
            f"task(s) {bad} have a single class (or no labels) in their test set: their AUROC "
            "and AUPRC are undefined and will be NaN", RuntimeWarning, stacklevel=3)
