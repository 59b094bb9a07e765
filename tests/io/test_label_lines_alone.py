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
    assert "no speaker labels found in 8 text lines of 4 cues: read as one speaker, 1 turn (consecutive cues " \
           "joined)" in message
    assert any(issubclass(w.category, NoSpeakerLabelsWarning) for w in caught)
