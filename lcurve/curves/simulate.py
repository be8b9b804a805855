"""Simulate results tables from known curves and transfer rates (for tests and benchmarks).

The tables have the shape of a sweep's results (``run_id, seed, kind, target, task, metric,
value, n_test, n_test_pos`` and ``n_<task>`` columns); scores are drawn from the same model the
fit assumes (truncated normal with Hanley–McNeil plus seed noise), so the truth is known.

Example
-------
>>> table, truth = simulate_results(n_tasks=3, seed=0)
>>> truth["transfer"].shape
(3, 3)
>>> bool(table["value"].between(0, 1).all())
True
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.stats import truncnorm

from lcurve.curves.families import get_family
from lcurve.curves.model import expected_score, test_variance

__all__ = ["simulate_results", "default_params", "random_transfer"]

DESIGNS = ("pairs", "context", "mixed")


def default_params(family: str, n_tasks: int, rng: np.random.Generator, *,
                   x_min: float = 1 / 16) -> dict[str, np.ndarray]:
    """Plausible per-task parameters: asymptote 0.8-0.95, score ~0.55 near ``x_min``."""
    c = rng.uniform(0.8, 0.95, n_tasks)
    if family == "exp3":
        return {"c": c, "a": rng.uniform(2.0, 5.0, n_tasks), "b": np.log(c - 0.55)}
    if family == "pow3":
        alpha = rng.uniform(0.3, 0.8, n_tasks)
        return {"c": c, "a": (c - 0.55) * x_min**alpha, "alpha": alpha}
    raise ValueError(f"no default parameters for family {family!r} (have 'exp3', 'pow3'); "
                     f"pass params={{name: array}}")


def random_transfer(n_tasks: int, rng: np.random.Generator, *, density: float = 0.5,
                    low: float = 0.2, high: float = 0.8, p_negative: float = 0.3) -> np.ndarray:
    """Sparse ``(target, source)`` transfer matrix: a ``density`` share of pairs non-zero."""
    magnitude = rng.uniform(low, high, (n_tasks, n_tasks))
    sign = np.where(rng.random((n_tasks, n_tasks)) < p_negative, -0.5, 1.0)
    matrix = magnitude * sign * (rng.random((n_tasks, n_tasks)) < density)
    np.fill_diagonal(matrix, 0.0)
    return matrix


def _design(n_tasks: int, design: str, sizes, source_sizes) -> list[tuple[int, np.ndarray]]:
    runs = []
    for i in range(n_tasks):
        for n in sizes:
            row = np.zeros(n_tasks)
            row[i] = n
            runs.append((i, row))
            for s in source_sizes:
                if design in ("pairs", "mixed"):
                    for j in range(n_tasks):
                        if j != i:
                            pair = row.copy()
                            pair[j] = s
                            runs.append((i, pair))
                if design in ("context", "mixed"):
                    context = np.full(n_tasks, float(s))
                    context[i] = n
                    runs.append((i, context))
    return runs


def simulate_results(*, n_tasks: int = 3, family: str = "exp3", structure: str = "pairwise",
                     transfer=None, params=None, design: str | None = None,
                     sizes=(16, 32, 64, 128, 256), source_sizes=(64, 256), seeds=(0, 1),
                     n_test: int = 200, positive_fraction: float = 0.3, noise_sd: float = 0.01,
                     seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Simulate an AUROC results table with known curves and transfer.

    Parameters
    ----------
    structure : {"none", "contextual", "pairwise"}
        How the truth transfers: ``transfer`` is a ``(target, source)`` matrix for
        ``pairwise`` (default :func:`random_transfer`), a per-task vector for ``contextual``
        (default uniform in [-0.2, 0.6]), ignored for ``none``.
    design : {"pairs", "context", "mixed"}, optional
        Runs: single-task curves plus pairs, plus all-other-task contexts, or both. Default:
        ``context`` for a contextual truth, else ``pairs``.
    seeds : sequence of int
        Replicate seeds; each gets its own noise draw.

    Returns
    -------
    (DataFrame, dict)
        The table and the truth: ``params``, ``transfer``, ``n_ref``, ``tasks``, ``structure``.
    """
    if structure not in ("none", "contextual", "pairwise"):
        raise ValueError(f"unknown structure {structure!r}; valid: none, contextual, pairwise")
    design = design or ("context" if structure == "contextual" else "pairs")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; valid: {list(DESIGNS)}")
    rng = np.random.default_rng(seed)
    tasks = [f"task{k:02d}" for k in range(n_tasks)]
    fam = get_family(family)
    n_ref = float(max(max(sizes), max(source_sizes)))
    params = params or default_params(family, n_tasks, rng, x_min=min(sizes) / n_ref)
    if structure == "pairwise":
        transfer = random_transfer(n_tasks, rng) if transfer is None else np.asarray(transfer)
        model_params = {**params, "transfer": transfer}
    elif structure == "contextual":
        transfer = rng.uniform(-0.2, 0.6, n_tasks) if transfer is None else np.asarray(transfer)
        model_params = {**params, "transfer_context": transfer}
    else:
        transfer, model_params = None, dict(params)
    runs = _design(n_tasks, design, sizes, source_sizes)
    task = np.array([i for i, _ in runs], dtype=np.int32)
    size_matrix = np.stack([row for _, row in runs])
    jparams = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in model_params.items()}
    mean = np.asarray(expected_score(fam, structure, jparams, jnp.asarray(task),
                                     jnp.asarray(size_matrix), n_ref), dtype=float)
    n_pos = round(n_test * positive_fraction)
    sd = np.sqrt(np.asarray(test_variance(jnp.asarray(mean), n_test, n_pos, "auroc")) + noise_sd**2)
    frames = []
    for s in seeds:
        low, high = (0 - mean) / sd, (1 - mean) / sd
        value = truncnorm.rvs(low, high, loc=mean, scale=sd, random_state=rng)
        frame = pd.DataFrame({"run_id": np.arange(len(runs)), "seed": s, "kind": design,
                              "target": [tasks[i] for i in task],
                              "task": [tasks[i] for i in task], "metric": "auroc",
                              "value": value, "n_test": n_test, "n_test_pos": n_pos})
        for k, name in enumerate(tasks):
            frame[f"n_{name}"] = size_matrix[:, k].astype(int)
        frames.append(frame)
    truth = {"params": params, "transfer": transfer, "n_ref": n_ref, "tasks": tasks,
             "structure": structure, "mean": mean}
    return pd.concat(frames, ignore_index=True), truth
