"""The data layer's cache directory and the atomic file operations that keep it consistent.

Everything written under the cache is first written to a temporary name in the same folder and then renamed
(``os.replace``), so a reader sees either the whole file or none, and an interrupted run leaves at most a stray
temporary file (names start with ``.tmp-``) and never a half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CACHE_ENV = "SNNQ_CACHE"
TMP_PREFIX = ".tmp-"


def default_cache_dir() -> Path:
    """``$SNNQ_CACHE``, else ``$XDG_CACHE_HOME/snnq``, else ``~/.cache/snnq``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "snnq"


def resolve_cache_dir(cache_dir: str | Path | None) -> Path:
    """``cache_dir`` as a `Path`, or `default_cache_dir` when it is None."""
    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def stable_hash(payload: Any, *, length: int = 16) -> str:
    """Hex digest of the JSON form of ``payload`` (sorted keys): the same settings give the same key."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_fingerprint(path: str | Path) -> dict[str, Any]:
    """What identifies a file's version cheaply: resolved path, size and modification time."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``target``; renames it onto ``target`` when the block ends without error.

    On an error the temporary file is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=target.suffix, dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_text(target: str | Path, text: str) -> None:
    """Writes ``text`` to ``target`` atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text)


def atomic_directory(target: str | Path, fill: Callable[[Path], None]) -> Path:
    """Creates the folder ``target`` by calling ``fill(temporary_folder)`` and renaming the result onto ``target``.

    An existing ``target`` is returned as it is (a complete earlier result; nothing else ever creates it). If
    ``fill`` fails, or the run is interrupted, the temporary folder is removed (or left as ``.tmp-*`` garbage
    after a hard kill) and ``target`` does not exist. When two processes race, the first rename wins and the
    other's copy is discarded.
    """
    target = Path(target)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=target.parent))
    try:
        fill(temporary)
        try:
            os.rename(temporary, target)
        except OSError:
            if not target.is_dir():  # not a lost race: a real failure
                raise
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return target


def atomic_symlink(link: str | Path, points_to: str | Path) -> Path:
    """Makes ``link`` a symbolic link to ``points_to`` (replacing an older link atomically)."""
    link, points_to = Path(link), Path(points_to).resolve()
    if link.is_symlink() and Path(os.readlink(link)) == points_to:
        return link
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.parent / f"{TMP_PREFIX}{link.name}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(points_to, temporary, target_is_directory=True)
    os.replace(temporary, link)
    return link
