"""What a chunk's padding slots cost: the demo's sweep trains 288 runs in 64-run chunks, so its
last chunk holds 32 runs and 32 padding slots.

Times, in one process and interleaved, the demo's last chunk two ways with the same compiled
program (warm): as the sweep trains it (its 32 runs; the 32 padding slots start stopped), and
with the 32 slots filled by live copies of its first run, which is what padding cost until
2026-12-07 (a padding slot repeated the first run and trained like it). Prints the median
time of each and their ratio.

    python experiments/benchmarks/padded_chunk.py [--repeats 5]
"""

import argparse
import time

import numpy as np


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    import jax

    from lcurve.datasets import load_data
    from lcurve.demo import demo_config
    from lcurve.design import design_from_config, size_columns
    from lcurve.sweep.local import plan_chunks, rows_bucket
    from lcurve.train import RunTrainer

    config = demo_config()
    data = load_data(config.data)
    design = design_from_config(data, config.design).sort_values("run_id")
    trainer = RunTrainer(data, config.train, seeds=config.design.seeds,
                         devices=jax.local_devices()[:1])
    columns = size_columns(design)
    bucket = rows_bucket(data, design)  # as run_sweep does
    last = plan_chunks(design, trainer.chunk_size)[-1]
    n, pad = len(last), trainer.chunk_size - len(last)
    if not pad:
        raise SystemExit("the demo's last chunk is full: nothing to measure")
    seeds, ids, own = last["seed"].to_numpy(), last["run_id"].to_numpy(), last[columns].to_numpy()
    live_copies = (np.concatenate([seeds, np.repeat(seeds[:1], pad)]),
                   np.concatenate([ids, np.repeat(ids[:1], pad)]),
                   np.concatenate([own, np.repeat(own[:1], pad, axis=0)]))

    def timed(chunk):
        start = time.perf_counter()
        trainer.train_chunk(*chunk, n_rows_bucket=bucket)
        return time.perf_counter() - start

    timed(live_copies)  # compile
    times = {"stopped": [], "live": []}
    for _ in range(args.repeats):
        times["live"].append(timed(live_copies))
        times["stopped"].append(timed((seeds, ids, own)))
    stopped, live = np.median(times["stopped"]), np.median(times["live"])
    ratios = np.array(times["stopped"]) / np.array(times["live"])
    print(f"the demo's last chunk ({n} runs + {pad} padding slots, first run {ids[0]} with "
          f"sizes {dict(zip(data.tasks, own[0].tolist()))}): padding stopped median "
          f"{stopped:.2f} s, padding as live copies of the first run median {live:.2f} s; "
          f"ratio {stopped / live:.2f} (per repeat {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
