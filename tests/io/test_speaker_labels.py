"""Issue 16 kinds 2-4 beyond the given cases: label and time-mark shapes, colons in speech, the interviewer."""

from __future__ import annotations

from pathlib import Path

import pytest

import qualcode as qc
from qualcode.io.subtitles import parse_subtitles
from qualcode.io.text import find_interviewer, parse_transcript


def turns(text: str, **kwargs):
    parsed = parse_transcript(text, **kwargs)
    assert all(parsed.text[t.start:t.end] == parsed.text[t.start:t.end].strip() for t in parsed.turns)
    return [(t.speaker, t.timestamp, parsed.text[t.start:t.end]) for t in parsed.turns]


TWO = [("Ana", "¿Qué tal?"), ("Luis", "Bien.")]


@pytest.mark.parametrize("template, t1, t2", [
    ("{name} (00:01:02): {speech}", 62.0, 62.0),
    ("00:01:02.500 {name}: {speech}", 62.5, 62.5),
    ("1:02 {name}: {speech}", 62.0, 62.0),
    ("[01:02] {name}: {speech}", 62.0, 62.0),
    ("(00:01:02) {name}: {speech}", 62.0, 62.0),
    ("{name}: [00:01:02] {speech}", 62.0, 62.0),
    ("{name} 00:01:02: {speech}", 62.0, 62.0),
    ("{name}  1:02\n{speech}", 62.0, 62.0),
    ("{name}     1:02\n{speech}", 62.0, 62.0),
    ("{name}\t1:02\n{speech}", 62.0, 62.0),
    ("{name} - 00:01:02\n{speech}", 62.0, 62.0),
    ("[{name}] 00:01:02\n{speech}", 62.0, 62.0),
    ("{name}   1 minute 2 seconds\n{speech}", 62.0, 62.0),
    ("{name}   1 minuto 2 segundos\n{speech}", 62.0, 62.0),
    ("00:01:02 {name}\n{speech}", 62.0, 62.0),
    ("[00:01:02 --> 00:01:05] {name}: {speech}", 62.0, 62.0),
])
@pytest.mark.parametrize("names", [("Entrevistadora", "Marta Rojas"), ("Interviewer", "Jane Doe"),
                                   ("E", "P"), ("SPEAKER_00", "SPEAKER_01"), ("Hablante 1", "Hablante 2")])
def test_label_and_time_mark_shapes_give_speaker_time_and_clean_speech(template, t1, t2, names):
    lines = []
    for _k in range(2):
        for name, (_, speech) in zip(names, TWO, strict=True):
            lines.append(template.format(name=name, speech=speech))
    got = turns("\n\n".join(lines) + "\n")
    assert [(g[0], g[2]) for g in got] == [(names[0], "¿Qué tal?"), (names[1], "Bien.")] * 2
    assert {g[1] for g in got} == {t1}


def test_maxqda_f4_time_marks_leave_the_text_and_time_the_next_turn():
    got = turns("I: ¿Cómo fue? #00:00:05-3#\nB: Bien, harto trabajo. #00:00:09-1#\nI: ¿Y ahora? #00:00:12-0#\n"
                "B: Mejor. #00:00:15-2#\n")
    assert got == [("I", 0.0, "¿Cómo fue?"), ("B", 5.0, "Bien, harto trabajo."), ("I", 9.0, "¿Y ahora?"),
                   ("B", 12.0, "Mejor.")]


def test_a_time_line_before_a_blank_line_times_the_next_label():
    assert turns("00:00:03\n\nE: ¿Hola?\n00:00:07\n\nD1: Bien.\n") == [("E", 3.0, "¿Hola?"), ("D1", 7.0, "Bien.")]


def test_role_label_with_parenthesised_gender_ending_is_a_speaker():
    assert [g[0] for g in turns("Entrevistador(a): ¿Qué tal?\nD1: Bien.\n")] == ["Entrevistador(a)", "D1"]


@pytest.mark.parametrize("aside", ["Por ejemplo: la asistencia", "A veces: se cae", "I told her: no way",
                                   "So basically: we share", "Yo le dije: mira", "My mother: she said no",
                                   "Honestly: it was hard, honestly", "Entonces: nada", "La directora: dijo que no"])
@pytest.mark.parametrize("labels", [("Entrevistadora", "Rosa"), ("INTERVIEWER", "PRINCIPAL 3"), ("E", "D1")])
@pytest.mark.parametrize("blank", [True, False])
def test_a_colon_inside_speech_is_not_a_speaker_in_any_layout(aside, labels, blank):
    sep = "\n\n" if blank else "\n"
    text = sep.join([f"{labels[0]}: ¿Qué cambió?", f"{labels[1]}: Varias cosas.\n{aside}.",
                     f"{labels[0]}: ¿Y?", f"{labels[1]}: Tiempo."]) + "\n"
    got = turns(text)
    assert [g[0] for g in got] == [labels[0], labels[1]] * 2
    assert got[1][2] == f"Varias cosas.\n{aside}."


def test_a_name_used_once_needs_the_files_label_shape():
    # The file's labels are capitals: a mixed-case "Marta:" once is speech, reported as such.
    parsed = parse_transcript("ENTREVISTADORA: ¿Y?\nDIRECTORA 1: Bien.\nMarta: le dijo que sí.\n"
                              "ENTREVISTADORA: ¿Y?\nDIRECTORA 1: Nada.\n")
    assert [t.speaker for t in parsed.turns] == ["ENTREVISTADORA", "DIRECTORA 1"] * 2
    assert any("Marta:" in n for n in parsed.notes)
    # Same shape as the others: taken, and said.
    parsed = parse_transcript("Moderadora: ¿Y?\nRosa: Bien.\nModeradora: ¿Y?\nRosa: Nada.\nMarta: Yo igual.\n")
    assert [t.speaker for t in parsed.turns][-1] == "Marta" and parsed.uncertain
    assert "label 'Marta' is used once" in parsed.notes[0]


def test_names_given_as_speakers_are_read_alone_on_a_cue_line():
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nMarta Rojas\nHola, ¿qué tal?\n\n" \
          "00:00:03.000 --> 00:00:04.000\nAna Li\nBien.\n"
    parsed = parse_subtitles(vtt, path="x.vtt", kind="vtt", speakers=frozenset({"marta rojas", "ana li"}))
    assert [(t.speaker, t.timestamp, parsed.text[t.start:t.end]) for t in parsed.turns] == [
        ("Marta Rojas", 1.0, "Hola, ¿qué tal?"), ("Ana Li", 3.0, "Bien.")]


def test_the_interviewer_is_named_by_role_word_user_or_questions_and_the_reason_is_given():
    role = parse_transcript("Moderadora: ¿Y?\nRosa: Bien.\nModeradora: ¿Y?\nRosa: Nada.\n")
    assert find_interviewer(role)[1:] == ("interviewer Moderadora (role word)", False)
    asks = parse_transcript("Ana: ¿Cómo fue?\nLuis: Bien.\nAna: ¿Y ahora?\nLuis: Mejor.\n")
    labels, why, guessed = find_interviewer(asks)
    assert labels == {"ana"} and guessed and "by guess" in why and "--interviewer" in why
    labels, why, _ = find_interviewer(asks, ["Luis"])
    assert labels == frozenset({"luis"}) and why.startswith("interviewer Luis (named by you); Luis asks no question")
    assert find_interviewer(asks, ["Ana"]) == (frozenset({"ana"}), "interviewer Ana (named by you)", False)
    chat = parse_transcript("Ana: ¿Cómo fue?\nLuis: ¿Bien?\nAna: Sí.\nLuis: Ya.\n")
    labels, why, guessed = find_interviewer(chat)
    assert labels == frozenset() and guessed and why.startswith("no interviewer found among 2 speakers")


def _cues(*lines: str) -> str:
    return "WEBVTT\n\n" + "\n\n".join(f"00:00:{i:02d}.000 --> 00:00:{i:02d}.500\n{line}"
                                      for i, line in enumerate(lines, 1)) + "\n"


@pytest.mark.parametrize("names", [
    ("iPhone de Marta", "marta rojas", "Ana María del Pino Soto"),
    ("Marta (she/her)", "Dr. Luis Soto", "Carolina Vega"),
])
def test_zoom_display_names_of_any_shape_are_speakers_when_every_cue_has_one(names):
    a, b, once = names
    parsed = parse_subtitles(_cues(f"{a}: ¿Hola?", f"{b}: Bien. Por ejemplo: así.", f"{a}: ¿Y?", f"{once}: Nada.",
                                   f"{b}: Ya."), path="zoom.vtt", kind="vtt")
    assert [t.speaker for t in parsed.turns] == [a, b, a, once, b]
    assert parsed.text[parsed.turns[1].start:parsed.turns[1].end] == "Bien. Por ejemplo: así."
    assert f"label {once!r} is used once" in parsed.notes[0] and "line 12" in parsed.notes[0]


@pytest.mark.parametrize("time_line", ["0:0:{s}.0 --> 0:0:{e}.120", "00:00:{s:02d}", "[00:00:{s:02d}]"])
def test_time_line_then_name_alone_then_speech_is_a_turn(time_line):
    blocks = []
    for k, (name, speech) in enumerate([("Marta Rojas", "Hola, ¿qué tal?"), ("Ana Li", "Bien, gracias."),
                                        ("Marta Rojas", "¿Y el equipo?"), ("Ana Li", "Bien.")]):
        blocks.append(f"{time_line.format(s=3 * k, e=3 * k + 2)}\n{name}\n{speech}")
    got = turns("\n\n".join(blocks) + "\n")
    assert got == [("Marta Rojas", 0.0, "Hola, ¿qué tal?"), ("Ana Li", 3.0, "Bien, gracias."),
                   ("Marta Rojas", 6.0, "¿Y el equipo?"), ("Ana Li", 9.0, "Bien.")]


def test_a_name_and_time_line_right_under_a_header_is_speech():
    text = ("Marta Rojas  0:01\n¿Qué hora era?\n\nAna Li  0:05\nRed 10:30\n\nMarta Rojas  0:09\n¿Seguro?\n\n"
            "Ana Li  0:12\nSí.\n")
    assert [(g[0], g[2]) for g in turns(text)] == [("Marta Rojas", "¿Qué hora era?"), ("Ana Li", "Red 10:30"),
                                                   ("Marta Rojas", "¿Seguro?"), ("Ana Li", "Sí.")]


def test_the_interviewer_guess_survives_a_participants_rhetorical_questions():
    text = "".join(f"Hablante 1: Ya. ¿Y {k}?\nHablante 2: Sí, ¿me entiendes? Fue así.\nHablante 2: Bueno.\n"
                   for k in range(4))
    labels, _why, guessed = find_interviewer(parse_transcript(text))
    assert labels == {"hablante 1"} and guessed


@pytest.mark.parametrize("line", [" " * 100_000 + "x", "00:00" + " " * 100_000 + "x", "Ana" + " \t" * 50_000 + ":",
                                  "Ana " + "1 minute " * 20_000, "00:00 " * 20_000 + "Ana"])
def test_label_patterns_never_backtrack_for_long_on_long_lines(line):
    import time

    started = time.perf_counter()
    parsed = parse_transcript(f"{line}\nE: ¿Hola?\nD1: Bien.\n{line}\n")
    assert time.perf_counter() - started < 2.0
    assert [t.speaker for t in parsed.turns][1:3] == ["E", "D1"]


# A time mark inside speech (issue 16 kind 2: time marks leave the text) ----------------------------------

@pytest.mark.parametrize("mark, seconds", [("[00:12:31]", 751.0), ("[12:31]", 751.0), ("(00:12:31)", 751.0),
                                           ("[00:12:31.500]", 751.5), ("#00:12:31-5#", 751.0)])
def test_a_time_mark_inside_speech_leaves_the_text_and_times_the_speech_after_it(mark, seconds):
    parsed = parse_transcript(f"E: ¿Y después?\nD1: Bueno, y entonces {mark} seguimos con la red.\nE: ¿Y?\n")
    got = [(t.speaker, t.timestamp, parsed.text[t.start:t.end], t.continues) for t in parsed.turns]
    assert got == [("E", None, "¿Y después?", False), ("D1", None, "Bueno, y entonces", False),
                   ("D1", seconds, "seguimos con la red.", True), ("E", None, "¿Y?", False)]
    assert any("1 time mark(s) inside speech taken out of the text (line 2)" in n for n in parsed.notes)


def test_a_time_mark_ending_or_opening_speech_times_the_speech_it_precedes():
    parsed = parse_transcript("¿Cómo parte el día? [00:00:04]\n\n[00:00:09] Con el WhatsApp.\n\nY después.\n")
    got = [(t.timestamp, parsed.text[t.start:t.end]) for t in parsed.turns]
    assert got == [(None, "¿Cómo parte el día?"), (9.0, "Con el WhatsApp."), (None, "Y después.")]
    parsed = parse_transcript("E: ¿Cómo? [00:00:04]\nD1: Así.\n")
    assert [(t.timestamp, parsed.text[t.start:t.end]) for t in parsed.turns] == [(None, "¿Cómo?"), (4.0, "Así.")]


def test_a_clock_time_in_speech_is_not_a_time_mark():
    parsed = parse_transcript("E: ¿A qué hora?\nD1: A las 10:30 (10:30) o a las [10 y media].\n")
    assert [parsed.text[t.start:t.end] for t in parsed.turns] == ["¿A qué hora?",
                                                                   "A las 10:30 (10:30) o a las [10 y media]."]
    assert not any("time mark" in n for n in parsed.notes)


def test_parts_cut_by_a_time_mark_stay_one_turn_of_the_segments(tmp_path):
    import qualcode as qc

    path = tmp_path / "marcas.txt"
    path.write_text("Hablante 1: ¿Cómo fue? [00:00:03] ¿Y el equipo?\nHablante 2: Bien [00:00:09] y mejor.\n"
                    "Hablante 1: ¿Y ahora?\nHablante 2: Igual.\n", encoding="utf-8")
    corpus, _ = qc.load_corpus(path)
    segs = corpus.segments
    assert list(zip(segs["turn"], segs["part"], strict=True)) == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (4, 1)]
    assert int(corpus.documents["n_turns"].iloc[0]) == 4
    assert int(corpus.documents["n_words"].iloc[0]) == 11
    # A turn cut by a mark is still one turn when guessing who asks (2 of 2 turns, not 3 of 3 parts).
    assert "2 of 2 turns ask a question" in find_interviewer(parse_transcript(path.read_text(encoding="utf-8")))[1]


def test_the_report_counts_a_turn_cut_by_a_time_mark_once():
    # The row's turn count and the documents table's n_turns are the same number.
    path = Path(__file__).parent.parent / "data" / "formats" / "mid_turn_marks.txt"
    corpus, report = qc.load_corpus(path)
    n_turns = int(corpus.documents["n_turns"].iloc[0])
    assert f"{n_turns} turns," in report.iloc[0]["message"]
    assert corpus.segments["turn"].nunique() == n_turns


def test_a_maxqda_end_mark_times_the_next_turn_even_when_that_turn_has_no_mark():
    text = ("ENTREVISTADORA: ¿Cómo empezaron? #00:01:00-2#\n\n"
            "PARTICIPANTE: Después trabajamos en grupos. #00:05:02-3#\n\n"
            "ENTREVISTADORA: ¿Y luego?\n\n"
            "PARTICIPANTE: Luego medimos.\n")
    parsed = parse_transcript(text)
    assert [t.timestamp for t in parsed.turns] == [0.0, 60.0, 302.0, None]
    assert all("#" not in text[t.start:t.end] for t in parsed.turns)
