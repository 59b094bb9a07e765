"""Reading review workbooks that come back damaged or hostile (issue 21, kinds 1, 5 and 8).

A review workbook comes back from someone else's computer: it is read under the workbook archive policy, row by
row, every row whatever its stored ``<dimension>`` says, and a damaged sheet is a ReviewSheetError naming it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ReviewSheetError

_spec = importlib.util.spec_from_file_location("archives", Path(__file__).parents[1] / "io" / "archives.py")
assert _spec is not None and _spec.loader is not None
arc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arc)

PEAK_MIB = 512


@pytest.fixture
def sheet(project, tmp_path):
    segs = project.segments
    part = segs[segs["speaker_role"] == "participant"].head(6)
    suggestions = pd.DataFrame({"segment_id": part["segment_id"], "code_id": "collaboration.isolation", "score": 0.72,
                                "method": "keyword", "evidence": [["sola"]] * len(part),
                                "codebook_version": project.codebook().version})
    path = tmp_path / "revision.xlsx"
    qc.export_review_sheet(project, suggestions, path, coder="ana")
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    for row, (decision, memo) in enumerate([("sí", None), ("no", "=-muy general"), ("x", "bien")], start=2):
        ws.cell(row, header["decisión"]).value = decision
        ws.cell(row, header["memo"]).value = memo
    ws.cell(7, header["decisión"]).value = "rechazar"  # the last row: beyond a stale dimension
    book.save(path)
    return path


def test_review_workbook_zip_bomb_refused_within_budget(sheet, tmp_path):
    bomb = arc.whitespace_sheet_bomb(sheet, tmp_path / "review_bomb.xlsx", 80)
    with pytest.raises(ReviewSheetError, match=r"possible zip bomb: member 'xl/worksheets/sheet1.xml'") as caught:
        qc.read_review_sheet(bomb)
    assert str(bomb) in str(caught.value)


def test_review_workbook_zip_bomb_refused_in_bounded_memory(sheet, tmp_path):
    bomb = arc.whitespace_sheet_bomb(sheet, tmp_path / "review_bomb.xlsx", 400)
    out, peak, _ = arc.run_capped("import qualcode as qc\n"
                                  f"try: qc.read_review_sheet({str(bomb)!r})\n"
                                  "except qc.QualcodeError as e: print(type(e).__name__, e)\n")
    assert "ReviewSheetError" in out and "possible zip bomb" in out, out
    assert peak < PEAK_MIB, f"peak RSS {peak:.0f} MiB"


@pytest.mark.slow
def test_review_workbook_zip_bomb_case_03_refused_in_bounded_memory(sheet, tmp_path):
    bomb = arc.whitespace_sheet_bomb(sheet, tmp_path / "review_bomb.xlsx", 1024)
    out, peak, cpu = arc.run_capped("import qualcode as qc\n"
                                    f"try: qc.read_review_sheet({str(bomb)!r})\n"
                                    "except qc.QualcodeError as e: print(type(e).__name__, e)\n")
    assert "possible zip bomb" in out, out
    assert peak < PEAK_MIB and cpu < 10, (peak, cpu)


@pytest.mark.parametrize("dimension", ["A1", "A1:C3", None])
def test_review_rows_beyond_declared_dimension_are_read(sheet, tmp_path, dimension):
    stale = arc.rewrite(sheet, tmp_path / "stale.xlsx", arc.SHEET, lambda d: arc.set_dimension(d, dimension))
    before, after = qc.read_review_sheet(sheet), qc.read_review_sheet(stale)
    assert len(after) == 6 and after["decision"].tolist()[-1] == "reject"
    pd.testing.assert_frame_equal(before, after)
    assert {k: v for k, v in before.attrs.items() if k != "path"} == {
        k: v for k, v in after.attrs.items() if k != "path"}


def test_review_reading_keeps_hand_edits_and_formula_memos(sheet):
    read = qc.read_review_sheet(sheet)
    assert read["decision"].tolist()[:3] == ["accept", "reject", "accept"]
    assert read["memo"].tolist()[1:3] == ["-muy general", "bien"]
    assert "formula" in read["remark"].iloc[1] and read.attrs["coder"] == "ana"


def test_review_decision_formula_takes_the_saved_value(sheet, tmp_path):
    def formula(data: bytes) -> bytes:  # row 4's decision becomes a formula whose saved value is "rechazar"
        book = openpyxl.load_workbook(sheet)
        column = next(c.column_letter for c in book.worksheets[0][1] if c.value == "decisión")
        ref = f'r="{column}4"'.encode()
        start = data.index(ref)
        end = data.index(b"</c>", start) + 4
        cell = f'<c {ref.decode()} t="str"><f>LOWER("RECHAZAR")</f><v>rechazar</v></c>'.encode()
        return data[: data.rindex(b"<c ", 0, start + 1)] + cell + data[end:]

    edited = arc.rewrite(sheet, tmp_path / "formula.xlsx", arc.SHEET, formula)
    read = qc.read_review_sheet(edited)
    assert read["decision"].iloc[2] == "reject" and read["decision_problem"].isna().iloc[2]


@pytest.mark.parametrize("cut", ["half", "no_end"])
def test_truncated_review_sheet_is_a_review_sheet_error_naming_file_and_sheet(sheet, tmp_path, cut):
    def truncate(data: bytes) -> bytes:
        return data[: len(data) // 2] if cut == "half" else data[: data.index(b"</sheetData>")]

    bad = arc.rewrite(sheet, tmp_path / "truncated.xlsx", arc.SHEET, truncate)
    with pytest.raises(ReviewSheetError) as caught:
        qc.read_review_sheet(bad)
    assert str(bad) in str(caught.value) and "is damaged" in str(caught.value)


def test_review_rows_out_of_order_are_refused_not_skipped(sheet, tmp_path):
    def swap(data: bytes) -> bytes:  # store row 3 after row 4
        start3, start4 = data.index(b'<row r="3"'), data.index(b'<row r="4"')
        end4 = data.index(b"</row>", start4) + 6
        return data[:start3] + data[start4:end4] + data[start3:start4] + data[end4:]

    bad = arc.rewrite(sheet, tmp_path / "order.xlsx", arc.SHEET, swap)
    with pytest.raises(ReviewSheetError, match="row 3 after row 4"):
        qc.read_review_sheet(bad)
