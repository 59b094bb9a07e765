"""Issue 16 kind 2 (team-study 07), the family: a participant who speaks once, with a mixed-case label, beside
labels of another casing or a recurring role word, is a speaker; colons in speech stay speech (case 15).

Decided from the whole file: the label has the file's label shape at a line start, is a plausible name the file
never writes in lower case, and the file shows it is a person (the turn before asks or is another speaker's whole
turn, or the name is written again). The row says a label used once was taken.
"""

from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.io.text import parse_transcript


def speakers(text: str) -> tuple[list[tuple[str | None, str]], list[str]]:
    parsed = parse_transcript(text)
    return [(t.speaker, parsed.text[t.start:t.end]) for t in parsed.turns], parsed.notes


CAPITALS = ("ENTREVISTADORA: ¿Cómo ha sido trabajar en red?\nROSA: Un apoyo grande.\n"
            "ENTREVISTADORA: ¿Y el tiempo?\nROSA: Es lo más difícil.\nENTREVISTADORA: ¿Inés?\n"
            "Inés: Sin la red no habría sobrevivido este año.\nENTREVISTADORA: Gracias a todas.\n")


def test_label_used_once_mixed_case_among_capitals_after_a_question_is_a_speaker():
    got, notes = speakers(CAPITALS)
    assert got[5] == ("Inés", "Sin la red no habría sobrevivido este año.")
    assert got[4] == ("ENTREVISTADORA", "¿Inés?")
    assert any("label 'Inés' is used once; taken as a speaker" in n for n in notes)


def test_label_used_once_mixed_case_among_capitals_after_a_whole_turn_is_a_speaker():
    got, _ = speakers("ENTREVISTADORA: Hola a todas.\nTomás: Hola, gracias por invitarnos.\n"
                      "ENTREVISTADORA: ¿Cómo parten?\nROSA: Con el WhatsApp.\nENTREVISTADORA: Ya.\nROSA: Sí.\n")
    assert got[1] == ("Tomás", "Hola, gracias por invitarnos.")


def test_label_used_once_mixed_case_after_a_quote_announced_with_a_colon_stays_speech():
    got, notes = speakers("ENTREVISTADORA: ¿Qué le dijo?\nROSA: Le dije:\nMarta: ven acá.\n"
                          "ENTREVISTADORA: ¿Y?\nROSA: Nada.\n")
    assert got[1] == ("ROSA", "Le dije:\nMarta: ven acá.")
    assert any("line 3 (Marta:)" in n for n in notes)


@pytest.mark.parametrize("text", [
    "E: ¿Cómo parte el día?\nTomás: Con el WhatsApp.\nE: ¿Y después?\nP: Voy a la reunión.\n",
    "Entrevistadora: ¿Cómo parte el día?\n\nInés: Con el WhatsApp.\n\nEntrevistadora: ¿Y después?\n\n"
    "Tomás: Voy a la reunión.\n\nEntrevistadora: Gracias.\n",
    "[00:00:05] Entrevistadora: ¿Cómo parte el día?\n[00:00:09] Inés: Con el WhatsApp.\n"
    "[00:00:15] Entrevistadora: ¿Y después?\n",
])
def test_label_used_once_beside_a_recurring_role_word_is_a_speaker(text):
    got, notes = speakers(text)
    once = [who for who, _ in got if who in ("Inés", "Tomás")]
    assert once and all(any(f"label {w!r} is used once" in n for n in notes) for w in once)


@pytest.mark.parametrize("text", [
    # Capitals alone on a line, the speech below (a typed transcript): a name in mixed case or capitals once.
    "ENTREVISTADORA\n¿Cómo parte el día?\n\nROSA\nCon el WhatsApp.\n\nENTREVISTADORA\n¿Y después?\n\n"
    "ROSA\nVoy a la reunión.\n\nENTREVISTADORA\n¿Inés?\n\nInés\nYo solo quiero decir algo.\n",
    "ENTREVISTADORA\n¿Cómo parte el día?\n\nINÉS\nCon el WhatsApp.\n\nENTREVISTADORA\n¿Y después?\n\n"
    "Tomás\nVoy a la reunión.\n\nENTREVISTADORA\nGracias.\n",
])
def test_label_used_once_alone_on_a_line_beside_role_words_after_a_question_is_a_speaker(text):
    got, notes = speakers(text)
    who = [w for w, _ in got]
    assert ("Inés" in who or "INÉS" in who) and who.count("ENTREVISTADORA") >= 2
    assert any("is used once; taken as a speaker" in n for n in notes)


def test_label_used_once_alone_after_a_statement_stays_text():
    got, notes = speakers("ENTREVISTADORA\n¿Cómo parte el día?\n\nROSA\nCon el WhatsApp.\n\n"
                          "ENTREVISTADORA\nGracias por todo.\n\nReflexiones\nEsto fue un buen taller.\n")
    assert [w for w, _ in got] == ["ENTREVISTADORA", "ROSA", "ENTREVISTADORA"]
    assert any("Reflexiones" in n and "kept as text" in n for n in notes)


def test_label_used_once_colons_in_speech_stay_speech():
    got, _ = speakers("E: ¿Cómo parte el día?\nD1: Por ejemplo: llamo a la red.\nPor ejemplo: llamo.\n"
                      "A veces: nada.\nE: ¿Y?\nI told her: no.\nD1: Sí.\n")
    assert [w for w, _ in got] == ["E", "D1", "E", "D1"]


def test_label_used_once_row_warns_and_says_so(tmp_path):
    path = tmp_path / "grupo.txt"
    path.write_text(CAPITALS, encoding="utf-8")
    corpus, report = qc.load_corpus(path)
    row = report.iloc[0]
    assert row["status"] == "warning" and "line 6: label 'Inés' is used once" in row["message"]
    roles = corpus.segments.set_index("speaker")["speaker_role"]
    assert roles["Inés"] == "participant"
