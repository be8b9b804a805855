"""Training throughput: lcurve's vmapped trainer against what a user would otherwise run.

All contenders train the same nested-subsample runs of one task (same network, optimizer,
steps and batch size):

* ``lcurve``: :class:`lcurve.train.RunTrainer`, chunks of runs vmapped side by side;
* ``jax_loop``: the same JAX program for one run (``vmap_width=1``, ``chunk_size=1``), jitted
  once and called per run from a Python loop;
* outside contenders passed in as runner factories (``contenders=``): the scikit-learn
  ``learning_curve`` and PyTorch loops live outside the installed package, in
  ``experiments/benchmarks/contenders.py`` (they need sklearn / torch, which lcurve does not).

Throughput is in trained models per second (compilation excluded: each contender is warmed up
first, and its compile time reported separately). Achieved GFLOP/s counts the training matmul
FLOPs of the dense network (forward + backward ~ 3x the forward) and its test evaluation, and is
compared with the machine's measured float32 matmul peak.
"""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import jax.numpy as jnp
import numpy as np

from lcurve.bench._measure import interleaved
from lcurve.bench.scaling import train_design
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
    train: TrainConfig = TrainConfig(stopping="fixed", objective="pooled", batches="uniform")


def _design(data: MultiTaskData, setup: ThroughputSetup):
    return make_design(data, kind="single", seeds=list(setup.seeds), min_size=setup.min_size,
                       points_per_doubling=setup.points_per_doubling)


def _lcurve_runner(data, design, config: TrainConfig):
    """A zero-argument function training the whole design with a RunTrainer.

    Its program comes from the process-wide compile cache (:func:`lcurve.train.compiled`), so
    ``first_call_s`` includes compilation only the first time a configuration is seen in the
    process.
    """
    trainer = RunTrainer(data, config, seeds=sorted(design["seed"].unique()))

    def run():
        return train_design(trainer, design, data.tasks)[:, 0]

    return run


def measure_throughput(data: MultiTaskData, setup: ThroughputSetup, *, repeats: int = 3,
                       peak_gflops: float | None = None, lcurve_configs: dict | None = None,
                       include=("lcurve", "jax_loop"), contenders: dict | None = None) -> dict:
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
    include
        Which of lcurve's own contenders run: ``"lcurve"`` and ``"jax_loop"``.
    contenders
        Outside contenders, ``name -> factory(data, design, config)`` returning
        ``(run, note)``: a zero-argument function training the same runs (or ``None`` when it
        cannot run here, ``note`` then says why) and a note for the table.

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
    for name, factory in (contenders or {}).items():
        run, notes[name] = factory(data, design, config)
        if run is not None:
            runners[name] = run
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
