"""Vmapped JAX training of hard-parameter-sharing multi-task networks."""

from lcurve.train._trainer import (
    ChunkResult,
    RunTrainer,
    device_arrays,
    evaluate,
    make_optimizer,
    masked_bce,
    run_key,
    sample_batch,
    sgd_step,
)
from lcurve.train.metrics import masked_auprc, masked_auroc
from lcurve.train.model import MultiTaskMLP

__all__ = [
    "ChunkResult",
    "MultiTaskMLP",
    "RunTrainer",
    "device_arrays",
    "evaluate",
    "make_optimizer",
    "masked_auprc",
    "masked_auroc",
    "masked_bce",
    "run_key",
    "sample_batch",
    "sgd_step",
]
