"""Local executor vs the Ray executor with 1 and 2 workers, side by side, on this machine.

Usage (about 5 min on 2 busy cores; writes JSON next to this file)::

    nice -n 5 python experiments/cluster/bench_ray.py [--runs 192] [--steps 300] \
        [--out experiments/cluster/bench_ray.json]

The training settings are TrainConfig's defaults (hidden 128, batch 64, 300 steps), chunks of 16
runs, on synthetic data with 256 binary features: a chunk takes seconds, as in real sweeps.

What it measures, for the same sweep (same data, design, config; fresh results folder each):

* ``wall_s``: wall time of ``run_sweep`` (Ray: includes starting the worker processes,
  shipping the data and compiling once per worker; the local cluster itself is started before
  the clock starts, as a user with a running cluster would have it).
* ``train_s``: time spent inside ``RunTrainer.train_chunk`` summed over chunks (the ``seconds``
  column times chunk size), i.e. the work; the first chunk of each worker includes compilation.
* ``overhead_per_chunk_s``: ``(wall_s * workers - train_s) / n_chunks``: worker time not spent
  training, per chunk (start-up, data transfer, scheduling, parquet writes, idle tail).
* ``overhead_ratio``: Ray's worker-seconds per chunk over the local executor's seconds per chunk.
* ``steady_runs_per_s``: runs/s after every worker finished its first chunk, as the driver sees
  completions (excludes start-up and compilation).
* ``chunk_train_s``: median in-worker training time of a chunk, first chunk of each worker
  (compilation) left out; ``steady_overhead_per_chunk_s``: ``workers * (seconds between
  completions) - chunk_train_s`` in the steady state, the per-chunk cost of the executor itself.
* ``call_overhead_ms``: round trip of an empty actor call on the same cluster (the scheduler's
  share of a chunk's cost, what the scaling model in RESULTS.md uses).

Every executor's table is checked equal (values, ``seconds`` excepted) to the local one.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lcurve.sweep.local as sweep_local
from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic
from lcurve.design import make_design
from lcurve.sweep import run_sweep


class RecordingBar:
    """Stands in for tqdm inside run_sweep: records when each chunk was reported done."""

    log: list[tuple[float, int]] = []

    def __init__(self, *args, initial=0, **kwargs):
        RecordingBar.log = []

    def update(self, n):
        RecordingBar.log.append((time.perf_counter(), n))

    def close(self):
        pass


def measure(executor: str, data, design, config, *, workers: int, chunk_size: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        results = run_sweep(data, design, config, out_dir=out, executor=executor,
                            progress=True)
        wall = time.perf_counter() - start
    log = RecordingBar.log
    per_run = results.drop_duplicates("run_id").sort_values("run_id")
    # chunks are consecutive slices of the run_id-sorted design; each run's `seconds` is its
    # chunk's training time divided by the chunk's size
    chunk_of = np.arange(len(per_run)) // chunk_size
    chunk_train = per_run.groupby(chunk_of)["seconds"].sum().to_numpy()
    train_s = float(chunk_train.sum())
    n_chunks = len(log)
    steady_chunk = float(np.median(np.sort(chunk_train)[:-workers]))  # drop compiling chunks
    times = [t for t, _ in log]
    steady_interval = (times[-1] - times[workers - 1]) / (n_chunks - workers)
    return {
        "executor": executor, "workers": workers, "runs": int(len(design)),
        "chunks": n_chunks, "wall_s": wall, "train_s": train_s,
        "runs_per_s": len(design) / wall,
        "steady_runs_per_s": sum(n for _, n in log[workers:]) / (times[-1] - times[workers - 1]),
        "chunk_train_s": steady_chunk,
        "steady_overhead_per_chunk_s": workers * steady_interval - steady_chunk,
        "overhead_per_chunk_s": (wall * workers - train_s) / n_chunks,
        "wall_per_chunk_worker_s": wall * workers / n_chunks,
        "n_compiles": int(results.attrs["n_compiles"]),
        "results": results,
    }


def call_overhead_ms(ray, n_calls: int = 200) -> float:
    """Median round trip of an empty actor call (submit, schedule, run, return)."""

    @ray.remote(num_cpus=1)
    class Echo:
        def ping(self, x):
            return x

    echo = Echo.remote()
    ray.get(echo.ping.remote(0))
    times = []
    for i in range(n_calls):
        t = time.perf_counter()
        ray.get(echo.ping.remote(i))
        times.append(time.perf_counter() - t)
    ray.kill(echo)
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=192)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2,
                        help="rounds of (local, ray 1 worker, ray 2 workers), interleaved")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_name("bench_ray.json"))
    args = parser.parse_args()
    import ray

    sweep_local.tqdm = RecordingBar  # chunk completion times, as the driver sees them
    data, _ = make_synthetic(n_tasks=3, n_compounds=600, n_features=256, seed=1)
    design = make_design(data, kind="pairs", seeds=[0, 1, 2], min_size=32).iloc[:args.runs]
    chunk_size = 16
    config = TrainConfig(steps=args.steps, chunk_size=chunk_size, vmap_width=8)
    load_before = os.getloadavg()
    rows, reference = [], None
    for repeat in range(args.repeats):
        local = measure("local", data, design, config, workers=1, chunk_size=chunk_size)
        if reference is None:
            reference = local["results"].drop(columns="seconds")
        pd.testing.assert_frame_equal(local["results"].drop(columns="seconds"), reference)
        round_rows = [local]
        for workers in (1, 2):
            ray.init(address="local", num_cpus=workers, include_dashboard=False,
                     _node_ip_address="127.0.0.1", object_store_memory=150 * 1024**2,
                     logging_level="WARNING")
            try:
                row = measure("ray", data, design, config, workers=workers,
                              chunk_size=chunk_size)
                row["call_overhead_ms"] = call_overhead_ms(ray)
            finally:
                ray.shutdown()
            pd.testing.assert_frame_equal(row["results"].drop(columns="seconds"), reference)
            row["equal_to_local"] = True
            round_rows.append(row)
        for row in round_rows:  # ratios within a round: same moment, same machine load
            row["overhead_ratio"] = (row["wall_per_chunk_worker_s"]
                                     / local["wall_per_chunk_worker_s"])
            row["repeat"] = repeat
            row["loadavg_1min"] = os.getloadavg()[0]
            row.pop("results")
        rows.extend(round_rows)
    report = {
        "command": "python experiments/cluster/bench_ray.py "
                   f"--runs {args.runs} --steps {args.steps}",
        "config": config.to_dict(), "cpu_count": os.cpu_count(),
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "versions": {k: v for k, v in sweep_local.versions().items()
                     if k in ("lcurve", "jax", "jaxlib")} | {"ray": ray.__version__},
        "rows": rows,
    }
    args.out.write_text(json.dumps(report, indent=2))
    table = pd.DataFrame(rows)[["repeat", "executor", "workers", "wall_s", "train_s",
                                "runs_per_s", "steady_runs_per_s", "chunk_train_s",
                                "steady_overhead_per_chunk_s", "overhead_per_chunk_s",
                                "overhead_ratio", "n_compiles", "loadavg_1min"]]
    print(table.round(3).to_string(index=False))
    print("medians over repeats:")
    print(table.drop(columns="repeat").groupby(["executor", "workers"]).median()
          .round(3).to_string())
    print(f"empty actor call: {[round(r.get('call_overhead_ms', float('nan')), 2) for r in rows]}"
          f" ms; load average before {load_before}, after {os.getloadavg()}")


if __name__ == "__main__":
    main()
