from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.errors import InputFileError
from qualcode.io.tables import read_table

SURVEY = (
    "ticket_id,participant,workshop,q1,q2\n"
    'T001,D01,1,"Me llevo la idea de medir, aunque sea poco.",Tiempo.\n'
    'T002,D02,1,"Que no estoy sola.\nLo dijo la tía Gloria: ""somos red"".",\n'
    "T003,PA1,2,,-\n"
)


def test_load_corpus_reads_survey_answers_one_segment_per_answer(tmp_path, write):
    write("tickets.csv", SURVEY)
    corpus, report = qc.load_corpus(tmp_path / "tickets.csv",
                                    survey=qc.SurveyColumns(id="ticket_id", text=["q1", "q2"], speaker="participant"))
    assert report.n_errors == 0
    segs = corpus.segments
    assert list(segs["doc_id"]) == ["tickets#T001", "tickets#T001", "tickets#T002", "tickets#T003"]
    assert list(segs["field"]) == ["q1", "q2", "q1", "q2"]
    assert segs["text"].iloc[2] == 'Que no estoy sola.\nLo dijo la tía Gloria: "somos red".'
    assert list(segs["speaker"]) == ["D01", "D01", "D02", "PA1"]
    assert list(segs["workshop"]) == [1, 1, 1, 2]
    for doc_id, start, end, text in segs[["doc_id", "start", "end", "text"]].itertuples(index=False):
        assert corpus.text(doc_id)[start:end] == text


def test_load_corpus_survey_with_unknown_column_names_the_close_one(tmp_path, write):
    write("tickets.csv", SURVEY)
    _, report = qc.load_corpus(tmp_path / "tickets.csv", survey=qc.SurveyColumns(id="ticket", text=["q1"]))
    assert report.n_errors == 1
    assert "did you mean 'ticket_id'" in report["message"].iloc[0]


def test_load_corpus_refuses_a_csv_without_survey_columns(tmp_path, write):
    write("tickets.csv", SURVEY)
    _, report = qc.load_corpus(tmp_path / "tickets.csv")
    assert report["error"].iloc[0] == "UnsupportedFormatError" and "SurveyColumns" in report["message"].iloc[0]


def test_read_table_keeps_row_numbers_and_text_cells(tmp_path, write):
    path = write("a.csv", "doc_id;round\n\nd01;01\nd02;2\n")
    frame = read_table(path)
    assert list(frame.index) == [3, 4]
    assert list(frame["round"]) == ["01", "2"]


def test_read_table_refuses_other_suffixes(tmp_path, write):
    with pytest.raises(InputFileError, match=".ods"):
        read_table(write("a.ods", "x"))


def test_read_table_counts_lines_of_multiline_cells(tmp_path, write):
    frame = read_table(write("m.csv", 'id,text\nT1,"dos\nlíneas"\nT2,una\n'))
    assert list(frame.index) == [2, 4]


def test_read_table_names_the_row_with_too_many_cells(tmp_path, write):
    with pytest.raises(InputFileError, match=r"m.csv:3: this row has 3 cells"):
        read_table(write("m.csv", "id,text\nT1,bien\nT2,mal,extra\n"))
