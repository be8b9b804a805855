"""Outside contenders of lcurve's throughput benchmark: scikit-learn and PyTorch loops.

They live outside the installed package because they need scikit-learn and torch, which lcurve
itself does not (``pip install -e ".[test,bench]"`` brings both). Each factory trains the same
nested-subsample runs as :func:`lcurve.bench.measure_throughput` (same network, optimizer,
steps and batch size) and returns ``(run, note)``::

    from lcurve.bench import measure_throughput
    measure_throughput(data, setup, contenders=CONTENDERS)

``python experiments/benchmarks/run_bench.py`` runs ``lcurve bench`` with them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from lcurve.config import TrainConfig
from lcurve.design import size_column

__all__ = ["CONTENDERS", "sklearn_runner", "torch_runner"]


def sklearn_runner(data, design, config: TrainConfig, *, blas_threads: int = 1):
    """``learning_curve`` over the same sizes and nested orders, one split per seed.

    Returns ``(run, note)`` as :func:`lcurve.bench.measure_throughput` expects.
    """
    from sklearn.model_selection import learning_curve
    from threadpoolctl import threadpool_limits
    from sklearn.neural_network import MLPClassifier

    from lcurve.design import training_rows

    task = data.tasks[0]
    X = data.X.astype(np.float32)
    y = np.nan_to_num(data.Y[:, 0], nan=0.0).astype(int)
    test = np.flatnonzero(data.test_mask[:, 0])
    sizes = sorted(design[size_column(task)].unique().tolist())
    largest = max(sizes)
    # lcurve's own nested order of each seed: learning_curve takes the first n of the split
    cv = [(training_rows(data, s, {task: largest}), test) for s in sorted(design["seed"].unique())]

    class FixedStepsMLP(MLPClassifier):
        """An MLPClassifier that runs ~``steps`` Adam steps whatever the training-set size."""

        def __init__(self, hidden_layer_sizes=(128,), *, steps=300, batch_size=64,
                     learning_rate_init=1e-3, alpha=1e-4, random_state=0):
            super().__init__(hidden_layer_sizes=hidden_layer_sizes, solver="adam",
                             batch_size=batch_size, learning_rate_init=learning_rate_init,
                             alpha=alpha, random_state=random_state, max_iter=1, tol=0.0,
                             n_iter_no_change=10**9)
            self.steps = steps

        def fit(self, X, y):
            self.max_iter = max(1, round(self.steps / math.ceil(len(X) / self.batch_size)))
            return super().fit(X, y)

    estimator = FixedStepsMLP(tuple(config.hidden), steps=config.steps,
                              batch_size=config.batch_size,
                              learning_rate_init=config.learning_rate, alpha=config.weight_decay)

    def run():
        # One BLAS thread: on a loaded machine OpenBLAS's spin-waiting 2-thread pool was
        # 12x slower than 1 thread (measured; see experiments/benchmarks/RESULTS.md).
        with warnings.catch_warnings(), threadpool_limits(limits=blas_threads, user_api="blas"):
            warnings.simplefilter("ignore")
            _, _, scores = learning_curve(estimator, X, y, train_sizes=sizes, cv=cv,
                                          scoring="roc_auc", n_jobs=1, shuffle=False)
        return scores

    steps_done = [max(1, round(config.steps / math.ceil(n / config.batch_size)))
                  * math.ceil(n / config.batch_size) for n in sizes]
    return run, (f"mean optimizer steps per model {np.mean(steps_done):.0f} (whole epochs); "
                 "1 BLAS thread")


def torch_runner(data, design, config: TrainConfig):
    """A plain PyTorch loop over the same runs; ``(None, note)`` when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None, "skipped: torch is not installed (pip install -e '.[bench]')"
    from lcurve.design import training_rows

    torch.set_num_threads(max(1, len(__import__("os").sched_getaffinity(0))))
    task = data.tasks[0]
    X = torch.from_numpy(data.X.astype(np.float32))
    y = torch.from_numpy(np.nan_to_num(data.Y[:, 0], nan=0.0).astype(np.float32))
    test = torch.from_numpy(np.flatnonzero(data.test_mask[:, 0]))
    runs = [(int(s), int(n)) for s, n in zip(design["seed"], design[size_column(task)])]

    def run():
        out = []
        for seed, n in runs:
            torch.manual_seed(seed * 100_003 + n)
            rows = torch.from_numpy(training_rows(data, seed, {task: n}).astype(np.int64))
            layers, width = [], data.n_features
            for h in config.hidden:
                layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
                width = h
            net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))
            opt = torch.optim.AdamW(net.parameters(), lr=config.learning_rate,
                                    weight_decay=config.weight_decay)
            loss_fn = torch.nn.BCEWithLogitsLoss()
            for _ in range(config.steps):
                pick = rows[torch.randint(len(rows), (config.batch_size,))]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(net(X[pick]).squeeze(1), y[pick])
                loss.backward()
                opt.step()
            with torch.no_grad():
                out.append(net(X[test]).squeeze(1).numpy())
        return out

    return run, ""


#: Name -> runner factory, for ``measure_throughput(..., contenders=CONTENDERS)``.
CONTENDERS = {"sklearn": sklearn_runner, "torch": torch_runner}
