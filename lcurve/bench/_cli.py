"""The ``lcurve bench [--quick] [--out DIR]`` sub-command (to be wired into :mod:`lcurve.cli`).

Runs the benchmark sections (throughput, first layer, Bayesian fit, scaling, TAG, devices)
at one of three sizes, writes ``bench.json`` and ``bench.md`` under ``--out`` and prints the
markdown tables. ``--quick`` takes a few minutes on a 2-core CPU; the hidden ``--toy`` size
exists for the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

__all__ = ["SECTIONS", "SIZES", "add_bench_parser", "bench_markdown", "run_bench",
           "run_benchmarks"]

SECTIONS = ("throughput", "first_layer", "fit", "scaling", "tag", "devices")

#: Settings per benchmark size. ``train`` entries are TrainConfig keyword arguments.
SIZES = {
    "toy": dict(
        throughput=dict(task=None, seeds=(0,), steps=3, hidden=(8,), repeats=1, min_size=32),
        first_layer=dict(repeats=3, widths=(2,)),
        matmul=dict(n=512),
        fit=dict(n_tasks=(2,), num_warmup=10, num_samples=10, num_chains=2, svi_steps=20,
                 transfer="none"),
        runs=dict(n_runs=(4, 8), steps=2, hidden=(8,)),
        tasks=dict(n_tasks=(2, 4), steps=2, hidden=(8,)),
        tag=dict(n_tasks=2, steps=4, every=2, hidden=(8,), min_size=256),
        devices=dict(n_devices=(1, 2), n_runs=4, steps=2, hidden=(8,), repeats=1),
    ),
    "quick": dict(
        throughput=dict(task="CHEMBL1862_Ki", seeds=(0,), steps=100, hidden=(128,), repeats=3,
                        min_size=32),
        first_layer=dict(repeats=15, widths=(1, 8)),
        fit=dict(n_tasks=(10,), num_warmup=50, num_samples=50, num_chains=2, svi_steps=300),
        runs=dict(n_runs=(16, 64, 256), steps=20, hidden=(128,)),
        tasks=dict(n_tasks=(4, 8, 16), steps=20, hidden=(128,)),
        tag=dict(n_tasks=4, steps=50, every=10, hidden=(128,), min_size=64),
        devices=dict(n_devices=(1, 2), n_runs=16, steps=20, hidden=(128,), repeats=2),
    ),
    "full": dict(
        throughput=dict(task="CHEMBL1862_Ki", seeds=(0, 1), steps=300, hidden=(128,),
                        repeats=3, min_size=32),
        first_layer=dict(repeats=30, widths=(1, 8, 32)),
        fit=dict(n_tasks=(10, 30), num_warmup=200, num_samples=200, num_chains=2,
                 svi_steps=1000),
        runs=dict(n_runs=(16, 64, 256, 1024), steps=50, hidden=(128,)),
        tasks=dict(n_tasks=(4, 8, 16, 30), steps=50, hidden=(128,)),
        tag=dict(n_tasks=4, steps=300, every=10, hidden=(128,), min_size=32),
        devices=dict(n_devices=(1, 2, 4), n_runs=32, steps=50, hidden=(128,), repeats=3),
    ),
}


def _vmap_width(n_models: int, limit: int = 8) -> int:
    """The largest width <= ``limit`` dividing ``n_models``: no padded (wasted) runs."""
    return max(w for w in range(1, min(limit, n_models) + 1) if n_models % w == 0)


def _fixed_steps(**fields):
    """A TrainConfig with exactly ``steps`` steps per run (pooled loss, uniform batches): what a
    throughput comparison with plain loops (and with sklearn/torch contenders) needs."""
    from lcurve.config import TrainConfig

    return TrainConfig(stopping="fixed", objective="pooled", batches="uniform", **fields)


def run_benchmarks(size: str = "quick", *, sections=SECTIONS, log=print,
                   contenders: dict | None = None) -> dict:
    """Run the chosen benchmark ``sections`` at ``size`` (``toy``, ``quick`` or ``full``).

    ``contenders`` are outside throughput contenders (name -> runner factory; see
    :func:`lcurve.bench.measure_throughput`); ``lcurve bench`` itself runs lcurve's own.
    """
    import dataclasses

    from lcurve.bench import fit_speed, scaling, throughput
    from lcurve.bench._measure import machine_info
    from lcurve.datasets import load_moleculeace, make_synthetic
    from lcurve.design import make_design

    if size not in SIZES:
        raise ValueError(f"unknown benchmark size {size!r}; valid: {sorted(SIZES)}")
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; valid: {list(SECTIONS)}")
    s = SIZES[size]
    report = {"size": size, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "machine": machine_info(), "sections": list(sections)}
    begin = time.perf_counter()
    if "throughput" in sections or "first_layer" in sections:
        report["matmul_peak_gflops"] = throughput.matmul_peak_gflops(**s.get("matmul", {}))
    if "throughput" in sections:
        t = s["throughput"]
        if t["task"] is None:
            data = make_synthetic(n_tasks=2, n_compounds=400, n_features=64)[0]
            data = data.select_tasks(data.tasks[:1])
        else:
            data = load_moleculeace([t["task"]])
        base = _fixed_steps(steps=t["steps"], hidden=t["hidden"])
        n_models = len(make_design(data, kind="single", seeds=list(t["seeds"]),
                                   min_size=t["min_size"]))
        width = _vmap_width(n_models)
        config = dataclasses.replace(base, chunk_size=n_models, vmap_width=width)
        setup = throughput.ThroughputSetup(task=data.tasks[0], seeds=t["seeds"],
                                           min_size=t["min_size"], train=config)
        log(f"throughput: {n_models} models, vmap_width {width} ...")
        report["throughput"] = throughput.measure_throughput(
            data, setup, repeats=t["repeats"], peak_gflops=report["matmul_peak_gflops"],
            contenders=contenders)
    if "first_layer" in sections:
        from lcurve.bench.first_layer import measure_first_layer

        log("first layer: dense vs gather ...")
        X = load_moleculeace(["CHEMBL1862_Ki"]).X if size != "toy" else \
            make_synthetic(n_tasks=2, n_compounds=200, n_features=256)[0].X
        report["first_layer"] = measure_first_layer(X, **s["first_layer"])
    if "fit" in sections:
        log("Bayesian fits ...")
        report["fit"] = fit_speed.measure_fit_speed(**s["fit"])
    toy = size == "toy"
    if {"scaling", "tag"} & set(sections):
        everything = (make_synthetic(n_tasks=4, n_compounds=300, n_features=64)[0] if toy
                      else load_moleculeace())
    if "scaling" in sections:
        r, k = s["runs"], s["tasks"]
        log("scaling with runs ...")
        report["scale_runs"] = scaling.scale_runs(
            everything.select_tasks(everything.tasks[:4]), n_runs=r["n_runs"],
            config=_fixed_steps(steps=r["steps"], hidden=r["hidden"]))
        log("scaling with tasks ...")
        report["scale_tasks"] = scaling.scale_tasks(
            everything, n_tasks=k["n_tasks"],
            config=_fixed_steps(steps=k["steps"], hidden=k["hidden"]))
    if "tag" in sections:
        g = s["tag"]
        log("TAG vs learning curves ...")
        data = everything.select_tasks(everything.tasks[:g["n_tasks"]])
        report["tag"] = scaling.tag_vs_curves(
            data, config=_fixed_steps(steps=g["steps"], hidden=g["hidden"]), every=g["every"],
            min_size=g["min_size"])
    if "devices" in sections:
        v = s["devices"]
        log("devices (forced host devices, subprocesses) ...")
        report["devices"] = scaling.device_scaling(
            n_devices=v["n_devices"], synthetic=toy,
            tasks=[] if toy else list(load_moleculeace().tasks[:2]),
            n_runs=v["n_runs"], repeats=v["repeats"],
            config=_fixed_steps(steps=v["steps"], hidden=v["hidden"], chunk_size=v["n_runs"]))
    report["total_seconds"] = time.perf_counter() - begin
    return report


def _fmt(x, digits: int = 3) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        return f"{x:.{digits}g}" if abs(x) < 1e4 else f"{x:.0f}"
    return str(x)


def _table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def bench_markdown(report: dict) -> str:
    """Markdown tables of a :func:`run_benchmarks` report."""
    m = report["machine"]
    out = [f"# lcurve bench ({report['size']})", "",
           f"{m['cpu_count']} CPUs, JAX {m['jax_backend']} ({len(m['jax_devices'])} device(s)), "
           f"1-min load average at start {m['load_average_1m']}; "
           f"total {report['total_seconds']:.0f} s."]
    if "matmul_peak_gflops" in report:
        out.append(f"Measured float32 JAX matmul peak: {report['matmul_peak_gflops']:.1f} GFLOP/s.")
    if "throughput" in report:
        t = report["throughput"]
        out += ["", f"## Training throughput ({t['n_models']} models of task {t['task']}, "
                    f"{t['steps']} steps, batch {t['batch_size']}, hidden {t['hidden']}; "
                    f"median of {t['repeats']}, interleaved)", ""]
        rows = []
        for name, c in t["contenders"].items():
            if "seconds" not in c:
                rows.append([name, float("nan"), float("nan"), float("nan"), float("nan"),
                             float("nan"), c["note"]])
                continue
            rows.append([name, c["seconds"], c["models_per_s"], c["speedup_vs"], c["gflops"],
                         c["peak_fraction"], c["peak_fraction_exact"], c["note"]])
        out.append(_table(["contender", "seconds", "models/s", "lcurve speed-up over it",
                           "GFLOP/s (3x fwd)", "fraction of peak", "fraction (exact FLOPs)",
                           "note"], rows))
        out.append(f"\nPeak used: best of {len(t['peak_gflops_measured'])} measurements "
                   f"(before/after) = {t['peak_gflops']:.1f} GFLOP/s. 'exact FLOPs' omits the "
                   "first layer's input gradient, which backprop never computes.")
    if "first_layer" in report:
        f = report["first_layer"]
        out += ["", f"## First layer: dense vs gather-sum (features {f['n_features']}, "
                    f"active bits mean {f['mean_active']:.0f} / max {f['max_active']}, "
                    f"batch {f['batch_size']}, hidden {f['hidden']}; forward + kernel "
                    "gradient per step)", ""]
        rows = [[w, name, v["ms_per_step"], v["speedup_vs_dense"], v["max_rel_grad_diff"]]
                for w, row in f["widths"].items() for name, v in row.items()]
        out.append(_table(["runs vmapped", "variant", "ms/step", "speed-up vs dense",
                           "max rel. grad diff"], rows))
    if "fit" in report:
        out += ["", "## Bayesian curve fit (simulated pairs tables, exp3, joint transfer)", ""]
        rows = [[r["n_tasks"], r["n_obs"], r["method"], r["seconds"], r["max_rhat"],
                 r["min_ess_bulk"], r["ess_per_s"], r["n_divergent"]] for r in report["fit"]]
        out.append(_table(["tasks", "observations", "method", "wall s (incl. compile)",
                           "max R-hat", "min bulk ESS", "ESS/s", "divergences"], rows))
    if "scale_runs" in report:
        r = report["scale_runs"]
        out += ["", "## Scaling with runs (4 tasks, single design, warm trainer)", ""]
        out.append(_table(["runs", "seconds", "runs/s", "peak RSS MB", "RSS rise MB"],
                          [[x["n_runs"], x["seconds"], x["runs_per_s"], x["peak_rss_mb"],
                            x["peak_rss_rise_mb"]] for x in r["rows"]]))
        out.append(f"\nGrowth: time ~ runs^{r['time_exponent']:.2f} over all points, "
                   f"~ runs^{r['time_exponent_full_chunks']:.2f} from one full chunk "
                   f"({r['chunk_size']} runs) up; "
                   f"peak RSS ~ runs^{r['memory_exponent']:.2f}; {r['n_compiles']} compile(s).")
    if "scale_tasks" in report:
        r = report["scale_tasks"]
        out += ["", "## Scaling with tasks (contextual design: one run per target, all other "
                    "tasks' training labels as context)", ""]
        out.append(_table(["tasks", "runs", "max labels/run", "test compounds",
                           "load+compile s", "train s", "s/run", "peak RSS MB"],
                          [[x["n_tasks"], x["n_runs"], x["max_labels_per_run"],
                            x["n_test_compounds"], x["compile_and_load_s"], x["train_s"],
                            x["s_per_run"], x["peak_rss_mb"]] for x in r["rows"]]))
        out.append(f"\nGrowth: train time ~ tasks^{r['train_time_exponent']:.2f}, per run "
                   f"~ tasks^{r['per_run_time_exponent']:.2f}, peak RSS ~ "
                   f"tasks^{r['memory_exponent']:.2f}.")
    if "tag" in report:
        g = report["tag"]
        out += ["", f"## TAG vs learning curves ({g['n_tasks']} tasks, pairs design of "
                    f"{g['n_runs']} runs, {g['steps']} steps per model)", ""]
        out.append(_table(["method", "wall s (incl. compile)", "optimizer steps"],
                          [["TAG", g["tag"]["seconds"], g["tag"]["train_steps"]
                            + g["tag"]["lookahead_steps"]],
                           ["learning curves (full)", g["curves_full"]["seconds"],
                            g["curves_full"]["train_steps"]],
                           ["learning curves (fast)", g["curves_fast"]["seconds"],
                            g["curves_fast"]["train_steps"]]]))
        out.append(f"\nFull curves cost {g['full_over_tag_time']:.1f}x TAG's wall time "
                   f"({g['full_over_tag_steps']:.1f}x its steps); fast curves "
                   f"{g['fast_over_tag_time']:.1f}x.")
    if "devices" in report:
        d = report["devices"]
        out += ["", f"## Devices (forced CPU host devices, {d['n_runs']} runs; one process "
                    "each)", ""]
        out.append(_table(["devices", "seconds (median)", "speed-up vs 1", "best s",
                           "best speed-up vs 1", "first call s"],
                          [[x["n_devices"], x["seconds"], x["speedup_vs_1"], x["best_s"],
                            x["best_speedup_vs_1"], x["first_call_s"]] for x in d["rows"]]))
        out.append(f"\nResults bit-identical across device counts: {d['bit_identical']}.")
    return "\n".join(out) + "\n"


def add_bench_parser(subparsers) -> argparse.ArgumentParser:
    """Declare ``bench [--quick] [--out DIR] [--sections ...]`` on an argparse sub-parser set."""
    p = subparsers.add_parser(
        "bench", help="benchmarks: throughput (vmapped vs a JAX loop), fit speed, scaling")
    p.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes on 2 CPUs)")
    p.add_argument("--toy", action="store_true", help=argparse.SUPPRESS)  # the test suite's size
    p.add_argument("--out", type=Path, default=Path("bench"), help="folder for bench.json/md")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)}")
    return p


def run_bench(args, *, contenders: dict | None = None) -> int:
    """Run ``lcurve bench``; writes ``bench.json`` and ``bench.md``, prints the tables.

    ``contenders``: outside throughput contenders (``experiments/benchmarks/contenders.py``).
    """
    size = "toy" if getattr(args, "toy", False) else "quick" if args.quick else "full"
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    try:
        report = run_benchmarks(size, sections=sections, contenders=contenders,
                                log=lambda msg: print(msg, flush=True))
    except ValueError as err:
        print(f"error: {err}")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2, default=float))
    markdown = bench_markdown(report)
    (out / "bench.md").write_text(markdown)
    print(markdown)
    return 0
