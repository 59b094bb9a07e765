"""The format matrix (issue 16): one small file per service and label shape, read into the right segments.

Fixtures in tests/data/formats/ were written for this project from the
services' documented export formats, with invented names:

=============================  =====================================================
otter.txt                      Otter.ai TXT: ``Name  m:ss`` line, speech below
teams.txt / teams_tab.txt      Teams .txt: ``Name   1 minute 5 seconds``; ``Name<TAB>0:04``
teams.vtt                      Teams .vtt: ``<v Name>speech</v>`` voice tags, cue ids
teams_name_line.vtt            Teams/Zoom .vtt: the name alone on each cue's first line, speech
                               below; a cue without a name, a five-word name used once
name_line.srt                  the same shape in SubRip
zoom.vtt                       Zoom cloud recording: ``Display Name: speech`` on every cue,
                               a four-word name used once
whisperx.srt / whisperx.txt    WhisperX diarization: ``[SPEAKER_00]: ...`` / ``SPEAKER_00: ...``
hablante_time_first.txt        ``[00:00:04] Hablante 1: ...`` (automatic transcription services)
speaker_then_time.txt          ``Interviewer (00:00:04): ...`` (Rev-style), "I told her:" in speech
time_then_speaker.txt          ``00:00:04.500 Entrevistadora: ...``
e_p_parenthesised_time.txt     ``(01:02) E: ...`` / ``P:`` with "A veces:" in speech
pregunta_respuesta.txt         ``P:`` / ``R:`` (Pregunta / Respuesta)
focus_group_bold.md            ``**Moderadora:**`` Markdown, a participant who speaks once
label_alone_colon_in_speech    ``ENTREVISTADORA:`` alone on its line, "Por ejemplo:" in speech
role_alone_caps.txt            ``ENTREVISTADORA`` / ``DIRECTORA`` alone, no colon; a heading, a "NO" line
role_alone_no_blank.txt        ``E`` / ``Participante 2`` alone, no colon, no blank lines; a "Sí." line
caps_names_alone.txt           ``MARTA`` / ``JULIÁN`` alone in capitals (recurring); a heading used once
names_alone.txt                ``Marta Rojas`` / ``Entrevistadora`` alone, no colon, no time, speech below;
                               a title, a name used once, a list of names and a "Bien." line in speech
names_alone_no_blank.txt       the same without blank lines; a list of names after "...:" in speech
headings_alone.txt             (negative) a report: headings alone, alternating, no question: unlabelled
headings_with_labels.txt       (negative) ``E:`` / ``D1:`` labels with headings and a name alone in speech
mid_turn_marks.txt             ``... y entonces [00:12:31] seguimos ...``: a mark inside speech leaves the
                               text; the speech after it is the next part of the turn, with its time
no_labels.txt                  prose without labels: one speaker, a warning naming the file
no_labels.vtt                  Whisper-style cues without speaker names: a turn per sentence (a
                               sentence split over cues, "..." going on), each with its cue's time
no_labels_auto.srt             auto-captions without names or punctuation: a turn per cue
teams_docx_cues.txt            Teams .docx text: ``0:0:0.0 --> 0:0:4.120`` line, name line, speech
maxqda_f4.txt                  MAXQDA f4/f5: ``I: ... #00:00:04-2#`` (the mark ends the paragraph)
zoom_chat_transcript.txt       Zoom saved transcript: ``[Name] 10:15:04`` line, speech below
=============================  =====================================================

The property test at the end writes random interviews in every label style and
format and checks that every word comes back, with its speaker and time mark.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode.errors import NoSpeakerLabelsWarning

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"

MATRIX = [
    ('e_p_parenthesised_time.txt', 'ok', 26, [
        ('E', 'interviewer', 62.0, '¿Cómo'),
        ('P', 'participant', 69.0, 'Cada'),
        ('E', 'interviewer', 90.0, '¿Y'),
        ('P', 'participant', 95.0, 'Lo'),
    ]),
    ('focus_group_bold.md', 'ok', 24, [
        ('Moderadora', 'interviewer', None, '¿Cómo'),
        ('Rosa', 'participant', None, 'Un'),
        ('Moderadora', 'interviewer', None, '¿Alguien'),
        ('Carmen', 'participant', None, 'Yo'),
        ('Rosa', 'participant', None, 'Es'),
        ('Moderadora', 'interviewer', None, '¿Inés?'),
        ('Inés', 'participant', None, 'Sin'),
    ]),
    ('hablante_time_first.txt', 'warning', 22, [
        ('Hablante 1', 'interviewer', 4.0, '¿Cómo'),
        ('Hablante 2', 'participant', 12.0, 'Cada'),
        ('Hablante 1', 'interviewer', 65.0, '¿Y'),
        ('Hablante 2', 'participant', 69.0, 'Lo'),
    ]),
    ('label_alone_colon_in_speech.txt', 'ok', 18, [
        ('ENTREVISTADORA', 'interviewer', None, '¿Qué'),
        ('DIRECTORA 4', 'participant', None, 'Varias'),
        ('ENTREVISTADORA', 'interviewer', None, '¿Y'),
        ('DIRECTORA 4', 'participant', None, 'Tiempo.'),
    ]),
    ('maxqda_f4.txt', 'ok', 22, [
        ('I', 'interviewer', 0.0, '¿Cómo'),
        ('B', 'participant', 4.0, 'Cada'),
        ('I', 'interviewer', 12.0, '¿Y'),
        ('B', 'participant', 65.0, 'Lo'),
    ]),
    ('names_alone.txt', 'warning', 46, [
        (None, 'unknown', None, 'Entrevista'),
        ('Entrevistadora', 'interviewer', None, '¿Cómo'),
        ('Marta Rojas', 'participant', None, 'Bueno,'),
        ('Entrevistadora', 'interviewer', None, '¿Y'),
        ('Marta Rojas', 'participant', None, 'Estaban'),
        ('Inés Carrasco', 'participant', None, 'Yo'),
        ('Entrevistadora', 'interviewer', None, 'Gracias'),
    ]),
    ('names_alone_no_blank.txt', 'warning', 33, [
        ('Lucía Herrera', 'interviewer', None, '¿Cómo'),
        ('Tomás Vidal', 'participant', None, 'Cada'),
        ('Lucía Herrera', 'interviewer', None, '¿Quiénes'),
        ('Tomás Vidal', 'participant', None, 'Vamos'),
    ]),
    ('headings_alone.txt', 'warning', 46, [
        (None, 'participant', None, 'Informe'),
        (None, 'participant', None, 'Contexto'),
        (None, 'participant', None, 'Fortalezas'),
        (None, 'participant', None, 'Desafíos'),
        (None, 'participant', None, 'Fortalezas'),
        (None, 'participant', None, 'Desafíos'),
        (None, 'participant', None, 'Bien.'),
    ]),
    ('headings_with_labels.txt', 'ok', 30, [
        (None, 'unknown', None, 'Trayectoria'),
        ('E', 'interviewer', None, '¿Cómo'),
        ('D1', 'participant', None, 'Por'),
        ('E', 'interviewer', None, '¿Y'),
        ('D1', 'participant', None, 'Nos'),
        ('E', 'interviewer', None, '¿Quién'),
        ('D1', 'participant', None, 'La'),
    ]),
    ('mid_turn_marks.txt', 'ok', 33, [
        ('Entrevistadora', 'interviewer', None, '¿Cómo'),
        ('Directora 4', 'participant', None, 'Bueno,'),
        ('Directora 4', 'participant', 751.0, 'seguimos'),
        ('Directora 4', 'participant', 785.0, 'Después'),
        ('Entrevistadora', 'interviewer', None, '¿Y'),
        ('Directora 4', 'participant', 820.0, 'Bajó'),
    ]),
    ('no_labels.txt', 'warning', 14, [
        (None, 'participant', None, 'Escribo'),
        (None, 'participant', None, 'El'),
    ]),
    ('no_labels.vtt', 'warning', 43, [
        (None, 'participant', 0.0, 'Gracias'),
        (None, 'participant', 3.48, 'Bueno,'),
        (None, 'participant', 9.9, '¿Y'),
        (None, 'participant', 15.3, 'Una'),
    ]),
    ('no_labels_auto.srt', 'warning', 18, [
        (None, 'participant', 1.0, 'gracias'),
        (None, 'participant', 3.2, 'el'),
        (None, 'participant', 5.9, 'con'),
    ]),
    ('otter.txt', 'warning', 37, [
        ('Lucía Herrera', 'interviewer', 4.0, 'Gracias'),
        ('Tomás Vidal', 'participant', 12.0, 'Cada'),
        ('Lucía Herrera', 'interviewer', 65.0, '¿Y'),
        ('Tomás Vidal', 'participant', 69.0, 'Lo'),
    ]),
    ('pregunta_respuesta.txt', 'ok', 22, [
        ('P', 'interviewer', None, '¿Cómo'),
        ('R', 'participant', None, 'Cada'),
        ('P', 'interviewer', None, '¿Y'),
        ('R', 'participant', None, 'Lo'),
    ]),
    ('role_alone_caps.txt', 'ok', 35, [
        (None, 'unknown', None, 'ENTREVISTA'),
        ('ENTREVISTADORA', 'interviewer', None, '¿Cómo'),
        ('DIRECTORA', 'participant', None, 'Acompañada.'),
        ('ENTREVISTADORA', 'interviewer', None, '¿Qué'),
        ('DIRECTORA', 'participant', None, 'Ahora'),
    ]),
    ('role_alone_no_blank.txt', 'ok', 23, [
        ('E', 'interviewer', None, '¿Cómo'),
        ('Participante 2', 'participant', None, 'Con'),
        ('E', 'interviewer', None, '¿Y'),
        ('Participante 2', 'participant', None, 'La'),
    ]),
    ('caps_names_alone.txt', 'warning', 26, [
        ('MARTA', 'interviewer', None, '¿Cómo'),
        ('JULIÁN', 'participant', None, 'Cada'),
        ('MARTA', 'interviewer', None, '¿Quién'),
        ('JULIÁN', 'participant', None, 'Votamos'),
    ]),
    ('speaker_then_time.txt', 'ok', 29, [
        ('Interviewer', 'interviewer', 4.0, 'How'),
        ('Tomás Vidal', 'participant', 12.0, 'Each'),
        ('Interviewer', 'interviewer', 65.0, 'Who'),
        ('Tomás Vidal', 'participant', 69.0, 'We'),
    ]),
    ('teams.txt', 'warning', 22, [
        ('Lucía Herrera', 'interviewer', 4.0, '¿Cómo'),
        ('Tomás Vidal', 'participant', 12.0, 'Cada'),
        ('Lucía Herrera', 'interviewer', 65.0, '¿Y'),
        ('Tomás Vidal', 'participant', 69.0, 'Lo'),
    ]),
    ('teams.vtt', 'warning', 21, [
        ('Lucía Herrera', 'interviewer', 4.12, 'How'),
        ('Tomás Vidal', 'participant', 12.0, 'Each'),
        ('Lucía Herrera', 'interviewer', 65.0, 'Who'),
        ('Tomás Vidal', 'participant', 69.0, 'We'),
    ]),
    ('teams_name_line.vtt', 'warning', 36, [
        ('Rocío Fuentes', 'interviewer', 3.0, '¿Cómo'),
        ('Gabriel Soto', 'participant', 9.0, 'Nos'),
        ('Rocío Fuentes', 'interviewer', 19.0, '¿Y'),
        ('María Paz de la Fuente', 'participant', 23.0, 'Yo'),
        ('Gabriel Soto', 'participant', 27.0, 'La'),
    ]),
    ('name_line.srt', 'warning', 25, [
        ('Rocío Fuentes', 'interviewer', 3.0, '¿Cómo'),
        ('Gabriel Soto', 'participant', 9.0, 'Nos'),
        ('Rocío Fuentes', 'interviewer', 16.0, '¿Y'),
        ('Gabriel Soto', 'participant', 21.0, 'La'),
    ]),
    ('teams_docx_cues.txt', 'warning', 22, [
        ('Lucía Herrera', 'interviewer', 0.0, '¿Cómo'),
        ('Tomás Vidal', 'participant', 12.0, 'Cada'),
        ('Lucía Herrera', 'interviewer', 65.0, '¿Y'),
        ('Tomás Vidal', 'participant', 69.0, 'Lo'),
    ]),
    ('teams_tab.txt', 'warning', 21, [
        ('Lucía Herrera', 'interviewer', 4.0, 'How'),
        ('Tomás Vidal', 'participant', 12.0, 'Each'),
        ('Lucía Herrera', 'interviewer', 65.0, 'Who'),
        ('Tomás Vidal', 'participant', 69.0, 'We'),
    ]),
    ('time_then_speaker.txt', 'ok', 22, [
        ('Entrevistadora', 'interviewer', 4.5, '¿Cómo'),
        ('Participante 1', 'participant', 12.0, 'Cada'),
        ('Entrevistadora', 'interviewer', 65.0, '¿Y'),
        ('Participante 1', 'participant', 69.0, 'Lo'),
    ]),
    ('whisperx.srt', 'warning', 22, [
        ('SPEAKER_00', 'interviewer', 4.12, '¿Cómo'),
        ('SPEAKER_01', 'participant', 12.0, 'Cada'),
        ('SPEAKER_00', 'interviewer', 65.0, '¿Y'),
        ('SPEAKER_01', 'participant', 69.0, 'Lo'),
    ]),
    ('whisperx.txt', 'warning', 21, [
        ('SPEAKER_00', 'interviewer', None, 'How'),
        ('SPEAKER_01', 'participant', None, 'Each'),
        ('SPEAKER_00', 'interviewer', None, 'Who'),
        ('SPEAKER_01', 'participant', None, 'We'),
    ]),
    ('zoom.vtt', 'warning', 27, [
        ('Lucía Herrera', 'interviewer', 4.12, '¿Cómo'),
        ('Tomás Vidal', 'participant', 12.0, 'Cada'),
        ('Ana María del Pino', 'participant', 17.0, 'Nosotras'),
        ('Lucía Herrera', 'interviewer', 65.0, '¿Y'),
        ('Tomás Vidal', 'participant', 69.0, 'Lo'),
    ]),
    ('zoom_chat_transcript.txt', 'warning', 22, [
        ('Lucía Herrera', 'interviewer', 36904.0, '¿Cómo'),
        ('Tomás Vidal', 'participant', 36912.0, 'Cada'),
        ('Lucía Herrera', 'interviewer', 36965.0, '¿Y'),
        ('Tomás Vidal', 'participant', 36969.0, 'Lo'),
    ]),
]


@pytest.mark.parametrize("name, status, n_words, expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_format_matrix_reads_speakers_roles_and_time_marks(name, status, n_words, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
        corpus, report = qc.load_corpus(FORMATS / name)
    segs = corpus.segments
    text = corpus.documents["text"].iloc[0]
    got = [(None if pd.isna(s.speaker) else s.speaker, s.speaker_role,
            None if pd.isna(s.timestamp) else float(s.timestamp), s.text.split()[0]) for s in segs.itertuples()]
    assert got == expected
    assert all(text[s.start:s.end] == s.text for s in segs.itertuples())
    assert int(corpus.documents["n_words"].iloc[0]) == n_words
    assert report.iloc[0]["status"] == status
    # Label and time marks never stay inside the speech.
    assert not any(s.text.startswith(("[", "(", "SPEAKER", "**")) or ":" in s.text[:3] for s in segs.itertuples())


# Property: every word of a generated interview comes back, in every format and label style ----------------

_WORDS = ["sí", "la", "red", "nos", "ayudó", "harto", "porque", "el", "equipo", "cambió", "10:30", "y", "we",
          "share", "data", "every", "monday", "bueno,", "grupo", "visita", "(risas)", "año"]
_ASIDES = ["Por ejemplo:", "A veces:", "I told her:", "So basically:", "Nota:", "Yo le dije:", "Ojo:"]
_INTERVIEWERS = ["Entrevistadora", "Interviewer", "Moderadora", "E", "Hablante 1", "SPEAKER_00", "Entrevistador/a"]
_OTHERS = [["Marta Rojas", "Inés", "María José Soto Díaz"], ["Directora 2", "D1", "PA4"],
           ["SPEAKER_01", "SPEAKER_02", "SPEAKER_03"], ["Hablante 2", "Hablante 3", "Participante 4"]]
_STYLES = ["colon", "time_first", "speaker_time", "time_after_colon", "alone", "bold", "otter", "teams",
           "teams_tab", "time_header", "teams_cues", "f4", "docx", "srt", "vtt", "vtt_voice"]


def _clock(seconds: int, style: str) -> str:
    h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
    if style == "otter":
        return f"{seconds // 60}:{s:02d}"
    if style == "teams":
        return " ".join(p for p in (f"{seconds // 60} minutes" if seconds >= 60 else "", f"{s} seconds") if p)
    return f"{h:02d}:{m:02d}:{s:02d}"


def _render(style: str, turns: list[tuple[str, int, list[str]]], blank: bool) -> tuple[str, str]:
    """The file text and its suffix for ``turns`` of (label, seconds, speech lines)."""
    sep = "\n\n" if blank else "\n"
    if style in ("srt", "vtt", "vtt_voice"):
        cues = []
        for n, (label, t, lines) in enumerate(turns, 1):
            start, end = _clock(t, style), _clock(t + 1, style)
            speech = " ".join(lines)
            if style == "srt":
                cues.append(f"{n}\n{start},000 --> {end},000\n[{label}]: {speech}")
            elif style == "vtt":
                cues.append(f"{n}\n{start}.000 --> {end}.000\n{label}: {speech}")
            else:
                cues.append(f"{start}.000 --> {end}.000\n<v {label}>{speech}</v>")
        body = "\n\n".join(cues) + "\n"
        return (body, ".srt") if style == "srt" else ("WEBVTT\n\n" + body, ".vtt")
    blocks = []
    for k, (label, t, lines) in enumerate(turns):
        speech = "\n".join(lines)
        ends = turns[k + 1][1] if k + 1 < len(turns) else t + 1
        head = {
            "teams_cues": f"{t // 3600}:{t // 60 % 60}:{t % 60}.0 --> {ends // 3600}:{ends // 60 % 60}:{ends % 60}.0"
                          f"\n{label}\n{speech}",
            "f4": f"{label}: {speech} #{_clock(ends, style)}-0#",
            "docx": f"{label}: {speech}",
            "colon": f"{label}: {speech}",
            "time_first": f"[{_clock(t, style)}] {label}: {speech}",
            "speaker_time": f"{label} ({_clock(t, style)}): {speech}",
            "alone": f"{label}:\n{speech}",
            "bold": f"**{label}:** {speech}",
            "otter": f"{label}  {_clock(t, style)}\n{speech}",
            "teams": f"{label}   {_clock(t, style)}\n{speech}",
            "teams_tab": f"{label}\t{_clock(t, 'otter')}\n{speech}",
            "time_header": f"{_clock(t, style)} {label}\n{speech}",
            "time_after_colon": f"{label}: [{_clock(t, style)}] {speech}",
        }[style]
        blocks.append(head)
    return sep.join(blocks) + "\n", {"bold": ".md", "docx": ".docx"}.get(style, ".txt")


@st.composite
def interviews(draw):
    style = draw(st.sampled_from(_STYLES))
    asker = draw(st.sampled_from(_INTERVIEWERS))
    others = draw(st.sampled_from(_OTHERS))[: draw(st.integers(1, 3))]
    n = draw(st.integers(3, 7))
    turns, t = [], draw(st.integers(0, 4000))
    for i in range(n):
        label = asker if i % 2 == 0 else draw(st.sampled_from(others))
        # A line that is only a clock time is a time mark by the grammar, so speech starts with a word.
        first = [draw(st.sampled_from(_WORDS[:10])), *draw(st.lists(st.sampled_from(_WORDS), max_size=7))]
        lines = [" ".join(first).capitalize() if i % 2 else f"¿{' '.join(first)}?"]
        if i % 2 and draw(st.booleans()):
            rest = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=5))
            lines.append(f"{draw(st.sampled_from(_ASIDES))} {' '.join(rest)}")
        turns.append((label, t, lines))
        t += draw(st.integers(1, 300))
    if draw(st.booleans()) and style != "bold":
        turns = [(label.upper(), t, lines) for label, t, lines in turns]
    return style, turns, draw(st.booleans())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=interviews())
def test_every_word_comes_back_with_its_speaker_and_time_in_every_format(tmp_path, case):
    style, turns, blank = case
    content, suffix = _render(style, turns, blank)
    path = tmp_path / f"entrevista{suffix}"
    if suffix == ".docx":
        import docx

        document = docx.Document()
        for line in content.rstrip("\n").split("\n"):
            document.add_paragraph(line)
        document.save(str(path))
    else:
        path.write_text(content, encoding="utf-8")
    corpus, report = qc.load_corpus(path, language="es")
    segs = corpus.segments
    text = corpus.documents["text"].iloc[0]
    assert all(text[s.start:s.end] == s.text for s in segs.itertuples())
    # Subtitle cues of one speaker in a row are one turn; text files keep every turn.
    expected: list[tuple[str, int, list[str]]] = []
    for label, t, lines in turns:
        if style.startswith(("srt", "vtt")) and expected and expected[-1][0] == label:
            expected[-1] = (label, expected[-1][1], expected[-1][2] + lines)
        else:
            expected.append((label, t, list(lines)))
    words = sum(len(" ".join(lines).split()) for _, _, lines in turns)
    assert sum(len(s.text.split()) for s in segs.itertuples()) == words
    assert int(corpus.documents["n_words"].iloc[0]) == words
    assert list(segs["speaker"]) == [label for label, _, _ in expected]
    assert [s.text.split() for s in segs.itertuples()] == [" ".join(lines).split() for _, _, lines in expected]
    if style == "f4":  # a mark ends its paragraph: each turn starts at the previous mark
        assert list(segs["timestamp"].astype(float)) == [0.0] + [float(t) for _, t, _ in expected[1:]]
    elif style not in ("colon", "alone", "bold", "docx"):
        assert list(segs["timestamp"].astype(float)) == [float(t) for _, t, _ in expected]
    roles = dict(zip(segs["speaker"], segs["speaker_role"], strict=True))
    assert roles[expected[0][0]] == "interviewer"
    assert all(roles[label] == "participant" for label, _, _ in expected[1::2])
    assert report.iloc[0]["status"] in ("ok", "warning")
