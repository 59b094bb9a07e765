"""The review table, built once for the review workbook and the notebook widget."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ParameterError
from qualcode.project import Project
from qualcode.review.table import evidence_text, questions, review_table
from qualcode.review.widget import ReviewQueue

SAMPLES = ("int_d02_final.txt", "int_d07_intermedia.txt")


@pytest.fixture
def suggested(tmp_path, samples):
    """Two sample interviews (added in reading order of their ids) with their keyword suggestions."""
    corpus, _ = qc.load_corpus([samples / "transcripts" / name for name in SAMPLES],
                               attributes=samples / "attributes.csv")
    with Project.create(tmp_path / "study.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        qc.suggest(project, methods=("keyword",))
        yield project


def workbook_rows(path) -> pd.DataFrame:
    ws = openpyxl.load_workbook(path).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_widget_queue_and_workbook_list_the_same_items(suggested, tmp_path):
    qc.export_review_sheet(suggested, suggested.suggestions, tmp_path / "r.xlsx", coder="ana")
    sheet = workbook_rows(tmp_path / "r.xlsx")
    queue = ReviewQueue(suggested, "ana")
    assert len(sheet) == len(queue) > 10
    sheet_pairs = list(zip(sheet["_segment_id"], sheet["_code_id"], strict=True))
    queue_pairs = list(zip(queue.table["segment_id"], queue.table["code_id"], strict=True))
    assert sorted(sheet_pairs) == sorted(queue_pairs)
    # The same segments in the same order (within a segment the widget puts the best suggestion first).
    assert list(dict.fromkeys(s for s, _ in sheet_pairs)) == list(dict.fromkeys(s for s, _ in queue_pairs))
    # And the same content for each item: quote, speaker, question, evidence.
    by_pair = sheet.set_index(["_segment_id", "_code_id"])
    for position in range(len(queue)):
        item = queue.item(position)
        row = by_pair.loc[(item.segment_id, item.code_id)]
        assert (row["cita"], row["hablante"], row["pregunta previa"], row["evidencia"]) == \
            (item.quote, item.speaker, item.question, item.evidence)


def test_review_table_joins_each_suggestion_with_its_segment_in_reading_order(suggested):
    stored = suggested.suggestions
    table = review_table(suggested, stored, question_chars=20)
    assert len(table) == len(stored)
    assert list(table.columns[:2]) == ["segment_id", "code_id"]
    assert {"doc_id", "speaker", "start", "end", "text", "text_sha", "question", "reading_order"} <= set(table.columns)
    assert "role" in table.attrs["attributes"] and "speaker" not in table.attrs["attributes"]
    assert list(zip(table["doc_id"], table["start"], strict=True)) == sorted(zip(table["doc_id"], table["start"], strict=True))
    asked = table["question"].dropna()
    assert len(asked) and all(len(q) <= 20 + 2 for q in asked)
    assert any(q.endswith(" …") for q in asked)


def test_review_table_for_coding_by_hand_has_every_participant_segment(suggested):
    table = review_table(suggested, None)
    segments = suggested.segments
    assert sorted(table["segment_id"]) == sorted(segments[segments["speaker_role"] == "participant"]["segment_id"])
    assert table["code_id"].isna().all()


def test_review_table_refuses_suggestions_it_cannot_place(suggested):
    with pytest.raises(ParameterError, match="code_id"):
        review_table(suggested, pd.DataFrame({"segment_id": ["x"]}))
    with pytest.raises(ParameterError, match="not in the project"):
        review_table(suggested, pd.DataFrame({"segment_id": ["nope"], "code_id": ["collaboration"]}))


def test_questions_and_evidence_text():
    segments = pd.DataFrame({"doc_id": ["b", "a", "a", "a"], "start": [0, 30, 0, 10],
                             "text": ["Sola.", "Sí.", "¿Cómo?", "Bien."],
                             "speaker_role": ["participant", "participant", "interviewer", "participant"]})
    asked = questions(segments)
    assert asked.isna().tolist() == [True, False, True, False]
    assert asked.iloc[[1, 3]].tolist() == ["¿Cómo?", "¿Cómo?"]
    assert evidence_text(("a", ["b", "c"])) == "a; b; c"
    assert evidence_text(None) is None
