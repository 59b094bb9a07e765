"""What makes a spreadsheet safe to open (cases E1–E3).

* E1: text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is never a formula. In ``.xlsx`` the cell is typed as text, so the
  words show exactly as spoken; in CSV (which has no types) such a cell is
  prefixed with an apostrophe, the convention spreadsheets honour.
* E2: characters XML cannot hold (Word's ``\\x0b`` …) become spaces; text
  longer than a cell holds (32,767 characters) is cut with a visible marker.
* E3: sheet names are at most 31 characters, without ``[]:*?/\\``, unique.
"""

from __future__ import annotations

import re

__all__ = ["cell_text", "csv_text", "sheet_name", "put", "CELL_LIMIT", "FORMULA_START"]

CELL_LIMIT = 32_767
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_MARK = " […]"


def cell_text(value: str) -> str:
    """Text a cell can hold: illegal control characters replaced, cut at the cell limit with a marker.

    Examples
    --------
    >>> cell_text("uno\\x0bdos")
    'uno dos'
    """
    text = _ILLEGAL.sub(" ", value)
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - len(_MARK)] + _MARK
    return text


def csv_text(value: object) -> object:
    """A value safe for CSV: formula-like text gets a leading apostrophe.

    Examples
    --------
    >>> csv_text("=SUMA(A1)"), csv_text("hola")
    ("'=SUMA(A1)", 'hola')
    """
    if isinstance(value, str):
        value = _ILLEGAL.sub(" ", value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def put(cell, value: object) -> None:  # type: ignore[no-untyped-def]
    """Write ``value`` into an openpyxl cell; text is always stored as text, never as a formula."""
    if value is None or value is _NA:
        cell.value = None
        return
    if isinstance(value, float) and value != value:  # NaN
        cell.value = None
        return
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, (list, tuple, set)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str):
        cell.value = cell_text(value)
        cell.data_type = "s"
    else:
        cell.value = value


def sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique sheet name for ``name`` (31 characters, no ``[]:*?/\\``); records it in ``used``.

    Examples
    --------
    >>> used = set()
    >>> sheet_name("Citas: Colaboración [todas las subcategorías]", used), sheet_name("Citas: Colaboración [todas]", used)
    ('Citas Colaboración (todas las…', 'Citas Colaboración (todas)')
    """
    clean = name.replace("[", "(").replace("]", ")")
    clean = re.sub(r"\s+", " ", _SHEET_BAD.sub(" ", clean)).strip().strip("'") or "Sheet"
    base = clean if len(clean) <= 31 else clean[:30].rstrip() + "…"
    candidate, n = base, 2
    while candidate.lower() in {u.lower() for u in used}:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)].rstrip() + suffix
        n += 1
    used.add(candidate)
    return candidate


try:
    import pandas as _pd

    _NA = _pd.NA
except ImportError:  # pragma: no cover
    _NA = object()
