"""Spreadsheet codebooks: one row per code with a parent column, as researchers write them.

Columns (any order; extra columns are ignored with a warning): ``code_id``,
``parent_id``, and per language ``label_es``/``label_en``,
``definition_*``, ``inclusion_*``, ``exclusion_*``, ``examples_*`` (one
example per line in the cell), ``keywords_*`` and ``negative_keywords_*``
(separated by ``;``, new lines or, when neither is used, commas), and
``color``. A ``codebook`` sheet may hold ``id``, ``title_*``,
``description_*`` and ``references`` (one per line).

Short ids are accepted where a parent is given (``trust`` under
``collaboration`` becomes ``collaboration.trust``). Merged cells are filled
from their top-left value; blank rows are skipped.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import IO

import pandas as pd

from ..errors import CodebookError, CodebookWarning
from ..io.atomic import atomic_path
from ..io.cells import put_row, reporting
from ..io.safe import CODEBOOK_WORKBOOK_LIMITS
from ..io.tables import open_workbook, read_table, sheet_rows
from ..nlp.normalize import fold
from .model import LANGS, LIST_FIELDS, TEXT_FIELDS, Codebook
from .validate import build_codebook

__all__ = ["SHEET_COLUMNS", "read_sheet_codebook", "write_sheet_codebook"]

SHEET_COLUMNS = ["code_id", "parent_id"] + [
    f"{name}_{lang}" for name in (*TEXT_FIELDS, *LIST_FIELDS) for lang in LANGS] + ["color"]
_ALIASES = {"id": "code_id", "code": "code_id", "codigo": "code_id", "code_id": "code_id",
            "parent": "parent_id", "padre": "parent_id", "parent_id": "parent_id", "colour": "color",
            "color": "color"}
_SPLIT = re.compile(r"[;\n]")
#: Cells of one codebook sheet (merged ones included): read whole, ~350 B a cell in openpyxl, 1,000,000 cells
#: stay under ~400 MiB; a codebook of 5,000 codes in 30 columns is 150,000.
CODEBOOK_MAX_CELLS = 1_000_000


def _header_key(value: object) -> str:
    key = re.sub(r"[\s\-]+", "_", fold(str(value or "")).strip())
    return _ALIASES.get(key, key)


def _rows_from_xlsx(path: Path) -> dict[str, list[tuple[int, list[str]]]]:
    # Full mode (merged cells are only known there), under the codebook workbook's archive policy: its budget
    # keeps a whole-sheet parse within the memory target.
    book = open_workbook(path, error=CodebookError, limits=CODEBOOK_WORKBOOK_LIMITS, read_only=False,
                         max_cells=CODEBOOK_MAX_CELLS)
    sheets: dict[str, list[tuple[int, list[str]]]] = {}
    for ws in book.worksheets:
        # Merged cells keep their value only in the top-left cell: fill the range.
        fills = {}
        for merged in ws.merged_cells.ranges:
            value = ws.cell(merged.min_row, merged.min_col).value
            for row in range(merged.min_row, merged.max_row + 1):
                for col in range(merged.min_col, merged.max_col + 1):
                    fills[(row, col)] = value
        rows = []
        for r, cells in enumerate(sheet_rows(ws, path=path, error=CodebookError, max_cells=CODEBOOK_MAX_CELLS),
                                  start=1):
            values = [fills.get((r, c), v) for c, v in enumerate(cells, start=1)]
            rows.append((r, ["" if v is None else str(v) for v in values]))
        sheets[ws.title] = rows
    return sheets


def _rows_from_csv(path: Path) -> dict[str, list[tuple[int, list[str]]]]:
    frame = read_table(path)
    records = zip(frame.index, frame.values.tolist(), strict=True)
    rows = [(1, list(frame.columns)), *((int(i), list(r)) for i, r in records)]
    return {"codes": rows}


def _split_list(cell: str, name: str) -> list[str]:
    cell = cell.strip()
    if not cell:
        return []
    if name == "examples":
        return [line.strip() for line in cell.split("\n") if line.strip()]
    parts = _SPLIT.split(cell) if _SPLIT.search(cell) else cell.split(",")
    return [p.strip() for p in parts if p.strip()]


class _Cycle(Exception):
    """A chain of parent cells comes back to where it started."""


def _full_ids(raw: list[tuple[int, dict[str, str]]], path: Path) -> list[tuple[str, str]]:
    """Per row, its code's full id and its parent's, completing short ids through the parent column.

    A short id (``trust``) under a parent becomes ``collaboration.trust``; the same short id may stand under
    several parents (``collaboration.trust`` and ``leadership.trust``), each row keeping its own parent. A parent
    cell names a row by its full id, or by a short id that only one row has.

    Raises
    ------
    CodebookError
        For a parent cell whose short id several rows have, naming the rows and the full ids to write instead.
    """
    written = [(cells.get("code_id", ""), cells.get("parent_id", "")) for _, cells in raw]
    rows_of: dict[str, list[int]] = {}
    for i, (code_id, _) in enumerate(written):
        if code_id:
            rows_of.setdefault(code_id, []).append(i)
    problems: dict[int, str] = {}

    def full(i: int, seen: frozenset[int]) -> str:
        code_id, parent = written[i]
        if i in seen:
            raise _Cycle
        if "." in code_id or not parent:  # written in full, or a dimension
            return code_id
        parent_id = parent_of(i, seen | {i})
        return f"{parent_id}.{code_id}" if parent_id is not None else code_id

    def parent_of(i: int, seen: frozenset[int]) -> str | None:
        """The full id of the row a parent cell names, or None when no row is that code."""
        parent = written[i][1]
        candidates = rows_of.get(parent, [])
        if not candidates and "." in parent:
            # The full id of a row written short under its own parent.
            short = parent.rsplit(".", 1)[1]
            candidates = [k for k in rows_of.get(short, []) if k not in seen and full(k, seen) == parent]
        fulls = sorted({full(k, seen) for k in candidates})
        if len(fulls) > 1:
            problems[i] = (f"row {raw[i][0]}: parent {parent!r} is the short id of {len(candidates)} codes "
                           f"({', '.join(fulls)}, rows {', '.join(str(raw[k][0]) for k in candidates)}); "
                           "write the full id of the one you mean in parent_id")
        return fulls[0] if fulls else None

    out = []
    for i, (code_id, parent) in enumerate(written):
        try:
            parent_id = parent_of(i, frozenset({i})) if parent else None
            out.append((full(i, frozenset()) if code_id else "", parent_id if parent_id is not None else parent))
        except _Cycle:  # the ids stay as written: validation reports the cycle
            out.append((code_id, parent))
    if problems:
        listed = [problems[i] for i in sorted(problems)]
        issues = pd.DataFrame({"code_id": [None] * len(listed), "field": "parent_id", "where": None,
                               "problem": listed})
        raise CodebookError(f"{path}: " + "; ".join(listed) + ".", path=path, issues=issues)
    return out


def read_sheet_codebook(path: str | Path) -> Codebook:
    """Read a codebook from ``.xlsx`` (sheets ``codes`` and optional ``codebook``) or ``.csv``.

    Raises
    ------
    CodebookError
        When no header row with ``code_id`` (or ``id``/``code``) is found, or
        for any validation problem, listing every row at fault.
    """
    path = Path(path)
    sheets = _rows_from_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _rows_from_csv(path)
    codes_sheet = next((rows for title, rows in sheets.items()
                        if fold(title) in ("codes", "codigos", "codebook_codes")), None) or next(iter(sheets.values()),
                                                                                               None)
    if codes_sheet is None:  # open_workbook refuses a workbook without worksheets; this keeps the promise here too
        raise CodebookError(f"{path}: the file holds no sheet to read codes from. Open it in Excel or LibreOffice, "
                            f"put the codes in a sheet named 'codes' (columns: {SHEET_COLUMNS}) and save it again.",
                            path=path)
    header_at = next((i for i, (_, row) in enumerate(codes_sheet)
                      if {"code_id", "label_en", "label_es"} & {_header_key(c) for c in row}), None)
    if header_at is None:
        raise CodebookError(
            f"{path}: no header row with 'code_id' and labels was found. Expected columns: {SHEET_COLUMNS}.",
            path=path)
    header = [_header_key(c) for c in codes_sheet[header_at][1]]
    extra = [codes_sheet[header_at][1][i] for i, h in enumerate(header) if h and h not in SHEET_COLUMNS]
    if extra:
        warnings.warn(f"{path}: column(s) {extra} are not codebook fields and were ignored "
                      f"(known columns: {SHEET_COLUMNS}).", CodebookWarning, stacklevel=2)
    raw: list[tuple[int, dict[str, str]]] = []
    for number, row in codes_sheet[header_at + 1:]:
        cells = {h: (row[i] if i < len(row) else "").strip() for i, h in enumerate(header) if h in SHEET_COLUMNS}
        # A row with nothing but a parent (filled in from a merged cell) is blank.
        if not any(v for k, v in cells.items() if k != "parent_id"):
            continue
        raw.append((number, cells))

    entries = []
    for (number, cells), (code_id, parent) in zip(raw, _full_ids(raw, path), strict=True):
        entry: dict = {"row": number, "id": code_id or None, "parent": parent or None}
        for name in TEXT_FIELDS:
            entry[name] = {lang: cells.get(f"{name}_{lang}", "") for lang in LANGS}
        for name in LIST_FIELDS:
            entry[name] = {lang: _split_list(cells.get(f"{name}_{lang}", ""), name) for lang in LANGS}
        entry["color"] = cells.get("color") or None
        entries.append(entry)

    meta: dict = {"id": path.stem}
    for title, rows in sheets.items():
        if fold(title) != "codebook":
            continue
        for _, row in rows:
            if len(row) >= 2 and row[0].strip():
                key, value = _header_key(row[0]), row[1]
                if key == "id" or key == "code_id":
                    meta["id"] = value.strip()
                elif key == "references":
                    meta["references"] = [r.strip() for r in value.split("\n") if r.strip()]
                elif key.rpartition("_")[0] in ("title", "description") and key.rpartition("_")[2] in LANGS:
                    field, _, lang = key.rpartition("_")
                    meta.setdefault(field, {})[lang] = value.strip()
    return build_codebook(meta, entries, source=str(path))


def write_sheet_codebook(codebook: Codebook, target: str | Path | IO[bytes], *, overwrite: bool = False) -> None:
    """Write the codebook as ``.xlsx`` (sheets ``codes`` and ``codebook``), atomically for paths.

    An existing file (someone's edited codebook) is replaced only with ``overwrite=True``.
    """
    with reporting(target, "an .xlsx workbook"):
        _write_sheet_codebook(codebook, target, overwrite=overwrite)


def _write_sheet_codebook(codebook: Codebook, target: str | Path | IO[bytes], *, overwrite: bool) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.worksheets[0]  # a new workbook holds one sheet, the active one
    ws.title = "codes"
    put_row(ws, SHEET_COLUMNS)
    frame = codebook.to_frame()
    for record in frame.to_dict("records"):
        values = []
        for column in SHEET_COLUMNS:
            value = record.get(column)
            if isinstance(value, list):
                value = ("\n" if column.startswith("examples") else "; ").join(value)
            values.append("" if value is None else value)
        put_row(ws, [value if value != "" else None for value in values])
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="44546A")
    widths = {"code_id": 38, "parent_id": 30, "color": 10}
    for index, column in enumerate(SHEET_COLUMNS, start=1):
        cell = ws.cell(1, index)
        cell.font, cell.fill = bold, fill
        wide = column.startswith(("label", "keywords", "negative"))
        ws.column_dimensions[get_column_letter(index)].width = widths.get(column, 24 if wide else 50)
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    meta = book.create_sheet("codebook")
    # Titles, descriptions and references come from other teams' files: typed as text, never formulas.
    put_row(meta, ["field", "value"])
    put_row(meta, ["id", codebook.id])
    for field in ("title", "description"):
        for lang in LANGS:
            put_row(meta, [f"{field}_{lang}", getattr(codebook, field)[lang]])
    put_row(meta, ["references", "\n".join(codebook.references)])
    put_row(meta, ["version", codebook.version])
    meta.column_dimensions["A"].width = 18
    meta.column_dimensions["B"].width = 100
    for row in meta.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    if isinstance(target, (str, Path)):
        with atomic_path(target, overwrite=overwrite) as tmp:
            book.save(tmp)
    else:
        book.save(target)
