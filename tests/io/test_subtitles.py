from __future__ import annotations

import pytest

from qualcode.errors import SubtitleFormatError
from qualcode.io.subtitles import parse_subtitles

VTT = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Moderadora>¿Cómo ha sido <i>este</i> año?

00:00:05.000 --> 00:00:09.000
<v Directora 11>Sola, al principio.
Muy sola.

00:00:09.500 --> 00:00:12.000
<v Directora 11>Después vino la red.
"""

SRT = """1
00:00:04,100 --> 00:00:09,800
ENTREVISTADORA: ¿Cómo partió el ciclo?

2
00:00:10,000 --> 00:00:14,000
DIRECTORA 12: Con la espina
de pescado.

3
00:00:14,500 --> 00:00:18,000
Y después medimos.
"""


def spoken(parsed):
    return [(t.speaker, parsed.text[t.start:t.end], t.timestamp) for t in parsed.turns]


def test_parse_subtitles_joins_cues_of_one_voice_into_a_turn():
    parsed = parse_subtitles(VTT, path="g.vtt", kind="vtt")
    assert spoken(parsed) == [
        ("Moderadora", "¿Cómo ha sido este año?", 1.0),
        ("Directora 11", "Sola, al principio. Muy sola. Después vino la red.", 5.0),
    ]


def test_parse_subtitles_reads_srt_labels_and_continuations():
    parsed = parse_subtitles(SRT, path="i.srt", kind="srt")
    assert spoken(parsed) == [
        ("ENTREVISTADORA", "¿Cómo partió el ciclo?", 4.1),
        ("DIRECTORA 12", "Con la espina de pescado. Y después medimos.", 10.0),
    ]


@pytest.mark.parametrize(
    "text, kind, line, message",
    [
        (VTT.replace("WEBVTT\n\n", ""), "vtt", 1, "missing the 'WEBVTT' header"),
        (VTT.replace("00:00:05.000 -->", "00:00:5.000 -->"), "vtt", 6, "bad timestamp '00:00:5.000'"),
        (VTT.replace("00:00:05.000 --> 00:00:09.000", "00:00:09.000 --> 00:00:05.000"), "vtt", 6, "ends"),
        (VTT.replace("00:00:09.500 --> 00:00:12.000", "00:00:00.500 --> 00:00:12.000"), "vtt", 10, "out of order"),
        (SRT.replace("00:00:10,000", "00:00:10.000x"), "srt", 6, "bad timestamp"),
        ("WEBVTT\n\njust text\n", "vtt", 3, "no cues were found"),
    ],
)
def test_parse_subtitles_reports_malformed_files_with_their_line(text, kind, line, message):
    with pytest.raises(SubtitleFormatError, match=message) as info:
        parse_subtitles(text, path=f"bad.{kind}", kind=kind)
    assert info.value.line == line
    assert f"bad.{kind}:{line}" in str(info.value)


def test_parse_subtitles_skips_empty_cue_and_notes_overlap():
    text = VTT.replace("<v Directora 11>Después vino la red.\n", "\n") + (
        "\n00:00:11.000 --> 00:00:13.000\n<v Moderadora>Gracias.\n"
    )
    parsed = parse_subtitles(text, path="o.vtt", kind="vtt")
    assert any("empty cue" in note and "line 10" in note for note in parsed.notes)
    assert any("overlaps" in note for note in parsed.notes)
    assert [t.speaker for t in parsed.turns] == ["Moderadora", "Directora 11", "Moderadora"]


UNNAMED = """WEBVTT

00:00:00.000 --> 00:00:02.000
¿Cómo parte el día?

00:00:02.000 --> 00:00:04.000
Bueno, parte temprano, con las familias

00:00:04.000 --> 00:00:06.000
que llegan solas.

00:00:06.000 --> 00:00:08.000
Y el equipo

00:00:11.000 --> 00:00:13.000
ya está adentro.
"""


def test_subtitles_without_speaker_names_give_a_turn_per_sentence_with_its_cue_time():
    parsed = parse_subtitles(UNNAMED, path="sin_nombres.vtt", kind="vtt")
    # A sentence going on in the next cue stays one turn; a pause of 2 s or more opens one even mid-sentence.
    assert spoken(parsed) == [
        (None, "¿Cómo parte el día?", 0.0),
        (None, "Bueno, parte temprano, con las familias que llegan solas.", 2.0),
        (None, "Y el equipo", 6.0),
        (None, "ya está adentro.", 11.0),
    ]
    assert not parsed.labelled and parsed.uncertain
    assert "one per cue; a sentence going on in the next cue" in parsed.joined
    assert any("the cues carry no speaker names" in n and "--speakers" in n and "diarization" in n
               for n in parsed.notes)


def test_subtitles_without_speaker_names_or_punctuation_give_a_turn_per_cue():
    text = UNNAMED
    for mark in ("día?", "solas.", "adentro."):
        text = text.replace(mark, mark[:-1])
    parsed = parse_subtitles(text, path="auto.vtt", kind="vtt")
    assert [t.timestamp for t in parsed.turns] == [0.0, 2.0, 4.0, 6.0, 11.0]
    assert parsed.joined == "one per cue: the cues end no sentences"


def test_subtitles_without_speaker_names_remedy_works():
    # What the report advises: 'Name: ' where each speaker starts, then speakers=[...] naming them.
    text = UNNAMED.replace("¿Cómo", "Marta: ¿Cómo").replace("Bueno,", "Julián: Bueno,")
    parsed = parse_subtitles(text, path="con_nombres.vtt", kind="vtt", speakers=frozenset({"marta", "julian"}))
    assert [(t.speaker, t.timestamp) for t in parsed.turns] == [("Marta", 0.0), ("Julián", 2.0)]
    assert parsed.text[parsed.turns[1].start:parsed.turns[1].end].endswith("ya está adentro.")
