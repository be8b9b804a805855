"""How a sweep's cost grows: with runs, with tasks, against TAG, and over devices.

* :func:`scale_runs`: wall time and peak RSS of training ``n`` runs (16 -> 1024) with one warm
  :class:`~lcurve.train.RunTrainer`; compiled once, chunks of a fixed shape.
* :func:`scale_tasks`: a contextual design (every target with all other tasks as context) on
  the first ``k`` MoleculeACE tasks (4 -> 30); a new data shape compiles once per ``k``.
* :func:`tag_vs_curves`: TAG (:func:`lcurve.affinity.tag.tag_affinity`) against the full
  learning-curve sweep and the fast sweep on the same data, same network and steps per model.
* :func:`device_scaling`: the run axis sharded over ``N`` forced CPU host devices, each ``N``
  in a fresh subprocess (``XLA_FLAGS=--xla_force_host_platform_device_count=N``); checks the
  results are bit-identical for every ``N``.

Growth laws are least-squares slopes in log-log (:func:`~lcurve.bench._measure.growth_exponent`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np

from lcurve.bench._measure import PeakRSS, growth_exponent
from lcurve.config import TrainConfig
from lcurve.design import make_design, size_column

__all__ = ["device_scaling", "scale_runs", "scale_tasks", "tag_vs_curves", "train_design"]


def train_design(trainer, design, tasks, *, bucket: int | None = None):
    """Train every run of ``design`` in chunks; returns the concatenated AUROC ``(runs, tasks)``.

    ``bucket`` (the padded compound-list length) defaults to :func:`lcurve.train.row_bucket`
    of the largest run's summed task sizes, an upper bound on its training rows."""
    from lcurve.train import row_bucket

    sizes = design[[size_column(t) for t in tasks]].to_numpy()
    seeds, run_ids = design["seed"].to_numpy(), design["run_id"].to_numpy()
    bucket = bucket or row_bucket(int(sizes.sum(axis=1).max()))
    outs = []
    for start in range(0, len(design), trainer.chunk_size):
        sl = slice(start, start + trainer.chunk_size)
        outs.append(trainer.train_chunk(seeds[sl], run_ids[sl], sizes[sl], n_rows_bucket=bucket))
    return np.concatenate([o.auroc for o in outs])


def scale_runs(data, *, n_runs=(16, 64, 256, 1024), config: TrainConfig) -> dict:
    """Wall time and peak RSS rise of training ``n`` runs of a single-task design on ``data``."""
    from lcurve.train import RunTrainer

    largest = max(n_runs)
    seeds, design = [0], None
    while design is None or len(design) < largest:
        seeds = list(range(len(seeds) * 2)) if design is not None else seeds
        design = make_design(data, kind="single", seeds=seeds, min_size=32)
    trainer = RunTrainer(data, config, seeds=seeds)
    bucket = max(256, int(2 ** np.ceil(np.log2(max(data.n_train().values())))))
    train_design(trainer, design.iloc[:1], data.tasks, bucket=bucket)  # compile
    rows = []
    for n in n_runs:
        with PeakRSS() as mem:
            start = time.perf_counter()
            train_design(trainer, design.iloc[:n], data.tasks, bucket=bucket)
            seconds = time.perf_counter() - start
        rows.append({"n_runs": n, "seconds": seconds, "runs_per_s": n / seconds,
                     "peak_rss_rise_mb": mem.peak_mb, "peak_rss_mb": mem.peak_total_mb})
    full = [r for r in rows if r["n_runs"] >= trainer.chunk_size]  # no padded chunk slots
    return {"rows": rows, "n_compiles": trainer.n_compiles, "chunk_size": trainer.chunk_size,
            "time_exponent": growth_exponent(n_runs, [r["seconds"] for r in rows]),
            "time_exponent_full_chunks": growth_exponent([r["n_runs"] for r in full],
                                                         [r["seconds"] for r in full]),
            "memory_exponent": growth_exponent(n_runs, [r["peak_rss_mb"] for r in rows])}


def scale_tasks(everything, *, n_tasks=(4, 8, 16, 30), config: TrainConfig,
                size: int = 64) -> dict:
    """Contextual runs (one per target, all other tasks as context) on the first ``k`` tasks."""
    from lcurve.train import RunTrainer

    rows = []
    for k in n_tasks:
        with PeakRSS() as mem:
            start = time.perf_counter()
            data = everything.select_tasks(everything.tasks[:k])
            design = make_design(data, kind="contextual", seeds=[0], min_size=size,
                                 max_size=size, context_fraction=1.0, include_single=False)
            trainer = RunTrainer(data, config, seeds=[0])
            train_design(trainer, design.iloc[:1], data.tasks)  # compile
            compiled = time.perf_counter()
            train_design(trainer, design, data.tasks)
            end = time.perf_counter()
        n_rows = int(design[[size_column(t) for t in data.tasks]].to_numpy().sum(1).max())
        rows.append({"n_tasks": k, "n_runs": len(design), "max_labels_per_run": n_rows,
                     "n_test_compounds": int(data.test_mask.any(1).sum()),
                     "compile_and_load_s": compiled - start, "train_s": end - compiled,
                     "s_per_run": (end - compiled) / len(design),
                     "peak_rss_rise_mb": mem.peak_mb, "peak_rss_mb": mem.peak_total_mb})
    x = [r["n_tasks"] for r in rows]
    return {"rows": rows,
            "train_time_exponent": growth_exponent(x, [r["train_s"] for r in rows]),
            "per_run_time_exponent": growth_exponent(x, [r["s_per_run"] for r in rows]),
            "memory_exponent": growth_exponent(x, [r["peak_rss_mb"] for r in rows])}


def tag_vs_curves(data, *, config: TrainConfig, every: int = 10, seeds=(0,),
                  min_size: int = 32) -> dict:
    """Wall time and optimizer steps: TAG vs full and fast learning-curve sweeps (pairs)."""
    from lcurve.affinity.tag import TagConfig, tag_affinity
    from lcurve.sweep import run_fast_sweep
    from lcurve.sweep import run_sweep

    design = make_design(data, kind="pairs", seeds=list(seeds), min_size=min_size,
                         points_per_doubling=1)
    tag_cfg = TagConfig(hidden=tuple(config.hidden), steps=config.steps, every=every,
                        batch_size=config.batch_size, seeds=tuple(seeds))
    start = time.perf_counter()
    tag = tag_affinity(data, tag_cfg)
    tag_s = time.perf_counter() - start
    start = time.perf_counter()
    full = run_sweep(data, design, config, progress=False)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    fast = run_fast_sweep(data, design, config, progress=False)
    fast_s = time.perf_counter() - start
    full_steps = len(design) * config.steps
    return {"n_tasks": data.n_tasks, "n_runs": len(design), "steps": config.steps,
            "tag": {"seconds": tag_s, "train_steps": tag.attrs["train_steps"],
                    "lookahead_steps": tag.attrs["lookahead_steps"]},
            "curves_full": {"seconds": full_s, "train_steps": full_steps},
            "curves_fast": {"seconds": fast_s, "train_steps": fast.attrs["train_steps"]},
            "full_over_tag_time": full_s / tag_s, "fast_over_tag_time": fast_s / tag_s,
            "full_over_tag_steps": full_steps / (tag.attrs["train_steps"]
                                                 + tag.attrs["lookahead_steps"])}


_DEVICE_SCRIPT = r"""
import json, sys, time, hashlib
import jax, numpy as np
from lcurve.config import TrainConfig
from lcurve.datasets import load_moleculeace, make_synthetic
from lcurve.design import make_design
from lcurve.train import RunTrainer
from lcurve.bench.scaling import train_design
spec = json.loads(sys.argv[1])
data = (make_synthetic(n_tasks=2, n_compounds=300, n_features=64)[0] if spec["synthetic"]
        else load_moleculeace(spec["tasks"]))
design = make_design(data, kind="single", seeds=spec["seeds"], min_size=32).iloc[:spec["n_runs"]]
cfg = TrainConfig(**spec["train"])
trainer = RunTrainer(data, cfg, seeds=spec["seeds"])
start = time.perf_counter(); out = train_design(trainer, design, data.tasks)
first = time.perf_counter() - start
times = []
for _ in range(spec["repeats"]):
    start = time.perf_counter(); out = train_design(trainer, design, data.tasks)
    times.append(time.perf_counter() - start)
print(json.dumps({"n_devices": len(jax.devices()), "first_call_s": first, "repeat_s": times,
                  "result_sha": hashlib.sha256(np.nan_to_num(out, nan=-1.0).tobytes()).hexdigest()}))
"""


def device_scaling(*, n_devices=(1, 2, 4), tasks, seeds=(0,), n_runs: int = 32,
                   config: TrainConfig, repeats: int = 2, timeout: float = 600,
                   synthetic: bool = False) -> dict:
    """Shard the run axis over ``N`` forced host devices, one subprocess per ``N``.

    ``tasks`` are MoleculeACE tasks (or, with ``synthetic=True``, a small planted data set).
    """
    spec = {"tasks": list(tasks), "synthetic": synthetic, "seeds": list(seeds), "n_runs": n_runs, "repeats": repeats,
            "train": {**config.to_dict(), "hidden": list(config.hidden)}}
    rows = []
    for n in n_devices:
        env = {**os.environ,
               "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} "
                            f"--xla_force_host_platform_device_count={n}".strip(),
               "JAX_PLATFORMS": "cpu"}
        done = subprocess.run([sys.executable, "-c", _DEVICE_SCRIPT, json.dumps(spec)],
                              env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"device run N={n} failed:\n{done.stderr[-2000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["seconds"] = float(np.median(row["repeat_s"]))
        row["best_s"] = float(np.min(row["repeat_s"]))
        rows.append(row)
    for row in rows:  # one process per N, not interleaved: report median and best
        row["speedup_vs_1"] = rows[0]["seconds"] / row["seconds"]
        row["best_speedup_vs_1"] = rows[0]["best_s"] / row["best_s"]
    shas = {r["result_sha"] for r in rows}
    return {"rows": rows, "n_runs": n_runs, "bit_identical": len(shas) == 1,
            "digest": hashlib.sha256("".join(sorted(shas)).encode()).hexdigest()[:12]}
