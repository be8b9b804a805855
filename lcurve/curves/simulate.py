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

from lcurve.curves._table import group_indices
from lcurve.curves.families import SIZE_UNIT, get_family
from lcurve.curves.likelihood import test_variance
from lcurve.curves.model import expected_score
from lcurve.design import size_columns, task_of_column

__all__ = ["simulate_results", "default_params", "random_transfer"]

DESIGNS = ("pairs", "context", "mixed")


def default_params(family: str, n_tasks: int, rng: np.random.Generator, *,
                   x_min: float = 16 / SIZE_UNIT) -> dict[str, np.ndarray]:
    """Plausible per-task parameters (``x`` in units of :data:`SIZE_UNIT` samples): asymptote
    0.8-0.95, score ~0.55 at ``x = 0`` (exp3) or at ``x_min`` (pow3)."""
    c = rng.uniform(0.8, 0.95, n_tasks)
    if family == "exp3":
        return {"c": c, "a": rng.uniform(4.0, 12.0, n_tasks), "b": np.log(c - 0.55)}
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


def _design_runs(design: pd.DataFrame):
    """(tasks, [(evaluated task, sizes)], seeds, run ids) of a :func:`lcurve.design.make_design` table:
    like a sweep, every trained task of every run is evaluated."""
    columns = size_columns(design)
    tasks = [task_of_column(c) for c in columns]
    run_ids = design["run_id"].to_numpy() if "run_id" in design else np.arange(len(design))
    runs, seeds, ids = [], [], []
    for run_id, seed, row in zip(run_ids, design["seed"].to_numpy(),
                                 design[columns].to_numpy(float)):
        for i in np.flatnonzero(row > 0):
            runs.append((int(i), row))
            seeds.append(int(seed))
            ids.append(int(run_id))
    return tasks, runs, seeds, ids


def simulate_results(*, n_tasks: int = 3, family: str = "exp3", structure: str = "pairwise",
                     transfer=None, params=None, design: str | pd.DataFrame | None = None,
                     sizes=(16, 32, 64, 128, 256), source_sizes=(64, 256), seeds=(0, 1),
                     n_test: int = 200, positive_fraction: float = 0.3, noise_sd: float = 0.01,
                     subsample_sd: float = 0.01, trajectory_sd: float = 0.01,
                     chance: float | None = 0.5, test_shared: float = 0.0,
                     seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Simulate an AUROC results table with known curves, transfer and nested-design noise.

    Each score is ``max(f(n_eff), chance) + u_traj[task, seed] + u_sub[task, seed, n_task] +
    e`` truncated to [0, 1]: the seed trajectory and the shared nested subsample (the same for the single-task
    run and every pair/context run of that task, seed and size) are the correlated parts, ``e``
    has Hanley–McNeil test-set variance plus ``noise_sd**2`` (run-level training noise).

    Parameters
    ----------
    structure : {"none", "contextual", "pairwise"}
        How the truth transfers: ``transfer`` is a ``(target, source)`` matrix for
        ``pairwise`` (default :func:`random_transfer`), a per-task vector for ``contextual``
        (default uniform in [-0.2, 0.6]), ignored for ``none``.
    design : {"pairs", "context", "mixed"} or DataFrame, optional
        Runs: single-task curves plus pairs, plus all-other-task contexts, or both (only the
        target is evaluated; default ``context`` for a contextual truth, else ``pairs``); or a
        real design from :func:`lcurve.design.make_design` (``seed``, ``n_<task>`` columns;
        every trained task of each run is evaluated, as in a sweep; ``n_tasks``, ``sizes``,
        ``source_sizes`` and ``seeds`` are then taken from it).
    seeds : sequence of int
        Replicate seeds.
    subsample_sd, trajectory_sd, noise_sd : float
        Sds of the shared-subsample effect, the seed-trajectory effect and the run noise.
    chance : float or None
        Floor of the expected score (default 0.5, an AUROC at chance; ``None``: no floor).
        Strong negative transfer shrinks ``n_eff`` towards 0, where some families' forms
        fall far below chance (``pow3`` without bound: scores of 1e-5 at 32 samples beside a
        harmful partner of 1,024), which no trained network shows: it gets no worse than
        guessing.
    test_shared : float in [0, 1)
        Share of the test-set variance common to all runs of a task, as when every run of a
        task is scored on its one test set (:class:`lcurve.curves.FitConfig` ``test_shared``):
        a per-task offset ``sqrt(test_shared v_test) z_task``, ``z_task ~ Normal(0, 1)``, is
        added to every run of the task, and the runs' own test-set variance is ``(1 -
        test_shared) v_test``. ``0`` (default): independent per run. The truth's ``mean`` is
        the curve without the offset (the score expected on a new test set).

    Returns
    -------
    (DataFrame, dict)
        The table and the truth: ``params``, ``transfer``, ``tasks``, ``structure``, ``mean``.
    """
    if structure not in ("none", "contextual", "pairwise"):
        raise ValueError(f"unknown structure {structure!r}; valid: none, contextual, pairwise")
    rng = np.random.default_rng(seed)
    fam = get_family(family)
    if isinstance(design, pd.DataFrame):
        tasks, runs, run_seeds, run_ids = _design_runs(design)
        n_tasks, kind = len(tasks), "design"
        x_min = float(design[size_columns(design)].replace(0, np.nan).min().min()) / SIZE_UNIT
    else:
        design = design or ("context" if structure == "contextual" else "pairs")
        if design not in DESIGNS:
            raise ValueError(f"unknown design {design!r}; valid: {list(DESIGNS)} or a "
                             f"make_design table")
        tasks = [f"task{k:02d}" for k in range(n_tasks)]
        base = _design(n_tasks, design, sizes, source_sizes)
        runs = [run for _ in seeds for run in base]
        run_seeds = [s for s in seeds for _ in base]
        run_ids = [k for _ in seeds for k in range(len(base))]
        kind, x_min = design, min(sizes) / SIZE_UNIT
    params = params or default_params(family, n_tasks, rng, x_min=x_min)
    if structure == "pairwise":
        transfer = random_transfer(n_tasks, rng) if transfer is None else np.asarray(transfer)
        model_params = {**params, "transfer": transfer}
    elif structure == "contextual":
        transfer = rng.uniform(-0.2, 0.6, n_tasks) if transfer is None else np.asarray(transfer)
        model_params = {**params, "transfer_context": transfer}
    else:
        transfer, model_params = None, dict(params)
    task = np.array([i for i, _ in runs], dtype=np.int32)
    size_matrix = np.stack([row for _, row in runs])
    run_seeds = np.asarray(run_seeds)
    jparams = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in model_params.items()}
    mean = np.asarray(expected_score(fam, structure, jparams, jnp.asarray(task),
                                     jnp.asarray(size_matrix)), dtype=float)
    if chance is not None:
        mean = np.maximum(mean, chance)
    own = size_matrix[np.arange(len(task)), task]
    subsample, trajectory = group_indices(task, run_seeds, own)
    shift = (rng.normal(0, subsample_sd, subsample.max() + 1)[subsample]
             + rng.normal(0, trajectory_sd, trajectory.max() + 1)[trajectory])
    n_pos = round(n_test * positive_fraction)
    if not 0 <= test_shared < 1:
        raise ValueError(f"test_shared must be in [0, 1), got {test_shared}")
    v_test = np.asarray(test_variance(jnp.asarray(mean), n_test, n_pos, "auroc"), float)
    if test_shared > 0:  # drawn only then, so tables without it are unchanged
        shift = shift + np.sqrt(test_shared * v_test) * rng.normal(0, 1, n_tasks)[task]
    sd = np.sqrt((1 - test_shared) * v_test + noise_sd**2)
    loc = mean + shift
    value = truncnorm.rvs((0 - loc) / sd, (1 - loc) / sd, loc=loc, scale=sd, random_state=rng)
    table = pd.DataFrame({"run_id": run_ids, "seed": run_seeds, "kind": kind,
                          "target": [tasks[i] for i in task], "task": [tasks[i] for i in task],
                          "metric": "auroc", "value": value, "n_test": n_test,
                          "n_test_pos": n_pos})
    for k, name in enumerate(tasks):
        table[f"n_{name}"] = size_matrix[:, k].astype(int)
    truth = {"params": params, "transfer": transfer, "tasks": tasks, "structure": structure,
             "mean": mean, "size_unit": SIZE_UNIT}
    return table, truth
