"""Run a design: train every run, evaluate every trained task, keep every result.

:func:`run_sweep` returns a tidy DataFrame with one row per (run, evaluated task, metric).
With ``out_dir`` it writes each finished chunk to ``out_dir/chunks/`` as parquet (atomically:
a temporary file renamed into place), so a killed sweep loses at most the chunk in flight;
re-running the same sweep into the same folder skips the finished runs and ends with the same
table as an uninterrupted run. A folder holding a *different* sweep (other data, design or
training settings) is refused rather than mixed.

Folder layout::

    out_dir/manifest.json      what was run: data fingerprint, design hash, config, versions
    out_dir/design.parquet     the design
    out_dir/chunks/*.parquet   results, one file per trained chunk
    out_dir/results.parquet    all results, sorted, written when the sweep completes
"""

from __future__ import annotations

import hashlib
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

from lcurve._io import atomic_path
from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_column, size_columns, training_rows, validate_design
from lcurve.train import RunTrainer
from lcurve.train._trainer import row_bucket

logger = logging.getLogger(__name__)

__all__ = [
    "METRICS",
    "SweepMismatchError",
    "read_results",
    "result_rows",
    "run_sweep",
    "sort_results",
    "versions",
]

METRICS = ("auroc", "auprc")
TIMING_COLUMNS = ("seconds",)


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


def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


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


def _check_or_write_manifest(out_dir: Path, manifest: dict[str, Any], design: pd.DataFrame):
    path = out_dir / "manifest.json"
    if path.is_file():
        old = json.loads(path.read_text())
        for key in ("data_fingerprint", "design_hash", "train", "tasks"):
            if old.get(key) != manifest[key]:
                raise SweepMismatchError(
                    f"{out_dir} holds a different sweep ({key} differs: {old.get(key)!r} vs "
                    f"{manifest[key]!r}); use a new --out folder or delete this one"
                )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    _atomic_parquet(design, out_dir / "design.parquet")
    full = {**manifest, "versions": versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _atomic_write_bytes(path, json.dumps(full, indent=2).encode())


def read_results(out_dir: str | Path) -> pd.DataFrame:
    """All results written so far under ``out_dir`` (finished chunks), sorted and deduplicated.

    Raises ``FileNotFoundError`` when the folder holds no sweep.
    """
    out_dir = Path(out_dir)
    final = out_dir / "results.parquet"
    chunk_files = sorted((out_dir / "chunks").glob("chunk-*.parquet"))
    if not chunk_files:
        if final.is_file():
            return pd.read_parquet(final)
        raise FileNotFoundError(f"no sweep results under {out_dir}")
    table = pd.concat([pd.read_parquet(f) for f in chunk_files], ignore_index=True)
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


def run_sweep(
    data: MultiTaskData,
    design: pd.DataFrame,
    config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    progress: bool = True,
    devices=None,
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
        Folder to write results to chunk by chunk; an interrupted sweep re-run into the same
        folder resumes (finished runs are read back, not retrained).
    progress
        Show a progress bar with runs/s and ETA.
    devices
        Devices to shard the run axis over (default: all local devices).

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
        the training config, the data fingerprint and the design hash.

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
    out_path = Path(out_dir) if out_dir is not None else None
    parts: list[pd.DataFrame] = []
    if out_path is not None:
        _check_or_write_manifest(out_path, manifest, design)
        for stale in (out_path / "chunks").glob(".*.tmp"):
            stale.unlink(missing_ok=True)  # a chunk killed mid-write never became a result
        try:
            previous = read_results(out_path)
            done = set(previous["run_id"].unique().tolist())
            parts.append(previous)
        except FileNotFoundError:
            pass
    pending = design[~design["run_id"].isin(done)].reset_index(drop=True)

    seeds = sorted(design["seed"].unique().tolist())
    trainer = RunTrainer(data, config, seeds=seeds, devices=devices)
    sizes_all = pending[[size_column(t) for t in data.tasks]].to_numpy()
    if len(pending):
        widest = max(
            len(training_rows(data, int(s), dict(zip(data.tasks, sz.tolist()))))
            for s, sz in zip(pending["seed"], sizes_all)
        )
        bucket = row_bucket(widest)
    n_chunks = int(np.ceil(len(pending) / trainer.chunk_size))
    logger.info("sweep: %d runs (%d already done), %d chunks of %d", len(design), len(done),
                n_chunks, trainer.chunk_size)
    bar = tqdm(total=len(design), initial=len(done), unit="run", desc="sweep",
               disable=not progress, dynamic_ncols=True)
    try:
        for c in range(n_chunks):
            chunk = pending.iloc[c * trainer.chunk_size:(c + 1) * trainer.chunk_size]
            start = time.perf_counter()
            trained = trainer.train_chunk(
                chunk["seed"].to_numpy(), chunk["run_id"].to_numpy(),
                sizes_all[c * trainer.chunk_size:(c + 1) * trainer.chunk_size],
                n_rows_bucket=bucket,
            )
            seconds = (time.perf_counter() - start) / len(chunk)
            rows = result_rows(chunk, data, trained, seconds)
            rows.attrs.update(_provenance(manifest))
            if out_path is not None:
                first = int(chunk["run_id"].iloc[0])
                _atomic_parquet(rows, out_path / "chunks" / f"chunk-{first:09d}.parquet")
            parts.append(rows)
            bar.update(len(chunk))
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
    results.attrs["n_compiles"] = trainer.n_compiles
    if out_path is not None:
        _atomic_parquet(results, out_path / "results.parquet")
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
