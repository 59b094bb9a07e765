"""What makes a written file safe to open, and the one place every cell, CSV field and XML string goes through.

* E1 (formulas): text that starts with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return is never a formula. In ``.xlsx`` the cell is typed as
  text (:func:`put`, :func:`put_row`), so the words show exactly as spoken;
  in CSV (which has no types) such a field, header included, gets a leading
  apostrophe (:func:`csv_text`, :func:`csv_frame`), the convention
  spreadsheets honour. Files meant to be read back (the project dump, the
  pseudonym mapping) use the reversible form (``exact=True``: a field that
  starts with an apostrophe gets one more), undone by :func:`csv_value`.
* E2 (characters a format forbids): XML 1.0 — inside every ``.xlsx``,
  ``.qdpx`` and ``.qdc`` — cannot hold C0 control characters other than tab
  and line breaks (a bell ``\\x07``, ESC, DOS end-of-file ``\\x1a``, NUL,
  Word's ``\\x0b``), lone surrogates, or the non-characters U+FFFE/U+FFFF.
  :func:`clean_text` replaces each with a space, the same way for every
  writer (one character for one, so positions do not move), and counts it;
  each writer reports the count and where (cells, lines, elements: never the
  words) as one :class:`~qualcode.errors.ReplacedCharactersWarning` per
  file (:func:`reporting`). Text longer than a cell holds (32,767
  characters) is cut with a visible marker.
* E3: sheet names are at most 31 characters, without ``[]:*?/\\``, unique.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReplacedCharactersWarning

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.cell.cell import Cell, MergedCell
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "CELL_LIMIT",
    "FORBIDDEN",
    "FORMULA_START",
    "cell_text",
    "clean_text",
    "csv_frame",
    "csv_text",
    "csv_value",
    "put",
    "put_row",
    "reporting",
    "row_cells",
    "rows_as_cells",
    "sheet_name",
]

CELL_LIMIT = 32_767
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The complement of XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets), as found in text.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
REPLACEMENT = " "
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_MARK = " […]"
_SHOWN_PLACES = 5


class _Tally:
    """Characters replaced while one file is written, and where."""

    def __init__(self) -> None:
        self.count = 0
        self.places: list[str] = []
        self.seen: set[str] = set()

    @property
    def n_places(self) -> int:
        return len(self.seen)

    def add(self, n: int, where: str | None) -> None:
        self.count += n
        if where is not None and where not in self.seen:
            self.seen.add(where)
            if len(self.places) < _SHOWN_PLACES:
                self.places.append(where)


_TALLY: ContextVar[_Tally | None] = ContextVar("qualcode_replaced_characters", default=None)


@contextmanager
def reporting(target: object, what: str) -> Iterator[None]:
    """Count what :func:`clean_text` replaces while ``target`` is written; warn once if anything was.

    Nested calls (the report writer calling the workbook writer) report once,
    in the outermost. Nothing is reported if writing fails.

    Parameters
    ----------
    target : path or file object
        Named in the warning.
    what : str
        The format, in words (``"an .xlsx workbook"``, ``"XML (.qdpx)"``).

    Warns
    -----
    ReplacedCharactersWarning
        With ``path``, ``count`` and ``places`` (e.g. ``sheet 'Citas' cell A2``).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     with reporting("x.xlsx", "an .xlsx workbook"):
    ...         _ = clean_text("12\\x07°", where="sheet 'Citas' cell A2")
    >>> print(seen[0].message)  # doctest: +NORMALIZE_WHITESPACE
    x.xlsx: 1 character that an .xlsx workbook cannot hold (a control character such as a bell, ESC or DOS
    end-of-file, or U+FFFE/U+FFFF) was replaced by a space, in sheet 'Citas' cell A2. Everything else was
    written as it is.
    """
    if _TALLY.get() is not None:
        yield
        return
    tally = _Tally()
    token = _TALLY.set(tally)
    try:
        yield
    finally:
        _TALLY.reset(token)
    if tally.count:
        name = str(target) if isinstance(target, (str, Path)) else getattr(target, "name", None) or "the output"
        places = ", ".join(tally.places) + (f" and {tally.n_places - len(tally.places)} more place(s)"
                                            if tally.n_places > len(tally.places) else "")
        one = tally.count == 1
        warnings.warn(ReplacedCharactersWarning(
            f"{name}: {tally.count} character{'' if one else 's'} that {what} cannot hold (a control character such "
            f"as a bell, ESC or DOS end-of-file, or U+FFFE/U+FFFF) {'was' if one else 'were'} replaced by "
            f"{'a space' if one else 'spaces'}, in {places or 'the text'}. Everything else was written as it is.",
            path=name, count=tally.count, places=list(tally.places)), stacklevel=3)


def clean_text(value: str, where: str | None = None) -> str:
    """``value`` with every character XML 1.0 forbids replaced by a space (counted for :func:`reporting`).

    Examples
    --------
    >>> clean_text("uno\\x0bdos\\x07 \\uffff")
    'uno dos   '
    """
    text, n = FORBIDDEN.subn(REPLACEMENT, value)
    if n:
        tally = _TALLY.get()
        if tally is not None:
            tally.add(n, where)
    return text


def cell_text(value: str, where: str | None = None) -> str:
    """Text a cell can hold: forbidden characters replaced (:func:`clean_text`), cut at the cell limit with a marker.

    Examples
    --------
    >>> cell_text("uno\\x0bdos")
    'uno dos'
    """
    text = clean_text(value, where)
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - len(_MARK)] + _MARK
    return text


def csv_text(value: object, where: str | None = None, *, exact: bool = False) -> object:
    """A value safe for CSV: formula-like text gets a leading apostrophe.

    Parameters
    ----------
    value : object
        Non-text values are returned as they are.
    where : str, optional
        Where the value goes, for the report of replaced characters.
    exact : bool, default False
        For files read back by qualcode (the dump, the mapping): characters
        are kept as they are (CSV can hold them) and a value that starts
        with an apostrophe gets one more, so :func:`csv_value` gives back the
        exact value. Otherwise forbidden characters become spaces, as in
        every other writer.

    Examples
    --------
    >>> csv_text("=SUMA(A1)"), csv_text("hola"), csv_text("'=x", exact=True), csv_value(csv_text("'=x", exact=True))
    ("'=SUMA(A1)", 'hola', "''=x", "'=x")
    """
    if isinstance(value, str):
        if not exact:
            value = clean_text(value, where)
        if value.startswith(FORMULA_START) or (exact and value.startswith("'")):
            return "'" + value
    return value


def csv_value(field: object) -> object:
    """Undo :func:`csv_text` with ``exact=True``: one leading apostrophe comes off.

    Examples
    --------
    >>> csv_value("'-sí, claro"), csv_value("hola"), csv_value(None)
    ('-sí, claro', 'hola', None)
    """
    if isinstance(field, str) and field.startswith("'"):
        return field[1:]
    return field


def csv_frame(frame: pd.DataFrame, name: str = "", *, exact: bool = False) -> pd.DataFrame:
    """``frame`` with every field and every column name through :func:`csv_text`, ready for ``to_csv``.

    Places are given as ``<name> line N, column M`` (the line in the CSV
    file, 1 = the header), never by content.

    Examples
    --------
    >>> import pandas as pd
    >>> csv_frame(pd.DataFrame({"=rol": ["@Carla", 3]})).to_csv(index=False).splitlines()
    ["'=rol", "'@Carla", '3']
    """
    out = frame.copy()
    out.columns = [csv_text(str(c), f"{name} line 1, column {i}".strip(), exact=exact)
                   for i, c in enumerate(frame.columns, start=1)]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype.kind in "biufcmM":  # numbers, booleans, dates: nothing to neutralise
            continue
        values = [csv_text(v, f"{name} line {r}, column {i + 1}".strip(), exact=exact)
                  for r, v in enumerate(column.tolist(), start=2)]
        out.isetitem(i, values)
        if str(column.dtype) == "string":
            out.isetitem(i, out.iloc[:, i].astype("string"))
    return out


def put(cell: Cell | MergedCell, value: object) -> None:
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
        if len(value) <= CELL_LIMIT and FORBIDDEN.search(value) is None:
            cell.value = value  # the common case: no place to name, so no coordinate to compute
        else:
            cell.value = cell_text(value, f"sheet {cell.parent.title!r} cell {cell.coordinate}")
        cell.data_type = "s"
    else:
        cell.value = value  # type: ignore[assignment]  # any other type: openpyxl refuses it, naming the type


def row_cells(ws: Worksheet, row: int, values: Sequence[object],
              like: Sequence[Cell | None] | None = None) -> list[Cell | None]:
    """The cells of row ``row`` for a write-only sheet's ``append``, each value through :func:`put`.

    A write-only workbook (``Workbook(write_only=True)``) streams rows to the file as they come, so a long
    sheet costs the same per row from the first to the last and is never held whole. An empty value without a
    style is no cell at all (``None``); ``like`` as for :func:`put_row`.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> ws = Workbook(write_only=True).create_sheet("s")
    >>> cells = row_cells(ws, 1, ["=1+1", None, 3])
    >>> cells[0].value, cells[0].data_type, cells[1], cells[2].value
    ('=1+1', 's', None, 3)
    """
    from openpyxl.cell.cell import Cell

    styles = like if like is not None else [None] * len(values)
    out: list[Cell | None] = []
    for column, (model, value) in enumerate(zip(styles, values, strict=True), start=1):
        style = getattr(model, "_style", None)
        if style is None and (value is None or value is _NA):
            out.append(None)
            continue
        cell = Cell(ws, row, column, style_array=style)  # copies the model's style (see put_row)
        put(cell, value)
        out.append(cell)
    return out


def rows_as_cells(ws: Worksheet) -> None:
    """Let write-only sheet ``ws`` take the rows of :func:`row_cells` as they are.

    openpyxl's write-only ``append`` first tries each value as a plain value and falls back to a cell through
    an exception whose message is formatted each time: that was a quarter of the time of a long styled sheet.
    The cells of :func:`row_cells` already carry their row, column, value and style, so they go to the file
    directly. (Rows of anything else must not be appended to ``ws`` after this.)
    """

    def placed(row: Sequence[Cell | None], row_idx: int) -> Iterator[Cell]:
        return (cell for cell in row if cell is not None)

    ws._values_to_row = placed  # type: ignore[attr-defined]  # the one hook openpyxl's streaming writer calls


def put_row(ws: Worksheet, values: Sequence[object], like: Sequence[Cell | None] | None = None) -> int:
    """Append a row of ``values`` to worksheet ``ws`` through :func:`put` (``Worksheet.append`` makes
    ``=…`` a live formula); return the row number.

    Time per row does not depend on the rows already written: the row's own cells
    are appended (``Worksheet.max_row`` would scan every cell of the sheet, making
    a sheet of n rows cost n² — issue 20).

    Parameters
    ----------
    like : sequence of Cell or None, optional
        Per column, a cell (made with ``Cell(ws, 1, column)``, never placed, and styled once) whose style
        the new cell takes: what setting ``font``/``fill``/``alignment`` on each
        cell gives, without looking every style up again (that lookup was most of
        the time of a long styled sheet).

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> from openpyxl.cell.cell import Cell
    >>> from openpyxl.styles import Font
    >>> ws = Workbook().active
    >>> put_row(ws, ["coder", '=HYPERLINK("http://x","ana")']), ws["B1"].data_type
    (1, 's')
    >>> bold = Cell(ws, 1, 1)  # a model: never placed in the sheet
    >>> bold.font = Font(bold=True)
    >>> put_row(ws, ["two"], like=[bold]), put_row(ws, []), ws["A2"].font.bold
    (2, 3, True)
    """
    from openpyxl.cell.cell import Cell

    styles = like if like is not None else [None] * len(values)
    # openpyxl's own way to copy a style (docs, "Copying styles"): the style array, copied by the constructor.
    # Row and column 0 until append() places them.
    cells = [Cell(ws, 0, 0, style_array=getattr(model, "_style", None))
             for model, _ in zip(styles, values, strict=True)]
    cells = cells or [Cell(ws, 0, 0)]  # an empty row still takes its row number
    ws.append(cells)  # append() gives each cell its row and column
    for cell, value in zip(cells, values, strict=False):  # an empty row's placeholder cell stays empty
        put(cell, value)
    return int(cells[0].row)


def sheet_name(name: str, used: set[str]) -> str:
    """A valid, unique sheet name for ``name`` (31 characters, no ``[]:*?/\\``); records it in ``used``.

    Examples
    --------
    >>> used = set()
    >>> first = sheet_name("Citas: Colaboración [todas las subcategorías]", used)
    >>> first, sheet_name("Citas: Colaboración [todas]", used)
    ('Citas Colaboración (todas las…', 'Citas Colaboración (todas)')
    """
    clean = clean_text(name, "a sheet name").replace("[", "(").replace("]", ")")
    clean = re.sub(r"\s+", " ", _SHEET_BAD.sub(" ", clean)).strip().strip("'") or "Sheet"
    base = clean if len(clean) <= 31 else clean[:30].rstrip() + "…"
    candidate, n = base, 2
    while candidate.lower() in {u.lower() for u in used}:
        suffix = f" ({n})"
        candidate = base[: 31 - len(suffix)].rstrip() + suffix
        n += 1
    used.add(candidate)
    return candidate


_NA: object
try:
    import pandas as _pd

    _NA = _pd.NA
except ImportError:  # pragma: no cover
    _NA = object()
