"""The fast learning-curve approximation as a sweep mode: warm-started chains of nested sizes.

:func:`run_fast_sweep` takes the same design as :func:`lcurve.run_sweep` and returns the same
tidy table (one result per design run, plus ``mode = "fast"``), so curve fitting and the
transfer estimates consume it unchanged. Runs that differ only in their target's size (same
seed, same sizes of every other task) form a *chain*; each chain is one training trajectory
that grows the target's training set through its sizes (see :class:`lcurve.train.WarmStartTrainer`).

Cost: a chain of ``S`` sizes costs ``S * steps_per_size`` optimizer steps instead of
``S * steps`` for full retraining (default ``steps_per_size = steps // 3``: 3x fewer steps).

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> from lcurve.design import make_design
>>> data, _ = make_synthetic(n_tasks=2, n_compounds=300)
>>> design = make_design(data, kind="single", seeds=[0], min_size=32)
>>> fast = run_fast_sweep(data, design, TrainConfig(steps=30, chunk_size=8), progress=False)
>>> fast["mode"].unique().tolist()
['fast']
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import size_column, validate_design
from lcurve.sweep.local import result_rows, sort_results, versions
from lcurve.train import ChunkResult, WarmStartTrainer, nested_rows, row_bucket

__all__ = ["design_chains", "run_fast_sweep"]


def design_chains(design: pd.DataFrame, tasks) -> list[pd.DataFrame]:
    """Split a design into chains: runs with the same seed, target and other tasks' sizes.

    Each chain is sorted by the target's size; a run without a target (``target`` empty or
    absent) is its own chain keyed by its largest task.

    Example
    -------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"run_id": [0, 1, 2], "seed": [0, 0, 0], "target": ["a"] * 3,
    ...                   "n_a": [64, 32, 32], "n_b": [0, 0, 16]})
    >>> [c["run_id"].tolist() for c in design_chains(d, ["a", "b"])]
    [[1, 0], [2]]
    """
    cols = [size_column(t) for t in tasks]
    design = design.copy()
    if "target" not in design:
        design["target"] = ""
    blank = design["target"].isna() | (design["target"] == "")
    design.loc[blank, "target"] = design.loc[blank, cols].idxmax(axis=1).str[2:]
    sizes = design[cols].to_numpy()
    target_index = np.array([list(tasks).index(t) for t in design["target"]])
    others = sizes.copy()
    others[np.arange(len(design)), target_index] = -1
    keys = [(int(s), t, tuple(o)) for s, t, o in zip(design["seed"], design["target"], others)]
    chains: dict[tuple, list[int]] = {}
    for pos, key in enumerate(keys):
        chains.setdefault(key, []).append(pos)
    out = []
    for key in sorted(chains, key=lambda k: min(design["run_id"].iloc[chains[k]])):
        block = design.iloc[chains[key]]
        out.append(block.sort_values([size_column(key[1]), "run_id"], kind="stable"))
    return out


def run_fast_sweep(
    data: MultiTaskData,
    design: pd.DataFrame,
    config: TrainConfig | None = None,
    *,
    steps_per_size: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Approximate a sweep by warm-started chains; same table as :func:`lcurve.run_sweep`.

    Parameters
    ----------
    data, design, config
        As for :func:`lcurve.run_sweep`.
    steps_per_size
        Optimizer steps spent at each size of a chain (default ``config.steps // 3``).
    progress
        Show a progress bar over chains.

    Returns
    -------
    pandas.DataFrame
        ``run_id, seed, kind, target, task, metric, value, n_test, n_test_pos, loss_final,
        diverged, steps_used, best_step, seconds, n_<task>..., mode``: one row per design run,
        trained task and metric, each run evaluated at its own stage of its chain; ``mode`` is
        ``"fast"``; ``steps_used`` counts the chain's steps up to that stage (no early stopping).
        ``seconds`` is the chunk's wall time per run. ``.attrs`` holds ``train_steps`` (total
        optimizer steps), ``n_chains`` and ``n_compiles``.
    """
    config = config or TrainConfig()
    validate_design(design, data)
    start_all = time.perf_counter()
    design = design.sort_values("run_id").reset_index(drop=True)
    for col, default in (("kind", "custom"), ("target", "")):
        if col not in design:
            design = design.assign(**{col: default})
    cols = [size_column(t) for t in data.tasks]
    chains = design_chains(design, data.tasks)
    seeds = sorted(design["seed"].unique().tolist())
    trainer = WarmStartTrainer(data, config, seeds=seeds, steps_per_size=steps_per_size)
    n_stages = max(len(c) for c in chains)
    widest = max(len(nested_rows(data, int(c["seed"].iloc[0]), c[cols].to_numpy()[-1:])[0])
                 for c in chains)
    bucket = row_bucket(widest)
    parts = []
    bar = tqdm(total=len(design), unit="run", desc="fast sweep", disable=not progress,
               dynamic_ncols=True)
    try:
        for first in range(0, len(chains), trainer.chunk_size):
            block = chains[first:first + trainer.chunk_size]
            start = time.perf_counter()
            out = trainer.train_chunk(
                [int(c["seed"].iloc[0]) for c in block],
                [int(c["run_id"].iloc[0]) for c in block],
                [c[cols].to_numpy() for c in block],
                n_rows_bucket=bucket, n_stages=n_stages,
            )
            runs = pd.concat(block, ignore_index=True)
            chain_pos = np.concatenate([np.full(len(c), i) for i, c in enumerate(block)])
            stage_pos = np.concatenate([np.arange(len(c)) for c in block])
            trained = ChunkResult(
                auroc=out.auroc[chain_pos, stage_pos], auprc=out.auprc[chain_pos, stage_pos],
                final_loss=out.final_loss[chain_pos, stage_pos],
                finite=out.finite[chain_pos, stage_pos],
                # a stage is scored after (stage + 1) * steps_per_size steps of its trajectory
                steps_used=(stage_pos + 1) * trainer.steps_per_size,
                best_step=(stage_pos + 1) * trainer.steps_per_size,
            )
            seconds = (time.perf_counter() - start) / len(runs)
            chunk = runs[["run_id", "seed", "kind", "target", *cols]]
            parts.append(result_rows(chunk, data, trained, seconds))
            bar.update(len(runs))
    finally:
        bar.close()
    results = sort_results(pd.concat(parts, ignore_index=True))
    results["mode"] = "fast"
    if results["diverged"].any():
        warnings.warn(f"{results.loc[results['diverged'], 'run_id'].nunique()} fast run(s) "
                      "diverged; their scores are NaN", RuntimeWarning, stacklevel=2)
    results.attrs.update(
        versions=versions(), n_compiles=trainer.n_compiles, n_chains=len(chains),
        train_steps=int(len(chains) * n_stages * trainer.steps_per_size),
        seconds=time.perf_counter() - start_all,
    )
    return results
