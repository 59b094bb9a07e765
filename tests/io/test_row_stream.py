"""RowStream writes a sheet's rows as XML itself (issue 20): the file must be the one openpyxl's cells make.

Each case is written twice, by :class:`RowStream` and by openpyxl (a ``WriteOnlyCell`` per value through
:func:`put`, appended as openpyxl does), and the sheets' XML compared in canonical form: same cells, types,
styles and text, for every kind of value the safe-cell rules treat, hostile text included.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill

from qualcode.errors import ReplacedCharactersWarning
from qualcode.io.cells import CELL_LIMIT, RowStream, put, reporting

ROWS = [
    ["plain words", "=SUMA(A1)", "+34 600", "-sí, claro", "@ana", "\tindent", "\rreturn"],
    [" leading", "trailing\n", "a & b <c> d", "line\r\nbreak", "bell\x07here", "nul\x00 \uffff", ""],
    [None, pd.NA, float("nan"), 0, -3, 2.5, 1e20],
    [True, False, 12345678901234567890, float("inf"), "ñandú «citas» — ‘sí’ \u2028", "x" * (CELL_LIMIT + 10), "y"],
    ["a date", dt.date(2026, 3, 1), np.int64(7), np.float64(0.25), ["apoyo", "red"], "=1", None],  # openpyxl's
]


def styles(ws):
    """Per column, a model cell: some styled, some plain (an empty plain cell is no cell at all)."""
    models = []
    for c in range(1, 8):
        model = Cell(ws, 1, c)
        if c % 2:
            model.alignment = Alignment(wrap_text=True, vertical="top")
        if c == 3:
            model.font, model.fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
        models.append(model if c != 6 else None)
    return models


def sheet_xml(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    with zipfile.ZipFile(out) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    return etree.tostring(etree.fromstring(xml), method="c14n")


def by_openpyxl(rows, styled: bool) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet("s")
    like = styles(ws)
    for values in rows:
        cells = []
        for model, value in zip(like, values, strict=True):
            style = model._style if styled and model is not None else None
            cell = WriteOnlyCell(ws)
            if style is not None:
                cell._style = style.__copy__()
            put(cell, value)
            cells.append(cell)
        ws.append(cells)
    return sheet_xml(book)


def by_stream(rows, styled: bool) -> bytes:
    book = Workbook(write_only=True)
    ws = book.create_sheet("s")
    like = styles(ws)
    stream = RowStream(ws)
    for values in rows:
        stream.append(values, like=like if styled else None)
    return sheet_xml(book)


@pytest.mark.parametrize("styled", [True, False])
@pytest.mark.parametrize("case", range(len(ROWS)))
def test_row_stream_writes_the_cells_openpyxl_writes(case, styled):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReplacedCharactersWarning)
        # After a row of text in every column, so that both register the column styles in the same order.
        rows = [ROWS[0], ROWS[case]]
        assert by_stream(rows, styled) == by_openpyxl(rows, styled)


def test_row_stream_rows_of_every_kind_in_one_sheet_keep_their_order_and_numbers():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReplacedCharactersWarning)
        assert by_stream(ROWS * 3, True) == by_openpyxl(ROWS * 3, True)
        book = Workbook(write_only=True)
        stream = RowStream(book.create_sheet("s"))
        assert [stream.append(values) for values in ROWS * 3] == list(range(1, 16))
        book.save(out := io.BytesIO())
    ws = openpyxl.load_workbook(out)["s"]
    assert ws["A5"].value == "a date" and ws["C5"].value == 7 and ws["E5"].value == "apoyo; red"
    assert ws["B6"].value == "=SUMA(A1)" and ws["B6"].data_type == "s" and ws["F14"].value.endswith(" […]")


def test_row_stream_reports_replaced_characters_by_cell_never_by_content():
    book = Workbook(write_only=True)
    stream = RowStream(book.create_sheet("Citas"))
    with pytest.warns(ReplacedCharactersWarning) as seen, reporting("r.xlsx", "an .xlsx workbook"):
        stream.append(["limpio", "campana\x07 y ESC\x1b"])
        stream.append(["otra\x0b"])
    book.save(io.BytesIO())
    assert seen[0].message.count == 3
    assert seen[0].message.places == ["sheet 'Citas' cell B1", "sheet 'Citas' cell A2"]
    assert "campana" not in str(seen[0].message)
