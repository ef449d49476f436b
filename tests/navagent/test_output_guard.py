"""`navagent.output_guard`: content digests, fingerprint refusal, output-path kinds, the folder lock."""

from __future__ import annotations

import pytest

from navagent.output_guard import (
    InputsChangedError,
    OutputLockedError,
    check_fingerprint,
    check_out_dir,
    check_out_file,
    describe_changes,
    file_digest,
    output_lock,
    tree_digest,
)


def test_digests_follow_content_not_timestamps(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "w.bin").write_bytes(b"weights")
    first, single = tree_digest(tmp_path / "a"), file_digest(tmp_path / "a" / "w.bin")
    (tmp_path / "a" / "w.bin").write_bytes(b"weights")  # rewritten, same bytes
    assert tree_digest(tmp_path / "a") == first and file_digest(tmp_path / "a" / "w.bin") == single
    (tmp_path / "a" / "w.bin").write_bytes(b"weightz")
    assert tree_digest(tmp_path / "a") != first


def test_fingerprint_is_recorded_then_compared(tmp_path):
    path = tmp_path / "run.json"
    check_fingerprint(path, {"inputs": {"data": "sha256:1"}, "limit": 3})
    check_fingerprint(path, {"inputs": {"data": "sha256:1"}, "limit": 3})  # same: resumes
    with pytest.raises(
        InputsChangedError, match=r"inputs\.data \(was \"sha256:1\", now \"sha256:2\"\).*--out"
    ):
        check_fingerprint(path, {"inputs": {"data": "sha256:2"}, "limit": 3})
    path.write_text("{not json")
    with pytest.raises(InputsChangedError, match="unreadable run record"):
        check_fingerprint(path, {"limit": 3})
    assert describe_changes({"a": 1}, {"b": 2}) == "a (was 1, now null), b (was null, now 2)"


def test_output_paths_of_the_wrong_kind(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="must be a folder"):
        check_out_dir(tmp_path / "file.txt")
    with pytest.raises(IsADirectoryError, match="must be a file"):
        check_out_file(tmp_path)
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        check_out_file(tmp_path / "file.txt" / "out.json")
    assert check_out_file(tmp_path / "new" / "out.json") == tmp_path / "new" / "out.json"


def test_lock_is_exclusive_and_released(tmp_path):
    with output_lock(tmp_path / "run") as lock:
        assert lock.exists()
        with pytest.raises(OutputLockedError, match="in use by another run"), output_lock(tmp_path / "run"):
            pass
    assert not lock.exists()
    with output_lock(tmp_path / "run"):
        pass
