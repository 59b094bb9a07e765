"""Speaker labels alone on their line without a colon (issue 16): a display name on each subtitle cue's
first line (Teams/Zoom .vtt), and role words or recurring capitals alone before the speech."""

from __future__ import annotations

import warnings

import qualcode as qc
from qualcode.errors import NoSpeakerLabelsWarning
from qualcode.io.subtitles import parse_subtitles


def _vtt(*cues: str) -> str:
    return "WEBVTT\n\n" + "\n\n".join(f"{n}\n00:00:{2 * n:02d}.000 --> 00:00:{2 * n + 1:02d}.000\n{c}"
                                      for n, c in enumerate(cues, 1)) + "\n"


def test_subtitle_cue_name_alone_on_first_line_is_the_speaker():
    parsed = parse_subtitles(_vtt("Inés Carrasco\n¿Cómo parte el día?", "Pedro Alarcón\nCon el WhatsApp.",
                                  "Inés Carrasco\n¿Y después?", "Pedro Alarcón\nRevisamos los datos\ncon el equipo."),
                             path="teams.vtt", kind="vtt")
    got = [(t.speaker, parsed.text[t.start:t.end]) for t in parsed.turns]
    assert got == [("Inés Carrasco", "¿Cómo parte el día?"), ("Pedro Alarcón", "Con el WhatsApp."),
                   ("Inés Carrasco", "¿Y después?"), ("Pedro Alarcón", "Revisamos los datos con el equipo.")]
    assert parsed.labelled and not parsed.uncertain


def test_subtitle_cue_first_lines_of_wrapped_speech_are_not_speakers():
    # Wrapped speech: the first lines do not recur as names on (nearly) every cue.
    parsed = parse_subtitles(_vtt("Bueno, la verdad\nes que nos juntamos.", "Exacto.\nAsí lo hacemos.",
                                  "Mañana\nvolvemos a vernos.", "Exacto.\nY el lunes también."),
                             path="wrapped.vtt", kind="vtt")
    assert not parsed.labelled
    assert all(t.speaker is None for t in parsed.turns)


def test_subtitle_without_labels_report_counts_the_file_lines_and_cues(tmp_path):
    path = tmp_path / "sin_nombres.vtt"
    path.write_text(_vtt("Bueno, la verdad\nes que nos juntamos.", "Cada mes\nen el jardín.",
                         "Y revisamos\nlos datos.", "Con el equipo\nentero."), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, report = qc.load_corpus(path)
    message = report.iloc[0]["message"]
    assert ("no speaker labels found in 8 text lines of 4 cues: read as one unnamed speaker (a participant), "
            "4 turns (one per cue; ") in message
    # The subtitle reader's own remedy (where to write the names) is given, not the generic one that contradicts it.
    assert "If the file has labels" not in message and "write 'Name: ' at the start of the cue" in message
    assert any(issubclass(w.category, NoSpeakerLabelsWarning) for w in caught)


def _turns(text: str, **kwargs):
    from qualcode.io.text import parse_transcript

    parsed = parse_transcript(text, **kwargs)
    return parsed, [(t.speaker, parsed.text[t.start:t.end]) for t in parsed.turns]


def test_role_label_alone_without_colon_is_a_speaker():
    parsed, got = _turns("ENTREVISTADORA\n¿Cómo se siente en la red?\n\nDIRECTORA\nAcompañada. Antes me sentía sola.\n\n"
                         "ENTREVISTADORA\n¿Y ahora?\n\nDIRECTORA\nMejor.\n")
    assert got == [("ENTREVISTADORA", "¿Cómo se siente en la red?"), ("DIRECTORA", "Acompañada. Antes me sentía sola."),
                   ("ENTREVISTADORA", "¿Y ahora?"), ("DIRECTORA", "Mejor.")]
    assert "4 line(s) alone with no colon read as speaker labels (ENTREVISTADORA, DIRECTORA)" in parsed.notes[0]
    assert not parsed.uncertain


def test_role_label_alone_used_once_is_taken_beside_recurring_ones_and_reported():
    parsed, got = _turns("Moderadora\n¿Quién parte?\n\nParticipante 1\nYo.\n\nModeradora\n¿Alguien más?\n\n"
                         "Participante 3\nTambién yo.\n")
    assert [s for s, _ in got] == ["Moderadora", "Participante 1", "Moderadora", "Participante 3"]
    assert parsed.uncertain and any("line 10: label 'Participante 3' is used once" in n for n in parsed.notes)


def test_heading_or_one_word_speech_alone_is_not_a_speaker():
    # No label recurs: headings and shouted words stay text, one turn per paragraph.
    parsed, got = _turns("INTRODUCCIÓN\nLa red partió en 2019.\n\nNO\nnunca lo pensamos así.\n\n"
                         "SÍ.\nFue un cambio.\n\nCIERRE\nGracias.\n")
    assert not parsed.labelled and all(s is None for s, _ in got)
    # Recurring capitals without speech after them (a list of words) are no labels either.
    parsed, got = _turns("ROJO\nVERDE\nROJO\nVERDE\n")
    assert not parsed.labelled


def test_capitals_alone_recurring_are_speakers_and_a_heading_ended_with_a_period_is_not():
    text = "MARTA\n¿Cómo?\n\nJULIÁN\nBien.\n\nVISITA AL JARDÍN\nSe escucha ruido.\n\nMARTA\n¿Y?\n\nJULIÁN\nYa.\n\n" \
           "VISITA AL JARDÍN\nFin de la grabación.\n"
    parsed, got = _turns(text)
    assert [s for s, _ in got] == ["MARTA", "JULIÁN", "VISITA AL JARDÍN", "MARTA", "JULIÁN", "VISITA AL JARDÍN"]
    assert parsed.uncertain and "capitals alone on a line before speech" in parsed.notes[0]
    # Named speakers add to the evidence (a partial list never loses a speaker), so naming them keeps the heading.
    parsed, got = _turns(text, speakers=frozenset({"marta", "julian"}))
    assert [s for s, _ in got][:3] == ["MARTA", "JULIÁN", "VISITA AL JARDÍN"]
    # The remedy the note gives works: a heading ended with a period is text.
    assert "end that line with a period" in parsed.notes[0]
    parsed, got = _turns(text.replace("JARDÍN\n", "JARDÍN.\n"))
    assert [s for s, _ in got] == ["MARTA", "JULIÁN", "MARTA", "JULIÁN"]
    assert "VISITA AL JARDÍN.\nSe escucha ruido." in got[1][1]


def test_role_label_alone_beside_colon_labels_only_role_words_are_taken():
    _parsed, got = _turns("E: ¿Cómo parte?\nD1: Con el equipo.\nMAÑANA\nseguimos.\nE: ¿Y?\nD1: Ya.\nMAÑANA\nvemos.\n")
    assert [s for s, _ in got] == ["E", "D1", "E", "D1"]


# Names in mixed case alone on their line, no colon, no time (issue 16, kinds 2, 3 and 7) ------------------

_NAMES = ("Marta Rojas\nBueno, yo creo que la red nos ayudó.\n\nEntrevistadora\n¿Y cómo empezó?\n\n"
          "Marta Rojas\nCon una visita.\n\nEntrevistadora\n¿Quiénes fueron?\n\nMarta Rojas\nLa Carmen y yo.\n")


def test_names_alone_on_their_line_are_speakers_when_they_recur_and_alternate():
    parsed, got = _turns(_NAMES)
    assert got == [("Marta Rojas", "Bueno, yo creo que la red nos ayudó."), ("Entrevistadora", "¿Y cómo empezó?"),
                   ("Marta Rojas", "Con una visita."), ("Entrevistadora", "¿Quiénes fueron?"),
                   ("Marta Rojas", "La Carmen y yo.")]
    # Names are a guess: reported, with the remedy, and the file's row is a warning.
    assert parsed.uncertain
    assert "5 line(s) alone with no colon read as speaker labels (Marta Rojas, Entrevistadora): names" in parsed.notes[0]
    assert "--speakers" in parsed.notes[0]


def test_names_alone_remedy_naming_the_speakers_reads_only_those():
    text = _NAMES.replace("Marta Rojas\nCon", "Resultados Finales\nCon")
    _, got = _turns(text, speakers=frozenset({"marta rojas", "entrevistadora"}))
    assert [s for s, _ in got] == ["Marta Rojas", "Entrevistadora", "Entrevistadora", "Marta Rojas"]


def test_name_alone_used_once_beside_recurring_names_is_taken_and_reported():
    parsed, got = _turns(_NAMES + "\nInés Carrasco\nYo llegué después.\n")
    assert got[-1] == ("Inés Carrasco", "Yo llegué después.")
    assert any("label 'Inés Carrasco' is used once; taken as a speaker because it is a name" in n
               for n in parsed.notes)


def test_title_heading_or_one_word_sentence_alone_is_not_a_name_speaker():
    text = _NAMES.replace("La Carmen y yo.", "Bien.\nLa Carmen y yo.").replace(
        "\n\nMarta Rojas\nCon", "\n\nSegunda Parte\n\nMarta Rojas\nCon")
    _, got = _turns("Entrevista 3\n\nIntroducción\n\n" + text)
    assert got[0] == (None, "Entrevista 3\n\nIntroducción")
    assert [s for s, _ in got[1:]] == ["Marta Rojas", "Entrevistadora", "Marta Rojas", "Entrevistadora", "Marta Rojas"]
    assert got[2][1] == "¿Y cómo empezó?\n\nSegunda Parte"
    assert got[-1] == ("Marta Rojas", "Bien.\nLa Carmen y yo.")


def test_list_of_names_in_speech_is_not_speakers():
    text = ("Lucía Herrera\n¿Quiénes van?\nTomás Vidal\nVamos siempre:\nAna Soto\nLuis Pérez\ny yo.\n"
            "Lucía Herrera\n¿Y Ana Soto?\nTomás Vidal\nElla también.\n")
    parsed, got = _turns(text)
    assert [s for s, _ in got] == ["Lucía Herrera", "Tomás Vidal", "Lucía Herrera", "Tomás Vidal"]
    assert got[1][1] == "Vamos siempre:\nAna Soto\nLuis Pérez\ny yo."
    assert any("kept as text, not speakers: line 5 (Ana Soto), 6 (Luis Pérez)" in n for n in parsed.notes)


def test_headings_alone_in_a_report_are_not_name_speakers():
    # Recurring, alternating headings, but nobody asks: a report, not an interview.
    report = ("Fortalezas\nEl equipo se reúne.\n\nDesafíos\nLa asistencia baja.\n\n"
              "Fortalezas\nLas familias participan.\n\nDesafíos\nFalta espacio.\n")
    parsed, _ = _turns(report)
    assert not parsed.labelled
    # A topic word the file also writes in lower case is a heading, not a name, even in an interview.
    parsed, _ = _turns("Visita\n¿Cómo fue la visita?\n\nMarta\nBien.\n\nVisita\n¿Y la segunda visita?\n\n"
                         "Marta\nMejor.\n")
    assert not parsed.labelled
    # The same name said twice in a row is not a turn structure.
    parsed, _ = _turns("Marta Rojas\n¿Sí?\n\nMarta Rojas\nSí.\n\nJulián Pérez\n¿Y?\n")
    assert not parsed.labelled


def test_names_alone_are_not_read_in_a_file_with_other_labels():
    _, got = _turns("E: ¿Cómo llegó?\nD1: Por una amiga.\n\nMariela Soto\nE: ¿Quién es?\n"
                         "D1: La coordinadora.\n\nMariela Soto\nE: ¿Y?\nD1: Nada.\n")
    assert [s for s, _ in got] == ["E", "D1", "E", "D1", "E", "D1"]
    assert "Mariela Soto" in got[1][1]
