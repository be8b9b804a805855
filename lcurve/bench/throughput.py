"""Training throughput: lcurve's vmapped trainer against what a user would otherwise run.

All contenders train the same nested-subsample runs of one task (same network, optimizer,
steps and batch size):

* ``lcurve``: :class:`lcurve.train.RunTrainer`, chunks of runs vmapped side by side;
* ``jax_loop``: the same JAX program for one run (``vmap_width=1``, ``chunk_size=1``), jitted
  once and called per run from a Python loop;
* ``sklearn``: :func:`sklearn.model_selection.learning_curve` with an ``MLPClassifier`` of the
  same architecture, Adam, batch size and (rounded) number of optimizer steps;
* ``torch``: a plain PyTorch loop, when torch is installed.

Throughput is in trained models per second (compilation excluded: each contender is warmed up
first, and its compile time reported separately). Achieved GFLOP/s counts the training matmul
FLOPs of the dense network (forward + backward ~ 3x the forward) and its test evaluation, and is
compared with the machine's measured float32 matmul peak.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.bench._measure import interleaved
from lcurve.config import TrainConfig
from lcurve.data import MultiTaskData
from lcurve.design import make_design, size_column
from lcurve.train import RunTrainer

__all__ = ["ThroughputSetup", "forward_flops", "matmul_peak_gflops", "measure_throughput",
           "training_flops"]


def matmul_peak_gflops(*, n: int = 2048, repeats: int = 10) -> float:
    """The best float32 GFLOP/s of an ``n x n`` JAX matmul on the default device."""
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    mm = jax.jit(jnp.matmul)
    mm(a, b).block_until_ready()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        mm(a, b).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def forward_flops(n_features: int, hidden, n_tasks: int) -> int:
    """Matmul FLOPs of one forward pass of one example through the trunk-and-heads MLP."""
    widths = [n_features, *hidden, n_tasks]
    return 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))


def training_flops(n_features: int, hidden, n_tasks: int, *, batch_size: int, steps: int,
                   n_test: int = 0, exact: bool = False) -> int:
    """FLOPs of training one run: ``3 x`` forward per example per step, plus test evaluation.

    ``exact=True`` drops the first layer's input gradient, which backprop never computes
    (the features need none): ``2 x`` forward for the first layer, ``3 x`` for the others.
    """
    per_example = forward_flops(n_features, hidden, n_tasks)
    train = 3 * per_example
    if exact:
        train -= 2 * n_features * (list(hidden) or [n_tasks])[0]
    return train * batch_size * steps + per_example * n_test


@dataclasses.dataclass(frozen=True, kw_only=True)
class ThroughputSetup:
    """What every contender trains: one task, its nested size grid and seeds, and the network."""

    task: str
    seeds: tuple[int, ...] = (0, 1)
    min_size: int = 32
    points_per_doubling: int = 2
    train: TrainConfig = TrainConfig()


def _design(data: MultiTaskData, setup: ThroughputSetup):
    return make_design(data, kind="single", seeds=list(setup.seeds), min_size=setup.min_size,
                       points_per_doubling=setup.points_per_doubling)


def _lcurve_runner(data, design, config: TrainConfig):
    """A zero-argument function training the whole design with a fresh-program RunTrainer."""
    trainer = RunTrainer(data, config, seeds=sorted(design["seed"].unique()))
    sizes = design[[size_column(t) for t in data.tasks]].to_numpy()
    seeds, run_ids = design["seed"].to_numpy(), design["run_id"].to_numpy()
    bucket = max(256, int(2 ** np.ceil(np.log2(sizes.sum(axis=1).max()))))

    def run():
        outs = []
        for start in range(0, len(design), trainer.chunk_size):
            sl = slice(start, start + trainer.chunk_size)
            outs.append(trainer.train_chunk(seeds[sl], run_ids[sl], sizes[sl],
                                            n_rows_bucket=bucket))
        return np.concatenate([o.auroc[:, 0] for o in outs])

    return run


def _sklearn_runner(data, design, config: TrainConfig, *, blas_threads: int = 1):
    """``learning_curve`` over the same sizes and nested orders, one split per seed."""
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
    return run, float(np.mean(steps_done))


def _torch_runner(data, design, config: TrainConfig):
    """A plain PyTorch loop over the same runs (None when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return None
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

    return run


def measure_throughput(data: MultiTaskData, setup: ThroughputSetup, *, repeats: int = 3,
                       peak_gflops: float | None = None, lcurve_configs: dict | None = None,
                       include=("lcurve", "jax_loop", "sklearn", "torch")) -> dict:
    """Train the same runs with every contender, interleaved ``repeats`` times.

    Parameters
    ----------
    data
        One-task data (``data.tasks == [setup.task]``).
    setup
        The runs and the network.
    lcurve_configs
        Extra vmapped-trainer variants ``name -> TrainConfig`` (e.g. other ``vmap_width``);
        ``lcurve`` itself uses ``setup.train``.

    Returns
    -------
    dict
        ``n_models``, ``flops_per_model``, ``peak_gflops`` and per contender ``seconds``
        (median), ``models_per_s``, ``gflops``, ``peak_fraction``, ``speedup_vs`` (the lcurve
        trainer's speed over this contender's), ``compile_s`` and all repeat times.
    """
    if data.n_tasks != 1:
        raise ValueError(f"throughput is measured on one task, got {data.n_tasks}: {data.tasks}")
    config = setup.train
    design = _design(data, setup)
    n_models = len(design)
    n_test = int(data.test_mask[:, 0].sum())
    flops = training_flops(data.n_features, config.hidden, 1, batch_size=config.batch_size,
                           steps=config.steps, n_test=n_test)
    flops_exact = training_flops(data.n_features, config.hidden, 1, exact=True,
                                 batch_size=config.batch_size, steps=config.steps, n_test=n_test)
    peaks = [peak_gflops if peak_gflops is not None else matmul_peak_gflops()]
    runners, compile_s, notes = {}, {}, {}
    variants = {"lcurve": config, **(lcurve_configs or {})}
    if "jax_loop" in include:
        variants["jax_loop"] = dataclasses.replace(config, chunk_size=1, vmap_width=1)
    for name, cfg in variants.items():
        if name != "lcurve" and name != "jax_loop" and "lcurve" not in include:
            continue
        runners[name] = _lcurve_runner(data, design, cfg)
    if "sklearn" in include:
        runners["sklearn"], sk_steps = _sklearn_runner(data, design, config)
        notes["sklearn"] = (f"mean optimizer steps per model {sk_steps:.0f} (whole epochs); "
                            "1 BLAS thread")
    if "torch" in include:
        torch_run = _torch_runner(data, design, config)
        if torch_run is None:
            notes["torch"] = "skipped: torch is not installed"
        else:
            runners["torch"] = torch_run
    for name, fn in runners.items():  # warm-up: compile and first-touch everything
        start = time.perf_counter()
        fn()
        compile_s[name] = time.perf_counter() - start
    times = interleaved(runners, repeats=repeats)
    peaks.append(matmul_peak_gflops())  # again after: the best of both, on a shared machine
    peak = max(peaks)
    base = float(np.median(times["lcurve"])) if "lcurve" in times else math.nan
    contenders = {}
    for name, ts in times.items():
        seconds = float(np.median(ts))
        rate = n_models / seconds
        gflops = flops * rate / 1e9
        contenders[name] = {
            "seconds": seconds, "models_per_s": rate, "gflops": gflops,
            "peak_fraction": gflops / peak, "gflops_exact": flops_exact * rate / 1e9,
            "peak_fraction_exact": flops_exact * rate / 1e9 / peak, "speedup_vs": base and seconds / base,
            "ratio_per_repeat": [t / b for t, b in zip(ts, times.get("lcurve", ts))],
            "first_call_s": compile_s[name], "repeat_s": ts,
            "note": notes.get(name, ""),
        }
    for name, note in notes.items():
        contenders.setdefault(name, {"note": note})
    return {
        "task": setup.task, "n_models": n_models, "steps": config.steps,
        "batch_size": config.batch_size, "hidden": list(config.hidden),
        "n_features": data.n_features, "n_test": n_test,
        "sizes": sorted(design[size_column(setup.task)].unique().tolist()),
        "seeds": list(setup.seeds), "flops_per_model": flops, "flops_exact_per_model": flops_exact,
        "peak_gflops": peak, "peak_gflops_measured": peaks,
        "repeats": repeats, "contenders": contenders,
    }
