"""Crash-safe file helpers: whole-file replacement, fsync'd appends, folder locks."""

from __future__ import annotations

import os

import pytest

from voxsmith.errors import ConfigError
from voxsmith.fileio import (
    LineAppender,
    atomic_copy,
    atomic_path,
    atomic_write_lines,
    atomic_write_text,
    folder_lock,
)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_write_lines_and_suffix(tmp_path):
    out = atomic_write_lines(tmp_path / "sub" / "a.jsonl", ["1", "2"])
    assert out.read_text() == "1\n2\n"
    with atomic_path(tmp_path / "x.npz", suffix=".npz") as tmp:
        assert tmp.name.endswith(".npz") and tmp.parent == tmp_path
        tmp.write_bytes(b"z")
    assert (tmp_path / "x.npz").read_bytes() == b"z"


def test_atomic_copy_replaces_whole_and_a_missing_source_keeps_the_old_file(tmp_path):
    src, dst = tmp_path / "src.bin", tmp_path / "out" / "dst.bin"
    src.write_bytes(b"new" * 1000)
    atomic_write_text(dst, "old")
    assert atomic_copy(src, dst) == dst and dst.read_bytes() == b"new" * 1000
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "gone.bin", dst)
    assert dst.read_bytes() == b"new" * 1000
    assert sorted(p.name for p in dst.parent.iterdir()) == ["dst.bin"]


def test_line_appender_appends_whole_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    with LineAppender(path) as f:
        f.append('{"a": 1}')
        with pytest.raises(ValueError):
            f.append("two\nlines")
    with LineAppender(path) as f:
        f.append('{"a": 2}')
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n'


def test_folder_lock_refuses_a_second_holder_and_takes_over_a_dead_ones(tmp_path):
    lock = tmp_path / "job.lock"
    with folder_lock(lock, "job"):
        assert lock.read_text() == str(os.getpid())
        with pytest.raises(ConfigError, match="another job"), folder_lock(lock, "job"):
            pass
    assert not lock.exists()
    lock.write_text("999999999")  # no such process: a stale lock from a killed run
    with folder_lock(lock, "job"):
        assert lock.read_text() == str(os.getpid())
    assert not lock.exists()


def test_atomic_writes_get_a_plain_files_mode_not_the_temp_files(tmp_path):
    import stat

    from voxsmith.fileio import atomic_write_text

    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # the mode open() gives under this process's umask
    new = atomic_write_text(tmp_path / "new.txt", "x")
    assert stat.S_IMODE(new.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)  # not mkstemp's 0600
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    atomic_write_text(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"
