"""The suite's own guard (tests/conftest.py): under ``--dist loadgroup`` a test whose
``xdist_group`` was lost (pytest 9.2 with pytest-xdist 3.8, pytest-xdist issue #1386) fails
with the reason, and a run without loadgroup is left alone."""

from __future__ import annotations

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
