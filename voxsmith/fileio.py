"""Crash-safe files, shared by every stage.

- :func:`atomic_path`: write a whole file through a temp file in the same folder and a rename,
  so a reader (or a resumed run) never sees a half-written file, and a failed write leaves the
  old file in place and no temp file behind; :func:`atomic_copy` copies a file that way;
- :class:`LineAppender` / :func:`append_line`: resumable logs (manifests, state records) grow
  one whole, fsync'd line at a time; a line torn by a kill is the reader's to skip;
- :func:`folder_lock`: one writer per folder, by pid file; a lock left by a dead process is
  taken over;
- :func:`file_digest`: a short content hash that names the caches one file's weights made.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from voxsmith.errors import ConfigError


def _plain_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 less the process's umask."""
    mask = os.umask(0)  # the only way to read it; done once, at import, before threads exist
    os.umask(mask)
    return 0o666 & ~mask


PLAIN_MODE = _plain_mode()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it replaces ``path``, on error it is removed.

    ``suffix``: the temp file's ending, for writers that insist on one (``np.savez`` adds
    ``.npz`` to any other name).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the mode a plain write would have, or
        # the replaced file's, so a shared model directory stays readable by its other users
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else PLAIN_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8), fsync'd, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def atomic_copy(src: str | os.PathLike, dst: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """Replace ``dst`` with a copy of the file ``src``, atomically (see :func:`atomic_path`)."""
    with atomic_path(dst, suffix=suffix) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)


def atomic_write_lines(path: str | os.PathLike, lines: Iterable[str]) -> Path:
    """Replace ``path`` with ``lines``, one per line, atomically."""
    return atomic_write_text(path, "".join(line + "\n" for line in lines))


class LineAppender:
    """Appends whole lines to one file, each flushed and fsync'd before ``append`` returns."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: TextIO = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def append(self, line: str) -> None:
        if "\n" in line:
            raise ValueError("LineAppender.append takes one line without newlines")
        self._f.write(line + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> LineAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one fsync'd line to ``path`` (opened and closed for this line)."""
    with LineAppender(path) as f:
        f.append(line)


@contextlib.contextmanager
def folder_lock(lock: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold the pid file ``lock`` while the block runs; ``what`` names the job in the error.

    A second holder gets a ConfigError; a lock whose process is gone is taken over.
    """
    lock = Path(lock)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
                if pid <= 0:
                    raise ValueError("no pid")
                os.kill(pid, 0)  # raises when no such process: the lock is stale
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)
                continue
            except PermissionError:
                pass  # the process exists under another user
            raise ConfigError(
                f"another {what} (pid {pid}) is running on {lock.parent}; wait for it or stop it"
            ) from None
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:  # pragma: no cover - the lock kept reappearing
        raise ConfigError(f"cannot take {lock}: another {what} keeps creating it")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def file_digest(path: str | os.PathLike, n: int = 12) -> str:
    """The first ``n`` hex digits of the SHA-256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:n]
