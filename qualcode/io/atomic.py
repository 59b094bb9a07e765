"""Every file qualcode writes goes through here: atomically, never over someone's work, readable by the team.

Three promises, kept in one place so that every writer keeps them:

* **Atomic.** The bytes are written beside the target, flushed to disk, then
  moved into place: a reader (or a crash) sees the old file or the new one,
  never half of one (the move is atomic on POSIX and Windows when both paths
  are on the same volume).
* **Never over a file a person may have edited.** Review workbooks, reports,
  codebooks, exchange files and tables may hold weeks of work. An existing
  target is replaced only with ``overwrite=True``; otherwise
  :class:`~qualcode.errors.OutputExistsError` names the file and says how to
  go on. The check happens twice: before any work (a fast, clear refusal) and
  again at the final step, which uses a hard link: it fails if a file of that
  name appeared meanwhile (another process, a colleague's save), so no race
  can replace it.
* **The mode the umask gives.** A new file gets ``0666 & ~umask`` (like any
  file a program creates), not the owner-only ``0600`` of a temporary file:
  colleagues on a shared server can open the workbooks meant for them. A
  replaced file keeps the mode it had.
"""

from __future__ import annotations

import errno
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import OutputExistsError

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "check_writable", "free_path"]


def free_path(path: str | Path) -> Path:
    """``path``, or ``name-2.xlsx``, ``name-3.xlsx`` … if it exists: the first name no file has.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "revision.xlsx").write_bytes(b"")
    >>> free_path(folder / "revision.xlsx").name
    'revision-2.xlsx'
    """
    path = Path(path)
    if not path.exists():
        return path
    k = 2
    while (candidate := path.with_name(f"{path.stem}-{k}{path.suffix}")).exists():
        k += 1
    return candidate


def _refuse(target: Path) -> OutputExistsError:
    suggestion = free_path(target).name
    said = f"{target}: the file already exists and may hold someone's work; it was left untouched. "
    return OutputExistsError(
        said + f"Write to another name (e.g. {suggestion}), or replace it on purpose with overwrite=True.",
        path=target, suggestion=suggestion,
        cli_message=said + f"Give another name (e.g. {suggestion}), or replace it on purpose with --overwrite.")


def check_writable(targets: Iterable[str | Path], *, overwrite: bool = False) -> None:
    """Refuse, before any work, if one of ``targets`` exists and ``overwrite`` is false.

    Writers of several files (a folder of tables, a dump) call this first, so
    that nothing is written when one file would be refused.

    Raises
    ------
    OutputExistsError
        Naming the first existing file (``.path``) and how to go on.
    """
    if overwrite:
        return
    for target in targets:
        if Path(target).exists():
            raise _refuse(Path(target))


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


def _link_into_place(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` only if no file has that name: never replaces one, even in a race."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _refuse(target) from None
    except OSError as exc:
        # File systems without hard links (FAT, some network shares): check, then rename.
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS,
                             errno.EACCES):
            raise
        if target.exists():
            raise _refuse(target) from None
        os.replace(tmp, target)
        return
    tmp.unlink()


@contextmanager
def atomic_path(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it becomes ``target``.

    Parameters
    ----------
    target : path
        The file to write. Its folder is created if needed.
    overwrite : bool, default False
        Replace an existing ``target`` (which keeps its mode). Without it an
        existing file is never touched.

    Raises
    ------
    OutputExistsError
        If ``target`` exists and ``overwrite`` is false: before the work
        starts, or at the end if the file appeared meanwhile.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("hola")
    >>> out.read_text()
    'hola'
    >>> with atomic_path(out) as tmp:  # doctest: +ELLIPSIS
    ...     _ = tmp.write_text("chao")
    Traceback (most recent call last):
    qualcode.errors.OutputExistsError: .../a.txt: the file already exists and may hold someone's work; ...
    >>> with atomic_path(out, overwrite=True) as tmp:
    ...     _ = tmp.write_text("chao")
    >>> out.read_text()
    'chao'
    """
    target = Path(target)
    check_writable([target], overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp, created_mode = _create_beside(target)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        try:
            mode = os.stat(target).st_mode & 0o7777 if overwrite else created_mode
        except FileNotFoundError:
            mode = created_mode
        # Some writers delete and re-create the path they are given: set the mode last.
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_into_place(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(target: str | Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to ``target`` atomically; see :func:`atomic_path` for ``overwrite``."""
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8", *, overwrite: bool = False) -> None:
    """Write ``text`` to ``target`` atomically (``\\n`` newlines on every platform); see :func:`atomic_path`."""
    atomic_write_bytes(target, text.encode(encoding), overwrite=overwrite)
