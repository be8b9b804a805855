"""Atomic file writes: a file is either the old one or the complete new one, never partial."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "exists",
    "is_url",
    "join",
    "list_files",
    "read_bytes",
    "remove",
]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    If the block raises (or the process is killed), ``path`` keeps its old content and the
    temporary file is removed (or, after a kill, left as a hidden ``.<name>.*.tmp`` file that
    readers ignore). The file gets the permissions of an ordinary new file (``0o666`` less the
    process umask), not the owner-only mode of a temporary file, so a project group can read it.

    Example
    -------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ------------------------------------------------------------------ locations: paths or URLs
# A results folder is a local path or an fsspec URL (``s3://bucket/sweep``, ``gs://...``,
# ``file:///shared/sweep``, ``memory://...``). Local paths keep the os.replace path above; URLs
# go through fsspec, imported only when one is given.


def is_url(location: str | Path) -> bool:
    """True when ``location`` names an fsspec URL (``proto://...``) rather than a local path."""
    return "://" in str(location)


def join(location: str | Path, *names: str) -> str:
    """``location/name/...`` for a local path or a URL (always ``/``-separated for URLs)."""
    if not is_url(location):
        return str(Path(location, *names))
    return "/".join([str(location).rstrip("/"), *names])


def _fs(location: str | Path):
    import fsspec

    return fsspec.core.url_to_fs(str(location))


def atomic_write_bytes(location: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``location`` so readers see the old object or the whole new one.

    Local paths: a temporary file beside it, then ``os.replace`` (atomic on POSIX). URLs: a hidden
    ``.<name>.<random>.tmp`` object beside it, then ``fs.mv`` onto the final name: a rename on
    file systems, a server-side copy on object stores (S3, GCS, Azure), where a single object
    appears complete or not at all. A writer killed in between leaves only the hidden temporary
    object, which readers ignore and the next sweep removes.
    """
    if not is_url(location):
        with atomic_path(location) as tmp:
            tmp.write_bytes(payload)
        return
    import uuid

    fs, path = _fs(location)
    parent, name = path.rsplit("/", 1)
    tmp = f"{parent}/.{name}.{uuid.uuid4().hex}.tmp"
    fs.makedirs(parent, exist_ok=True)  # needed on file systems; a no-op on object stores
    fs.pipe_file(tmp, payload)
    try:
        fs.mv(tmp, path)
    except BaseException:
        fs.rm(tmp)
        raise


def read_bytes(location: str | Path) -> bytes:
    """The content of a file or object."""
    if not is_url(location):
        return Path(location).read_bytes()
    fs, path = _fs(location)
    return fs.cat_file(path)


def exists(location: str | Path) -> bool:
    """Whether a file or object exists at ``location``."""
    if not is_url(location):
        return Path(location).exists()
    fs, path = _fs(location)
    return fs.exists(path)


def list_files(folder: str | Path, pattern: str) -> list[str]:
    """Sorted locations of the files directly under ``folder`` whose names match ``pattern``."""
    if not is_url(folder):
        return [str(p) for p in sorted(Path(folder).glob(pattern))]
    fs, path = _fs(folder)
    return sorted(fs.unstrip_protocol(p) for p in fs.glob(f"{path.rstrip('/')}/{pattern}"))


def remove(location: str | Path) -> None:
    """Delete a file or object if it exists."""
    if not is_url(location):
        Path(location).unlink(missing_ok=True)
        return
    fs, path = _fs(location)
    if fs.exists(path):
        fs.rm(path)
