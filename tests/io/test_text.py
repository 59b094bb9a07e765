from __future__ import annotations

import pytest

from qualcode.io.text import parse_timestamp, parse_transcript, speaker_role


def turns(text: str):
    parsed = parse_transcript(text)
    return [(t.speaker, parsed.text[t.start:t.end], t.timestamp) for t in parsed.turns]


@pytest.mark.parametrize(
    "line, speaker, timestamp",
    [
        ("ENTREVISTADORA: ¿Cómo fue?", "ENTREVISTADORA", None),
        ("Entrevistador/a: ¿Cómo fue?", "Entrevistador/a", None),
        ("E: ¿Cómo fue?", "E", None),
        ("D1: ¿Cómo fue?", "D1", None),
        ("Directora 3 (00:02:11): ¿Cómo fue?", "Directora 3", 131.0),
        ("[00:01:02] Speaker 1: ¿Cómo fue?", "Speaker 1", 62.0),
        ("**Moderadora**: ¿Cómo fue?", "Moderadora", None),
        ("**Moderadora:** ¿Cómo fue?", "Moderadora", None),
        ("Directora 3 [00:02:11]: ¿Cómo fue?", "Directora 3", 131.0),
    ],
)
def test_parse_transcript_recognises_every_label_variant(line, speaker, timestamp):
    assert turns(line + "\nPA2: Bien.") == [(speaker, "¿Cómo fue?", timestamp), ("PA2", "Bien.", None)]


def test_parse_transcript_label_alone_on_its_line_takes_the_next_lines():
    text = "Entrevistadora:\n¿Y el WhatsApp?\n\nDirectora 2:\nAyudó harto.\nSobre todo de noche.\n"
    assert turns(text) == [
        ("Entrevistadora", "¿Y el WhatsApp?", None),
        ("Directora 2", "Ayudó harto.\nSobre todo de noche.", None),
    ]


def test_parse_transcript_keeps_a_note_line_inside_speech():
    text = "E: ¿Qué pasó?\nPA2: Se cayó la red.\nNota: se corta el audio unos segundos.\nY volvimos.\nE: Ya.\n"
    assert turns(text)[1] == ("PA2", "Se cayó la red.\nNota: se corta el audio unos segundos.\nY volvimos.", None)


def test_parse_transcript_does_not_take_reported_speech_for_a_label():
    text = "E: ¿Y ella?\nD1: Bien.\nYo le dije: mira, así no se puede.\nE: Claro.\n"
    assert [t[0] for t in turns(text)] == ["E", "D1", "E"]


def test_parse_transcript_ignores_clock_times_in_speech():
    assert turns("E: Son las 10:30 y llegamos.\nD1: Sí.") == [
        ("E", "Son las 10:30 y llegamos.", None), ("D1", "Sí.", None)]


def test_parse_transcript_accepts_pseudonym_labels_used_twice():
    text = "Marcela: Hola.\nRosa: Hola.\nMarcela: ¿Partimos?\nRosa: Sí.\n"
    assert [t[0] for t in turns(text)] == ["Marcela", "Rosa", "Marcela", "Rosa"]


def test_parse_transcript_without_labels_gives_unlabelled_paragraphs():
    parsed = parse_transcript("Primer párrafo.\nSigue.\n\nSegundo párrafo.\n")
    assert not parsed.labelled
    assert [parsed.text[t.start:t.end] for t in parsed.turns] == ["Primer párrafo.\nSigue.", "Segundo párrafo."]
    assert {t.speaker for t in parsed.turns} == {None}


def test_parse_transcript_keeps_a_header_before_the_first_label():
    parsed = parse_transcript("Entrevista final, noviembre\n\nE: ¿Partimos?\nD2: Sí.\n")
    assert next((t.speaker, parsed.text[t.start:t.end]) for t in parsed.turns) == (None, "Entrevista final, noviembre")
    assert parsed.notes


def test_parse_transcript_takes_a_timestamp_line_for_the_next_turn():
    assert turns("00:01:05\nE: ¿Partimos?\nD2: Sí.")[0] == ("E", "¿Partimos?", 65.0)


@pytest.mark.parametrize(
    "label, role",
    [("ENTREVISTADORA", "interviewer"), ("Entrevistador/a", "interviewer"), ("E", "interviewer"),
     ("Moderadora", "interviewer"), ("Interviewer", "interviewer"), ("D1", "participant"),
     ("Directora 3", "participant"), ("PA4", "participant"), (None, "unknown")],
)
def test_speaker_role_classifies_common_labels(label, role):
    assert speaker_role(label) == role


def test_speaker_role_reads_p_as_pregunta_only_beside_r():
    assert speaker_role("P", labels_in_doc=frozenset({"p", "r"})) == "interviewer"
    assert speaker_role("P", labels_in_doc=frozenset({"p", "e"})) == "participant"


def test_parse_timestamp_reads_hours_minutes_and_milliseconds():
    assert parse_timestamp("00:00:01,500") == 1.5
    assert parse_timestamp("1:02") == 62.0
