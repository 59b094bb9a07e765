"""A workbook whose ``xl/workbook.xml`` names no worksheet is refused by every workbook reader, naming the file.

openpyxl opens such a part (an empty ``<sheets/>``, no ``<sheets>`` at all, sheets without a relationship id, a
part in another namespace or not a workbook at all, a book of chart sheets only) as a book with no worksheet;
each reader then failed on its own: an ``IndexError`` for a survey or attributes table, a ``StopIteration`` for a
codebook. Found by the fuzzer (tests/test_fuzz_readers.py); these are the other shapes of the same attack.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference

import qualcode as qc
from qualcode import errors
from qualcode.io.tables import read_table

_MAIN = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
WORKBOOK_PARTS = {
    "not_a_workbook": b"<x/>",
    "empty_sheets": f"<workbook {_MAIN}><sheets/></workbook>".encode(),
    "no_sheets_element": f"<workbook {_MAIN}><workbookPr/></workbook>".encode(),
    "sheet_without_relationship": f'<workbook {_MAIN}><sheets><sheet name="codes" sheetId="1"/></sheets>'
                                  "</workbook>".encode(),
    "other_namespace": b'<workbook xmlns="urn:x"><sheets><sheet name="codes" sheetId="1"/></sheets></workbook>',
}
SHAPES = [*WORKBOOK_PARTS, "chart_sheets_only"]


def _book(rows: list[list[object]], title: str) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = title
    for row in rows:
        ws.append(row)
    return book


def _sheetless(tmp: Path, shape: str, name: str, rows: list[list[object]], title: str = "Sheet1") -> Path:
    """A valid workbook of ``rows``, then made sheetless in the way ``shape`` names."""
    book = _book(rows, title)
    path = tmp / name
    if shape == "chart_sheets_only":
        chart = BarChart()
        chart.add_data(Reference(book.active, min_col=1, min_row=1, max_row=len(rows)))
        book.create_chartsheet("grafico").add_chart(chart)
        book.remove(book.active)
        book.save(path)
        return path
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, WORKBOOK_PARTS[shape] if info.filename == "xl/workbook.xml" else data)
    return path


SURVEY_ROWS = [["id", "q1", "q2"], ["T1", "Me llevo la idea.", "Tiempo."]]


@pytest.mark.parametrize("shape", SHAPES)
def test_survey_workbook_without_sheets_is_one_failed_row_naming_the_file(tmp_path, shape):
    _sheetless(tmp_path, shape, "encuesta.xlsx", SURVEY_ROWS)
    (tmp_path / "t1.txt").write_text("E: ¿Hola?\nP: Sí.\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus, report = qc.load_corpus(tmp_path, survey=qc.SurveyColumns(id="id", text=["q1", "q2"]))
    failed = report[report["status"] == "error"]
    assert list(failed["path"].map(lambda p: Path(str(p)).name)) == ["encuesta.xlsx"]
    cls = getattr(errors, str(failed["error"].iloc[0]))
    assert issubclass(cls, errors.QualcodeError)
    assert "encuesta.xlsx" in failed["message"].iloc[0] and "no worksheet" in failed["message"].iloc[0]
    assert list(corpus.documents["doc_id"]) == ["t1"]  # the other file of the batch is read


@pytest.mark.parametrize("shape", SHAPES)
def test_attributes_workbook_without_sheets_is_refused_naming_the_file(tmp_path, shape):
    path = _sheetless(tmp_path, shape, "atributos.xlsx", [["doc_id", "edad"], ["t1", "40"]])
    (tmp_path / "t1.txt").write_text("E: ¿Hola?\nP: Sí.\n", encoding="utf-8")
    with pytest.raises(errors.QualcodeError, match=r"atributos\.xlsx.*no worksheet"):
        qc.load_corpus(tmp_path / "t1.txt", attributes=path)
    with pytest.raises(errors.QualcodeError, match=r"atributos\.xlsx"):
        read_table(path)


@pytest.mark.parametrize("shape", SHAPES)
def test_codebook_workbook_without_sheets_is_refused_with_a_codebook_error(tmp_path, shape):
    rows = [["code_id", "label_es", "label_en"], ["apoyo", "Apoyo", "Support"]]
    path = _sheetless(tmp_path, shape, "libro.xlsx", rows, title="codes")
    with pytest.raises(errors.CodebookError, match=r"libro\.xlsx.*no worksheet"):
        qc.load_codebook(path)


@pytest.mark.parametrize("shape", SHAPES)
def test_review_workbook_without_sheets_is_refused_with_a_review_sheet_error(tmp_path, shape):
    rows = [["_segment_id", "decision"], ["s1", "accept"]]
    path = _sheetless(tmp_path, shape, "revision.xlsx", rows, title="review")
    with pytest.raises(errors.ReviewSheetError, match=r"revision\.xlsx.*no worksheet"):
        qc.read_review_sheet(path)


def test_a_chart_sheet_is_not_a_sheet_to_read_rows_from(tmp_path):
    book = _book([["id", "q1"], ["T1", "Sí."]], "datos")
    chart = BarChart()
    chart.add_data(Reference(book.active, min_col=2, min_row=1, max_row=2))
    book.create_chartsheet("grafico").add_chart(chart)
    book.save(tmp_path / "encuesta.xlsx")
    assert list(read_table(tmp_path / "encuesta.xlsx")["q1"]) == ["Sí."]
    with pytest.raises(errors.InputFileError, match=r"no sheet 'grafico'; the sheets are \['datos'\]"):
        read_table(tmp_path / "encuesta.xlsx", sheet="grafico")
