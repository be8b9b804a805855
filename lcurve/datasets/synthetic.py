"""Synthetic multi-task data with *planted* task relatedness, for tests and method validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from lcurve.data import MultiTaskData

__all__ = ["SyntheticTruth", "make_synthetic"]


@dataclasses.dataclass(frozen=True)
class SyntheticTruth:
    """What the generator planted.

    Attributes
    ----------
    relatedness
        Tidy DataFrame ``source, target, relatedness`` over ordered pairs: the signed cosine
        between the two tasks' label-generating weight vectors (1 = same direction, -1 = opposite).
    groups
        Task name -> latent group index.
    weights
        ``(n_tasks, n_features)`` label-generating weight vectors.
    """

    relatedness: pd.DataFrame
    groups: dict[str, int]
    weights: np.ndarray

    def matrix(self) -> pd.DataFrame:
        """Relatedness as a ``source x target`` matrix."""
        return self.relatedness.pivot(index="source", columns="target", values="relatedness")

    def related_pairs(self, threshold: float = 0.5) -> pd.DataFrame:
        """Ordered pairs with ``|relatedness| >= threshold`` (planted as related)."""
        r = self.relatedness
        return r[r["relatedness"].abs() >= threshold].reset_index(drop=True)


def make_synthetic(
    *,
    n_tasks: int = 6,
    n_compounds: int = 2000,
    n_features: int = 64,
    n_groups: int = 2,
    shared_weight: float = 0.9,
    signal: float = 3.0,
    test_fraction: float = 0.25,
    seed: int = 0,
) -> tuple[MultiTaskData, SyntheticTruth]:
    """Binary multi-task data whose tasks share latent directions in groups.

    Compounds have sparse binary features (like fingerprint bits). Task ``k`` in group ``g``
    has weight vector ``w_k = s_k (sqrt(shared_weight) u_g + sqrt(1 - shared_weight) e_k)``
    with a group direction ``u_g``, a private direction ``e_k`` and a sign ``s_k``; the last task
    of the first group has ``s_k = -1``, so it is *negatively* related to its group. Labels are
    ``Bernoulli(sigmoid(signal * z_k + bias_k))`` with ``z_k`` the standardised projection on
    ``w_k``; biases give unequal class balance, and each task measures a different-sized random
    subset of compounds (overlapping across tasks), as in sparse drug–target data.

    Note that for hard-parameter-sharing networks a sign-flipped task still shares features,
    so its *transfer* can be positive although its *relatedness* is negative: the truth here is
    about label-generating directions, which methods may or may not see.

    Returns
    -------
    data, truth
        The :class:`~lcurve.MultiTaskData` and the planted :class:`SyntheticTruth`.

    Example
    -------
    >>> data, truth = make_synthetic(n_tasks=4, n_compounds=300, seed=1)
    >>> data.n_tasks, truth.matrix().shape
    (4, (4, 4))
    """
    if n_tasks < 2:
        raise ValueError(f"n_tasks must be >= 2, got {n_tasks}")
    if not 1 <= n_groups <= n_tasks:
        raise ValueError(f"n_groups must be in [1, n_tasks={n_tasks}], got {n_groups}")
    if not 0.0 <= shared_weight <= 1.0:
        raise ValueError(f"shared_weight must be in [0, 1], got {shared_weight}")
    if n_compounds < 50 * n_tasks // 5 or n_compounds < 40:
        raise ValueError(f"n_compounds={n_compounds} is too small for {n_tasks} tasks")
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.05, 0.25, size=n_features)
    X = (rng.random((n_compounds, n_features)) < density).astype(np.float32)
    Xc = (X - density) / np.sqrt(density * (1 - density))

    group_dirs = rng.normal(size=(n_groups, n_features))
    group_dirs /= np.linalg.norm(group_dirs, axis=1, keepdims=True)
    groups = np.arange(n_tasks) % n_groups
    sign = np.ones(n_tasks)
    first_group = np.flatnonzero(groups == 0)
    if len(first_group) >= 2:
        sign[first_group[-1]] = -1.0
    private = rng.normal(size=(n_tasks, n_features))
    private /= np.linalg.norm(private, axis=1, keepdims=True)
    W = sign[:, None] * (
        np.sqrt(shared_weight) * group_dirs[groups] + np.sqrt(1 - shared_weight) * private
    )
    W /= np.linalg.norm(W, axis=1, keepdims=True)

    Z = Xc @ W.T
    Z = (Z - Z.mean(0)) / Z.std(0)
    active_fraction = np.linspace(0.15, 0.55, n_tasks)[rng.permutation(n_tasks)]
    bias = np.log(active_fraction / (1 - active_fraction))
    p = 1.0 / (1.0 + np.exp(-(signal * Z + bias)))
    labels = (rng.random(p.shape) < p).astype(np.float32)

    fractions = np.linspace(0.25, 0.8, n_tasks)[rng.permutation(n_tasks)]
    Y = np.full((n_compounds, n_tasks), np.nan, dtype=np.float32)
    test_mask = np.zeros(Y.shape, dtype=bool)
    for k in range(n_tasks):
        members = rng.permutation(n_compounds)[: int(fractions[k] * n_compounds)]
        Y[members, k] = labels[members, k]
        test_mask[members[: int(test_fraction * len(members))], k] = True

    tasks = tuple(f"task{k:02d}" for k in range(n_tasks))
    keep = ~np.isnan(Y).all(axis=1)
    data = MultiTaskData(
        X=X[keep], Y=Y[keep], tasks=tasks,
        compound_ids=tuple(f"c{i:06d}" for i in np.flatnonzero(keep)),
        test_mask=test_mask[keep],
        info={"source": "synthetic", "seed": seed, "n_groups": n_groups},
    )
    cos = W @ W.T
    rel = pd.DataFrame(
        [(tasks[j], tasks[i], float(cos[j, i]))
         for i in range(n_tasks) for j in range(n_tasks) if i != j],
        columns=["source", "target", "relatedness"],
    )
    truth = SyntheticTruth(relatedness=rel, groups=dict(zip(tasks, groups.tolist())), weights=W)
    return data, truth
