import pytest

from clearzoom.atomic import atomic_path, write_atomic


def test_failed_write_leaves_target_and_folder_untouched(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]
    write_atomic(target, "new ✓")
    assert target.read_text("utf-8") == "new ✓" and sorted(tmp_path.iterdir()) == [target]


def test_written_files_get_the_modes_a_plain_write_would(tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        fresh = write_atomic(tmp_path / "fresh.txt", "x")  # mkstemp alone would leave 0o600
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        kept.chmod(0o604)
        write_atomic(kept, "new")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_text() == "new"
    finally:
        os.umask(old)
    assert os.umask(old) == old  # the umask is left as it was
