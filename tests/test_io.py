import os
import stat

import pytest

from lcurve._io import atomic_path


def test_atomic_path_replaces_on_success_and_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_path_gives_a_new_file_the_umask_permissions(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "chunk.parquet") as tmp:
            tmp.write_bytes(b"x")
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives an ordinary new file
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "chunk.parquet").stat().st_mode)
    assert mode == 0o666 & ~umask == stat.S_IMODE(plain.stat().st_mode)


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_atomic_write_to_a_url_keeps_old_object_on_failure(scheme, tmp_path, monkeypatch):
    fsspec = pytest.importorskip("fsspec")
    from lcurve import _io

    root = f"memory://io-test-{tmp_path.name}" if scheme == "memory" else f"file://{tmp_path}"
    target = _io.join(root, "chunks", "chunk-000000001.parquet")
    _io.atomic_write_bytes(target, b"first")
    assert _io.read_bytes(target) == b"first"
    fs_class = type(fsspec.core.url_to_fs(root)[0])

    def killed_mid_rename(self, *args, **kwargs):
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(fs_class, "mv", killed_mid_rename)
    with pytest.raises(RuntimeError):
        _io.atomic_write_bytes(target, b"second")
    assert _io.read_bytes(target) == b"first"
    folder = _io.join(root, "chunks")
    assert [f.rsplit("/", 1)[1] for f in _io.list_files(folder, "*")] == [
        "chunk-000000001.parquet"]
    assert _io.list_files(folder, ".*.tmp") == []
