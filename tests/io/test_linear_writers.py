"""Writers whose time grows with the rows written, never with rows × rows (issue 20).

openpyxl's ``Worksheet.max_row`` / ``max_column`` scan every cell of a sheet. Asked once per row, they made the
review workbook quadratic (1k/2k/4k/8k rows took 0.9/2.0/7.2/25.5 s). Each writer here is run on a short and a
ten-times longer input: the number of whole-sheet scans must not grow with the rows. Times are in
bench/review_workbook.py, not here.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.worksheet import Worksheet

import qualcode as qc
from qualcode.export import export_excel
from qualcode.io.cells import put_row


@pytest.fixture
def scans(monkeypatch):
    """Count the whole-sheet scans (max_row, max_column) made while writing."""
    counted = {"n": 0}
    for name in ("max_row", "max_column"):
        original = getattr(Worksheet, name)

        def counting(ws, _original=original):
            counted["n"] += 1
            return _original.fget(ws)

        monkeypatch.setattr(Worksheet, name, property(counting))
    return counted


def suggestions(project, n):
    part = project.segments[project.segments["speaker_role"] == "participant"]
    codes = [c.id for c in project.codebook() if "." in c.id]
    pairs = [(s, c) for c in codes for s in part["segment_id"]][:n]
    assert len(pairs) == n
    return pd.DataFrame({"segment_id": [s for s, _ in pairs], "code_id": [c for _, c in pairs], "score": 0.61,
                         "method": "keyword", "evidence": [["apoyo"]] * n,
                         "codebook_version": project.codebook().version})


def test_quadratic_sheet_scan_review_workbook_scans_do_not_grow_with_rows(project, tmp_path, scans):
    counts = []
    for n in (4, 40):
        scans["n"] = 0
        assert qc.export_review_sheet(project, suggestions(project, n), tmp_path / f"r{n}.xlsx", coder="ana") == n
        counts.append(scans["n"])
    assert counts[0] == counts[1]
    review = qc.read_review_sheet(tmp_path / "r40.xlsx")
    assert len(review) == 40 and review["row"].tolist() == list(range(2, 42))


def test_quadratic_sheet_scan_review_workbook_keeps_every_rows_look(project, tmp_path):
    path = tmp_path / "r.xlsx"
    qc.export_review_sheet(project, suggestions(project, 30), path, coder="ana")
    ws = openpyxl.load_workbook(path)["revision"]
    header = [c.value for c in ws[1]]
    assert ws.max_row == 31
    for r in (2, 17, 31):
        for key in ("cita", "pregunta previa", "evidencia", "memo", "etiqueta"):
            cell = ws.cell(r, header.index(key) + 1)
            assert cell.alignment.wrap_text and cell.alignment.vertical == "top"
        for key in ("n°", "documento", "puntaje", "_segment_id"):
            cell = ws.cell(r, header.index(key) + 1)
            assert not cell.alignment.wrap_text and cell.alignment.vertical == "top"
        for key in ("decisión", "otro código", "memo"):
            assert ws.cell(r, header.index(key) + 1).fill.fgColor.rgb == "00FFF2CC"
        assert ws.cell(r, header.index("cita") + 1).fill.fill_type is None
        assert ws.cell(r, 1).value == r - 1  # the row number column counts rows
    assert all(ws.cell(1, c).font.bold for c in range(1, len(header) + 1))
    decision = header.index("decisión") + 1
    letter = ws.cell(1, decision).column_letter
    ranges = [str(dv.sqref) for dv in ws.data_validations.dataValidation]
    assert f"{letter}2:{letter}31" in ranges and ws.auto_filter.ref.endswith("31")


def test_quadratic_sheet_scan_report_workbook_scans_do_not_grow_with_rows(tmp_path, scans):
    counts = []
    for n in (5, 50):
        frame = pd.DataFrame({"quote": ["=SUMA(A1) dijo ella " * 5] * n, "n": range(n)})
        scans["n"] = 0
        export_excel({"Citas": frame}, tmp_path / f"x{n}.xlsx", about={"coder": "ana"})
        counts.append(scans["n"])
    assert counts[0] == counts[1]
    ws = openpyxl.load_workbook(tmp_path / "x50.xlsx")["Citas"]
    assert ws.max_row == 51 and ws["A51"].data_type == "s" and ws["A51"].value.startswith("=SUMA")
    assert ws["A51"].alignment.wrap_text and not ws["B51"].alignment.wrap_text


def test_quadratic_sheet_scan_put_row_appends_after_cells_written_by_hand():
    ws = openpyxl.Workbook().active
    ws.cell(1, 3).value = "header"
    assert put_row(ws, ["-uno"]) == 2 and put_row(ws, []) == 3 and put_row(ws, ["dos", 2]) == 4
    assert ws["A2"].value == "-uno" and ws["A2"].data_type == "s" and ws["B4"].value == 2
