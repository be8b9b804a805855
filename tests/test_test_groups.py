"""The suite's own plumbing (tests/conftest.py).

Under ``--dist loadgroup`` a test whose ``xdist_group`` was lost (pytest 9.2 with pytest-xdist
3.8, pytest-xdist issue #1386) fails with the reason, and a run without loadgroup is left alone.
A run's processes share one XLA compilation cache, removed when the run ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: the flag xdist sets on its workers under --dist loadgroup, as an option of a plain run
LOADGROUP_FLAG = '''

def pytest_addoption(parser):
    parser.addoption("--loadgroup", action="store_true")
'''

GROUPED = '''import pytest

pytestmark = pytest.mark.xdist_group("g")


def test_one():
    pass
'''


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p",
                           "no:cacheprovider", "-q", "--rootdir", str(folder), *args,
                           str(folder / "test_grouped.py")],
                          cwd=folder, capture_output=True, text=True, timeout=600)


def test_a_lost_group_fails_with_the_reason_and_a_kept_one_runs(tmp_path):
    guard = (Path(__file__).parent / "conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(guard + LOADGROUP_FLAG)
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    lost = _run(tmp_path, "--loadgroup")  # a worker whose node id has no @g suffix
    assert lost.returncode != 0 and "1 error" in lost.stdout, lost.stdout[-2000:]
    assert "pytest-xdist issue #1386" in lost.stdout
    plain = _run(tmp_path)  # not under loadgroup: nothing to check
    assert plain.returncode == 0 and "1 passed" in plain.stdout, plain.stdout[-2000:]


#: each test writes the compilation cache folder its process uses (JAX's and the environment's)
#: and whether it compiles with XLA's optimisation mostly off
WHERE = '''import os
from pathlib import Path

import jax
import pytest


@pytest.mark.parametrize("i", range(4))
def test_where(i):
    folder = jax.config.jax_compilation_cache_dir
    assert folder == os.environ.get("JAX_COMPILATION_CACHE_DIR")
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    cheap = jax.config.read("jax_disable_most_optimizations")
    Path(os.environ["OUT"], f"{name}-{i}").write_text(f"{folder} {cheap}")
'''


def test_the_processes_of_a_run_share_one_compilation_cache_and_compile_alike(tmp_path):
    guard = (Path(__file__).parent / "conftest.py").read_text()
    (tmp_path / "conftest.py").write_text(guard)
    (tmp_path / "test_where.py").write_text(WHERE)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LCURVE_TEST_XLA_CACHE", "JAX_COMPILATION_CACHE_DIR",
                                "LCURVE_TEST_OPTIMIZE", "JAX_DISABLE_MOST_OPTIMIZATIONS")}

    def run(out: Path, *args: str, **env: str) -> tuple[set[str], set[str]]:
        out.mkdir()
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                               "--rootdir", str(tmp_path), *args, str(tmp_path / "test_where.py")],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600,
                              env={**environment, "OUT": str(out), **env})
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return ({p.read_text() for p in out.iterdir()},
                {p.name.split("-")[0] for p in out.iterdir()})

    folders, workers = run(tmp_path / "xdist", "-n", "2", "--dist", "each")  # both run all
    assert workers == {"gw0", "gw1"} and len(folders) == 1  # both workers, one folder
    (line,) = folders
    folder, cheap = line.split()
    assert "lcurve-test-xla-" in folder and not Path(folder).exists()  # removed at the end
    assert cheap == "True"  # the workers compile with XLA's optimisation mostly off ...
    # ... unless the run asks for users' build (and the cache can be turned off)
    assert run(tmp_path / "off", "-p", "no:xdist", LCURVE_TEST_XLA_CACHE="0",
               LCURVE_TEST_OPTIMIZE="1")[0] == {"None False"}
    mine = tmp_path / "mine"
    assert run(tmp_path / "own", "-p", "no:xdist", JAX_COMPILATION_CACHE_DIR=str(mine),
               JAX_DISABLE_MOST_OPTIMIZATIONS="0")[0] \
        == {f"{mine} False"}  # the user's own cache folder and optimisation are kept
