"""qualcode reads back every workbook it writes: a worksheet is streamed from a copy on disk, not held in memory.

The fault (found by ``bench/round_scale.py`` at 10M words): a round wrote a review workbook of ~200,000 rows
whose sheet XML inflates to 323 MiB, and ``read_review_sheet`` refused it as a possible zip bomb, because the
sheet counted against the 64 MiB budget of parts held in memory although openpyxl's read-only mode streams it.
"""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ReviewSheetError, TranscriptFormatError
from qualcode.io import safe, tables
from qualcode.io.safe import WORKBOOK_LIMITS, repack_zip_safely
from qualcode.io.tables import SHEET_MAX_CELLS, open_workbook, read_table, sheet_rows

ROOT = Path(__file__).resolve().parents[2]
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture(scope="module")
def review_book(tmp_path_factory):
    """A real review workbook of the sample's suggestions (every participant segment × a few codes)."""
    tmp = tmp_path_factory.mktemp("review")
    corpus, _ = qc.load_corpus(ROOT / "data_samples" / "transcripts")
    project = qc.Project.create(tmp / "p.qualcode")
    project.add_codebook(qc.load_codebook("nic_study"))
    project.add_corpus(corpus)
    part = project.segments[project.segments["speaker_role"] == "participant"]["segment_id"].tolist()
    codes = [c.id for c in project.codebook() if "." in c.id][:3]
    version = project.codebook().version
    suggestions = pd.DataFrame([{"segment_id": s, "code_id": c, "score": 0.5, "method": "keyword",
                                 "evidence": [["apoyo"]], "codebook_version": version} for s in part for c in codes])
    path = tmp / "revision.xlsx"
    rows = qc.export_review_sheet(project, suggestions, path, coder="ana")
    project.close()
    return path, rows


def test_own_review_workbook_beyond_the_in_memory_budget_is_read_back(review_book):
    path, rows = review_book
    size = zipfile.ZipFile(path).getinfo(SHEET).file_size
    tight = replace(WORKBOOK_LIMITS, max_member=size // 4, max_total=size // 2)  # memory budget under the sheet
    book = open_workbook(path, error=ReviewSheetError, limits=tight)
    assert sum(1 for _ in sheet_rows(book.worksheets[0], path=path)) == rows + 1  # the header and every row
    book.close()
    held = replace(tight, streamed_member=None)  # the sheet held in memory, as before the fix: refused
    with pytest.raises(ReviewSheetError, match="possible zip bomb"):
        open_workbook(path, error=ReviewSheetError, limits=held)


def test_streamed_sheet_budget_covers_the_largest_review_workbook_a_reader_takes(review_book):
    path, rows = review_book
    with zipfile.ZipFile(path) as archive:
        per_row = archive.getinfo(SHEET).file_size / rows
        columns = max(len(row) for row in sheet_rows(open_workbook(path).worksheets[0], path=path))
    assert WORKBOOK_LIMITS.budget_for(SHEET) >= per_row * SHEET_MAX_CELLS / columns
    assert WORKBOOK_LIMITS.budget_for("xl/sharedStrings.xml") == safe.WORKBOOK_PART_BYTES  # held whole: not streamed


def test_large_copy_of_a_workbook_goes_to_disk_not_memory(review_book, monkeypatch):
    path, _ = review_book
    monkeypatch.setattr(safe, "SPOOL_BYTES", 1024)
    with repack_zip_safely(path, limits=WORKBOOK_LIMITS) as copy:
        assert copy._rolled  # type: ignore[attr-defined]  # SpooledTemporaryFile: now a file on disk
        assert zipfile.ZipFile(copy).read(SHEET) == zipfile.ZipFile(path).read(SHEET)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 22])
def test_rows_out_of_order_are_refused_whatever_the_scan_piece(tmp_path, monkeypatch, chunk):
    import openpyxl

    monkeypatch.setattr(tables, "_SCAN_CHUNK", chunk)
    book = openpyxl.Workbook()
    for i in range(50):
        book.active.append([f"doc{i}", "x"])
    book.save(tmp_path / "ok.xlsx")
    assert len(read_table(tmp_path / "ok.xlsx")) == 49
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as old, zipfile.ZipFile(tmp_path / "bad.xlsx", "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == SHEET:
                data = data.replace(b"</sheetData>", b'<row r="7"><c r="A7"><v>7</v></c></row></sheetData>')
            new.writestr(info.filename, data)
    with pytest.raises(TranscriptFormatError, match="rows out of order or repeated"):
        read_table(tmp_path / "bad.xlsx")
