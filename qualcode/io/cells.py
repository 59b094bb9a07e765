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

import functools
import re
import warnings
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ParameterError, ReplacedCharactersWarning

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.cell.cell import Cell, MergedCell
    from openpyxl.styles.cell_style import StyleArray
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "CELL_LIMIT",
    "FORBIDDEN",
    "FORMULA_START",
    "RowStream",
    "cell_text",
    "clean_text",
    "csv_frame",
    "csv_text",
    "csv_value",
    "put",
    "put_row",
    "reporting",
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


class RowStream:
    """The rows of a write-only sheet, each cell written straight as its XML: the review workbook's writer.

    openpyxl makes an object per cell and writes it through some fifty Python calls (its style looked up again,
    an XML element opened and closed for each part): 15 µs a cell, four fifths of the time of a 24k-row review
    workbook (issue 20). Here a row is one string: every value goes through the same rules as :func:`put`
    (text typed as text, never a formula; forbidden characters replaced and reported; cut at the cell limit),
    checked once per row rather than once per cell, and the XML is what openpyxl writes for the same cells.
    A row holding a value of any other type (a date, a numpy number, a list) is written by openpyxl, as
    :func:`put` would. Only the sheet's rows are written here; its columns, panes, filter and drop-downs are
    openpyxl's.

    Make the stream after the sheet's column widths, hidden columns and frozen panes are set (they are written
    before the first row), and give the sheet no rows but through it.

    Examples
    --------
    >>> import io, openpyxl
    >>> from openpyxl import Workbook
    >>> from openpyxl.cell.cell import Cell
    >>> from openpyxl.styles import Font
    >>> book = Workbook(write_only=True)
    >>> rows = RowStream(book.create_sheet("s"))
    >>> bold = Cell(rows.ws, 1, 1)  # a model: never placed in the sheet
    >>> bold.font = Font(bold=True)
    >>> rows.append(["=1+1", None, 3], like=[bold, None, None]), rows.append([" a & b "])
    (1, 2)
    >>> book.save(out := io.BytesIO())
    >>> ws = openpyxl.load_workbook(out)["s"]
    >>> ws["A1"].value, ws["A1"].data_type, ws["A1"].font.bold, ws["B1"].value, ws["C1"].value, ws["A2"].value
    ('=1+1', 's', True, None, 3, ' a & b ')
    """

    def __init__(self, ws: WriteOnlyWorksheet) -> None:
        from openpyxl.xml import LXML

        self.ws = ws
        self.rows = 0
        self._title = ws.title
        self._letters: list[str] = []
        self._styles: dict[int, tuple[Sequence[Cell | None], list[str], list[StyleArray | None]]] = {}
        self._flush = True  # openpyxl has written since our last row: its buffer goes out first
        # Without lxml (OPENPYXL_LXML=False) openpyxl's XML writer cannot flush: every row is openpyxl's then.
        self._raw = bool(LXML)
        if self._raw:
            ws._writer = _sheet_writer()(ws)  # type: ignore[attr-defined]  # what ws._get_writer() makes, ours
            ws._writer.write_top()  # type: ignore[attr-defined]
        else:
            ws._get_writer()  # type: ignore[attr-defined]
        self._openpyxl_row = ws._writer.write_row  # type: ignore[attr-defined]
        ws._writer.write_row = self._write_row  # type: ignore[attr-defined]  # what the row generator calls
        ws._values_to_row = lambda row, row_idx: row  # type: ignore[attr-defined]  # rows come as (values, like)

    def append(self, values: Sequence[object], like: Sequence[Cell | None] | None = None) -> int:
        """Write one row; return its number. ``like`` as for :func:`put_row` (an empty value without a style is
        no cell)."""
        if like is not None and len(like) != len(values):
            raise ParameterError(
                f"RowStream.append got {len(values)} values but {len(like)} styles; pass one style (or None) per value."
            )
        self.ws.append((values, like))
        self.rows += 1
        return self.rows

    def _style_attrs(self, like: Sequence[Cell | None] | None, n: int) -> tuple[list[str], list[StyleArray | None]]:
        """Per column, the ``s`` attribute of the cells styled like ``like`` (looked up once per list of models)."""
        from openpyxl.utils import get_column_letter

        while len(self._letters) < n:
            self._letters.append(get_column_letter(len(self._letters) + 1))
        if like is None:
            return [""] * n, [None] * n
        known = self._styles.get(id(like))
        if known is None or known[0] is not like:
            styles = [getattr(model, "_style", None) for model in like]
            book = self.ws.parent
            attrs = [f' s="{book._cell_styles.add(style)}"' if style is not None and any(style) else ""  # type: ignore[union-attr]
                     for style in styles]
            known = self._styles[id(like)] = (like, attrs, styles)  # like kept: its id stays its own
        return known[1], known[2]

    def _write_row(self, xf: object, row: tuple[Sequence[object], Sequence[Cell | None] | None], row_idx: int) -> None:
        values, like = row
        attrs, styles = self._style_attrs(like, len(values))
        xml = self._row_xml(values, attrs, row_idx) if self._raw else None
        if xml is None:  # a value of another type: openpyxl writes the row, through put()
            self._openpyxl_row(xf, _cells(self.ws, row_idx, values, styles), row_idx)
            self._flush = True
            return
        if self._flush:
            xf.flush()  # type: ignore[attr-defined]
            self._flush = False
        self.ws._writer.raw.write(xml.encode())  # type: ignore[attr-defined]

    def _row_xml(self, values: Sequence[object], attrs: list[str], row_idx: int) -> str | None:
        """The row's XML as openpyxl writes it, or ``None`` if a value is not text, a number, a truth value or
        empty."""
        texts = [v for v in values if v.__class__ is str]
        joined = "\n".join(texts)  # "\n" is allowed, so it marks no cell
        careful = _CAREFUL.search(joined) is not None or len(joined) > CELL_LIMIT
        n = str(row_idx)
        out = [f'<row r="{n}">']
        for letter, style, value in zip(self._letters, attrs, values, strict=False):  # letters: enough
            kind = value.__class__
            if kind is str:
                if careful:
                    value = cell_text(value, f"sheet {self._title!r} cell {letter}{n}")  # type: ignore[arg-type]
                if not value:
                    out.append(f'<c r="{letter}{n}"{style} t="inlineStr"/>')
                    continue
                space = ' xml:space="preserve"' if value != value.strip() else ""  # type: ignore[attr-defined]
                if careful:
                    value = value.translate(_ESCAPE)  # type: ignore[attr-defined]
                out.append(f'<c r="{letter}{n}"{style} t="inlineStr"><is><t{space}>{value}</t></is></c>')
            elif value is None or value is _NA or (kind is float and value != value):
                if style:
                    out.append(f'<c r="{letter}{n}"{style} t="n"/>')
            elif kind is bool:
                out.append(f'<c r="{letter}{n}"{style} t="b"><v>{int(value)}</v></c>')  # type: ignore[call-overload]
            elif (kind is int or kind is float) and -_HUGE < value < _HUGE:  # type: ignore[operator]
                out.append(f'<c r="{letter}{n}"{style} t="n"><v>{value:.16g}</v></c>')
            else:
                return None
        out.append("</row>")
        return "".join(out)


# Text a row must look at cell by cell: characters XML forbids, or that its text escapes (as lxml does).
_CAREFUL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>\r]")
_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_HUGE = float("inf")


@functools.cache
def _sheet_writer() -> type:
    """openpyxl's streaming sheet writer, writing into a file we hold, so that rows can go in as they are."""
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import xmlfile

    class SheetWriter(WorksheetWriter):
        def get_stream(self) -> Generator[Any, Any, None]:  # openpyxl's own, but on a file object (self.raw)
            with open(str(self.out), "wb") as self.raw, xmlfile(self.raw) as xf, \
                    xf.element("worksheet", xmlns=SHEET_MAIN_NS):
                try:
                    while True:
                        el = yield None
                        if el is True:
                            yield xf
                        elif el is not None:
                            xf.write(el)
                except GeneratorExit:
                    pass

    return SheetWriter


def _cells(ws: Worksheet | WriteOnlyWorksheet, row: int, values: Sequence[object],
           styles: Sequence[StyleArray | None]) -> list[Cell]:
    """Row ``row`` as openpyxl cells, each value through :func:`put` (an empty value without a style: none)."""
    from openpyxl.cell.cell import Cell

    out: list[Cell] = []
    for column, (style, value) in enumerate(zip(styles, values, strict=True), start=1):
        if style is None and (value is None or value is _NA):
            continue
        cell = Cell(ws, row, column, style_array=style)  # copies the style (see put_row)
        put(cell, value)
        out.append(cell)
    return out


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
