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
