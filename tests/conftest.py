"""Shared fixtures: tiny generated data so every test is fast and nothing is downloaded."""

from __future__ import annotations

import os
import shutil
import tempfile

import jax
import pytest

from lcurve.config import TrainConfig
from lcurve.datasets import make_synthetic


_UNGROUPED = pytest.StashKey[set]()

#: The environment variable that hands the run's compilation cache to workers and subprocesses.
_SHARED_CACHE = "LCURVE_TEST_XLA_CACHE"


def _share_compiled_programs() -> str | None:
    """One on-disk XLA cache for the whole test run (JAX's persistent compilation cache).

    Much of the suite's time is XLA compiling the same NUTS, SVI and trainer programs again:
    in both xdist workers, in every subprocess (CLI, notebooks, ray workers) and for each new
    closure numpyro builds around one model. The first process of a run makes a fresh folder
    and puts it in the environment, so the workers and subprocesses it starts share it; it is
    removed when that process ends. A cached program is the compiled program, so results are
    bit-identical, and what tests count (traces, "Finished XLA compilation" log lines) happens
    on a cache hit too. JAX's floor is kept: only programs that took >= 1 s to compile are
    written (caching every program was no faster: experiments/benchmarks/suite_compile_cache.py
    and section 11 of RESULTS.md there).
    ``LCURVE_TEST_XLA_CACHE=0`` turns it off; a ``JAX_COMPILATION_CACHE_DIR`` of the user's is
    left as it is. Returns the folder this process made, if it made one."""
    shared, made = os.environ.get(_SHARED_CACHE), None
    if shared == "0":
        return None
    if not shared:  # the first process of the run
        if "JAX_COMPILATION_CACHE_DIR" in os.environ:
            return None
        made = shared = os.environ[_SHARED_CACHE] = tempfile.mkdtemp(prefix="lcurve-test-xla-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = shared
    jax.config.update("jax_compilation_cache_dir", shared)
    return made


_MADE_CACHE = _share_compiled_programs()

#: The environment variable that compiles the suite as users' programs are (XLA's full
#: optimisation) when set to 1.
_OPTIMIZE = "LCURVE_TEST_OPTIMIZE"


def _compile_cheaply() -> None:
    """Let XLA skip most of its optimisation for the whole test run (JAX's
    ``jax_disable_most_optimizations``: LLVM at -O0, its expensive passes off).

    The tests fit and train toy tables whose programs compile for seconds and then run for
    milliseconds; compiling them less took 20% off the whole suite (936 s to 752 s with
    ``pytest -n 2`` on the 2-core machine; experiments/benchmarks/RESULTS.md section 12).
    XLA's HLO passes, which decide the order of reductions, still run: a toy sweep's trained
    scores are bit-identical to the optimised build's, while an SVI fit's draws differ in
    the last bits (up to 1e-6) and NUTS, from such a difference, takes other paths: other
    draws of the same posterior (``suite_optimization_level.py --check`` there). So the
    trainer's bit-identity tests keep their meaning, and no test pins a draw. Set through the
    environment, so the workers and the subprocesses the tests start (CLI, notebooks, Ray
    workers) compile the same way. ``LCURVE_TEST_OPTIMIZE=1`` compiles as users do, and an
    explicit ``JAX_DISABLE_MOST_OPTIMIZATIONS`` is left as it is (JAX read it when imported:
    so do the workers and subprocesses, which inherit the variable set here). README's first
    command, run by CI before the tests, runs the main job with full optimisation."""
    if os.environ.get(_OPTIMIZE) == "1" or "JAX_DISABLE_MOST_OPTIMIZATIONS" in os.environ:
        return
    os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"
    jax.config.update("jax_disable_most_optimizations", True)


_compile_cheaply()


def pytest_unconfigure(config):
    if _MADE_CACHE is not None:
        shutil.rmtree(_MADE_CACHE, ignore_errors=True)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup`` (pyproject's addopts) a module marked ``xdist_group`` runs
    on one worker, its module fixtures built once. pytest-xdist marks those tests by a
    ``@group`` suffix on their node id, which pytest 9.2 ignores (pytest-xdist issue #1386):
    the groups were silently spread over both workers, every expensive fixture built twice.
    Such tests fail (in :func:`pytest_runtest_setup`) rather than lose the grouping without a
    word."""
    if config.getoption("loadgroup", default=False):  # an xdist worker under loadgroup
        config.stash[_UNGROUPED] = {item.nodeid for item in items
                                    if item.get_closest_marker("xdist_group")
                                    and "@" not in item.nodeid}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.nodeid in item.config.stash.get(_UNGROUPED, ()):
        pytest.fail("--dist loadgroup did not group this test (its xdist_group mark is lost): "
                    "this pytest and pytest-xdist do not work together (pytest-xdist issue "
                    "#1386); install the test extra's pins: pip install -e '.[test]'",
                    pytrace=False)


@pytest.fixture(scope="session")
def synthetic():
    """Four planted tasks over 600 compounds with 32 binary features, and the truth."""
    return make_synthetic(n_tasks=4, n_compounds=600, n_features=32, seed=3)


@pytest.fixture(scope="session")
def tiny_train() -> TrainConfig:
    return TrainConfig(hidden=(16,), steps=40, batch_size=32, learning_rate=3e-3,
                       chunk_size=8, vmap_width=4)


def _random_pair_results(tasks, *, seeds, sizes, aux_size: int = 64, seed: int = 0,
                         n_test: int = 50, n_test_pos: int = 20):
    """A hand-made results table: every task alone at each size and next to every other task
    at ``aux_size``, for each seed; scores drawn uniformly (alone 0.5-0.8, pairs 0.5-0.9)."""
    import itertools

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for s, target, n in itertools.product(seeds, tasks, sizes):
        own = {f"n_{t}": 0 for t in tasks} | {f"n_{target}": n}
        rows.append({"seed": s, "kind": "single", "target": target, "task": target,
                     "value": rng.uniform(0.5, 0.8), **own})
        for source in tasks:
            if source != target:
                rows.append({"seed": s, "kind": "pairs", "target": target, "task": target,
                             "value": rng.uniform(0.5, 0.9), **own, f"n_{source}": aux_size})
    table = pd.DataFrame(rows).assign(metric="auroc", diverged=False, n_test=n_test,
                                      n_test_pos=n_test_pos)
    table.insert(0, "run_id", np.arange(len(table)))
    return table


@pytest.fixture(scope="session")
def random_pair_results():
    """``random_pair_results(tasks, seeds=, sizes=, ...)``: a hand-made pair-sweep table."""
    return _random_pair_results
