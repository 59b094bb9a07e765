"""The shipped sample data loads cleanly and looks like the study it models."""

from __future__ import annotations

import qualcode as qc

SURVEY = qc.SurveyColumns(id="ticket_id", text=["q1_aprendizaje", "q2_dificultad"], speaker="participant")


def test_all_sample_transcripts_load_with_zero_errors_and_attributes(samples):
    corpus, report = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    assert report.n_errors == 0, report.errors.to_string()
    assert (report["status"] == "ok").all(), report[report["status"] != "ok"].to_string()
    docs = corpus.documents
    assert len(docs) >= 12
    assert set(docs["format"]) >= {"txt", "docx", "vtt"}
    assert set(docs["language"]) == {"es", "en"}
    assert docs[["role", "district", "stage", "round"]].notna().all().all()
    assert set(docs["stage"]) == {"diagnostic", "intermediate", "final"}
    segs = corpus.segments
    assert set(segs["speaker_role"]) == {"interviewer", "participant"}
    for doc_id, group in segs.groupby("doc_id"):
        text = corpus.text(doc_id)
        assert all(text[s:e] == t for s, e, t in group[["start", "end", "text"]].itertuples(index=False))


def test_sample_encodings_cover_what_teams_receive(samples):
    corpus, _ = qc.load_corpus(samples / "transcripts")
    assert {"cp1252", "utf-16-bom", "utf-8-bom"} <= set(corpus.documents["encoding"])


def test_exit_tickets_load_as_one_segment_per_answer(samples):
    corpus, report = qc.load_corpus(samples / "exit_tickets.csv", survey=SURVEY)
    assert report.n_errors == 0
    assert len(corpus.documents) >= 40
    assert set(corpus.segments["field"]) == {"q1_aprendizaje", "q2_dificultad"}
    assert set(corpus.segments["modality"]) == {"presencial", "online"}


def test_sample_codings_point_to_existing_segments_and_codes(samples, sample_corpus, study_codebook):
    import pandas as pd

    participant = set(sample_corpus.segments.query("speaker_role == 'participant'")["segment_id"])
    codes = {c.id for c in study_codebook}
    for coder in ("ana", "luis"):
        coding = pd.read_csv(samples / "coding" / f"{coder}.csv")
        assert set(coding["segment_id"]) <= participant, coder
        assert set(coding["code_id"]) <= codes, coder
        assert coding["segment_id"].nunique() > 200
        assert not coding.duplicated(["segment_id", "code_id"]).any()
