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
* **Never over a project file or a command's own input.** Not even with
  ``overwrite=True``: a SQLite file (a qualcode project holds every decision)
  is never an output's target, and :func:`check_outputs` refuses a command
  whose output is one of its inputs or another of its outputs.
* **The mode the umask gives.** A new file gets ``0666 & ~umask`` (like any
  file a program creates), not the owner-only ``0600`` of a temporary file:
  colleagues on a shared server can open the workbooks meant for them. A
  replaced file keeps the mode it had.
"""

from __future__ import annotations

import errno
import gc
import os
import re
import secrets
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputExistsError, OutputWriteError, ParameterError, QualcodeError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_outputs", "check_writable", "free_path",
           "write_failure"]

_SQLITE_HEADER = b"SQLite format 3\x00"


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


def _refuse(targets: list[Path]) -> OutputExistsError:
    target = targets[0]
    suggestion = free_path(target).name
    if len(targets) == 1:
        said = f"{target}: the file already exists and may hold someone's work; it was left untouched. "
        other, other_cli = f"Write to another name (e.g. {suggestion})", f"Give another name (e.g. {suggestion})"
    else:
        shown = ", ".join(str(t) for t in targets[:5]) + (f" and {len(targets) - 5} more" if len(targets) > 5 else "")
        said = (f"{len(targets)} files already exist and may hold someone's work: {shown}; nothing was written. ")
        other = other_cli = "Write to other names or another folder"
    return OutputExistsError(
        said + f"{other}, or replace {'it' if len(targets) == 1 else 'them'} on purpose with overwrite=True.",
        path=target, suggestion=suggestion,
        cli_message=said + f"{other_cli}, or replace {'it' if len(targets) == 1 else 'them'} on purpose with "
                           "--overwrite.")


def _is_database(path: Path) -> bool:
    """A SQLite file (a qualcode project), or the write-ahead log or shared memory beside one."""
    if path.name.endswith(("-wal", "-shm", "-journal")):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:
        return False


def _refuse_database(target: Path) -> OutputExistsError:
    said = (f"{target} is a qualcode project file (or a database beside one): no output ever replaces it, not even "
            "with overwrite, because it holds every decision. Nothing was written. ")
    return OutputExistsError(said + "Write the output to another name.", path=target, suggestion=None,
                             cli_message=said + "Give the output another name.")


def check_writable(targets: Iterable[str | Path], *, overwrite: bool = False) -> None:
    """Refuse, before any work, if one of ``targets`` exists and ``overwrite`` is false.

    Writers of several files (a folder of tables, a dump) call this first, so
    that nothing is written when one file would be refused. A project file
    (any SQLite database) is refused even with ``overwrite=True``.

    Raises
    ------
    OutputExistsError
        Naming every existing file (``.path`` is the first) and how to go on.
    """
    existing = [Path(t) for t in targets if Path(t).exists()]
    for target in existing:
        if _is_database(target):
            raise _refuse_database(target)
    if existing and not overwrite:
        raise _refuse(existing)


def check_outputs(outputs: dict[str, str | Path | None], inputs: dict[str, str | Path | None]) -> None:
    """Refuse a command whose outputs collide: an output that is an input, or two outputs at one path.

    ``outputs`` and ``inputs`` map how the user named each file (a CLI option
    such as ``"--mapping"``, or a parameter name) to its path; ``None`` is skipped.
    Checked before anything is written, so a slip (``--mapping nombres.txt``,
    ``--qdpx`` naming the workbook) never costs the input or half the outputs.

    Raises
    ------
    ParameterError
        Naming both uses of the path and what to do.

    Examples
    --------
    >>> check_outputs({"--mapping": "n.txt"}, {"--pseudonymize": "n.txt"})
    Traceback (most recent call last):
    qualcode.errors.ParameterError: n.txt is given as --mapping and as --pseudonymize: one command cannot ...
    """
    seen: dict[Path, str] = {}
    for group in (inputs, outputs):
        for name, path in group.items():
            if path is None:
                continue
            key = Path(path).expanduser().resolve()
            if key in seen:
                raise ParameterError(f"{path} is given as {name} and as {seen[key]}: one command cannot write a file "
                                     "it reads or writes twice. Give each output its own name.")
            seen[key] = name


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
        raise _refuse([target]) from None
    except OSError as exc:
        # File systems without hard links (FAT, some network shares): check, then rename.
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS,
                             errno.EACCES):
            raise
        if target.exists():
            raise _refuse([target]) from None
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
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp, created_mode = _create_beside(target)
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
    except Exception as exc:
        failure = write_failure(target, exc)
        if failure is None:
            raise
        _release_quietly(exc)
        raise failure from None
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


# What the file system says when a write cannot be done, and what the user can do about it.
_WRITE_FAILURES = {
    errno.ENOSPC: ("the disk is full", "Free some space"),
    errno.EDQUOT: ("the disk quota is used up", "Free some space in your quota"),
    errno.EFBIG: ("a file-size limit stopped the write (ulimit -f)", "Raise the limit (ulimit -f unlimited)"),
    errno.EROFS: ("the folder is on a read-only file system", "Write to a folder you can write to"),
    errno.EACCES: ("this user may not write there", "Write to a folder you can write to"),
    errno.EPERM: ("the file system refused the write", "Write to a folder you can write to"),
    errno.ENAMETOOLONG: ("the path is longer than the system allows", "Write to a shorter path"),
}


# lxml (under openpyxl) reports a refused write as a SerialisationError naming libxml2's code, e.g. "IO_EFBIG".
_LIBXML_IO = re.compile(r"\bIO_(E[A-Z]+)\b")


def write_failure(target: str | Path, exc: BaseException) -> OutputWriteError | None:
    """An :class:`~qualcode.errors.OutputWriteError` for a write the file system refused; None for other errors.

    Writers report it as an ``OSError`` (``ENOSPC``, ``EFBIG`` …) or, for the XML that lxml writes into a
    workbook, as an ``lxml`` error that names the same code.

    Examples
    --------
    >>> print(write_failure("informe.xlsx", OSError(errno.ENOSPC, "No space left on device")))
    informe.xlsx: not written: the disk is full; nothing of it was left. Free some space and run the command again.
    """
    if isinstance(exc, QualcodeError):
        return None
    if isinstance(exc, OSError):
        code = exc.errno
    else:
        found = _LIBXML_IO.search(str(exc))
        code = getattr(errno, found.group(1), None) if found else None
    if code not in _WRITE_FAILURES:
        return None
    what, fix = _WRITE_FAILURES[code]
    return OutputWriteError(f"{target}: not written: {what}; nothing of it was left. {fix} and run the command "
                            "again.", path=target, reason=errno.errorcode.get(code or 0))


def _release_quietly(exc: BaseException) -> None:
    """Drop what the failed writer still holds, without the same error printed again as it is collected.

    openpyxl writes each sheet through a generator that lxml's writer is still inside when the disk refuses;
    released, it raises the same refusal again, which Python can only print ("Exception ignored in …"). The
    refusal is already in the error raised, so that echo is dropped; any other one is printed as usual.
    """
    previous = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if unraisable.exc_value is None or write_failure("", unraisable.exc_value) is None:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        traceback.clear_frames(exc.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = previous


def atomic_write_bytes(target: str | Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write ``data`` to ``target`` atomically; see :func:`atomic_path` for ``overwrite``."""
    with atomic_path(target, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | Path, text: str, encoding: str = "utf-8", *, overwrite: bool = False) -> None:
    """Write ``text`` to ``target`` atomically (``\\n`` newlines on every platform); see :func:`atomic_path`."""
    atomic_write_bytes(target, text.encode(encoding), overwrite=overwrite)
