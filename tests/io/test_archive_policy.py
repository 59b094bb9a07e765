"""The archive policy (issue 21, kinds 1, 5 and 8): zipped inputs are read within budget, workbooks read every row.

Kind 1: a small .docx/.xlsx that inflates to gigabytes is refused before python-docx, lxml or openpyxl see it, in
bounded memory (measured in a child process). Kind 8: rows beyond a stale ``<dimension>`` are read, never dropped.
Kind 5 (part): a truncated sheet is a QualcodeError naming the file and the sheet.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.errors import CodebookError, ExchangeFileError, InputFileError, QualcodeError, TranscriptFormatError
from qualcode.io.safe import WORD_LIMITS, WORKBOOK_LIMITS, ZipLimits, read_zip_safely, repack_zip_safely
from qualcode.io.tables import open_workbook, read_table, sheet_rows

_spec = importlib.util.spec_from_file_location("archives", Path(__file__).with_name("archives.py"))
assert _spec is not None and _spec.loader is not None
arc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arc)

PEAK_MIB = 512  # a refused bomb: issue 21's budget for peak RSS


@pytest.fixture
def base_docx(tmp_path, make_docx):
    return make_docx(tmp_path / "base.docx", ["ENTREVISTADORA: hola", "DIRECTORA: colaboramos"])


@pytest.fixture
def attrs(tmp_path):
    (tmp_path / "docs").mkdir()
    for i in (1, 2, 3):
        (tmp_path / "docs" / f"doc{i}.txt").write_text("ENTREVISTADORA: ¿Cómo?\nDIRECTORA: Colaboramos.\n")
    return arc.make_workbook(tmp_path / "attrs.xlsx", [["doc_id", "role"], *[[f"doc{i}", f"role{i}"] for i in (1, 2, 3)]])


# --- kind 1: zip bombs -------------------------------------------------------------------------------------------

def test_docx_zip_bomb_refused_within_budget_before_inflating(tmp_path, base_docx):
    bomb = arc.pad(base_docx, tmp_path / "bomb.docx", "word/document.xml", b"<w:body>", b" " * arc.MIB, 80)
    assert bomb.stat().st_size < 1024 * 1024
    _, report = qc.load_corpus(bomb)
    row = report.iloc[0]
    assert row["status"] == "error" and row["error"] == "TranscriptFormatError"
    assert "possible zip bomb" in row["message"] and "word/document.xml" in row["message"]
    assert "64 MiB" in row["message"] and "save a new copy" in row["message"]


def test_docx_zip_bomb_of_tiny_paragraphs_refused_by_ratio(tmp_path, base_docx):
    unit = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 30000
    bomb = arc.pad(base_docx, tmp_path / "paragraphs.docx", "word/document.xml", b"<w:body>", unit, 20)
    with pytest.raises(TranscriptFormatError, match=r"possible zip bomb: member 'word/document.xml' would inflate"):
        qc.io.docx.read_docx(bomb)


def test_docx_zip_bomb_lying_about_its_size_is_refused(tmp_path, base_docx):
    padded = arc.pad(base_docx, tmp_path / "padded.docx", "word/document.xml", b"<w:body>", b" " * arc.MIB, 30)
    liar = arc.lie_about_size(padded, tmp_path / "liar.docx", "word/document.xml", 4096)
    with pytest.raises(TranscriptFormatError, match="damaged or incomplete") as caught:
        qc.io.docx.read_docx(liar)
    assert str(liar) in str(caught.value)


def test_docx_zip_bomb_refused_in_bounded_memory(tmp_path, base_docx):
    bomb = arc.pad(base_docx, tmp_path / "bomb.docx", "word/document.xml", b"<w:body>", b" " * arc.MIB, 300)
    out, peak, _ = arc.run_capped(f"import qualcode as qc; c, r = qc.load_corpus({str(bomb)!r}); "
                                  "print(r.iloc[0]['status'], r.iloc[0]['message'])")
    assert "exit 0" in out and "error" in out and "possible zip bomb" in out, out
    assert peak < PEAK_MIB, f"peak RSS {peak:.0f} MiB"


def test_xlsx_zip_bomb_refused_within_budget(tmp_path, attrs):
    bomb = arc.whitespace_sheet_bomb(attrs, tmp_path / "attrs_bomb.xlsx", 80)
    with pytest.raises(TranscriptFormatError, match=r"possible zip bomb: member 'xl/worksheets/sheet1.xml'") as caught:
        qc.load_corpus(tmp_path / "docs", attributes=bomb)
    assert str(bomb) in str(caught.value) and "save it again as .xlsx" in str(caught.value)


def test_xlsx_zip_bomb_in_a_survey_is_one_failed_row(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["ticket_id", "q1"], ["t1", "aprendimos"]])
    bomb = arc.whitespace_sheet_bomb(base, tmp_path / "tickets.xlsx", 80)
    (tmp_path / "ok.txt").write_text("E: hola\nD: colaboramos harto\n")
    _, report = qc.load_corpus([bomb, tmp_path / "ok.txt"], survey=qc.SurveyColumns(id="ticket_id", text=["q1"]))
    statuses = dict(zip(report["path"].map(lambda p: Path(p).name), report["status"], strict=True))
    assert statuses["tickets.xlsx"] == "error" and statuses["ok.txt"] != "error"
    assert "possible zip bomb" in report.set_index("status").loc["error", "message"]


def test_xlsx_zip_bomb_of_many_small_parts_refused_by_archive_ratio(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["doc_id", "role"], ["doc1", "x"]])
    with zipfile.ZipFile(base) as old, zipfile.ZipFile(tmp_path / "parts.xlsx", "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
        for i in range(3):  # each under the per-part ratio floor, together far over it
            new.writestr(f"customXml/item{i}.xml", b"<a>" + b" " * (8 * arc.MIB) + b"</a>")
    with pytest.raises(TranscriptFormatError, match=r"inflate .*-fold together"):
        read_table(tmp_path / "parts.xlsx")


def test_xlsx_zip_bomb_lying_about_its_size_is_refused(tmp_path, attrs):
    padded = arc.whitespace_sheet_bomb(attrs, tmp_path / "padded.xlsx", 30)
    liar = arc.lie_about_size(padded, tmp_path / "liar.xlsx", arc.SHEET, 4096)
    with pytest.raises(TranscriptFormatError, match="damaged or incomplete"):
        read_table(liar)


def test_xlsx_codebook_zip_bomb_refused_within_budget(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "codes"
    book.active.append(["code_id", "label_es", "label_en"])
    book.active.append(["a", "A", "A"])
    book.save(tmp_path / "base.xlsx")
    bomb = arc.whitespace_sheet_bomb(tmp_path / "base.xlsx", tmp_path / "codebook.xlsx", 20)
    with pytest.raises(CodebookError, match=r"possible zip bomb.*16 MiB"):
        qc.load_codebook(bomb)


def test_xlsx_zip_bomb_refused_in_bounded_memory(tmp_path, attrs):
    bomb = arc.whitespace_sheet_bomb(attrs, tmp_path / "attrs_bomb.xlsx", 400)
    out, peak, _ = arc.run_capped(
        "import qualcode as qc\n"
        f"try: qc.load_corpus({str(tmp_path / 'docs')!r}, attributes={str(bomb)!r})\n"
        "except qc.QualcodeError as e: print(type(e).__name__, e)\n")
    assert "exit 0" in out and "possible zip bomb" in out, out
    assert peak < PEAK_MIB, f"peak RSS {peak:.0f} MiB"


def test_zip_with_too_many_members_refused_before_reading(tmp_path, base_docx):
    with zipfile.ZipFile(base_docx) as old, zipfile.ZipFile(tmp_path / "many.docx", "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
        for i in range(WORD_LIMITS.max_members + 1):
            new.writestr(f"customXml/{i}.xml", b"")
    with pytest.raises(TranscriptFormatError, match=r"lists 10,0\d\d members"):
        qc.io.docx.read_docx(tmp_path / "many.docx")


def test_zip_member_over_its_declared_budget_is_refused_without_inflating(tmp_path):
    path = tmp_path / "big.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("project.qde", b"<Project/>" * 300)
    with pytest.raises(ExchangeFileError, match=r"more than the 0\.0 MiB qualcode reads from one part"):
        read_zip_safely(path, limits=ZipLimits(max_member=1000, what="REFI-QDA file"))
    assert read_zip_safely(path)["project.qde"].startswith(b"<Project/>")


def test_repacked_workbook_holds_only_checked_parts(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["a"]])
    with zipfile.ZipFile(base) as old, zipfile.ZipFile(tmp_path / "pic.xlsx", "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
        new.writestr("xl/media/image1.png", b"\x89PNG" + b"\0" * 5000)
    with repack_zip_safely(tmp_path / "pic.xlsx", limits=WORKBOOK_LIMITS,
                           wanted=lambda name: not name.endswith(".png")) as copy, zipfile.ZipFile(copy) as archive:
        assert archive.read("xl/media/image1.png") == b""  # present, never inflated
        assert archive.getinfo(arc.SHEET).compress_type == zipfile.ZIP_STORED
        assert b"<sheetData>" in archive.read(arc.SHEET)


def test_zip_bomb_names_are_checked_for_every_format(tmp_path):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("../evil.xml", b"x")
    (tmp_path / "evil.xlsx").write_bytes(data.getvalue())
    with pytest.raises(TranscriptFormatError, match="points outside the archive"):
        read_table(tmp_path / "evil.xlsx")


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["whitespace_1g", "paragraphs_300m"])
def test_docx_zip_bomb_case_02_refused_in_bounded_memory(tmp_path, base_docx, shape):
    if shape == "whitespace_1g":
        bomb = arc.pad(base_docx, tmp_path / "b.docx", "word/document.xml", b"<w:body>", b" " * arc.MIB, 1024)
    else:
        unit = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 30000
        bomb = arc.pad(base_docx, tmp_path / "b.docx", "word/document.xml", b"<w:body>", unit, 300)
    out, peak, cpu = arc.run_capped(f"import qualcode as qc; c, r = qc.load_corpus({str(bomb)!r}); "
                                    "print(r.iloc[0]['status'], r.iloc[0]['message'])")
    assert "possible zip bomb" in out, out
    assert peak < PEAK_MIB and cpu < 10, (peak, cpu)


@pytest.mark.slow
def test_xlsx_zip_bomb_case_03_refused_in_bounded_memory(tmp_path, attrs):
    bomb = arc.whitespace_sheet_bomb(attrs, tmp_path / "attrs_bomb.xlsx", 1536)
    out, peak, cpu = arc.run_capped(
        "import qualcode as qc\n"
        f"try: qc.load_corpus({str(tmp_path / 'docs')!r}, attributes={str(bomb)!r})\n"
        "except qc.QualcodeError as e: print(type(e).__name__, e)\n")
    assert "possible zip bomb" in out, out
    assert peak < PEAK_MIB and cpu < 10, (peak, cpu)


# --- sparse and merged sheets: a tiny file must not make a table of billions of cells -----------------------------

def test_sparse_sheet_is_read_in_bounded_memory(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["doc_id", "role"], ["doc1", "x"]])
    sparse = arc.rewrite(base, tmp_path / "sparse.xlsx", arc.SHEET, lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'))
    out, peak, _ = arc.run_capped(
        "from qualcode.io.tables import read_table\n"
        f"f = read_table({str(sparse)!r}); print(list(f.columns), len(f))\n")
    assert "['doc_id', 'role'] 2" in out, out
    assert peak < PEAK_MIB, peak


def test_sparse_codebook_sheet_refused_before_building_cells(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["code_id", "label_es"], ["a", "A"]], title="codes")
    sparse = arc.rewrite(base, tmp_path / "sparse.xlsx", arc.SHEET, lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'))
    with pytest.raises(CodebookError, match="spans 1,048,576 rows and 16,384 columns"):
        qc.load_codebook(sparse)


def test_merged_range_bomb_in_codebook_refused_before_openpyxl(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["code_id", "label_es"], ["a", "A"]], title="codes")
    merged = arc.rewrite(base, tmp_path / "merged.xlsx", arc.SHEET, lambda d: d.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A3:XFD1048576"/></mergeCells>'))
    out, peak, _ = arc.run_capped(
        "import qualcode as qc\n"
        f"try: qc.load_codebook({str(merged)!r})\n"
        "except qc.QualcodeError as e: print(type(e).__name__, e)\n")
    assert "CodebookError" in out and "merges more than 1,000,000 cells" in out, out
    assert peak < PEAK_MIB, peak


def test_sheet_over_its_cell_budget_is_refused(tmp_path):
    base = arc.make_workbook(tmp_path / "wide.xlsx", [["a", "b", "c"]] * 50)
    book = open_workbook(base)
    with pytest.raises(TranscriptFormatError, match="more than 100 cells"):
        list(sheet_rows(book.worksheets[0], path=base, max_cells=100))


def test_row_number_beyond_excel_is_refused(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["doc_id", "role"], ["doc1", "x"]])
    far = arc.rewrite(base, tmp_path / "far.xlsx", arc.SHEET, lambda d: d.replace(
        b"</sheetData>", b'<row r="99999999"><c r="A99999999"><v>1</v></c></row></sheetData>'))
    with pytest.raises(TranscriptFormatError, match="beyond Excel's last row"):
        read_table(far)


# --- kind 8: rows beyond the declared dimension ------------------------------------------------------------------

@pytest.mark.parametrize("dimension", ["A1", "A1:B2", "C3:D4", None, "A1:Z9999"])
def test_xlsx_rows_beyond_declared_dimension_are_read(tmp_path, attrs, dimension):
    stale = arc.rewrite(attrs, tmp_path / "stale.xlsx", arc.SHEET, lambda d: arc.set_dimension(d, dimension))
    corpus, report = qc.load_corpus(tmp_path / "docs", attributes=stale)
    assert dict(zip(corpus.documents.doc_id, corpus.documents["role"], strict=True)) == {
        "doc1": "role1", "doc2": "role2", "doc3": "role3"}
    assert not report.message.str.contains("no row for document").any()


def test_xlsx_survey_rows_beyond_declared_dimension_are_read(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["ticket_id", "q1"], *[[f"t{i}", f"aprendimos {i}"]
                                                                          for i in range(1, 6)]])
    stale = arc.rewrite(base, tmp_path / "tickets.xlsx", arc.SHEET, lambda d: arc.set_dimension(d, "A1"))
    corpus, report = qc.load_corpus(stale, survey=qc.SurveyColumns(id="ticket_id", text=["q1"]))
    assert report.status.tolist() == ["ok"] and len(corpus.documents) == 5


def test_xlsx_codebook_rows_beyond_declared_dimension_are_read(tmp_path):
    rows = [["code_id", "label_es", "label_en"], *[[f"c{i}", f"C{i}", f"C{i}"] for i in range(4)]]
    base = arc.make_workbook(tmp_path / "base.xlsx", rows, title="codes")
    stale = arc.rewrite(base, tmp_path / "codebook.xlsx", arc.SHEET, lambda d: arc.set_dimension(d, "A1:C2"))
    assert [c.id for c in qc.load_codebook(stale)] == ["c0", "c1", "c2", "c3"]


@pytest.mark.parametrize("rows", [b'<row r="5"><c r="A5"><v>5</v></c></row><row r="3"><c r="A3"><v>3</v></c></row>',
                                  b'<row r="2"><c r="B2"><v>5</v></c></row>'])
def test_xlsx_rows_out_of_order_or_repeated_are_refused_not_skipped(tmp_path, attrs, rows):
    bad = arc.rewrite(attrs, tmp_path / "order.xlsx", arc.SHEET, lambda d: d.replace(b"</sheetData>",
                                                                                     rows + b"</sheetData>"))
    with pytest.raises(TranscriptFormatError, match=r"rows out of order or repeated") as caught:
        read_table(bad)
    assert str(bad) in str(caught.value) and "save it again as .xlsx" in str(caught.value)


def test_xlsx_rows_without_numbers_and_gaps_keep_their_row_numbers(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["doc_id", "role"]])
    gaps = arc.rewrite(base, tmp_path / "gaps.xlsx", arc.SHEET, lambda d: arc.set_dimension(d, "A1").replace(
        b"</sheetData>", b'<row r="4"><c r="A4" t="inlineStr"><is><t>d4</t></is></c></row>'
                         b'<row><c t="inlineStr"><is><t>d5</t></is></c><c t="inlineStr"><is><t>r</t></is></c></row>'
                         b"</sheetData>"))
    frame = read_table(gaps)
    assert frame.index.tolist() == [4, 5] and frame["doc_id"].tolist() == ["d4", "d5"]
    assert frame["role"].tolist() == ["", "r"]


# --- kind 5 (part): a truncated sheet is a QualcodeError naming the file and sheet ---------------------------------

@pytest.mark.parametrize("cut", ["half", "no_end"])
def test_truncated_attributes_sheet_is_a_qualcode_error_naming_file_and_sheet(tmp_path, attrs, cut):
    def truncate(data: bytes) -> bytes:
        return data[: len(data) // 2] if cut == "half" else data[: data.index(b"</sheetData>")]

    bad = arc.rewrite(attrs, tmp_path / "attrs_truncated_sheet.xlsx", arc.SHEET, truncate)
    with pytest.raises(QualcodeError) as caught:
        qc.load_corpus(tmp_path / "docs", attributes=bad)
    message = str(caught.value)
    assert isinstance(caught.value, InputFileError)
    assert str(bad) in message and "sheet 'Sheet' is damaged" in message and "save it again" in message


def test_truncated_survey_sheet_is_one_failed_row(tmp_path):
    base = arc.make_workbook(tmp_path / "base.xlsx", [["ticket_id", "q1"], ["t1", "aprendimos"]])
    bad = arc.rewrite(base, tmp_path / "tickets.xlsx", arc.SHEET, lambda d: d[: len(d) // 2])
    _, report = qc.load_corpus(bad, survey=qc.SurveyColumns(id="ticket_id", text=["q1"]))
    assert report.status.tolist() == ["error"] and "sheet 'Sheet' is damaged" in report.message.iloc[0]


def test_truncated_shared_strings_is_a_qualcode_error(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["doc_id", "role"])
    book.save(tmp_path / "base.xlsx")
    # openpyxl writes inline strings; a shared-strings part from another writer, cut short:
    with zipfile.ZipFile(tmp_path / "base.xlsx") as old, \
            zipfile.ZipFile(tmp_path / "shared.xlsx", "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                                 b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                                                 b"</Types>")
            new.writestr(info.filename, data)
        new.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                                             b'main"><si><t>doc')
    with pytest.raises(TranscriptFormatError, match=r"damaged or not a real \.xlsx"):
        read_table(tmp_path / "shared.xlsx")


def test_data_samples_workbooks_read_as_before(samples):
    for path in sorted(samples.rglob("*.xlsx")):
        frame = read_table(path)
        assert len(frame) > 0 and len(frame.columns) > 0
