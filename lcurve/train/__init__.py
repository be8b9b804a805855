"""Vmapped JAX training of hard-parameter-sharing multi-task networks: the one trainer core.

Sweeps (:class:`RunTrainer`), warm-started chains (:class:`WarmStartTrainer`),
accumulating-data runs (:mod:`lcurve.train.accumulating`), TAG trajectories
(:mod:`lcurve.affinity.tag`) and influence fits (:mod:`lcurve.influence`) build on the same
pieces: the model (:class:`MultiTaskMLP`), the objectives (:func:`masked_bce` pooled,
:func:`task_balanced_bce` balanced), batch sampling (:func:`sample_batch` uniform,
:func:`sample_stratified_batch` stratified, :func:`batch_sampler` by config, :func:`full_batch`),
one optimizer step (:func:`sgd_step`, with an optional parameter penalty), the step loop
(:func:`train_steps`, with an optional measurement every ``k`` steps, as TAG's lookahead), the
staged run (:func:`train_stages`), the protocol of one run with early stopping
(:func:`train_run`), evaluation (:func:`evaluate`), the compile cache (:func:`compiled`, whose
:class:`Program` counts compilations) and the sharding of the run axis over devices
(:func:`shard_runs`, a no-op on one device).
"""

from lcurve.train._core import (
    OBJECTIVES,
    device_arrays,
    evaluate,
    holdout_split,
    make_optimizer,
    masked_bce,
    objective_loss,
    run_key,
    sample_batch,
    sample_stratified_batch,
    sgd_step,
    task_balanced_bce,
    validation_labels,
)
from lcurve.train._compile import Program, compiled, run_shardings, shard_runs
from lcurve.train._trainer import (
    ChunkResult,
    RunTrainer,
    batch_sampler,
    full_batch,
    row_bucket,
    train_run,
    train_stages,
    train_steps,
    validation_loss,
)
from lcurve.train._warmstart import ChainResult, WarmStartTrainer, nested_rows
from lcurve.train.metrics import masked_auprc, masked_auroc
from lcurve.train.model import MultiTaskMLP

__all__ = [
    "ChainResult",
    "WarmStartTrainer",
    "OBJECTIVES",
    "ChunkResult",
    "MultiTaskMLP",
    "Program",
    "RunTrainer",
    "batch_sampler",
    "compiled",
    "device_arrays",
    "evaluate",
    "full_batch",
    "holdout_split",
    "make_optimizer",
    "masked_auprc",
    "masked_auroc",
    "masked_bce",
    "nested_rows",
    "objective_loss",
    "row_bucket",
    "run_key",
    "run_shardings",
    "sample_batch",
    "sample_stratified_batch",
    "sgd_step",
    "shard_runs",
    "task_balanced_bce",
    "train_run",
    "train_stages",
    "train_steps",
    "validation_labels",
    "validation_loss",
]
