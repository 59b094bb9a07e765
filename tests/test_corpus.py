from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qualcode as qc
from qualcode.errors import ParameterError

LABELS = ["ENTREVISTADORA:", "E:", "D1:", "Directora 3 (00:02:11):", "[00:01:02] Speaker 1:",
          "**Moderadora**:", "PA4:"]
WORDS = ["sola", "confianza", "ciclo", "whatsApp", "¿cómo?", "¡ya!", "niños", "NEE", "red,", "mejora.",
         "Sí.", "datos", "o sea", "tía", "10:30", "«harto»", "—", "ñ", "e\u0301"]

speech = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
turn = st.tuples(st.sampled_from(LABELS), st.lists(speech, min_size=1, max_size=3))
transcript = st.lists(turn, min_size=1, max_size=8)


def render(turns, newline: str, blank: bool) -> str:
    out = []
    for label, paragraphs in turns:
        out.append(f"{label} {paragraphs[0]}")
        out.extend(paragraphs[1:])
        if blank:
            out.append("")
    return newline.join(out) + newline


def load_text(text: str, encoding: str, unit: str = "turn"):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.txt"
        path.write_bytes(text.encode(encoding))
        return qc.load_corpus(path, unit=unit)


@given(transcript, st.sampled_from(["\n", "\r\n", "\r"]), st.booleans(),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]), st.sampled_from(["turn", "paragraph", "sentence"]))
def test_segments_round_trip_offsets_and_ids_are_stable(turns, newline, blank, encoding, unit):
    text = render(turns, newline, blank)
    corpus, report = load_text(text, encoding, unit)
    assert report.n_errors == 0
    document = corpus.text("doc")
    for start, end, segment in corpus.segments[["start", "end", "text"]].itertuples(index=False):
        assert document[start:end] == segment
        assert segment == segment.strip() and segment
    again, _ = load_text(text, encoding, unit)
    assert list(again.segments["segment_id"]) == list(corpus.segments["segment_id"])
    assert corpus.segments["segment_id"].is_unique


def test_segment_ids_survive_a_turn_inserted_before_them(tmp_path, write):
    base = "E: ¿Cómo fue?\nD1: Sola al principio.\nE: ¿Y después?\nD1: Llegó la red.\n"
    write("a/doc.txt", base)
    write("b/doc.txt", "E: Antes, una pregunta nueva.\nD1: Una respuesta nueva.\n" + base)
    first, _ = qc.load_corpus(tmp_path / "a")
    second, _ = qc.load_corpus(tmp_path / "b")
    assert set(first.segments["segment_id"]) <= set(second.segments["segment_id"])


def test_repeated_identical_turns_get_distinct_ids(tmp_path, write):
    write("d.txt", "E: ¿Ya?\nD1: Sí.\nE: ¿Seguro?\nD1: Sí.\n")
    corpus, _ = qc.load_corpus(tmp_path)
    assert corpus.segments["segment_id"].is_unique


def test_units_split_turns_into_paragraphs_and_sentences(tmp_path, write):
    write("d.txt", "E: ¿Cómo fue?\nD1: Hace falta tiempo. ¿Usted me entiende?\n\nLa red ayudó.\n")
    by_unit = {unit: qc.load_corpus(tmp_path, unit=unit)[0].segments for unit in ("turn", "paragraph", "sentence")}
    assert list(by_unit["turn"]["text"]) == ["¿Cómo fue?", "Hace falta tiempo. ¿Usted me entiende?\n\nLa red ayudó."]
    assert list(by_unit["paragraph"]["text"]) == ["¿Cómo fue?", "Hace falta tiempo. ¿Usted me entiende?", "La red ayudó."]
    assert list(by_unit["sentence"]["text"]) == ["¿Cómo fue?", "Hace falta tiempo.", "¿Usted me entiende?", "La red ayudó."]
    sentences = by_unit["sentence"]
    assert list(sentences["turn"]) == [1, 2, 2, 2] and list(sentences["part"]) == [1, 1, 2, 3]


def test_language_is_detected_per_document_or_forced(tmp_path, write):
    write("es.txt", "E: ¿Cómo fue el año?\nD1: Igual fue duro, pero la red nos ayudó harto.\n")
    write("en.txt", "Interviewer: How was the year?\nPA4: It was hard, but the network really helped us.\n")
    corpus, _ = qc.load_corpus(tmp_path)
    assert dict(zip(corpus.documents["doc_id"], corpus.documents["language"], strict=True)) == {"en": "en", "es": "es"}
    forced, _ = qc.load_corpus(tmp_path, language="es")
    assert set(forced.segments["language"]) == {"es"}


def test_interviewer_option_marks_unusual_interviewer_labels(tmp_path, write):
    write("d.txt", "Inv: ¿Cómo fue?\nD1: Bien.\nInv: ¿Y?\n")
    corpus, _ = qc.load_corpus(tmp_path, interviewer=["Inv"])
    assert list(corpus.segments["speaker_role"]) == ["interviewer", "participant", "interviewer"]


def test_load_corpus_validates_its_options(tmp_path, write):
    write("d.txt", "E: ¿Ya?\nD1: Sí.\n")
    with pytest.raises(ParameterError, match="unit must be one of"):
        qc.load_corpus(tmp_path, unit="page")  # type: ignore[arg-type]
    with pytest.raises(qc.QualcodeError, match="no files match"):
        qc.load_corpus(str(tmp_path / "*.nada"))


def test_corpus_summary_counts_speakers_and_participant_segments(tmp_path, write):
    write("d.txt", "E: ¿Ya?\nD1: Sí.\nD2: No.\n")
    corpus, _ = qc.load_corpus(tmp_path)
    row = corpus.summary().iloc[0]
    assert (row["n_speakers"], row["n_participant_segments"], row["n_words"]) == (3, 2, 3)
    assert "1 documents, 3 segments" in repr(corpus)


def test_load_corpus_with_two_workers_gives_identical_results(samples):
    one, report_one = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    two, report_two = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv", workers=2)
    assert one.documents.equals(two.documents)
    assert one.segments.equals(two.segments)
    assert report_one.equals(report_two)
