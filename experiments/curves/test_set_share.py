"""How much of a run's test-set sampling error is common to all runs of a MoleculeACE target?

Every run of a target (any training size, any seed) is scored on that target's one fixed test
set, so the test-set sampling error of its AUROC (the Hanley-McNeil variance) is partly shared
by all of them: two runs that rank the same test compounds well or badly both move up or down
when the test set happens to hold more easy or hard compounds. The curve fits treat each
run's test noise as independent; this script measures the shared part.

For each target (the 8 of ``make_moleculeace_sweep.py``) it trains single-task MLPs (hidden
64, AdamW at 1e-3 with weight decay 1e-4, batch 64, binary cross-entropy) on nested random
subsamples of the training labels (sizes 64..2,048 capped at the labels available, one
permutation per seed, prefixes of it), a fixed step budget per size (50 up to 256, 100 at 512
and 1,024, 200 at 2,048: the median best step counts of this network), and keeps each run's
test-set scores. It then draws ``--boot`` stratified bootstrap resamples of the test set
(positives and negatives resampled separately, so their counts stay fixed), the same
resamples for every run of the target, scores every run's AUROC on each, and from the
(runs x runs) covariance of those AUROCs reports the common-factor share

    rho = mean off-diagonal covariance / mean variance,

over all run pairs (``rho_all``), over pairs of the same size and different seeds
(``rho_same``), and by the size ratio of the two runs (``r1``, ``r2``, ``r4``, ``r8+``; ``r1``
is the same pairs as ``rho_same``); ``nested`` and ``cross`` split the pairs of different sizes
into same seed (the smaller subsample is inside the larger) and different seeds;
``same_<n>`` is ``rho_same`` at each size ``n`` alone (``--seeds 0 1 2 3``: six pairs per
size). For a subset
of pairs the denominator is the mean over those pairs of the two runs' mean variance. It also
compares the mean bootstrap variance with the Hanley-McNeil variance at each run's AUROC
(``boot/HM``), to check HM's scale. The table is written to
``experiments/curves/lfo_runs/test_set_share.csv``. With ``same_<n>`` at two sizes or more it
also fits the share's dependence on size, a least-squares line through the logits of the
targets' mean ``same_<n>`` against ``log(n / 100)`` (:func:`share_by_size_fit`): the share at
100 samples and the slope that ``FitConfig.test_share="by_size"`` uses
(``lcurve.curves.fit.TEST_SHARED_AT_REF``, ``TEST_SHARE_SLOPE``). ``--summarise CSV`` prints
that fit from a table written before, without training. Usage::

    nice -n 5 python experiments/curves/test_set_share.py [--boot 2000] [--seeds 0 1] [--out CSV]
    cd experiments/curves && python test_set_share.py --summarise lfo_runs/test_set_share_by_size.csv
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from scipy.stats import rankdata

sys.path.insert(0, str(Path(__file__).parent))
from make_moleculeace_sweep import TARGETS  # noqa: E402

from lcurve.config import DataConfig  # noqa: E402
from lcurve.curves.model import test_share_at  # noqa: E402
from lcurve.datasets import load_data  # noqa: E402
from lcurve.train.model import MultiTaskMLP  # noqa: E402

SIZES = (64, 128, 256, 512, 1024, 2048)
BATCH = 64
LEARNING_RATE, WEIGHT_DECAY = 1e-3, 1e-4
OUT = Path(__file__).parent / "lfo_runs" / "test_set_share.csv"
MODEL = MultiTaskMLP(hidden=(64,), n_tasks=1)
OPTIMIZER = optax.adamw(LEARNING_RATE, weight_decay=WEIGHT_DECAY)
RATIO_BUCKETS = {"r1": 0, "r2": 1, "r4": 2, "r8+": 3}  # round(log2(size ratio)), last: >=


def step_budget(n: int) -> int:
    """Optimizer steps at training size ``n`` (the median best step counts of this network)."""
    return 50 if n <= 256 else 100 if n <= 1024 else 200


def _train_one(key, X, y, rows, n, X_test, steps):
    """Train on ``rows[:n]`` for ``steps`` minibatches drawn with replacement; test logits."""
    init_key, batch_key = jax.random.split(key)
    params = MODEL.init(init_key, jnp.zeros((1, X.shape[1]), jnp.float32))

    def loss(params, xb, yb):
        return optax.sigmoid_binary_cross_entropy(MODEL.apply(params, xb)[:, 0], yb).mean()

    def step(t, carry):
        params, opt_state = carry
        batch = rows[jax.random.randint(jax.random.fold_in(batch_key, t), (BATCH,), 0, n)]
        grads = jax.grad(loss)(params, X[batch].astype(jnp.float32), y[batch])
        updates, opt_state = OPTIMIZER.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    params, _ = jax.lax.fori_loop(0, steps, step, (params, OPTIMIZER.init(params)))
    return MODEL.apply(params, X_test.astype(jnp.float32))[:, 0]


#: one run per seed (vmapped over the keys and each seed's permutation); ``steps`` is static
train_seeds = jax.jit(jax.vmap(_train_one, in_axes=(0, None, None, 0, None, None, None)),
                      static_argnums=6)


def auroc(scores: np.ndarray, n_pos: int) -> np.ndarray:
    """Rank AUROC (ties averaged) along the last axis; the first ``n_pos`` columns are positives."""
    ranks = rankdata(scores, axis=-1)
    n_neg = scores.shape[-1] - n_pos
    return (ranks[..., :n_pos].sum(-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def hanley_mcneil_var(a: np.ndarray, n_pos: int, n_neg: int) -> np.ndarray:
    """Hanley & McNeil (1982) variance of an AUROC ``a`` from ``n_pos`` positives, ``n_neg``
    negatives."""
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    return (a * (1 - a) + (n_pos - 1) * (q1 - a**2) + (n_neg - 1) * (q2 - a**2)) / (n_pos * n_neg)


def target_runs(data, task: str, seeds: list[int]) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Train every (size, seed) run of ``task``: (runs table, test scores (runs, n_test) with
    the positives first, n_pos)."""
    k = data.task_index(task)
    ids = np.asarray(data.compound_ids)
    train_rows = np.flatnonzero(data.train_mask[:, k])
    train_rows = train_rows[np.argsort(ids[train_rows], kind="stable")]  # same for any --targets
    test_rows = np.flatnonzero(data.test_mask[:, k])
    y_test = data.Y[test_rows, k]
    test_rows = np.concatenate([test_rows[y_test == 1], test_rows[y_test == 0]])
    n_pos = int((y_test == 1).sum())
    X = jnp.asarray(data.X)
    y = jnp.asarray(np.nan_to_num(data.Y[:, k]).astype(np.float32))
    X_test = jnp.asarray(data.X[test_rows])
    perms = jnp.asarray(np.stack(
        [train_rows[np.random.default_rng(seed).permutation(len(train_rows))] for seed in seeds]))
    keys = jnp.stack([jax.random.key(seed) for seed in seeds])
    sizes = sorted({min(n, len(train_rows)) for n in SIZES})
    runs, scores = [], []
    for n in sizes:
        logits = np.asarray(train_seeds(keys, X, y, perms, n, X_test, step_budget(n)))
        for seed, s in zip(seeds, logits):
            runs.append({"size": n, "seed": seed})
            scores.append(s)
    return pd.DataFrame(runs), np.stack(scores), n_pos


def bootstrap_aucs(scores: np.ndarray, n_pos: int, n_boot: int, seed: int) -> np.ndarray:
    """(runs, n_boot) AUROCs on stratified resamples of the test set, the same for every run."""
    rng = np.random.default_rng(seed)
    n_neg = scores.shape[1] - n_pos
    idx = np.concatenate([rng.integers(0, n_pos, (n_boot, n_pos)),
                          n_pos + rng.integers(0, n_neg, (n_boot, n_neg))], axis=1)
    return np.stack([auroc(s[idx], n_pos) for s in scores])


def shares(runs: pd.DataFrame, cov: np.ndarray) -> dict[str, float]:
    """Common-factor share of the AUROC error over all run pairs and over subsets of them."""
    var = np.diag(cov)
    size, seed = runs["size"].to_numpy(), runs["seed"].to_numpy()
    i, j = np.triu_indices(len(runs), k=1)
    log_ratio = np.rint(np.log2(np.maximum(size[i], size[j]) / np.minimum(size[i], size[j])))

    def share(keep: np.ndarray) -> float:
        if not keep.any():
            return float("nan")
        return float(cov[i[keep], j[keep]].mean() / ((var[i[keep]] + var[j[keep]]) / 2).mean())

    out = {"rho_all": share(np.ones_like(i, dtype=bool)),
           "rho_same": share((size[i] == size[j]) & (seed[i] != seed[j]))}
    for name, r in RATIO_BUCKETS.items():
        out[name] = share(log_ratio >= r if name.endswith("+") else log_ratio == r)
    out["nested"] = share((size[i] != size[j]) & (seed[i] == seed[j]))
    out["cross"] = share((size[i] != size[j]) & (seed[i] != seed[j]))
    for n in np.unique(size):  # rho_same at each size: do larger runs share more?
        out[f"same_{int(n)}"] = share((size[i] == n) & (size[j] == n) & (seed[i] != seed[j]))
    return out


def share_by_size_fit(table: pd.DataFrame) -> tuple[float, float, pd.DataFrame]:
    """The share at 100 samples and the slope of its logit in ``log(n / 100)``, by least
    squares through the logits of the ``mean`` row's ``same_<n>`` (the targets' mean share
    of two seeds' same-size runs at each size ``n``), and a table of the measured and fitted
    share per size."""
    cols = [c for c in table.columns if c.startswith("same_")]
    if len(cols) < 2:
        raise ValueError("a fit by size needs same_<n> at two sizes or more (run with "
                         "--seeds 0 1 2 3)")
    sizes = np.array([int(c.split("_")[1]) for c in cols], float)
    share = table.loc["mean", cols].to_numpy(float)
    if not ((share > 0) & (share < 1)).all():
        raise ValueError(f"the mean shares must lie in (0, 1) to fit their logits: {share}")
    x = np.log(sizes / 100)
    slope, intercept = np.polyfit(x, np.log(share / (1 - share)), 1)
    fitted = 1 / (1 + np.exp(-(intercept + slope * x)))
    return (float(1 / (1 + np.exp(-intercept))), float(slope),
            pd.DataFrame({"measured": share, "fitted": fitted}, index=sizes.astype(int)))


def print_share_by_size(table: pd.DataFrame) -> None:
    """Print :func:`share_by_size_fit` where the table has shares by size."""
    if sum(c.startswith("same_") for c in table.columns) < 2:
        return
    at_ref, slope, by_size = share_by_size_fit(table)
    print(f"\nshare by size: logit(share) = logit({at_ref:.3f}) + {slope:.3f} log(n / 100)")
    print(by_size.T.to_string(float_format=lambda v: f"{v:.3f}"))
    below = np.array([16.0, 32.0])  # where the fit extrapolates: the curves' smallest runs
    fitted = np.asarray(test_share_at(below, at_ref, slope))  # the library's logistic
    print("fitted below the measured sizes: "
          + ", ".join(f"{int(n)}: {v:.3f}" for n, v in zip(below, fitted)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boot", type=int, default=2000, help="bootstrap resamples per target")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS))
    parser.add_argument("--out", type=Path, default=OUT, help=f"the table (default {OUT})")
    parser.add_argument("--summarise", type=Path, metavar="CSV",
                        help="print the share-by-size fit of a table written before")
    args = parser.parse_args()
    if args.summarise is not None:
        print_share_by_size(pd.read_csv(args.summarise, index_col="target"))
        return

    start = time.perf_counter()
    data = load_data(DataConfig(source="moleculeace", tasks=tuple(args.targets)))
    rows = []
    for t, task in enumerate(args.targets):
        runs, scores, n_pos = target_runs(data, task, args.seeds)
        n_test = scores.shape[1]
        runs["auc"] = auroc(scores, n_pos)
        boot = bootstrap_aucs(scores, n_pos, args.boot, seed=t)
        cov = np.cov(boot)
        hm = hanley_mcneil_var(runs["auc"].to_numpy(), n_pos, n_test - n_pos)
        curve = runs.groupby("size")["auc"].mean()
        n_train = int(data.train_mask[:, data.task_index(task)].sum())
        print(f"{task}: n_train {n_train}, n_test {n_test}, n_pos {n_pos}; AUROC by size "
              + " ".join(f"{n}:{a:.3f}" for n, a in curve.items())
              + f"; boot var {np.diag(cov).mean():.2e}, HM var {hm.mean():.2e}"
              + f" ({time.perf_counter() - start:.0f} s)", flush=True)
        rows.append({"target": task, "n_test": n_test, "n_pos": n_pos, **shares(runs, cov),
                     "boot/HM": float(np.diag(cov).mean() / hm.mean())})

    table = pd.DataFrame(rows).set_index("target").astype(float)
    table = table[[c for c in table.columns if not c.startswith("same_")]
                  + sorted((c for c in table.columns if c.startswith("same_")),
                           key=lambda c: int(c.split("_")[1]))]
    table.loc["mean"] = table.mean()
    table[["n_test", "n_pos"]] = table[["n_test", "n_pos"]].round().astype(int)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.round(4).to_csv(args.out)
    print(f"\ncommon-factor share rho of the test-set AUROC error ({args.boot} stratified "
          f"bootstrap resamples, seeds {args.seeds}):")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print_share_by_size(table)
    print(f"\nwrote {args.out} ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
