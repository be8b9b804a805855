"""Are the demo's sweep results the same on one device and sharded over four CPU devices?

Runs the sweep of ``lcurve demo`` (``lcurve.demo.demo_config``: 4 MoleculeACE targets, pair
runs, 2 seeds, 288 runs) twice in one process with 4 forced host CPU devices: sharded over all
four, and on the first device only (what a one-device process computes: checked by comparing
with a saved one-device table via ``--reference DIR``). Prints how many scores differ and by how
much. ``tests/sweep/test_local.py::test_sharded_runs_equal_unsharded`` checks a tiny
configuration bit for bit; this checks the demo's.

``--chunks N [N ...]`` also runs the sweep on the first device alone with ``chunk_size=N``
and compares it with the sharded run: with the demo's chunk of 64 and ``vmap_width`` 8, each of
four devices runs ``lax.map`` over 2 groups of 8 runs where one device runs it over 8 groups;
one device with a chunk of 16 runs the same 2-group program as each of the four.

``--optax-adam`` trains with optax's own Adam bias correction (a division by ``1 - b^t``)
instead of the library's multiply by its reciprocal (``lcurve.train._core._bias_correction``):
the state before 2026-12-05, when XLA compiled that division differently in the sharded
program. Add ``XLA_FLAGS=--xla_dump_to=DIR`` to compare the two programs' optimised HLO.

Usage::

    python experiments/reliability/sweep_devices.py [--reference DIR] [--chunks 16 32]
    python experiments/reliability/sweep_devices.py --optax-adam
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile

import jax
import optax

from lcurve.curves import request_cpu_devices
from lcurve.datasets import load_data
from lcurve.demo import demo_config
from lcurve.design import design_from_config
from lcurve.sweep import read_results, run_sweep
from lcurve.train import _core

KEYS = ["run_id", "task", "metric"]


def differences(a, b, label: str) -> None:
    merged = a.merge(b, on=KEYS, suffixes=("_a", "_b"))
    differ = merged["value_a"] != merged["value_b"]
    steps = (merged["steps_used_a"] != merged["steps_used_b"]).sum()
    loss = merged["loss_final_a"] != merged["loss_final_b"]
    relative = ((merged["loss_final_a"] - merged["loss_final_b"]).abs()
                / merged["loss_final_b"].abs()).max()
    print(f"{label}: {differ.sum()} of {len(merged)} scores differ (max |diff| "
          f"{(merged['value_a'] - merged['value_b']).abs().max():.2g}); "
          f"steps used differ in {steps} rows; final training loss differs in "
          f"{merged.loc[loss, 'run_id'].nunique()} of {merged['run_id'].nunique()} runs "
          f"(max relative {relative:.2g})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="a sweep folder of a one-device process, e.g. the "
                        "output folder of `lcurve demo` before it asked for CPU devices")
    parser.add_argument("--chunks", nargs="*", type=int, default=[],
                        help="chunk sizes of extra one-device runs to compare with the sharded")
    parser.add_argument("--optax-adam", action="store_true",
                        help="optax's bias correction (a division), as before 2026-12-05")
    args = parser.parse_args()
    if args.optax_adam:
        _core._bias_correction = optax.tree.bias_correction
    request_cpu_devices(4)  # before any JAX work
    assert jax.device_count() == 4, jax.devices()
    config = demo_config()
    data = load_data(config.data)
    design = design_from_config(data, config.design)
    with tempfile.TemporaryDirectory() as tmp:
        sharded = run_sweep(data, design, config.train, out_dir=f"{tmp}/sharded",
                            progress=False)
        single = run_sweep(data, design, config.train, out_dir=f"{tmp}/single",
                           progress=False, devices=jax.devices()[:1])
        chunked = {n: run_sweep(data, design, dataclasses.replace(config.train, chunk_size=n),
                                out_dir=f"{tmp}/chunk{n}", progress=False,
                                devices=jax.devices()[:1]) for n in args.chunks}
    differences(sharded, single, "4 devices vs the first device, one process")
    for n, table in chunked.items():
        differences(sharded, table, f"4 devices (chunk {config.train.chunk_size}) vs the first "
                    f"device with chunk {n}")
        differences(single, table, f"first device, chunk {config.train.chunk_size} vs chunk {n}")
    if args.reference:
        differences(single, read_results(args.reference), "first device vs one-device process")


if __name__ == "__main__":
    main()
