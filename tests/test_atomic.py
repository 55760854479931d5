import pytest

from clearzoom.atomic import atomic_path, write_atomic


def test_failed_write_leaves_target_and_folder_untouched(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [target]
    write_atomic(target, "new ✓")
    assert target.read_text("utf-8") == "new ✓" and sorted(tmp_path.iterdir()) == [target]
