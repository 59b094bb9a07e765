"""Spreadsheets in: survey answers (one segment per answer) and the attributes sheet.

CSV files are decoded with the same encoding layer as transcripts (a Spanish
Excel writes Windows-1252 with ``;`` as delimiter) and read with every cell as
text, so ``01`` stays ``01`` and no date is reinterpreted. The delimiter (tab,
``;``, ``,`` or ``|``) is the one that gives every row as many cells as the
header, so Excel's "Unicode Text" export (UTF-16, tab-separated, saved as
``.txt``) reads like any CSV; :func:`sniff_table` tells such a file from a
transcript.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import warnings as _warnings
import weakref
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from ..errors import AttributesError, ExchangeFileError, InputFileError, QualcodeError, TranscriptFormatError
from ..nlp.normalize import fold_label
from ..schemas import NOT_ATTRIBUTES
from .dates import is_slashed_date, read_dates
from .docx import check_office_container
from .encoding import decode, normalize_text
from .paths import existing_file
from .roles import header_role
from .safe import WORKBOOK_LIMITS, ZipLimits, repack_zip_safely
from .text import ParsedTranscript, Turn

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

__all__ = [
    "KEY_COLUMNS",
    "SurveyColumns",
    "TableShape",
    "is_survey_table",
    "open_workbook",
    "read_attributes",
    "read_survey",
    "read_table",
    "sheet_rows",
    "sniff_table",
    "survey_columns_guess",
    "table_hint",
]

KEY_COLUMNS = ("doc_id", "document", "documento", "file", "filename", "file_name", "archivo",
               "nombre_archivo", "transcript", "transcripcion", "id")
KNOWN_ATTRIBUTES = ("participant", "pseudonym", "role", "district", "stage", "round", "date",
                    "language", "cycle", "cohort", "school", "gender", "age", "group")
# Columns qualcode's own tables already have (schemas.NOT_ATTRIBUTES): an attribute may not reuse them. doc_id is
# the sheet's key, and a sheet may give each document's language.
RESERVED = tuple(sorted(NOT_ATTRIBUTES - {"doc_id", "language"}))


@dataclass(frozen=True)
class SurveyColumns:
    """Which columns of a survey sheet hold what.

    Parameters
    ----------
    id : str
        Column with one unique id per response (a ticket or respondent id).
    text : sequence of str
        Open-ended answer columns; each non-blank answer becomes one segment.
    attributes : sequence of str, optional
        Columns kept as attributes of each response; by default every other column.
    speaker : str, optional
        Column naming who answered (a participant code); defaults to ``id``.
    sheet : str, optional
        Worksheet name for ``.xlsx`` files; the first sheet by default.

    Examples
    --------
    >>> SurveyColumns(id="ticket_id", text=["q1_aprendizaje"], speaker="participant").id
    'ticket_id'
    """

    id: str
    text: Sequence[str]
    attributes: Sequence[str] | None = None
    speaker: str | None = None
    sheet: str | None = None


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return normalize_text(str(value))


#: Cells of one sheet qualcode reads (counting the blanks inside the used range): ~40 MiB of pointers per copy
#: of the table, ~15 s to read; a survey of 50,000 answers in 100 columns. A small file cannot make qualcode
#: build a table of billions of cells (a cell at row 1 and one at column XFD of every row).
SHEET_MAX_CELLS = 5_000_000
#: Excel's last row: a row number beyond it is not a spreadsheet, and openpyxl would yield every row up to it.
SHEET_MAX_ROW = 1_048_576
# Parts of a workbook no reader of qualcode needs (pictures, embedded files, printer settings, macros): kept as
# empty entries so the package still resolves, never inflated.
_BINARY_PART = re.compile(r"(^|/)(media|embeddings|printerSettings|activeX)/|\.(bin|png|jpe?g|gif|bmp|tiff?|emf|wmf|"
                          r"svg|wdp|jfif|webp|ico|odttf)$", re.IGNORECASE)
_WORKSHEET_PART = re.compile(r"(^|/)worksheets/[^/]+$")
_SCAN_CHUNK = 1 << 22  # a sheet is checked 4 MiB at a time
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_NUMBER = re.compile(rb"""\sr\s*=\s*["']\s*(\d+)\s*["']""")
_MERGED = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\sref\s*=\s*["']\$?([A-Za-z]{1,3})\$?(\d+)"""
                     rb"""(?::\$?([A-Za-z]{1,3})\$?(\d+))?["']""")


def _workbook_part(name: str) -> bool:
    return not _BINARY_PART.search(name)


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _tags(archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    """The member's bytes in pieces that each end at a tag's end (``>``): a tag is never cut in two."""
    carry = b""
    with archive.open(member) as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            data = carry + chunk
            cut = data.rfind(b">") + 1
            carry = data[cut:]
            if cut:
                yield data[:cut]
    if carry:
        yield carry


def _check_sheets(copy: IO[bytes], path: Path, error: type[QualcodeError], *, merged_budget: int | None) -> None:
    """Refuse sheets whose rows are stored out of order, repeated or beyond Excel's last row.

    openpyxl's read-only mode skips a row stored after a later one (or twice)
    without a word; Excel repairs such a file on opening and LibreOffice reads
    it, so it is refused with what to do, never read with rows missing. For a
    whole-workbook read (``merged_budget``), merged ranges are sized first:
    openpyxl makes an object for every cell a range covers, and one tag can
    cover all 17 billion cells of a sheet. Sheets are scanned a piece at a
    time: a streamed sheet may be larger than the memory a read may take.
    """
    with zipfile.ZipFile(copy) as archive:
        for member in archive.namelist():
            if not _WORKSHEET_PART.search(member) or not member.lower().endswith(".xml"):
                continue
            covered = last = 0
            for data in _tags(archive, member):
                if merged_budget is not None:
                    for found in _MERGED.finditer(data):
                        first_col, first_row = _column(found.group(1)), int(found.group(2))
                        last_col = _column(found.group(3)) if found.group(3) else first_col
                        last_row = int(found.group(4)) if found.group(4) else first_row
                        covered += (abs(last_col - first_col) + 1) * (abs(last_row - first_row) + 1)
                        if covered > merged_budget:
                            raise error(f"{path}: the sheet stored as {member!r} merges more than "
                                        f"{merged_budget:,} cells; qualcode reads sheets up to that size. Unmerge "
                                        "the cells (or delete the unused rows and columns), save, and load it "
                                        "again.", path=path)
                for tag in _ROW_TAG.finditer(data):
                    number = _ROW_NUMBER.search(tag.group(1))
                    row = int(number.group(1)) if number else last + 1
                    if row > SHEET_MAX_ROW:
                        raise error(f"{path}: the sheet stored as {member!r} has a row numbered {row:,}, beyond "
                                    f"Excel's last row ({SHEET_MAX_ROW:,}); the file is damaged. Open it in Excel "
                                    "or LibreOffice and save it again as .xlsx.", path=path)
                    if row <= last:
                        raise error(f"{path}: the sheet stored as {member!r} has row {row} after row {last} (rows "
                                    "out of order or repeated), and rows would be skipped. Open it in Excel or "
                                    "LibreOffice and save it again as .xlsx: that stores the rows in order.",
                                    path=path)
                    last = row
    copy.seek(0)


def open_workbook(path: str | Path, *, error: type[QualcodeError] = TranscriptFormatError,
                  limits: ZipLimits = WORKBOOK_LIMITS, read_only: bool = True, data_only: bool = True,
                  max_cells: int = SHEET_MAX_CELLS) -> Workbook:
    """Open an ``.xlsx`` under the workbook archive policy.

    openpyxl never sees the file itself: it opens an in-memory copy holding
    only the parts that passed :data:`~qualcode.io.safe.WORKBOOK_LIMITS`
    (inflated-size and ratio budgets, checked while inflating), with pictures
    and embedded files left empty. Old binary ``.xls`` and password-protected
    files are refused with what to do, and so are sheets whose rows are stored
    out of order (which openpyxl's read-only mode would skip). Read the rows
    with :func:`sheet_rows`, which ignores a stale ``<dimension>``.

    Parameters
    ----------
    path : str or Path
    error : QualcodeError subclass
        What to raise for a refused or damaged file (the caller's kind of error).
    limits : ZipLimits
        The archive policy (:data:`~qualcode.io.safe.CODEBOOK_WORKBOOK_LIMITS` for full mode).
    read_only, data_only : bool
        As :func:`openpyxl.load_workbook`.
    max_cells : int
        For a whole-workbook read (``read_only=False``), the cells merged
        ranges may cover in one sheet (openpyxl makes an object for each).

    Raises
    ------
    QualcodeError
        ``error``, naming the file (and the part or sheet) and what to do.
    """
    from openpyxl import load_workbook

    path = Path(path)
    check_office_container(path, "Excel")
    if not read_only:  # a whole-workbook read holds every sheet in memory: none is streamed
        limits = replace(limits, streamed_member=None)
    try:
        copy = repack_zip_safely(path, limits=limits, wanted=_workbook_part)
    except ExchangeFileError as exc:
        raise error(str(exc), path=path) from None
    try:
        _check_sheets(copy, path, error, merged_budget=None if read_only else max_cells)
        with _warnings.catch_warnings():
            # Pictures are left out on purpose (openpyxl says it drops them); other warnings name no file.
            _warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = load_workbook(copy, read_only=read_only, data_only=data_only, keep_links=False)
    except QualcodeError:
        copy.close()
        raise
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        copy.close()
        raise error(f"{path}: the Excel file is damaged or not a real .xlsx ({type(exc).__name__}: {exc}). "
                    "Open it in Excel or LibreOffice and save it again as .xlsx.", path=path) from None
    if read_only:  # rows are read from the copy as they are asked for: it lives as long as the workbook
        weakref.finalize(book, copy.close)
    else:
        copy.close()
    if not book.worksheets:
        # openpyxl opens a workbook part that lists no sheet (or is not a workbook at all) as an empty book;
        # every reader needs a worksheet, and Excel never saves a workbook without one (charts alone included).
        book.close()
        raise error(f"{path}: the Excel file holds no worksheet (its part xl/workbook.xml lists none, or only chart "
                    "sheets, or is not a workbook): it is damaged or not a real .xlsx. Open it in Excel or LibreOffice "
                    "and save it again as .xlsx, or use an earlier copy.", path=path)
    return book


def sheet_rows(ws: Any, *, path: str | Path, error: type[QualcodeError] = TranscriptFormatError,
               min_row: int | None = None, max_row: int | None = None, values_only: bool = True,
               max_cells: int = SHEET_MAX_CELLS) -> Iterator[tuple[Any, ...]]:
    """Every row of a sheet from :func:`open_workbook`, whatever its stored ``<dimension>`` says.

    Several writers store a stale or minimal ``<dimension>``, and openpyxl's
    read-only mode stops there: it is reset, so every row Excel shows is
    read. Rows are as long as their last cell; missing rows come as empty
    tuples, so row numbers stay right. A sheet is parsed as it is read, so a
    truncated or damaged one fails here: that becomes ``error`` naming the
    file and the sheet. More than ``max_cells`` cells is refused.

    Yields
    ------
    tuple
        One row's values (or cells with ``values_only=False``).
    """
    title = getattr(ws, "title", "?")
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()
    elif ws.max_row * ws.max_column > max_cells:
        # A whole-workbook read makes a cell object for every cell of the used range as it is iterated.
        raise error(f"{path}: sheet {title!r} spans {ws.max_row:,} rows and {ws.max_column:,} columns, more than "
                    f"the {max_cells:,} cells qualcode reads from one sheet. Delete the unused rows and columns (or "
                    "split the sheet), save, and load it again.", path=path)
    cells = 0
    try:
        for row in ws.iter_rows(min_row=min_row, max_row=max_row, values_only=values_only):
            cells += len(row) or 1
            if cells > max_cells:
                raise error(f"{path}: sheet {title!r} has more than {max_cells:,} cells (blank ones inside the "
                            "used range count); qualcode reads sheets up to that size. Delete the unused rows and "
                            "columns (or split the sheet), save, and load it again.", path=path)
            yield row
    except QualcodeError:
        raise
    except Exception as exc:  # openpyxl parses a sheet as it is read: XML and value errors surface here
        raise error(f"{path}: sheet {title!r} is damaged ({type(exc).__name__}: {exc}); the file is probably "
                    "truncated or was not saved completely. Open it in Excel or LibreOffice and save it again as "
                    ".xlsx, or use an earlier copy.", path=path) from None


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    book = open_workbook(path)
    try:
        # Worksheets only: a chart sheet has a name in the workbook but no rows to read.
        titles = [ws.title for ws in book.worksheets]
        if sheet is not None and sheet not in titles:
            raise InputFileError(
                f"{path}: there is no sheet {sheet!r}; the sheets are {titles}.", path=path
            )
        ws = book.worksheets[titles.index(sheet) if sheet is not None else 0]
        rows = [[_cell(v) for v in row] for row in sheet_rows(ws, path=path)]
    finally:
        book.close()
    # The header is the first row with any content; blank rows are skipped but
    # the spreadsheet row number of every data row is kept for messages.
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise InputFileError(f"{path}: the sheet is empty.", path=path)
    header = numbered[0][1]
    width = max(len(header), *(len(r) for _, r in numbered))
    header = [h.strip() for h in header] + [""] * (width - len(header))
    keep = [i for i, h in enumerate(header) if h]
    if len(keep) * (len(numbered) - 1) > SHEET_MAX_CELLS:
        raise InputFileError(f"{path}: the sheet has {len(numbered) - 1:,} rows of {len(keep)} columns, more than "
                             f"the {SHEET_MAX_CELLS:,} cells qualcode reads from a sheet. Split it and load the "
                             "parts.", path=path)
    data = [[(r + [""] * width)[i] for i in keep] for _, r in numbered[1:]]
    frame = pd.DataFrame(data, columns=[header[i] for i in keep], dtype=object)
    frame.index = pd.Index([n for n, _ in numbered[1:]], name="row")
    return frame


_DELIMITERS = "\t;,|"


@dataclass(frozen=True)
class TableShape:
    """How a delimited text file is laid out: ``delimiter``, ``header`` cells, ``n_rows`` data rows."""

    delimiter: str
    header: tuple[str, ...]
    n_rows: int


def _records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[list[str]] = []
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                out.append(record)
            if len(out) >= limit:
                break
    except csv.Error:
        return out
    return out


def _shape(text: str, delimiter: str) -> tuple[float, TableShape] | None:
    """How well ``delimiter`` splits ``text`` into a table: share of rows as wide as the header."""
    records = _records(text[:262144], delimiter, 200)
    if len(records) < 2 or len(records[0]) < 2:
        return None
    width = len(records[0])
    fitting = sum(len(r) == width or (len(r) > width and not any(c.strip() for c in r[width:]))
                  for r in records[1:])
    header = tuple(cell.strip() for cell in records[0])
    return fitting / (len(records) - 1), TableShape(delimiter, header, len(records) - 1)


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits most rows into as many cells as the header (tab first on ties)."""
    best, best_score = None, (-1.0, 0)
    for delimiter in _DELIMITERS:
        found = _shape(text, delimiter)
        if found is not None and (found[0], len(found[1].header)) > best_score:
            best, best_score = delimiter, (found[0], len(found[1].header))
    if best is None:
        first = text.split("\n", 1)[0]
        return max(_DELIMITERS, key=first.count)
    return best


def sniff_table(text: str, *, delimiters: str = _DELIMITERS) -> TableShape | None:
    """Return the shape of ``text`` if it is a delimited table with a header row, else ``None``.

    A table here has at least two data rows, a header of two or more
    distinct, non-blank, short cells, and nine rows in ten (quoted multi-line
    cells counted right) as wide as the header. Transcripts are prose: their
    lines do not line up like that.

    Parameters
    ----------
    text : str
        Decoded, normalised text.
    delimiters : str
        The delimiters to try (``"\\t"`` to ask only about tab-separated tables).

    Returns
    -------
    TableShape or None

    Examples
    --------
    >>> sniff_table("id\\tq1\\nT1\\tSí\\nT2\\tNo\\n").header
    ('id', 'q1')
    >>> sniff_table("E: Hola, ¿cómo está?\\n\\nD1: Bien, gracias.\\n") is None
    True
    """
    for delimiter in delimiters:
        found = _shape(text, delimiter)
        if found is None:
            continue
        share, shape = found
        header = shape.header
        if (share >= 0.9 and shape.n_rows >= 2 and all(header) and len(set(header)) == len(header)
                and all(len(cell) <= 64 and "\n" not in cell for cell in header)):
            return shape
    return None


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputFileError(f"{path}: the file is empty.", path=path)
    decoded = decode(raw, path=path)
    text = normalize_text(decoded.text)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    numbered: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                numbered.append((line, record))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(
            f"{path}:{reader.line_num}: the CSV could not be parsed ({exc}). Check the quoting on that "
            "line, or save the sheet again from Excel as 'CSV UTF-8'.",
            path=path, line=reader.line_num,
        ) from None
    if not numbered:
        raise InputFileError(f"{path}: the file has no rows.", path=path)
    header = [h.strip() for h in numbered[0][1]]
    width = len(header)
    for number, record in numbered[1:]:
        if len(record) > width and any(c.strip() for c in record[width:]):
            raise InputFileError(
                f"{path}:{number}: this row has {len(record)} cells but the header has {width}. "
                "A cell probably contains the delimiter without quotes; fix the row or re-export the sheet.",
                path=path, line=number,
            )
    keep = [i for i, h in enumerate(header) if h]
    data = [[(r + [""] * width)[i] for i in keep] for _, r in numbered[1:]]
    frame = pd.DataFrame(data, columns=[header[i] for i in keep], dtype=object)
    frame.index = pd.Index([n for n, _ in numbered[1:]], name="row")
    # What the encoding layer repaired travels with the table, for the load report.
    frame.attrs["warnings"] = decoded.warnings(path.name)
    return frame


def read_table(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """Read a ``.csv``/``.tsv``/``.xlsx`` sheet with every cell as text.

    The index holds the spreadsheet row number of each row (the header is
    row 1), for messages that point at the right row.

    Raises
    ------
    InputFileError
        For an unreadable, empty, damaged or password-protected file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path)
    raise InputFileError(f"{path}: sheets must be .csv or .xlsx, not {suffix!r}.", path=path)


def _close(name: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def is_survey_table(path: str | Path, columns: SurveyColumns) -> bool:
    """Whether a text file (``.txt`` too) is a delimited table holding the survey's id and answer columns.

    Excel's "Unicode Text" export is a tab-separated UTF-16 file that Excel
    names ``.txt``; with ``survey=`` it is read as the survey, not as a
    transcript.

    Examples
    --------
    >>> is_survey_table("notes.txt", SurveyColumns(id="ticket_id", text=["q1"]))  # doctest: +SKIP
    False
    """
    path = Path(path)
    try:
        text = normalize_text(decode(path.read_bytes(), path=path).text)
    except (OSError, InputFileError):
        return False
    shape = sniff_table(text)
    # One survey column in the header is enough: a misspelt other column is then reported by
    # read_survey with the close name, instead of the table being read as a transcript.
    return shape is not None and bool({columns.id, *columns.text} & set(shape.header))


_CODE_CELL = re.compile(r"[A-Za-z]{0,4}[-_ ]?\d+[A-Za-z]?")
_NAME_CELL = re.compile(r"[A-ZÁÉÍÓÚÑÜ][\w'’-]*(?: (?:de|del|la|las|los|y|[A-ZÁÉÍÓÚÑÜ][\w'’-]*))*")


def survey_columns_guess(header: Sequence[str], rows: Sequence[Sequence[str]]) -> tuple[str, list[str], list[str]]:
    """The id column, the answer columns and the others of a survey table, for a remedy that names them.

    Parameters
    ----------
    header : sequence of str
        The table's column names.
    rows : sequence of sequences of str
        Some of its data rows (cells as text).

    Returns
    -------
    (id, answers, rest)
        The first column is the id; the answers are every column that looks like answers (long cells, or
        mostly different short ones that are no codes or names), at least one; ``rest`` would be kept as
        attributes.

    Examples
    --------
    >>> survey_columns_guess(["ticket", "escuela", "q1"], [["T1", "A", "Aprendí a planificar mejor"],
    ...                                                    ["T2", "A", "Nada nuevo para mí esta vez"]])
    ('ticket', ['q1'], ['escuela'])
    """
    # Answers are long or mostly different from one response to the next; a participant, place or group column
    # repeats a few short values. Suggest every column that looks like answers (a remedy followed literally must
    # not leave answers unread), and say that the columns not named are kept as attributes.
    width = len(header)
    cells = [[r[i].strip() for r in rows if i < len(r) and r[i].strip()] for i in range(width)]
    mean = [sum(map(len, c)) / max(len(c), 1) for c in cells]
    distinct = [len(set(c)) / max(len(c), 1) for c in cells]
    # With a handful of rows a place column can look varied: there, only all-different short cells count as
    # answers; cells that are codes (P01, D-3, 2024) are participant or group ids, not answers.
    varied = [distinct[i] > 0.5 if len(cells[i]) >= 10 else (distinct[i] == 1 and len(cells[i]) > 1)
              for i in range(width)]
    coded = [all(_CODE_CELL.fullmatch(c) for c in cells[i]) for i in range(width)]
    # Places and names (La Pintana, Puente Alto) capitalise every word and end no sentence.
    named = [all(_NAME_CELL.fullmatch(c) for c in cells[i]) for i in range(width)]
    answers_like = [i for i in range(1, width)
                    if cells[i] and (mean[i] >= 20 or (varied[i] and not coded[i] and not named[i]))]
    chosen = answers_like or sorted(range(1, width), key=lambda i: -mean[i])[:1]
    rest = [header[i] for i in range(1, width) if i not in chosen]
    return header[0], [header[i] for i in chosen], rest


def table_hint(text: str, name: str | None = None) -> str | None:
    """A load-report warning for a transcript that is really a tab-separated table, or ``None``.

    Examples
    --------
    >>> table_hint("id\\tq1\\nT1\\tSí\\nT2\\tNo\\n", "t.txt")[:40]
    't.txt looks like a table, not a transcri'
    """
    shape = sniff_table(text, delimiters="\t")
    if shape is None:
        return None
    rows = _records(text[:262144], "\t", 200)[1:]
    ident, chosen, rest = survey_columns_guess(shape.header, rows)
    answers = ", ".join(repr(c) for c in chosen)
    kept = f"; {', '.join(rest)} would be kept as attributes" if rest else ""
    return (f"{name + ' ' if name else ''}looks like a table, not a transcript (tab-separated, {shape.n_rows} rows, "
            f"columns {', '.join(shape.header)}); to read it as survey answers, load it with "
            f"survey=SurveyColumns(id={ident!r}, text=[{answers}]) naming the id and every answer column"
            f"{kept}")


def read_survey(path: str | Path, columns: SurveyColumns, *,
                warnings: list[str] | None = None) -> list[tuple[str, dict[str, str], ParsedTranscript]]:
    """Read survey answers: one document per response, one turn per non-blank answer.

    Returns ``(response_id, attributes, parsed)`` triples. The rendered text
    of a response is ``column:\\nanswer`` blocks; each answer turn carries the
    column name in ``Turn.field``. ``.csv``, ``.tsv`` and ``.txt`` (Excel's
    "Unicode Text") are read with the delimiter sniffed; ``.xlsx`` by sheet.
    Lines the encoding layer repaired are appended to ``warnings`` when a list
    is given.
    """
    path = Path(path)
    frame = read_table(path, sheet=columns.sheet)
    if warnings is not None:
        warnings.extend(frame.attrs.get("warnings", []))
    wanted = [columns.id, *columns.text, *(columns.attributes or ()),
              *([columns.speaker] if columns.speaker else [])]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        hints = ", ".join(f"{c!r}{_close(c, frame.columns)}" for c in missing)
        raise InputFileError(
            f"{path}: column(s) {hints} not found; the sheet has {list(frame.columns)}. "
            "Name the survey columns as they appear in the header row.",
            path=path,
        )
    ids = frame[columns.id].str.strip()
    blank = ids[ids == ""]
    if len(blank):
        raise InputFileError(
            f"{path}, row {blank.index[0]}: the id column {columns.id!r} is blank. Every response needs an id.",
            path=path, line=int(blank.index[0]),
        )
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        rows = ", ".join(str(r) for r in dup.index[:10])
        raise InputFileError(
            f"{path}: ids in {columns.id!r} repeat (rows {rows}); each response needs a unique id.",
            path=path, line=int(dup.index[0]),
        )
    attribute_columns = list(columns.attributes) if columns.attributes is not None else [
        c for c in frame.columns if c not in (columns.id, *columns.text)
    ]
    out = []
    # The index holds the spreadsheet row numbers (see read_table).
    for row_number, (_, row) in zip(frame.index.tolist(), frame.iterrows(), strict=True):
        parts: list[str] = []
        turns: list[Turn] = []
        offset = 0
        speaker = row[columns.speaker].strip() if columns.speaker else row[columns.id].strip()
        for column in columns.text:
            answer = row[column].strip()
            if not answer:
                continue
            block = f"{column}:\n{answer}"
            turns.append(Turn(speaker or None, offset + len(column) + 2, offset + len(block), None,
                              int(row_number), column))
            parts.append(block)
            offset += len(block) + 2
        attributes = {c: row[c].strip() for c in attribute_columns}
        out.append((row[columns.id].strip(), attributes, ParsedTranscript("\n\n".join(parts), turns)))
    return out


@dataclass
class _Issues:
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, row: object, column: object, problem: str) -> None:
        self.rows.append({"row": row, "column": column, "problem": problem})


def read_attributes(source: str | Path | pd.DataFrame, *, key: str | None = None,
                    required: Sequence[str] = (), sheet: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read and validate a participant-attributes sheet.

    Parameters
    ----------
    source : path or DataFrame
        CSV (any delimiter, any common encoding) or XLSX, one row per document.
    key : str, optional
        The column naming the document (its id, or its file name with or
        without suffix). By default the first of ``KEY_COLUMNS`` present.
    required : sequence of str
        Attribute columns that must exist (``("role", "district")``).

    Returns
    -------
    (DataFrame, list of str)
        The table with the key column renamed ``doc_id`` (index: sheet row
        numbers) and warnings for the load report.

    Raises
    ------
    AttributesError
        Listing every problem at once in ``.issues`` (``row``, ``column``,
        ``problem``): no key column, missing columns, blank or conflicting
        duplicate keys, names clashing with corpus columns.
    """
    path: Path | None
    if isinstance(source, pd.DataFrame):
        path, frame = None, source.copy()
    else:
        path = existing_file(source, AttributesError, "attributes sheet")
        frame = read_table(path, sheet=sheet)
    repaired = list(frame.attrs.get("warnings", []))  # lines the encoding layer repaired
    frame = frame.astype(object).where(frame.notna(), "").map(lambda v: str(v).strip())
    frame.columns = [str(c).strip() for c in frame.columns]
    name = str(path) if path else "attributes"
    issues = _Issues()
    warnings: list[str] = repaired
    folded = {fold_label(c).replace(" ", "_"): c for c in frame.columns}
    if key is not None:
        key_column = key if key in frame.columns else None
    else:
        key_column = next((folded[k] for k in KEY_COLUMNS if k in folded), None)
    if key_column is None:
        wanted = key or " / ".join(KEY_COLUMNS[:5])
        issues.add(1, None, f"no document column: expected {wanted!r}{_close(key or 'doc_id', frame.columns)}; "
                            f"found {list(frame.columns)}")
    for column in required:
        if column not in frame.columns:
            issues.add(1, column, f"required column {column!r} is missing{_close(column, frame.columns)}; "
                                  f"expected columns: {list(required)}")
    for column in frame.columns:
        if column == key_column:
            continue
        if column in RESERVED:
            issues.add(1, column, f"column {column!r} clashes with a column of qualcode's own tables (the corpus, "
                                  "decisions, quotes); rename it in the sheet (e.g. to "
                                  f"{(column + '_1')!r})")
        lowered = fold_label(column)
        # A usual Spanish or English header of a role (Participante, Ronda, Fecha) is no misspelling.
        if lowered not in KNOWN_ATTRIBUTES and column not in required and header_role(column) is None:
            hint = difflib.get_close_matches(lowered, KNOWN_ATTRIBUTES, n=1, cutoff=0.8)
            if hint:
                warnings.append(f"{name}: column {column!r} looks like a misspelling of {hint[0]!r}")
    if key_column is not None:
        keys = frame[key_column]
        for row in keys[keys == ""].index:
            issues.add(row, key_column, "the document column is blank")
        present = frame[keys != ""]
        for value, group in present.groupby(key_column, sort=False):
            if len(group) < 2:
                continue
            rows = list(group.index)
            if (group.nunique() <= 1).all():
                warnings.append(f"{name}: rows {rows} repeat the same row for {value!r}; kept once")
            else:
                issues.add(rows[1], key_column,
                           f"document {value!r} has {len(rows)} rows with different values (rows {rows}); "
                           "keep one row per document")
    if "language" in frame.columns:
        bad = frame[~frame["language"].isin(["", "es", "en"])]
        for row, value in bad["language"].items():
            issues.add(row, "language", f"language {value!r} is not 'es' or 'en'")
    if issues.rows:
        table = pd.DataFrame(issues.rows, columns=["row", "column", "problem"])
        lines = "\n".join(f"  row {r.row}: {r.problem}" for r in table.itertuples())
        raise AttributesError(
            f"{name}: the attributes sheet has {len(table)} problem(s):\n{lines}\n"
            "Fix them in the sheet and load again.",
            path=path, issues=table,
        )
    frame = frame.rename(columns={key_column: "doc_id"})
    frame = frame[~frame.duplicated(keep="first")]
    warnings += date_notes(frame.drop(columns="doc_id"), name)
    return frame, warnings


def date_notes(frame: pd.DataFrame, name: str) -> list[str]:
    """What the load report says of an attributes sheet's date columns when their reading is a guess.

    The cells are kept as written; ordering by such a column reads them as dates (:mod:`qualcode.io.dates`).
    ``03/04/2024`` is 3 April day first and 4 March month first: with nothing in the column to tell, it is
    read day first, and the row says so. A column mixing both orders cannot be read as dates at all.

    Examples
    --------
    >>> notes = date_notes(pd.DataFrame({"Fecha": ["03/04/2024", "05/06/2024"], "Comuna": ["Lo Prado", "Maipú"]}),
    ...                    "a.csv")
    >>> notes[0].split(": nothing")[0]
    "a.csv: column 'Fecha' holds dates read day first (dd/mm/yyyy) by guess"
    >>> notes[0].split(". ")[-1]
    'Write them as 2024-04-03 (ISO) to make them unambiguous.'

    """
    notes = []
    for column in frame.columns:
        values = [v for v in frame[column].tolist() if v is not None and str(v).strip()]
        if not values or not any(is_slashed_date(str(v)) for v in values):
            continue
        dates = read_dates(values)
        if dates is not None and dates.unreadable:
            notes.append(f"{name}: column {column!r} holds dates, but {len(dates.unreadable)} cell(s) are no date "
                         f"({', '.join(repr(v) for v in dates.unreadable[:3])}): those documents come last when "
                         "ordering by it. Write a date as YYYY-MM-DD (or dd/mm/yyyy) there, or leave the cell empty.")
        if dates is not None and dates.guessed:
            shown = ", ".join(dates.ambiguous[:3])
            example = dates.dates[next(i for i, v in enumerate(values) if str(v).strip() == dates.ambiguous[0])]
            notes.append(f"{name}: column {column!r} holds dates read day first (dd/mm/yyyy) by guess: nothing in "
                         f"it proves the order, and {shown} would read differently month first. Write them as "
                         f"{example.date().isoformat()} (ISO) to make them unambiguous.")
        elif dates is None and sum(is_slashed_date(str(v)) for v in values) == len(values):
            notes.append(f"{name}: column {column!r} looks like dates but mixes day-first and month-first ones "
                         "(or holds an impossible date), so it is ordered as text. Write them as YYYY-MM-DD.")
    return notes


