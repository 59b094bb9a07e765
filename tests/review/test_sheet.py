"""The review workbook round-trip: R1 (hand-edited sheets) and R2 (sheets from an older project state)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders.active import learning_order
from qualcode.errors import ParameterError, ReviewSheetError
from qualcode.review.sheet import normalize_decision


def suggestions_for(project, n=6, code="collaboration.isolation"):
    segs = project.segments
    part = segs[segs["speaker_role"] == "participant"].head(n)
    return pd.DataFrame({"segment_id": part["segment_id"], "code_id": code, "score": 0.72, "method": "keyword",
                         "evidence": [["sola"]] * len(part), "codebook_version": project.codebook().version})


def edit(path, changes: dict[tuple[int, str], object], *, lang="es"):
    """Set cells by (data row index from 0, column header) and save."""
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    for (index, column), value in changes.items():
        ws.cell(index + 2, header[column]).value = value
    book.save(path)
    return book


@pytest.fixture
def sheet(project, tmp_path):
    path = tmp_path / "revision.xlsx"
    qc.export_review_sheet(project, suggestions_for(project), path, coder="ana")
    return path


def test_review_sheet_learn_order_puts_the_rows_in_learning_order(project, tmp_path):
    suggestions = suggestions_for(project).assign(score=[0.9, 0.3, 0.55, 0.5, 0.7, 0.45])
    qc.export_review_sheet(project, suggestions, tmp_path / "document.xlsx", coder="ana")
    qc.export_review_sheet(project, suggestions, tmp_path / "learn.xlsx", coder="ana", order="learn")
    document = qc.read_review_sheet(tmp_path / "document.xlsx")
    learn = qc.read_review_sheet(tmp_path / "learn.xlsx")
    pairs = list(zip(learn["segment_id"], learn["code_id"], strict=True))
    in_document = list(zip(document["segment_id"], document["code_id"], strict=True))
    assert sorted(pairs) == sorted(in_document) and pairs != in_document
    texts = project.segments.set_index("segment_id")["text"]
    expected = learning_order(document.assign(text=document["segment_id"].map(texts)))
    assert pairs == [in_document[i] for i in expected]
    with pytest.raises(ParameterError, match="order must be one of"):
        qc.export_review_sheet(project, suggestions, tmp_path / "x.xlsx", order="random")


def test_review_sheet_has_dropdowns_hidden_integrity_columns_and_layout(project, sheet):
    book = openpyxl.load_workbook(sheet)
    ws = book["revision"]
    header = [c.value for c in ws[1]]
    assert {"cita", "pregunta previa", "decisión", "otro código", "memo", "district", "stage"} <= set(header)
    hidden = [ws.cell(1, i + 1).column_letter for i, h in enumerate(header) if h.startswith("_")]
    assert all(ws.column_dimensions[letter].hidden for letter in hidden) and len(hidden) == 3
    formulas = sorted(dv.formula1 for dv in ws.data_validations.dataValidation)
    # "otro código" offers the labels in the workbook's language (column B of the hidden codes sheet).
    assert formulas == ['"aceptar,rechazar"', f"=codes!$B$2:$B${len(project.codebook()) + 1}"]
    listed = [r[0] for r in book["codes"].iter_rows(min_row=2, min_col=2, max_col=2, values_only=True)]
    assert listed == [c.label["es"] for c in project.codebook()]
    assert ws.freeze_panes and ws.auto_filter.ref.startswith("A1:")
    assert book["codes"].sheet_state == "hidden" and book["about"]["B1"].value == "qualcode-review-1"
    quote_col = header.index("cita") + 1
    question_col = header.index("pregunta previa") + 1
    assert ws.cell(2, question_col).value and ws.cell(2, quote_col).alignment.wrap_text


@pytest.mark.parametrize("value, expected", [("sí", "accept"), ("Accept ", "accept"), ("x", "accept"),
                                             ("0", "reject"), ("", None), ("NO", "reject"), ("rechazar", "reject")])
def test_r1_decision_spellings(value, expected):
    assert normalize_decision(value) == expected


def test_r1_hand_edited_sheet_applies_what_it_can_and_reports_the_rest(project, sheet):
    edit(sheet, {(0, "decisión"): "sí", (1, "decisión"): "Accept ", (2, "decisión"): "0",
                 (3, "otro código"): "leadership.workload", (3, "memo"): "es carga, no soledad",
                 (4, "decisión"): "quizás"})
    review = qc.read_review_sheet(sheet)
    assert review.attrs["coder"] == "ana"
    report = qc.apply_review(project, review)
    assert list(report["outcome"]) == ["applied", "applied", "applied", "applied", "refused", "blank"]
    assert "quizás" in report.loc[4, "message"]
    assert report.loc[3, "decisions"] == "reject+manual"
    current = qc.decisions(project)
    assert sorted(current["decision"]) == ["accept", "accept", "manual", "reject", "reject"]
    assert set(current["source"]) == {"sheet"}
    assert current[current["decision"] == "manual"]["memo"].iloc[0] == "es carga, no soledad"


def test_r1_applying_the_same_sheet_twice_adds_nothing(project, sheet):
    edit(sheet, {(0, "decisión"): "aceptar", (1, "decisión"): "rechazar"})
    qc.apply_review(project, qc.read_review_sheet(sheet))
    again = qc.apply_review(project, qc.read_review_sheet(sheet))
    assert set(again["outcome"]) <= {"unchanged", "blank"}
    assert len(qc.decisions(project, history=True)) == 2


def test_r1_sorted_deleted_duplicated_rows_moved_columns_renamed_sheet(project, sheet):
    edit(sheet, {(0, "decisión"): "x", (1, "decisión"): "no", (2, "decisión"): "x"})
    book = openpyxl.load_workbook(sheet)
    ws = book["revision"]
    ws.title = "Hoja de Camila"
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    header, body = rows[0], rows[1:]
    body = [body[2], body[0], body[0], body[1]]  # sorted differently, row 4-6 deleted, first row duplicated
    order = list(reversed(range(len(header))))   # every column moved
    ws.delete_rows(1, ws.max_row)
    for row in [header, *body]:
        ws.append([row[i] for i in order])
    book.save(sheet)
    review = qc.read_review_sheet(sheet)
    assert len(review) == 4 and review["problem"].str.startswith("duplicate of row").sum() == 1
    report = qc.apply_review(project, review)
    assert sorted(report["outcome"]) == ["applied", "applied", "applied", "unchanged"]
    assert sorted(qc.decisions(project)["decision"]) == ["accept", "accept", "reject"]


def test_r1_conflicting_duplicates_are_refused_with_their_rows(project, sheet):
    book = edit(sheet, {(0, "decisión"): "x"})
    ws = book["revision"]
    ws.append([c.value for c in ws[2]])
    ws.cell(ws.max_row, [c.value for c in ws[1]].index("decisión") + 1).value = "no"
    book.save(sheet)
    report = qc.apply_review(project, qc.read_review_sheet(sheet))
    refused = report[report["outcome"] == "refused"]
    assert len(refused) == 2 and "different decisions" in refused["message"].iloc[0]
    assert qc.decisions(project).empty


def test_r2_rows_whose_segment_changed_are_refused_never_applied_elsewhere(project, sheet, tmp_path, sample_corpus):
    edit(sheet, {(0, "decisión"): "x", (1, "decisión"): "x"})
    review = qc.read_review_sheet(sheet)
    first_doc = project.segments.set_index("segment_id").loc[review["segment_id"][0], "doc_id"]
    text = sample_corpus.text(first_doc)
    # The transcript is corrected after the export: the first participant turn changes.
    first_quote = project.segments.set_index("segment_id").loc[review["segment_id"][0], "text"]
    folder = tmp_path / "v2"
    folder.mkdir()
    source = sample_corpus.documents.set_index("doc_id").loc[first_doc, "source_path"]
    (folder / f"{first_doc}.txt").write_text(text.replace(first_quote, first_quote.replace("po.", "pues.")),
                                             encoding="utf-8")
    assert source  # the original file was a .txt transcript
    corrected, _ = qc.load_corpus(folder)
    project.add_corpus(corrected)
    report = qc.apply_review(project, review)
    assert report.loc[0, "outcome"] == "refused" and "re-export" in report.loc[0, "message"]
    assert report.loc[1, "outcome"] == "applied"
    assert len(qc.decisions(project)) == 1


def test_review_sheet_for_coding_by_hand(project, tmp_path):
    path = tmp_path / "manual.xlsx"
    n = qc.export_review_sheet(project, None, path, lang="en")
    assert n == int((project.segments["speaker_role"] == "participant").sum())
    book = edit(path, {(0, "other code"): "collaboration.belonging"})
    assert book.worksheets[0].title == "review"
    report = qc.apply_review(project, qc.read_review_sheet(path), coder="luis")
    assert report.loc[0, "decisions"] == "manual"
    assert list(qc.decisions(project)["coder"]) == ["luis"]


def test_review_sheet_without_coder_asks_for_one(project, tmp_path):
    path = tmp_path / "r.xlsx"
    qc.export_review_sheet(project, suggestions_for(project, 1), path)
    with pytest.raises(ReviewSheetError, match="coder="):
        qc.apply_review(project, qc.read_review_sheet(path))


def test_review_sheet_keeps_formula_like_speech_as_text(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "d.txt").write_text("E: ¿Y el presupuesto?\nD1: =SUMA(A1:A3) eso me dijeron, +50 niños\n", encoding="utf-8")
    corpus, _ = qc.load_corpus(folder)
    project = qc.Project.create(tmp_path / "p.qualcode")
    project.add_corpus(corpus)
    project.add_codebook(qc.load_codebook("leadership"))
    qc.export_review_sheet(project, None, tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[0]
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index("cita") + 1)
    assert cell.value == "=SUMA(A1:A3) eso me dijeron, +50 niños" and cell.data_type == "s"


def test_read_review_sheet_refuses_a_workbook_without_integrity_columns(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["cita", "decisión"])
    book.save(tmp_path / "x.xlsx")
    with pytest.raises(ReviewSheetError, match="_segment_id"):
        qc.read_review_sheet(tmp_path / "x.xlsx")


def _cells(path):
    import openpyxl

    book = openpyxl.load_workbook(path)
    about = dict(book["about"].iter_rows(values_only=True))
    ws = book.worksheets[0]
    layout = (ws.freeze_panes, ws.auto_filter.ref, [(str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation],
              {k: (d.width, d.hidden) for k, d in ws.column_dimensions.items()})
    rows = [[(c.value, c.data_type, c.fill.fgColor.rgb, c.alignment.wrap_text) for c in row] for row in ws.iter_rows()]
    return rows, layout, about["rows"], [list(r) for r in book["codes"].iter_rows(values_only=True)]


def test_review_sheet_in_parts_is_the_sheet_made_whole(project, tmp_path, monkeypatch):
    # Kind: a long workbook is made part by part (issue 20); parts must not change a row or the layout.
    from qualcode.review import sheet as review_sheet

    part = project.segments[project.segments["speaker_role"] == "participant"]
    codes = [c.id for c in project.codebook() if "." in c.id][:3]
    rows = pd.DataFrame([{"segment_id": s, "code_id": c, "score": 0.5 + k % 7 / 20, "method": "embedding",
                          "evidence": ["red", "=apoyo"]} for k, (s, c) in
                         enumerate((s, c) for s in part["segment_id"].iloc[::-1] for c in codes)])
    whole = tmp_path / "whole.xlsx"
    assert qc.export_review_sheet(project, rows, whole, coder="ana") == len(rows)
    monkeypatch.setattr(review_sheet, "REVIEW_PART_ROWS", 40)
    parts = list(review_sheet._review_parts(project, rows, question_chars=600, order="document"))
    assert len(parts) > 5 and sum(map(len, parts)) == len(rows)
    in_parts = tmp_path / "parts.xlsx"
    assert qc.export_review_sheet(project, rows, in_parts, coder="ana") == len(rows)
    assert _cells(in_parts) == _cells(whole)
    read = qc.read_review_sheet(in_parts)
    assert len(read) == len(rows) and set(read["segment_id"]) == set(rows["segment_id"])
