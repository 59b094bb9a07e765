"""Issue 16 kind 4, leftover: an interviewer the user names that does not fit the file is reported, never silent.

``--interviewer X`` where X asks no question in the file, or is not one of its speakers at all (a typo), used to
give a quiet "ok" row; the row now says what was taken, why it looks wrong, the speakers found and the remedy.
"""

from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.cli.corpus import in_cli_words
from qualcode.io.text import find_interviewer, parse_transcript

ROLE = "Entrevistadora: ¿Cómo parte el día?\nAna: Con el WhatsApp.\nEntrevistadora: ¿Y después?\nAna: Reviso el correo.\n"
CODES = "Hablante 1: ¿Cómo fue?\nHablante 2: Bien.\nHablante 1: ¿Y ahora?\nHablante 2: Mejor.\n"


def load_one(tmp_path, text, **kwargs):
    path = tmp_path / "entrevista.txt"
    path.write_text(text, encoding="utf-8")
    corpus, report = qc.load_corpus(path, **kwargs)
    return corpus, report.iloc[0]


def test_named_interviewer_who_asks_nothing_is_taken_as_told_and_reported(tmp_path):
    corpus, row = load_one(tmp_path, CODES, interviewer=["Hablante 2"])
    roles = corpus.segments.groupby("speaker")["speaker_role"].first()
    assert roles["Hablante 2"] == "interviewer" and roles["Hablante 1"] == "participant"  # as told
    assert row["status"] == "warning"
    message = in_cli_words(row["message"])
    assert "interviewer Hablante 2 (named by you)" in message
    assert "Hablante 2 asks no question in this file (no '?' in 2 turns)" in message
    assert "Hablante 1 asks (2 of 2 turns)" in message and "--interviewer 'Hablante 1'" in message


def test_named_interviewer_who_asks_nothing_beside_a_role_word_says_both_are_interviewers(tmp_path):
    _, row = load_one(tmp_path, ROLE, interviewer=["Ana"])
    message = in_cli_words(row["message"])
    assert row["status"] == "warning"
    assert "Entrevistadora also taken as interviewer (role word)" in message
    assert "Ana asks no question" in message and "leave out --interviewer Ana" in message


@pytest.mark.parametrize("text, instead", [
    (CODES, "read without it: Hablante 1 taken as interviewer by guess"),
    (ROLE, "read without it: interviewer Entrevistadora (role word)"),
])
def test_named_interviewer_not_a_speaker_of_the_file_lists_the_speakers(tmp_path, text, instead):
    corpus, row = load_one(tmp_path, text, interviewer=["Hablante 3" if "Hablante" in text else "Anna"])
    message = in_cli_words(row["message"])
    assert row["status"] == "warning"
    assert "was given as interviewer but is not a speaker of this file" in message
    speakers = "Hablante 1, Hablante 2" if "Hablante" in text else "Entrevistadora, Ana"
    assert f"(speakers found: {speakers})" in message and "check the spelling" in message
    assert instead in message
    # A typo never makes nobody the interviewer: the file's own evidence still decides.
    assert (corpus.segments["speaker_role"] == "interviewer").sum() == 2


@pytest.mark.filterwarnings("ignore::qualcode.errors.NoSpeakerLabelsWarning")
def test_named_interviewer_in_a_file_without_labels_says_nobody_is_taken(tmp_path):
    _, row = load_one(tmp_path, "Hola, esto es un texto.\n\nOtra cosa.\n", interviewer=["Ana"])
    assert row["status"] == "warning"
    assert "'Ana' was given as interviewer but the file has no speaker labels" in row["message"]


def test_named_interviewer_who_asks_keeps_a_quiet_ok_row(tmp_path):
    _, row = load_one(tmp_path, CODES, interviewer=["Hablante 1"])
    assert row["status"] == "ok" and row["message"].endswith("interviewer Hablante 1 (named by you)")


def test_named_interviewer_matching_one_of_several_labels_does_not_warn_for_the_others():
    # One --interviewer per naming convention across a folder: a file matching one of them is fine.
    labels, why, uncertain = find_interviewer(parse_transcript(CODES), ["SPEAKER_00", "Hablante 1"])
    assert labels == frozenset({"hablante 1"}) and not uncertain and "not a speaker" not in why
