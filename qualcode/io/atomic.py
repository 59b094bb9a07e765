"""Atomic file writes: write beside the target, flush to disk, then rename over it.

A reader (or a crash) sees either the old file or the new one, never half of
one: the rename is atomic on POSIX and Windows when both paths are on the
same volume. A new file gets the mode the umask gives (``0666 & ~umask``,
like any file a program creates), not the owner-only ``0600`` of a temporary
file; a replaced file keeps the mode it had.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes"]


def _create_beside(target: Path) -> tuple[Path, int]:
    """A new empty file beside ``target``, created with mode ``0666``: the kernel applies the umask.

    ``tempfile.mkstemp`` would create it ``0600`` (case team-study 10); reading
    the umask with ``os.umask`` would change it for every thread meanwhile.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
        os.close(fd)
        return tmp, os.stat(tmp).st_mode & 0o7777


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hola")
    >>> out.read_text()
    'hola'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp, created_mode = _create_beside(target)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mode = created_mode
        # Some writers delete and re-create the path they are given: set the mode last.
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically (``\\n`` newlines on every platform)."""
    atomic_write_bytes(target, text.encode(encoding))


