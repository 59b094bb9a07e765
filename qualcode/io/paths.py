"""File names made from data stay file names, inside the folder the user named.

qualcode names some of the files it writes after data: the review workbook after the round's ``round``
attribute (a cell of the attributes sheet colleagues edit in Excel), CSV tables after table titles that hold
attribute names, a pseudonymized copy after the project's name. Such a value may hold ``/`` and ``..``
(``/../../elsewhere``), control characters, a name Windows reserves (``CON``), or be hundreds of characters
long. :func:`path_in` is the one way those names are made: every character that is not a letter, digit,
``-`` or ``_`` becomes ``_``, the length is bounded, and the final path is checked to lie inside the folder.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path

from ..errors import ParameterError, QualcodeError, printable

__all__ = ["MAX_NAME_BYTES", "existing_file", "nearest_name", "path_in", "safe_file_name"]

# Most file systems allow 255 bytes per name. The name made here gets a suffix (".xlsx"), perhaps a free-name
# counter ("-12") and, while it is written, the atomic writer's temporary prefix and suffix (".", ".<12 hex>.tmp"):
# 120 bytes of UTF-8 leaves room for all of them, and for cloud-sync tools that add their own.
MAX_NAME_BYTES = 120

_NOT_NAME = re.compile(r"[^\w\-]+")
# Names Windows refuses for a file whatever its suffix (a study folder is often shared with Windows machines).
_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])$")


def safe_file_name(text: object, *, fallback: str) -> str:
    """``text`` as one file-name component: letters, digits, ``-`` and ``_`` only, at most 120 bytes.

    Parameters
    ----------
    text : str or any value
        What the name comes from (an attribute value, an id, a title).
    fallback : str
        The name when nothing usable is left (an empty value, only punctuation).

    Examples
    --------
    >>> safe_file_name("/../../escaped", fallback="ronda")
    'escaped'
    >>> safe_file_name("Ronda 2: Ñuñoa\\r\\n", fallback="ronda")
    'Ronda_2_Ñuñoa'
    >>> safe_file_name("..", fallback="ronda"), safe_file_name("CON", fallback="ronda")
    ('ronda', 'CON_')
    """
    name = _NOT_NAME.sub("_", unicodedata.normalize("NFC", str(text))).strip("_")
    if not name:
        name = _NOT_NAME.sub("_", fallback).strip("_") or "file"
    if _RESERVED.match(name):
        name += "_"
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        name = encoded[:MAX_NAME_BYTES].decode("utf-8", errors="ignore").rstrip("_")
    return name


def path_in(folder: str | Path, text: object, *, suffix: str = "", prefix: str = "", fallback: str) -> Path:
    """``folder / (prefix + safe_file_name(text) + suffix)``, checked to lie inside ``folder``.

    The one function through which qualcode builds a path from data; ``prefix`` and ``suffix`` are
    qualcode's own words (``revision_``, ``.xlsx``).

    Raises
    ------
    ParameterError
        If the path would still lead out of ``folder`` (a symbolic link named like the file, pointing
        elsewhere): nothing is written there.

    Examples
    --------
    >>> path_in("study/out", "/../../escaped", prefix="revision_", suffix=".xlsx", fallback="ronda").as_posix()
    'study/out/revision_escaped.xlsx'
    """
    folder = Path(folder)
    path = folder / f"{prefix}{safe_file_name(text, fallback=fallback)}{suffix}"
    inside = folder.resolve()
    if path.resolve().parent != inside:
        raise ParameterError(f"{printable(path)} leads outside {printable(folder)} (a link?): qualcode writes the "
                             "files it names only inside the folder given. Remove the link or choose another "
                             "folder.", path=path)
    return path


def existing_file(path: str | Path, error: type[QualcodeError], what: str) -> Path:
    """``path``, if it is a file; else ``error`` saying it does not exist (with the nearest name) or is a folder.

    For the files a user names (an attributes sheet, a review workbook): a mistyped name is one clear line, not
    a ``FileNotFoundError`` traceback.

    Examples
    --------
    >>> from qualcode.errors import AttributesError
    >>> existing_file("atributoss.csv", AttributesError, "attributes sheet")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qualcode.errors.AttributesError: atributoss.csv: no such attributes sheet (in ...). Check the name.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a folder; give the {what} file itself.", path=path)
    if not path.exists():
        near = nearest_name(path)
        hint = f"; did you mean {near}?" if near else ". Check the name."
        raise error(f"{path}: no such {what} (in {Path.cwd()}){hint}", path=path)
    return path


def nearest_name(path: str | Path) -> str | None:
    """The existing file or folder beside a mistyped ``path`` whose name is closest to it (``ronda_1`` → ``ronda1``).

    Examples
    --------
    >>> nearest_name("/") is None
    True
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        names = [entry.name for entry in parent.iterdir()] if parent.is_dir() else []
    except OSError:
        return None
    match = difflib.get_close_matches(path.name, names, n=1, cutoff=0.75)
    return str(parent / match[0]) if match else None
