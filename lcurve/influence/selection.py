"""Data selection with MTIF: drop the auxiliary samples that harm a target task, retrain.

For one target task and seed (a nested split, so no choice ever sees the test labels):

1. a random ``validation_fraction`` of the target's training labels is held out as a
   validation set (never trained on);
2. the L2 strength is chosen from ``l2_grid`` by the target's validation loss of networks
   fitted on the remaining labels of all tasks;
3. with that L2, MTIF scores every *auxiliary* label (of the other tasks) by its predicted
   effect on the target's validation loss;
4. for each fraction ``f``, the ``f * n_aux`` most harmful auxiliary labels (only those predicted
   harmful) are dropped and the network retrained from the same initialisation; ``n_random``
   random drops of the same number are the control;
5. ``harmful@val`` is the drop fraction (0 included) with the lowest validation loss;
   only then are the test metrics read.

Example
-------
>>> from lcurve.config import TrainConfig
>>> from lcurve.datasets import make_synthetic
>>> from lcurve.influence.config import InfluenceConfig
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=200, n_features=8, seed=0)
>>> train = TrainConfig(hidden=(4,), steps=1500, learning_rate=0.02, weight_decay=0.0)
>>> loose = InfluenceConfig(max_grad_norm=0.03)  # a 4-unit ReLU net stops near kinks
>>> out = drop_harmful(data, "task00", train=train, influence=loose, fractions=(0.2,),
...                    l2_grid=(0.01,))
>>> sorted(out["variant"].unique())
['all', 'harmful', 'harmful@val', 'random']
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pandas as pd

from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.influence._fit import fit_arrays, task_test_auroc, task_test_losses, train_weighted
from lcurve.influence.config import InfluenceConfig
from lcurve.influence.mtif import MTIF, DEFAULT_TRAIN

__all__ = ["choose_l2", "drop_harmful"]


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


def choose_l2(data: MultiTaskData, target: str, *, train_mask, eval_mask, l2_grid,
              train: TrainConfig, influence: InfluenceConfig) -> tuple[float, np.ndarray]:
    """The L2 of ``l2_grid`` with the lowest ``target`` loss on ``eval_mask`` labels (fits on
    ``train_mask``, one vmapped program); returns it and the loss of every grid value."""
    k = data.task_index(target)
    grid = np.asarray(l2_grid, np.float32)
    arrays = fit_arrays(data, train_mask=train_mask, eval_mask=eval_mask,
                        weighting=influence.weighting)
    weights = np.broadcast_to(arrays.weights, (len(grid), *arrays.weights.shape))
    model = MTIF(data, train=train, influence=influence).model
    params, _, _ = train_weighted(model, arrays, weights, jax.random.key(influence.seed),
                                  steps=train.steps, learning_rate=train.learning_rate, l2=grid)
    losses = np.asarray(jax.vmap(lambda p: task_test_losses(model, p, arrays))(params))[:, k]
    return float(tuple(l2_grid)[int(np.argmin(losses))]), losses


def drop_harmful(data: MultiTaskData, target: str, *, train: TrainConfig | None = None,
                 influence: InfluenceConfig | None = None, fractions=(0.05, 0.1, 0.25),
                 validation_fraction: float = 0.3, seeds=(0,), l2_grid=(1e-3, 1e-2, 1e-1),
                 n_random: int = 2) -> pd.DataFrame:
    """Drop the most harmful auxiliary labels for ``target`` and retrain (with random controls).

    Parameters
    ----------
    data
        Multi-task data.
    target
        The task to improve.
    train, influence
        Network/training and influence settings (``influence.l2`` is replaced by the choice
        from ``l2_grid``; ``influence.seed`` is replaced by each replicate's seed).
    fractions
        Fractions of the auxiliary labels to drop (each in (0, 1)).
    validation_fraction
        Share of the target's training labels held out to choose L2 and the fraction and to
        score influences on.
    seeds
        Replicates: each has its own validation split, initialisation and random controls.
    l2_grid
        Candidate L2 strengths (chosen on the validation labels, before any test metric).
    n_random
        Random drops of the same size per fraction and seed (the control).

    Returns
    -------
    pandas.DataFrame
        ``seed, target, l2, variant ("all" / "harmful" / "random" / "harmful@val"), fraction,
        draw, n_dropped, val_loss, test_loss, test_auroc, delta_test_loss, delta_test_auroc``
        (deltas against ``"all"`` of the same seed).
    """
    train = DEFAULT_TRAIN if train is None else train
    influence = InfluenceConfig() if influence is None else influence
    k = data.task_index(target)
    fractions = tuple(float(f) for f in fractions)
    if not fractions or any(not 0.0 < f < 1.0 for f in fractions):
        raise ValueError(f"fractions must be in (0, 1), got {list(fractions)}")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    if not l2_grid or n_random < 1:
        raise ValueError(f"l2_grid must be non-empty and n_random >= 1, got {list(l2_grid)}, "
                         f"{n_random}")
    rows = []
    for seed in seeds:
        trained, evaluate = _validation_split(data, k, validation_fraction, int(seed))
        config = dataclasses.replace(influence, seed=int(seed))
        l2, _ = choose_l2(data, target, train_mask=trained, eval_mask=evaluate,
                          l2_grid=l2_grid, train=train, influence=config)
        config = dataclasses.replace(config, l2=l2)
        mtif = MTIF(data, train=train, influence=config, train_mask=trained,
                    eval_mask=evaluate).fit()
        a = mtif.arrays_
        infl = mtif.sample_influence()
        aux = infl[(infl["target"] == target) & (infl["source"] != target)]
        aux = aux.sort_values("removal_effect", kind="stable")
        rng = np.random.default_rng([int(seed), k, 1])
        source_index = aux["source"].map({t: i for i, t in enumerate(data.tasks)}).to_numpy()
        cells = np.c_[aux["row"].to_numpy(), source_index]
        variants = [("all", 0.0, 0, 0)]
        weights = [a.weights]
        for f in fractions:
            n_drop = min(int(round(f * len(aux))), int((aux["removal_effect"] < 0).sum()))
            chosen = [("harmful", 0, cells[:n_drop])]
            chosen += [("random", d, cells[rng.choice(len(cells), n_drop, replace=False)])
                       for d in range(n_random)]
            for variant, draw, picked in chosen:
                w = a.weights.copy()
                w[picked[:, 0], picked[:, 1]] = 0.0
                weights.append(w)
                variants.append((variant, f, draw, n_drop))
        n_runs = len(weights)
        weights += [a.weights] * (-n_runs % mtif.run_bucket)  # fewer compiled shapes
        params, _, _ = train_weighted(mtif.model, a, np.stack(weights), mtif.key,
                                      steps=train.steps, learning_rate=train.learning_rate,
                                      l2=l2)
        test = fit_arrays(data, train_mask=trained, eval_mask=data.test_mask)
        val_loss = np.asarray(jax.vmap(lambda p: task_test_losses(mtif.model, p, a))(params))
        test_loss = np.asarray(jax.vmap(lambda p: task_test_losses(mtif.model, p, test))(params))
        test_auroc = np.asarray(jax.vmap(lambda p: task_test_auroc(mtif.model, p, test))(params))
        candidates = [r for r, v in enumerate(variants) if v[0] in ("all", "harmful")]
        best = min(candidates, key=lambda r: val_loss[r, k])
        variants.append(("harmful@val", variants[best][1], 0, variants[best][3]))
        for r, (variant, f, draw, n_drop) in enumerate(variants):
            run = best if variant == "harmful@val" else r
            rows.append({"seed": int(seed), "target": target, "l2": l2, "variant": variant,
                         "fraction": f, "draw": draw, "n_dropped": n_drop,
                         "val_loss": float(val_loss[run, k]),
                         "test_loss": float(test_loss[run, k]),
                         "test_auroc": float(test_auroc[run, k]),
                         "delta_test_loss": float(test_loss[run, k] - test_loss[0, k]),
                         "delta_test_auroc": float(test_auroc[run, k] - test_auroc[0, k])})
    return pd.DataFrame(rows)
