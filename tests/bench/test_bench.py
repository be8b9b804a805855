"""Tests of lcurve.bench: the toy-size CLI run and the measuring pieces it is built from."""

import argparse
import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcurve.bench import _cli, training_flops
from lcurve.bench._measure import PeakRSS, growth_exponent, interleaved
from lcurve.bench.first_layer import gather_sum, sparse_rows
from lcurve.bench.fit_speed import point_fits
from lcurve.bench.throughput import forward_flops


def _parse(*argv):
    parser = argparse.ArgumentParser()
    _cli.add_bench_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["bench", *argv])


def _outside_contenders():
    """experiments/benchmarks/contenders.py (outside the package: it needs sklearn/torch)."""
    path = Path(__file__).resolve().parents[2] / "experiments" / "benchmarks" / "contenders.py"
    spec = importlib.util.spec_from_file_location("bench_contenders", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CONTENDERS


def test_toy_bench_writes_json_and_markdown(tmp_path, capsys):
    args = _parse("--toy", "--out", str(tmp_path), "--sections", "throughput,scaling")
    assert _cli.run_bench(args, contenders=_outside_contenders()) == 0
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["size"] == "toy" and report["matmul_peak_gflops"] > 0
    t = report["throughput"]
    assert {"n_models", "flops_per_model", "peak_gflops", "contenders"} <= set(t)
    for name in ("lcurve", "jax_loop", "sklearn"):
        c = t["contenders"][name]
        assert c["models_per_s"] > 0 and c["gflops"] > 0 and 0 < c["peak_fraction"]
        assert c["speedup_vs"] == pytest.approx(c["seconds"] / t["contenders"]["lcurve"]["seconds"])
    assert "torch" in t["contenders"]  # measured, or skipped with a note
    assert t["contenders"]["lcurve"]["speedup_vs"] == 1.0
    runs = report["scale_runs"]
    assert [r["n_runs"] for r in runs["rows"]] == [4, 8] and runs["n_compiles"] == 1
    assert np.isfinite(runs["time_exponent"])
    assert [r["n_tasks"] for r in report["scale_tasks"]["rows"]] == [2, 4]
    markdown = (tmp_path / "bench.md").read_text()
    assert "## Training throughput" in markdown and markdown in capsys.readouterr().out


def test_unknown_section_is_an_error(tmp_path, capsys):
    assert _cli.run_bench(_parse("--toy", "--out", str(tmp_path), "--sections", "nope")) == 2
    assert "nope" in capsys.readouterr().out


def test_training_flops_counts_three_forward_passes():
    # 2048 -> 128 -> 3: 2 * (2048*128 + 128*3) FLOPs per example forward
    assert forward_flops(2048, (128,), 3) == 2 * (2048 * 128 + 128 * 3)
    assert training_flops(2048, (128,), 3, batch_size=64, steps=10, n_test=5) == (
        3 * 64 * 10 + 5) * forward_flops(2048, (128,), 3)


def test_gather_sum_equals_dense_matmul_and_its_gradient():
    rng = np.random.default_rng(0)
    X = (rng.random((32, 300)) < 0.05).astype(np.uint8)
    X[0] = 0  # an empty row
    index, weight = sparse_rows(X)
    kernel = jnp.asarray(rng.normal(size=(300, 16)), jnp.float32)
    dense = jnp.asarray(X, jnp.float32)
    np.testing.assert_allclose(gather_sum(kernel, index, weight), dense @ kernel,
                               rtol=1e-5, atol=1e-5)
    g_gather = jax.grad(lambda k: jnp.sum(jnp.sin(gather_sum(k, index, weight))))(kernel)
    g_dense = jax.grad(lambda k: jnp.sum(jnp.sin(dense @ k)))(kernel)
    np.testing.assert_allclose(g_gather, g_dense, rtol=1e-5, atol=1e-5)


def test_growth_exponent_recovers_a_power_law():
    x = np.array([16, 64, 256, 1024])
    assert growth_exponent(x, 3.0 * x**1.5) == pytest.approx(1.5)
    assert growth_exponent(x, np.full(4, 7.0)) == pytest.approx(0.0, abs=1e-12)


def test_interleaved_calls_every_contender_each_round():
    calls = []
    times = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                        repeats=3)
    assert calls == ["a", "b"] * 3 and all(len(v) == 3 for v in times.values())


def test_peak_rss_sees_an_allocation():
    with PeakRSS(interval=0.001) as mem:
        block = np.ones(40_000_000 // 8)  # 40 MB, touched
        block.sum()
    assert mem.peak_mb > 20


def test_point_fits_recover_noiseless_exp3_curves():
    import pandas as pd

    sizes = np.array([16, 32, 64, 128, 256])
    x = sizes / 256
    rows = []
    for task, (a, b, c) in {"t0": (4.0, -0.5, 0.9), "t1": (2.0, -1.0, 0.8)}.items():
        other = "n_t1" if task == "t0" else "n_t0"
        rows.append(pd.DataFrame({"task": task, "metric": "auroc",
                                  "value": c - np.exp(b - a * x), f"n_{task}": sizes,
                                  other: 0}))
    out = point_fits(pd.concat(rows, ignore_index=True))
    assert out["n_failed"] == 0
    np.testing.assert_allclose(out["params"]["t0"], [4.0, -0.5, 0.9], rtol=1e-4)
    np.testing.assert_allclose(out["params"]["t1"], [2.0, -1.0, 0.8], rtol=1e-4)


def test_lcurve_bench_runs_without_outside_contenders(tmp_path):
    """``lcurve bench`` reports lcurve's own figures; sklearn/torch are never imported."""
    import sys

    before = {m for m in ("sklearn", "torch") if m in sys.modules}
    args = _parse("--toy", "--out", str(tmp_path), "--sections", "throughput")
    assert _cli.run_bench(args) == 0
    names = set(json.loads((tmp_path / "bench.json").read_text())["throughput"]["contenders"])
    assert names == {"lcurve", "jax_loop"}
    assert {m for m in ("sklearn", "torch") if m in sys.modules} == before
