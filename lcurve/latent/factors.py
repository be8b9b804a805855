"""Latent factors of a transfer matrix: PCA by SVD with explicit centring and scaling.

The ``source x target`` matrix ``M`` (rows: sources, columns: targets) is prepared in three
documented steps and then decomposed as ``A = U S V^T``:

1. **Fill.** Missing cells (the diagonal, unmeasured pairs) are set to their *column* mean, the
   target's average gain, so they carry no source-specific information.
2. **Centre** (``center``): ``"column"`` subtracts each target's mean over sources (the factors
   then describe *which sources* help a target more than others: the PCA convention with
   sources as observations and targets as variables); ``"row"`` subtracts each source's mean;
   ``"double"`` removes both main effects (only the source x target interaction is left);
   ``"none"`` keeps the raw gains (the first factor then carries the overall transfer level).
3. **Scale** (``scale``): ``"none"`` or ``"column"`` (each target divided by its sd over
   sources, i.e. PCA on the correlation matrix).

Source *scores* are ``U S`` (one row per source), target *loadings* ``V`` (one row per target),
explained variance ``S**2 / sum(S**2)``.

Example
-------
>>> import numpy as np, pandas as pd
>>> m = pd.DataFrame(np.outer([1, 2, -1], [1, 0.5, 2.0]), index=list("abc"), columns=list("abc"))
>>> fac = transfer_factors(m, center="none")
>>> round(float(fac.explained["explained_variance_ratio"].iloc[0]), 6)
1.0
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

__all__ = ["CENTERINGS", "SCALINGS", "TransferFactors", "parallel_analysis", "prepare_matrix",
           "transfer_factors"]

CENTERINGS = ("column", "row", "double", "none")
SCALINGS = ("none", "column")


@dataclasses.dataclass(frozen=True)
class TransferFactors:
    """The SVD of a prepared transfer matrix.

    Attributes
    ----------
    explained
        ``factor, singular_value, explained_variance_ratio, cumulative`` (tidy, factor order).
    scores
        ``source x factor`` DataFrame, ``U S``.
    loadings
        ``target x factor`` DataFrame, ``V``.
    prepared
        The filled, centred, scaled matrix that was decomposed.
    center, scale
        The preparation used.
    """

    explained: pd.DataFrame
    scores: pd.DataFrame
    loadings: pd.DataFrame
    prepared: pd.DataFrame
    center: str
    scale: str

    def reconstruct(self, n_factors: int) -> pd.DataFrame:
        """The rank-``n_factors`` approximation of :attr:`prepared`."""
        k = int(n_factors)
        approx = self.scores.iloc[:, :k].to_numpy() @ self.loadings.iloc[:, :k].to_numpy().T
        return pd.DataFrame(approx, index=self.prepared.index, columns=self.prepared.columns)


def prepare_matrix(matrix: pd.DataFrame, *, center: str = "column",
                   scale: str = "none") -> pd.DataFrame:
    """Fill missing cells with column means, then centre and scale (see the module notes)."""
    if center not in CENTERINGS:
        raise ValueError(f"center must be one of {CENTERINGS}, got {center!r}")
    if scale not in SCALINGS:
        raise ValueError(f"scale must be one of {SCALINGS}, got {scale!r}")
    if not isinstance(matrix, pd.DataFrame):
        raise TypeError(f"matrix must be a source x target DataFrame, got {type(matrix).__name__}")
    if min(matrix.shape) < 2:
        raise ValueError(f"a transfer matrix needs >= 2 sources and targets, got {matrix.shape}")
    a = matrix.to_numpy(dtype=float).copy()
    empty_cols = np.isnan(a).all(axis=0)
    if empty_cols.any():
        raise ValueError(f"target(s) {list(matrix.columns[empty_cols])} have no transfer values")
    col_mean = np.nanmean(a, axis=0)
    a = np.where(np.isnan(a), col_mean[None, :], a)
    if center in ("column", "double"):
        a = a - a.mean(axis=0, keepdims=True)
    if center in ("row", "double"):
        a = a - a.mean(axis=1, keepdims=True)
    if scale == "column":
        sd = a.std(axis=0, ddof=1, keepdims=True)
        a = a / np.where(sd > 0, sd, 1.0)
    return pd.DataFrame(a, index=matrix.index, columns=matrix.columns)


def transfer_factors(matrix: pd.DataFrame, *, center: str = "column", scale: str = "none",
                     n_factors: int | None = None) -> TransferFactors:
    """Decompose a ``source x target`` transfer matrix into latent factors.

    Parameters
    ----------
    matrix
        Source x target DataFrame (e.g. :func:`lcurve.latent.transfer_matrix`).
    center, scale
        Preparation, see the module notes; ``"column"`` / ``"none"`` by default.
    n_factors
        Keep this many factors (default all ``min(n_sources, n_targets)``).

    Returns
    -------
    TransferFactors

    Example
    -------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(rng.normal(size=(5, 5)), index=list("abcde"), columns=list("abcde"))
    >>> fac = transfer_factors(m, n_factors=2)
    >>> fac.scores.shape, fac.loadings.shape
    ((5, 2), (5, 2))
    """
    prepared = prepare_matrix(matrix, center=center, scale=scale)
    u, s, vt = np.linalg.svd(prepared.to_numpy(), full_matrices=False)
    # Fix the sign of each factor: the largest-magnitude loading is positive (deterministic).
    flip = np.sign(vt[np.arange(len(s)), np.abs(vt).argmax(axis=1)])
    flip[flip == 0] = 1.0
    u, vt = u * flip, vt * flip[:, None]
    k = len(s) if n_factors is None else int(n_factors)
    if not 1 <= k <= len(s):
        raise ValueError(f"n_factors must be in [1, {len(s)}], got {n_factors}")
    total = float((s ** 2).sum())
    ratio = s ** 2 / total if total > 0 else np.zeros_like(s)
    names = [f"factor{i + 1}" for i in range(len(s))]
    explained = pd.DataFrame({"factor": names, "singular_value": s,
                              "explained_variance_ratio": ratio, "cumulative": np.cumsum(ratio)})
    scores = pd.DataFrame((u * s)[:, :k], index=prepared.index, columns=names[:k])
    loadings = pd.DataFrame(vt.T[:, :k], index=prepared.columns, columns=names[:k])
    return TransferFactors(explained=explained.iloc[:k].reset_index(drop=True), scores=scores,
                           loadings=loadings, prepared=prepared, center=center, scale=scale)


def parallel_analysis(matrix: pd.DataFrame, *, center: str = "column", scale: str = "none",
                      n_permutations: int = 999, seed: int = 0) -> pd.DataFrame:
    """Explained variance against a null of no latent structure (Horn's parallel analysis).

    The null shuffles the sources independently within each target column (off-diagonal
    cells only), which keeps every target's distribution of gains but breaks any source
    pattern shared across targets.

    Returns
    -------
    pandas.DataFrame
        ``factor, explained_variance_ratio, null_mean, null_q95, p_value`` (p-value: share of
        null ratios at least as large, with the +1 correction).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> m = pd.DataFrame(np.outer(rng.normal(size=6), rng.normal(size=6)) + 0.01)
    >>> parallel_analysis(m, n_permutations=99)["p_value"].iloc[0] < 0.05
    np.True_
    """
    observed = transfer_factors(matrix, center=center, scale=scale).explained
    values = matrix.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(int(n_permutations)):
        shuffled = values.copy()
        for j in range(values.shape[1]):
            cells = np.flatnonzero(~np.isnan(values[:, j]))
            shuffled[cells, j] = values[rng.permutation(cells), j]
        perm = pd.DataFrame(shuffled, index=matrix.index, columns=matrix.columns)
        null.append(transfer_factors(perm, center=center, scale=scale)
                    .explained["explained_variance_ratio"].to_numpy())
    null = np.asarray(null)
    ratio = observed["explained_variance_ratio"].to_numpy()
    return pd.DataFrame({
        "factor": observed["factor"], "explained_variance_ratio": ratio,
        "null_mean": null.mean(axis=0), "null_q95": np.quantile(null, 0.95, axis=0),
        "p_value": (1 + (null >= ratio[None, :] - 1e-12).sum(axis=0)) / (1 + len(null)),
    })
