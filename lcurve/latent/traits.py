"""Data-set traits of tasks and task pairs, and their rank correlation with transfer.

Per task (over its training labels, or all labels with ``split="all"``): ``n_labelled``,
``active_fraction``, ``label_entropy`` (bits, ``H(p)`` of the active fraction),
``fingerprint_density`` (mean fraction of bits set) and ``scaffold_diversity`` (distinct
Bemis–Murcko scaffolds per compound, RDKit; needs SMILES as compound ids).

Per ordered pair ``source -> target``: ``compound_overlap`` (Jaccard index of the compound
sets) and ``surface_similarity``: the mean over the target's compounds of the Tanimoto
similarity to the *nearest* source compound (on the fingerprint bits in ``data.X``).

:func:`relate_traits` asks whether such "surface" similarity or a "hidden" data statistic of
the source or target explains transfer better, with Spearman correlations and permutation
p-values that permute task identities (a Mantel-type test respecting the pair structure).

Example
-------
>>> import numpy as np
>>> from lcurve import MultiTaskData
>>> X = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1]], dtype=np.uint8)
>>> Y = np.array([[1, np.nan], [0, 1], [np.nan, 0]])
>>> data = MultiTaskData(X=X, Y=Y, tasks=("a", "b"), compound_ids=["CCO", "c1ccccc1", "CCN"],
...                      test_mask=np.zeros((3, 2), bool))
>>> task_traits(data)["active_fraction"].tolist()
[0.5, 0.5]
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from lcurve.data import MultiTaskData

logger = logging.getLogger(__name__)

__all__ = ["HIDDEN_TRAITS", "SURFACE_TRAITS", "murcko_scaffold", "pair_traits", "relate_scores",
           "relate_traits", "tanimoto_matrix", "task_traits"]

SURFACE_TRAITS = ("compound_overlap", "surface_similarity")
HIDDEN_TRAITS = ("n_labelled", "active_fraction", "label_entropy", "fingerprint_density",
                 "scaffold_diversity")
SPLITS = ("train", "all")


def murcko_scaffold(smiles: str) -> str | None:
    """Canonical SMILES of the Bemis–Murcko scaffold (``""`` for acyclic), ``None`` if invalid.

    Example
    -------
    >>> murcko_scaffold("CCc1ccccc1"), murcko_scaffold("CCO")
    ('c1ccccc1', '')
    """
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Scaffolds import MurckoScaffold

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(mol))


def tanimoto_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto similarity between the rows of two binary matrices, ``(len(a), len(b))``.

    Two all-zero rows have similarity 0 (not NaN).

    Example
    -------
    >>> tanimoto_matrix(np.array([[1, 1, 0]]), np.array([[1, 0, 1], [1, 1, 0]])).tolist()
    [[0.3333333432674408, 1.0]]
    """
    a, b = np.asarray(a), np.asarray(b)
    if not (np.isin(a, (0, 1)).all() and np.isin(b, (0, 1)).all()):
        raise ValueError("Tanimoto similarity needs binary (0/1) fingerprints")
    a, b = a.astype(np.float32), b.astype(np.float32)
    inter = a @ b.T
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0).astype(np.float32)


def _label_mask(data: MultiTaskData, split: str) -> np.ndarray:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return data.train_mask if split == "train" else data.measured


def task_traits(data: MultiTaskData, *, split: str = "train") -> pd.DataFrame:
    """Per-task data statistics (see the module notes), one row per task."""
    mask = _label_mask(data, split)
    y = np.nan_to_num(data.Y)
    n = mask.sum(0)
    p = (y * mask).sum(0) / np.maximum(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -(np.where(p > 0, p * np.log2(p), 0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0))
    density = np.asarray(data.X, dtype=np.float64).mean(axis=1)
    scaffolds = {}
    rows = []
    for k, task in enumerate(data.tasks):
        members = np.flatnonzero(mask[:, k])
        for c in members:
            sid = data.compound_ids[c]
            if sid not in scaffolds:
                scaffolds[sid] = murcko_scaffold(sid)
        scaf = [scaffolds[data.compound_ids[c]] for c in members]
        valid = [s for s in scaf if s is not None]
        if len(valid) < len(scaf):
            logger.warning("task %s: %d of %d compound ids are not valid SMILES; scaffold "
                           "diversity uses the rest", task, len(scaf) - len(valid), len(scaf))
        rows.append({
            "task": task, "n_labelled": int(n[k]), "active_fraction": float(p[k]),
            "label_entropy": float(entropy[k]),
            "fingerprint_density": float(density[members].mean()) if len(members) else np.nan,
            "scaffold_diversity": len(set(valid)) / len(valid) if valid else np.nan,
        })
    return pd.DataFrame(rows)


def pair_traits(data: MultiTaskData, *, split: str = "train", max_compounds: int | None = 2000,
                seed: int = 0) -> pd.DataFrame:
    """Per ordered pair ``source -> target``: compound overlap and surface similarity.

    Parameters
    ----------
    data
        Multi-task data with binary fingerprint features.
    split
        ``"train"`` (training labels, what a source contributes) or ``"all"``.
    max_compounds
        Subsample each task to at most this many compounds for the nearest-neighbour search
        (``None``: all); the overlap always uses all compounds.
    seed
        Seed of that subsample.

    Returns
    -------
    pandas.DataFrame
        ``source, target, compound_overlap, surface_similarity``.
    """
    mask = _label_mask(data, split)
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(mask[:, k]) for k in range(data.n_tasks)]
    sampled = [m if max_compounds is None or len(m) <= max_compounds
               else np.sort(rng.choice(m, max_compounds, replace=False)) for m in members]
    rows = []
    for s, source in enumerate(data.tasks):
        for t, target in enumerate(data.tasks):
            if s == t:
                continue
            inter = len(np.intersect1d(members[s], members[t]))
            union = len(np.union1d(members[s], members[t]))
            if len(sampled[s]) and len(sampled[t]):
                sim = tanimoto_matrix(data.X[sampled[t]], data.X[sampled[s]]).max(axis=1).mean()
            else:
                sim = np.nan
            rows.append({"source": source, "target": target,
                         "compound_overlap": inter / union if union else np.nan,
                         "surface_similarity": float(sim)})
    return pd.DataFrame(rows)


def relate_traits(transfer: pd.DataFrame, tasks: pd.DataFrame, pairs: pd.DataFrame | None = None,
                  *, value: str = "mean", n_permutations: int = 999, seed: int = 0) -> pd.DataFrame:
    """Spearman correlation of each trait with transfer, with permutation p-values.

    Every trait is put on the ordered pairs of ``transfer``: a pair trait as is, a task trait
    once as the *source*'s value and once as the *target*'s. The null distribution permutes
    task identities (the same permutation relabels sources and targets), so dependence between
    pairs sharing a task is respected.

    Parameters
    ----------
    transfer
        Tidy ``source, target, <value>`` table (e.g. :func:`lcurve.latent.transfer_table`).
    tasks
        Per-task traits with a ``task`` column (e.g. :func:`task_traits`).
    pairs
        Per-pair traits with ``source, target`` (e.g. :func:`pair_traits`), optional.
    n_permutations, seed
        Size and seed of the permutation null; ``p = (1 + #{|rho*| >= |rho|}) / (1 + n)``.

    Returns
    -------
    pandas.DataFrame
        ``trait, role (pair/source/target), kind (surface/hidden), rho, p_value, n_pairs``,
        sorted by ``|rho|`` (strongest first).
    """
    for name, table, cols in (("transfer", transfer, ("source", "target", value)),
                              ("tasks", tasks, ("task",))):
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise ValueError(f"{name} table lacks column(s) {missing}")
    names = sorted(set(transfer["source"]) | set(transfer["target"]))
    unknown = sorted(set(names) - set(tasks["task"]))
    if unknown:
        raise ValueError(f"tasks table has no traits for {unknown}")
    if len(names) < 3:
        raise ValueError(f"relating traits needs >= 3 tasks, got {names}")
    index = {t: i for i, t in enumerate(names)}
    src = transfer["source"].map(index).to_numpy()
    tgt = transfer["target"].map(index).to_numpy()
    y = transfer[value].to_numpy(dtype=float)
    traits = tasks.set_index("task").reindex(names)
    candidates = []  # (trait, role, kind, function perm -> values)
    for col in traits.columns:
        if not np.issubdtype(traits[col].dtype, np.number):
            continue
        v = traits[col].to_numpy(dtype=float)
        kind = "surface" if col in SURFACE_TRAITS else "hidden"
        candidates.append((col, "source", kind, lambda p, v=v: v[p][src]))
        candidates.append((col, "target", kind, lambda p, v=v: v[p][tgt]))
    if pairs is not None:
        full = np.full((len(names), len(names)), np.nan)
        for col in pairs.columns.drop(["source", "target"], errors="ignore"):
            if not np.issubdtype(pairs[col].dtype, np.number):
                continue
            m = full.copy()
            ok = pairs["source"].isin(index) & pairs["target"].isin(index)
            m[pairs.loc[ok, "source"].map(index), pairs.loc[ok, "target"].map(index)] = pairs.loc[
                ok, col].to_numpy(dtype=float)
            kind = "surface" if col in SURFACE_TRAITS else "hidden"
            candidates.append((col, "pair", kind, lambda p, m=m: m[p[src], p[tgt]]))
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(names)) for _ in range(n_permutations)]
    identity = np.arange(len(names))
    rows = []
    for trait, role, kind, values in candidates:
        x = values(identity)
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 3 or np.ptp(x[ok]) == 0:
            rho, p_value = np.nan, np.nan
        else:
            rho = spearmanr(x[ok], y[ok]).statistic
            null = []
            for p in perms:
                xp = values(p)
                okp = np.isfinite(xp) & np.isfinite(y)
                null.append(spearmanr(xp[okp], y[okp]).statistic if okp.sum() >= 3 else 0.0)
            null = np.nan_to_num(np.abs(null))
            p_value = (1 + np.sum(null >= abs(rho) - 1e-12)) / (1 + len(perms))
        rows.append({"trait": trait, "role": role, "kind": kind, "rho": float(rho),
                     "p_value": float(p_value), "n_pairs": int(ok.sum())})
    out = pd.DataFrame(rows)
    return out.sort_values("rho", key=np.abs, ascending=False, ignore_index=True)


def relate_scores(scores: pd.DataFrame, tasks: pd.DataFrame, *, n_permutations: int = 999,
                  seed: int = 0) -> pd.DataFrame:
    """Spearman correlation of latent factor scores (or loadings) with per-task traits.

    Parameters
    ----------
    scores
        ``task x factor`` DataFrame, e.g. ``transfer_factors(...).scores`` (sources) or
        ``.loadings`` (targets).
    tasks
        Per-task traits with a ``task`` column.

    Returns
    -------
    pandas.DataFrame
        ``factor, trait, rho, p_value, n_tasks`` sorted by ``|rho|``; p-values permute traits
        across tasks.
    """
    if "task" not in tasks.columns:
        raise ValueError("tasks table lacks a 'task' column")
    unknown = sorted(set(scores.index) - set(tasks["task"]))
    if unknown:
        raise ValueError(f"tasks table has no traits for {unknown}")
    traits = tasks.set_index("task").reindex(scores.index)
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(scores)) for _ in range(n_permutations)]
    rows = []
    for factor in scores.columns:
        s = scores[factor].to_numpy(dtype=float)
        for trait in traits.columns:
            if not np.issubdtype(traits[trait].dtype, np.number):
                continue
            x = traits[trait].to_numpy(dtype=float)
            ok = np.isfinite(x) & np.isfinite(s)
            if ok.sum() < 3 or np.ptp(x[ok]) == 0:
                rho, p_value = np.nan, np.nan
            else:
                rho = spearmanr(x[ok], s[ok]).statistic
                null = np.abs([spearmanr(x[p][ok], s[ok]).statistic for p in perms])
                p_value = (1 + np.sum(np.nan_to_num(null) >= abs(rho) - 1e-12)) / (1 + len(perms))
            rows.append({"factor": factor, "trait": trait, "rho": float(rho),
                         "p_value": float(p_value), "n_tasks": int(ok.sum())})
    return pd.DataFrame(rows).sort_values("rho", key=np.abs, ascending=False, ignore_index=True)
