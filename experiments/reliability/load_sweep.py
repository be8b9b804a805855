"""Load check: a sweep of 2,000+ runs on MoleculeACE completes in bounded memory.

Trains a ``pairs`` design over 8 MoleculeACE targets (2 seeds) in chunks and samples the
process's resident memory (RSS, from /proc) after every chunk. Bounded memory means the RSS
after the last chunk is close to the RSS after the first chunk, whatever the number of runs.

Usage::

    python experiments/reliability/load_sweep.py --out /tmp/load [--steps 100]

Writes ``memory.csv`` (chunk, runs done, RSS MiB) and prints a summary line.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

import lcurve.sweep.local as sweep_module
from lcurve import TrainConfig, make_design, run_sweep
from lcurve.datasets import load_moleculeace

TASKS = ["CHEMBL234_Ki", "CHEMBL219_Ki", "CHEMBL214_Ki", "CHEMBL228_Ki",
         "CHEMBL238_Ki", "CHEMBL204_Ki", "CHEMBL244_Ki", "CHEMBL236_Ki"]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=128)
    args = parser.parse_args()

    data = load_moleculeace(TASKS)
    design = make_design(data, kind="pairs", seeds=[0, 1], min_size=32, points_per_doubling=1,
                         aux_sizes=[128, 512, 2048])
    samples = [("start", 0, rss_mib())]
    real_write = sweep_module._atomic_parquet

    def sampling_write(df, path):  # called once per finished chunk, then for the final table
        real_write(df, path)
        samples.append((path.name, int(df["run_id"].nunique()), rss_mib()))

    sweep_module._atomic_parquet = sampling_write
    config = TrainConfig(hidden=(64,), steps=args.steps, batch_size=64,
                         chunk_size=args.chunk_size)
    start = time.perf_counter()
    results = run_sweep(data, design, config, out_dir=args.out)
    elapsed = time.perf_counter() - start
    memory = pd.DataFrame(samples, columns=["file", "runs_in_file", "rss_mib"])
    memory.to_csv(args.out / "memory.csv", index=False)
    chunks = memory[memory["file"].str.startswith("chunk-")]
    print(f"{results['run_id'].nunique()} runs, {len(results)} rows in {elapsed:.0f} s; "
          f"RSS after first chunk {chunks['rss_mib'].iloc[0]:.0f} MiB, after last chunk "
          f"{chunks['rss_mib'].iloc[-1]:.0f} MiB, peak {memory['rss_mib'].max():.0f} MiB "
          f"({len(chunks)} chunks of {config.chunk_size})")


if __name__ == "__main__":
    main()
