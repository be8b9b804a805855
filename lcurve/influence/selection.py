"""Data selection with MTIF: drop the auxiliary samples that harm a target task, retrain.

For one target task and seed: a random ``validation_fraction`` of the target's training labels
is held out as a validation set (never trained on); the network is fitted on the remaining
labels of all tasks; MTIF scores every *auxiliary* label (of the other tasks) by its predicted
effect on the target's validation loss; then, for each fraction ``f``, the ``f * n_aux`` most
harmful auxiliary labels (only those predicted harmful) are dropped and the network retrained
from the same initialisation. A random drop of the same number is the control. Test-set
metrics are only read at the end, so selection never sees the test labels.

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)
>>> out = drop_harmful(data, "task00", fractions=(0.2,), mtif_kwargs={"hidden": (4,),
...                    "steps": 200})
>>> sorted(out["variant"].unique())
['all', 'harmful', 'random']
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from lcurve.data import MultiTaskData
from lcurve.influence._fit import fit_arrays, task_test_auroc, task_test_losses, train_weighted
from lcurve.influence.mtif import MTIF

__all__ = ["drop_harmful"]


def _validation_split(data: MultiTaskData, k: int, fraction: float, seed: int):
    train = np.array(data.train_mask)
    members = np.flatnonzero(train[:, k])
    rng = np.random.default_rng([seed, k])
    n_val = max(1, int(round(fraction * len(members))))
    val = rng.choice(members, n_val, replace=False)
    evaluate = np.zeros_like(train)
    evaluate[val, k] = True
    train[val, k] = False
    return train, evaluate


def drop_harmful(data: MultiTaskData, target: str, *, fractions=(0.05, 0.1, 0.25),
                 validation_fraction: float = 0.3, seeds=(0,),
                 mtif_kwargs: dict | None = None) -> pd.DataFrame:
    """Drop the most harmful auxiliary labels for ``target`` and retrain (with a random control).

    Parameters
    ----------
    data
        Multi-task data.
    target
        The task to improve.
    fractions
        Fractions of the auxiliary labels to drop (each in (0, 1)).
    validation_fraction
        Share of the target's training labels held out to score influences on.
    seeds
        Replicates: each has its own validation split, initialisation and random control.
    mtif_kwargs
        Settings for :class:`~lcurve.influence.MTIF` (``hidden``, ``steps``, ``l2``...).

    Returns
    -------
    pandas.DataFrame
        ``seed, target, variant ("all" / "harmful" / "random"), fraction, n_dropped,
        val_loss, test_loss, test_auroc, delta_test_loss, delta_test_auroc`` (deltas against
        ``"all"`` of the same seed).
    """
    k = data.task_index(target)
    fractions = tuple(float(f) for f in fractions)
    if not fractions or any(not 0.0 < f < 1.0 for f in fractions):
        raise ValueError(f"fractions must be in (0, 1), got {list(fractions)}")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    kwargs = dict(mtif_kwargs or {})
    kwargs.pop("seed", None)
    rows = []
    for seed in seeds:
        train, evaluate = _validation_split(data, k, validation_fraction, int(seed))
        mtif = MTIF(data, seed=int(seed), train_mask=train, eval_mask=evaluate, **kwargs).fit()
        a = mtif.arrays_
        infl = mtif.sample_influence()
        aux = infl[(infl["target"] == target) & (infl["source"] != target)]
        aux = aux.sort_values("removal_effect", kind="stable")
        rng = np.random.default_rng([int(seed), k, 1])
        source_index = aux["source"].map({t: i for i, t in enumerate(data.tasks)}).to_numpy()
        cells = np.c_[aux["row"].to_numpy(), source_index]
        variants = [("all", 0.0, 0)]
        weights = [a.weights]
        for f in fractions:
            n_drop = min(int(round(f * len(aux))), int((aux["removal_effect"] < 0).sum()))
            for variant, chosen in (("harmful", cells[:n_drop]),
                                    ("random", cells[rng.choice(len(cells), n_drop, replace=False)])):
                w = a.weights.copy()
                w[chosen[:, 0], chosen[:, 1]] = 0.0
                weights.append(w)
                variants.append((variant, f, n_drop))
        weights += [a.weights] * (-len(weights) % mtif.run_bucket)  # fewer compiled shapes
        params, _, _ = train_weighted(mtif.model, a, np.stack(weights), mtif.key,
                                      steps=mtif.steps, learning_rate=mtif.learning_rate,
                                      l2=mtif.l2)
        test = fit_arrays(data, train_mask=train, eval_mask=data.test_mask)
        val_loss = np.asarray(jax.vmap(lambda p: task_test_losses(mtif.model, p, a))(params))
        test_loss = np.asarray(jax.vmap(lambda p: task_test_losses(mtif.model, p, test))(params))
        test_auroc = np.asarray(jax.vmap(lambda p: task_test_auroc(mtif.model, p, test))(params))
        for r, (variant, f, n_drop) in enumerate(variants):
            rows.append({"seed": int(seed), "target": target, "variant": variant, "fraction": f,
                         "n_dropped": n_drop, "val_loss": val_loss[r, k],
                         "test_loss": test_loss[r, k], "test_auroc": test_auroc[r, k],
                         "delta_test_loss": test_loss[r, k] - test_loss[0, k],
                         "delta_test_auroc": test_auroc[r, k] - test_auroc[0, k]})
    return pd.DataFrame(rows)
