"""Issue 16, kinds found by a new-user trial (fixtures invented for this project, in the shapes the services write).

* a partial ``--speakers`` on a file whose names stand alone on their lines adds to what the evidence finds;
* a cue without a label in diarization / every-cue subtitles is a turn of no speaker, counted and reported;
* Unicode spaces in label lines are spaces for the label grammar (offsets unchanged);
* transcription-service lines (Otter's footer, Teams' start/stop lines and header) are set aside and reported;
* the interviewer guess weighs a speaker with one or two turns by that little evidence;
* a misspelt ``--interviewer`` is answered with the nearest spelling.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.io.subtitles import parse_subtitles
from qualcode.io.text import find_interviewer, parse_transcript


def _load(tmp_path, name: str, text: str, **kw):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    corpus, report = qc.load_corpus(path, **kw)
    seg = corpus.segments
    for _, s in seg.iterrows():
        assert corpus.text(s.doc_id)[s.start:s.end] == s.text
    turns = [(g.speaker.iloc[0] if isinstance(g.speaker.iloc[0], str) else None, " ".join(g.sort_values("part").text),
              g.speaker_role.iloc[0]) for _, g in seg.groupby("turn", sort=True)]
    return corpus, report, turns


# -- a partial --speakers adds to the names the file's evidence finds ----------------------------------------------

NAMES_ALONE = ("Elena Ruiz\nYa, está grabando, las dejo solas.\n\n"
               "Julia Paredes\n¿Cómo empezó en la escuela?\n\nRamón Vidal\nComo auxiliar, hace años.\n\n"
               "Julia Paredes\n¿Y qué cambió con la red?\n\nRamón Vidal\nAhora conversamos más.\n\n"
               "Julia Paredes\n¿Qué falta?\n\nRamón Vidal\nTiempo, sobre todo.\n")


@pytest.mark.parametrize("named", [["Elena Ruiz"], ["Ramón Vidal"], ["Julia Paredes"], ["Alguien Más"]])
def test_partial_speakers_add_to_names_alone_the_evidence_finds(tmp_path, named):
    _, base_report, _ = _load(tmp_path, "a.txt", NAMES_ALONE)
    _, report, got = _load(tmp_path, "b.txt", NAMES_ALONE, speakers=named)
    speakers = [s for s, _, _ in got]
    # Never worse than without --speakers: the recurring names stay speakers, no label turns into speech.
    assert speakers[-6:] == ["Julia Paredes", "Ramón Vidal"] * 3
    assert all("Julia Paredes" not in t and "Ramón Vidal" not in t for _, t, _ in got)
    if named == ["Elena Ruiz"]:  # the name used once above the first label, named as the row advises: taken
        assert got[0][:2] == ("Elena Ruiz", "Ya, está grabando, las dejo solas.")
        assert "line 1 (Elena Ruiz)" in base_report.message.iloc[0]  # the row advised naming it
        assert "line 1 (Elena Ruiz)" not in report.message.iloc[0]
    assert "read as speaker(s) from the file's evidence" in report.message.iloc[0] or named == ["Alguien Más"]


def test_partial_speakers_on_the_command_line_keep_the_other_names(tmp_path):
    (tmp_path / "e.txt").write_text(NAMES_ALONE, encoding="utf-8")
    result = CliRunner().invoke(app, ["load", str(tmp_path / "e.txt"), "--speakers", "Elena Ruiz"])
    assert result.exit_code == 0, result.output
    assert "3 speakers" in result.output


# -- a cue without a label where software labels every cue: a turn of no speaker -------------------------------------

def _srt(cues: list[str]) -> str:
    return "\n".join(f"{n}\n00:00:{n * 3:02d},000 --> 00:00:{n * 3 + 2:02d},000\n{text}\n"
                     for n, text in enumerate(cues, 1))


def _vtt(cues: list[str]) -> str:
    return "WEBVTT\n\n" + "\n".join(f"00:00:{n * 3:02d}.000 --> 00:00:{n * 3 + 2:02d}.000\n{text}\n"
                                    for n, text in enumerate(cues, 1))


@pytest.mark.parametrize("kind, render, cues", [
    ("srt", _srt, ["[SPEAKER_00]: ¿Cómo parte el día?", "[SPEAKER_01]: Con el WhatsApp.", "Y después el correo.",
                   "[SPEAKER_00]: ¿Y la red?", "[SPEAKER_01]: Ayuda."]),
    ("vtt", _vtt, ["SPEAKER_00: ¿Cómo parte el día?", "SPEAKER_01: Con el WhatsApp.", "Y después el correo.",
                   "SPEAKER_00: ¿Y la red?", "SPEAKER_01: Ayuda."]),
    ("vtt", _vtt, ["Ana Soto: ¿Cómo parte el día?", "Luis Pérez: Con el WhatsApp.", "Y después el correo.",
                   "Ana Soto: ¿Y la red?", "Luis Pérez: Ayuda.", "Ana Soto: ¿Algo más?", "Luis Pérez: No."]),
])
def test_diarization_cue_without_label_is_an_unassigned_turn(kind, render, cues):
    parsed = parse_subtitles(render(cues), path=f"x.{kind}", kind=kind)
    got = [(t.speaker, parsed.text[t.start:t.end]) for t in parsed.turns]
    assert got[2] == (None, "Y después el correo.")
    assert got[1][1] == "Con el WhatsApp."
    assert parsed.uncertain
    assert any("1 cue(s) carry no speaker label" in n and "write the label at the cue" in n for n in parsed.notes)


def test_diarization_cue_going_on_with_an_open_sentence_stays_with_its_speaker():
    parsed = parse_subtitles(_srt(["[SPEAKER_00]: ¿Cómo parte", "el día?", "[SPEAKER_01]: Con el WhatsApp.",
                                   "[SPEAKER_00]: ¿Y?"]), path="x.srt", kind="srt")
    first = parsed.turns[0]
    assert (first.speaker, parsed.text[first.start:first.end]) == ("SPEAKER_00", "¿Cómo parte el día?")


def test_diarization_unassigned_turn_has_role_unknown_and_row_says_so(tmp_path):
    _, report, got = _load(tmp_path, "w.srt", _srt(["[SPEAKER_00]: ¿Cómo parte el día?", "[SPEAKER_01]: Bien.",
                                                    "Me cuesta.", "[SPEAKER_00]: ¿Y?", "[SPEAKER_01]: Ya."]))
    assert got[2] == (None, "Me cuesta.", "unknown")
    assert "carry no speaker label" in report.message.iloc[0]


@pytest.mark.parametrize("label", ["SPEAKER_{}: ", "[SPEAKER_{}]: "])
def test_diarization_line_without_label_in_text_is_an_unassigned_turn(label):
    a, b = label.format("00"), label.format("01")
    text = (f"{a}¿Cómo parte el día?\n{b}Con el WhatsApp.\nY después el correo.\n{a}¿Y la red?\n{b}Ayuda mucho,\n"
            f"sobre todo los lunes.\n{a}¿Algo más?\n{b}No.\n")
    parsed = parse_transcript(text)
    got = [(t.speaker, text[t.start:t.end]) for t in parsed.turns]
    assert got[2] == (None, "Y después el correo.")
    assert got[4] == ("SPEAKER_01", "Ayuda mucho,\nsobre todo los lunes.")  # a sentence going on: the same turn
    assert parsed.uncertain and any("1 line(s) carry no speaker label" in n for n in parsed.notes)
    # Speech that wraps under most labels is one speaker's, not unassigned.
    wrapped = f"{a}¿Cómo?\nPregunto.\n{b}Bien.\nMuy bien.\n{a}¿Y?\nDime.\n{b}Ya.\n"
    assert all(t.speaker for t in parse_transcript(wrapped).turns)


# -- Unicode spaces in label lines ----------------------------------------------------------------------------------

@pytest.mark.parametrize("space", ["\u00a0\u00a0", "\t\u00a0", "\u202f", "\u2009 ", "\u3000"])
def test_unicode_spaces_in_label_lines_are_spaces(tmp_path, space):
    text = "".join(f"{who}{space}{t}\n{speech}\n\n" for who, t, speech in [
        ("Laura Bennett", "0:03", "How did you start?"), ("Tom Okafor", "0:43", "As a teacher."),
        ("Laura Bennett", "1:23", "And then?"), ("Tom Okafor", "2:03", "The network.")])
    parsed = parse_transcript(text)
    assert [(t.speaker, t.timestamp, text[t.start:t.end]) for t in parsed.turns] == [
        ("Laura Bennett", 3.0, "How did you start?"), ("Tom Okafor", 43.0, "As a teacher."),
        ("Laura Bennett", 83.0, "And then?"), ("Tom Okafor", 123.0, "The network.")]
    _, _, got = _load(tmp_path, "o.txt", text, speakers=["Laura Bennett"])  # the remedy does no harm
    assert [s for s, _, _ in got] == ["Laura Bennett", "Tom Okafor"] * 2


def test_unicode_spaces_in_colon_labels_and_subtitle_cues():
    parsed = parse_transcript("Marta\u00a0Rojas\u00a0: ¿Cómo?\nLuis\u202fPérez: Bien.\nMarta\u00a0Rojas\u00a0: ¿Y?\n"
                              "Luis\u202fPérez: Ya.\n")
    assert [t.speaker for t in parsed.turns] == ["Marta Rojas", "Luis Pérez"] * 2


# -- lines a transcription service writes -----------------------------------------------------------------------------

BODY = "Marta Rojas  0:03\n¿Cómo parte el día?\n\nLuis Pérez  0:10\nCon el WhatsApp.\n\n" \
       "Marta Rojas  0:20\n¿Y la red?\n\nLuis Pérez  0:31\nNos ayuda mucho.\n"
SPEECH_WORDS = 13


@pytest.mark.parametrize("before, after, n_lines", [
    ("", "\n\nTranscribed by https://otter.ai\n", 1),
    ("", "Transcribed by https://otter.ai\n", 1),  # right under the last speech, no blank line
    ("", "\nTranscrito por https://otter.ai\n", 1),
    ("Marta Rojas started transcription\n\n", "\nMarta Rojas stopped transcription\n", 2),
    (" Marta Rojas inició la transcripción\n\n", "\nMarta Rojas detuvo la transcripción\n", 2),
    ("Reunión red-20260303_100212-Grabación de la reunión\n3 de marzo de 2026, 01:02p. m.\n45m 12s\n\n"
     "Marta Rojas inició la transcripción\n\n", "", 4),
    ("Weekly sync-20260303_100212-Meeting Recording\nMarch 3, 2026, 1:02PM\n45m 12s\n\n", "", 3),
])
def test_service_boilerplate_lines_are_set_aside_and_reported(tmp_path, before, after, n_lines):
    corpus, report, got = _load(tmp_path, "s.txt", before + BODY + after)
    assert [(s, t) for s, t, _ in got] == [("Marta Rojas", "¿Cómo parte el día?"), ("Luis Pérez", "Con el WhatsApp."),
                                           ("Marta Rojas", "¿Y la red?"), ("Luis Pérez", "Nos ayuda mucho.")]
    # The word count is the speech's; the words set aside are named in the row, and stay in the document text.
    assert int(corpus.documents["n_words"].iloc[0]) == SPEECH_WORDS
    assert f"{n_lines} line(s) written by the transcription service" in report.message.iloc[0]
    assert corpus.text(corpus.documents.doc_id.iloc[0]) == (before + BODY + after).replace("\r\n", "\n")


def test_service_boilerplate_speech_mentioning_transcription_stays_speech():
    text = "E: ¿Qué pasó con la grabación?\nD1: Yo le dije que ella inició la transcripción tarde.\n" \
           "E: ¿Y?\nD1: Nada más.\n"
    parsed = parse_transcript(text)
    assert "inició la transcripción tarde" in text[parsed.turns[1].start:parsed.turns[1].end]


# -- the interviewer guess weighs speakers with one or two turns -----------------------------------------------------

@pytest.mark.parametrize("late", ["Pablo Gil: ¿Me escuchan?\n", "Pablo Gil: ¿Me escuchan?\nPablo Gil: Ya.\n",
                                  "Pablo Gil: ¿Se corta?\nAna Soto: No.\nPablo Gil: ¿Ahora?\n"])
def test_interviewer_guess_weighs_speakers_with_one_or_two_turns(late):
    text = late + "".join(f"Vera Lagos: ¿Pregunta {n}?\nAna Soto: Respuesta {n}.\n" for n in range(5))
    labels, why, uncertain = find_interviewer(parse_transcript(text))
    assert labels == frozenset({"vera lagos"})
    assert uncertain and "by guess" in why and ("Pablo Gil asks too" in why or "Ya" in late)


# -- a misspelt --interviewer suggests the nearest spelling --------------------------------------------------------

@pytest.mark.parametrize("given, nearest", [("Hablante1", "Hablante 2"), ("hablante_2", "Hablante 2"),
                                            ("Hablamte 2", "Hablante 2"), ("Entrevistdora", "Entrevistadora")])
def test_interviewer_typo_suggests_the_nearest_spelling(given, nearest):
    text = "Hablante 1: Bien.\nHablante 2: ¿Cómo?\nEntrevistadora: ¿Y?\nHablante 1: Ya.\nHablante 2: ¿Qué?\n"
    if given == "Hablante1":
        nearest = "Hablante 1"
    _, why, uncertain = find_interviewer(parse_transcript(text), [given])
    assert uncertain and f"the nearest spelling: interviewer=['{nearest}']" in why
    # Another number is another speaker, not a misspelling: the one who asks is suggested, as before.
    _, why, _ = find_interviewer(parse_transcript(text), ["Hablante 3"])
    assert "nearest spelling" not in why and "interviewer=['Hablante 2']" in why
