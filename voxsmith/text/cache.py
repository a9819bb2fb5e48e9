"""A small on-disk cache for derived text tables (word lists, pinyin tables).

Dictionaries shipped by dependencies (jieba's word list, pypinyin's JSON tables) take 0.2-0.8 s
to load in their own formats; voxsmith derives the few columns it needs once, stores them as
plain text under ``$VOXSMITH_CACHE_DIR`` (default ``~/.cache/voxsmith``) and reads them back in
tens of milliseconds. The key names the source file's size and mtime, so an upgraded dependency
gets a fresh table. A read-only home only costs speed: the table is then rebuilt per process.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    root = os.environ.get("VOXSMITH_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")) / "voxsmith"


def source_key(path: Path) -> str:
    """A key that changes when the source file changes."""
    st = path.stat()
    return f"{st.st_size}-{int(st.st_mtime)}"


def cached_text(name: str, build: Callable[[], str]) -> str:
    """The cached text ``name``, built with ``build()`` and stored (atomically) on a miss."""
    path = cache_dir() / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    body = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as tmp:
            tmp.write(body)
        os.replace(tmp.name, path)
    except OSError as exc:
        log.debug("cannot write the cache file %s: %s", path, exc)
    return body


def package_file(package: str, name: str) -> Path:
    """A data file of an installed package, located without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        from voxsmith.errors import EngineError

        raise EngineError(f"{package} is not installed (pip install {package}); the text frontend needs it")
    return Path(spec.origin).parent / name
