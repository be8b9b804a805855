"""Helpers shared by the sweep runners' tests (local and Ray executors)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _sigkill_after_chunks(script: Path, out_dir: Path, *, n_chunks: int = 2, env=None,
                          timeout: float = 300) -> None:
    """Run ``python script out_dir``; SIGKILL it once ``n_chunks`` chunk files have landed.

    Fails the test if the sweep finished (wrote ``results.parquet``) before it could be killed,
    or if no chunk landed within ``timeout`` seconds.
    """
    proc = subprocess.Popen([sys.executable, str(script), str(out_dir)], env=env)
    chunks = out_dir / "chunks"
    deadline = time.time() + timeout
    while time.time() < deadline and len(list(chunks.glob("chunk-*"))) < n_chunks:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(chunks.glob("chunk-*")), f"no chunk landed in {timeout} s"
    assert not (out_dir / "results.parquet").exists(), "sweep finished before it was killed"


@pytest.fixture
def sigkill_after_chunks():
    """``sigkill_after_chunks(script, out_dir, n_chunks=2, env=None)``: kill a sweep mid-way."""
    return _sigkill_after_chunks
