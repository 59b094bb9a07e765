"""Issue 16 kind 2 (subtitles), the family: ``Name:`` written on only some cues of a .vtt/.srt, each name once,
is read as speakers without --speakers; cues without a name continue the previous speaker (before the first name:
unnamed), and the row says so. Colons in speech at a cue's start stay speech."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.io.subtitles import parse_subtitles


def srt(cues: list[str]) -> str:
    return "\n".join(f"{n}\n00:00:{n * 3:02d},000 --> 00:00:{n * 3 + 2:02d},000\n{text}\n"
                     for n, text in enumerate(cues, 1))


def vtt(cues: list[str]) -> str:
    return "WEBVTT\n\n" + "\n".join(f"00:00:{n * 3:02d}.000 --> 00:00:{n * 3 + 2:02d}.000\n{text}\n"
                                    for n, text in enumerate(cues, 1))


SOME = ["Ana Soto: ¿Cómo parte el día?", "Cuéntame con calma.", "Luis Pérez: Con el WhatsApp.", "Y el correo.",
        "Rosa Díaz: Yo igual."]


@pytest.mark.parametrize("kind, render", [("srt", srt), ("vtt", vtt)])
def test_subtitle_names_on_some_cues_each_once_are_speakers(kind, render):
    parsed = parse_subtitles(render(SOME), path=f"x.{kind}", kind=kind)
    got = [(t.speaker, t.timestamp, parsed.text[t.start:t.end]) for t in parsed.turns]
    assert got == [("Ana Soto", 3.0, "¿Cómo parte el día? Cuéntame con calma."),
                   ("Luis Pérez", 9.0, "Con el WhatsApp. Y el correo."), ("Rosa Díaz", 15.0, "Yo igual.")]
    assert parsed.uncertain
    assert any("3 cue(s) open with a name and a colon on only some cues" in n
               and "2 cue(s) without a name continue the previous speaker's turn" in n for n in parsed.notes)


def test_subtitle_names_on_some_cues_before_the_first_name_are_unnamed():
    parsed = parse_subtitles(srt(["Bienvenidos al taller.", *SOME]), path="x.srt", kind="srt")
    assert [t.speaker for t in parsed.turns] == [None, "Ana Soto", "Luis Pérez", "Rosa Díaz"]
    assert any("the 1 cue(s) before the first name are unnamed" in n for n in parsed.notes)


@pytest.mark.parametrize("cues", [
    ["Hola a todos.", "Por ejemplo: el correo.", "A veces: nada.", "I told her: no.", "Luego seguimos."],
    ["Hola a todos.", "Ana Soto: el correo.", "Luego seguimos.", "Bien."],  # one name: no evidence of a shape
])
def test_subtitle_names_on_some_cues_colons_in_speech_stay_speech(cues):
    parsed = parse_subtitles(srt(cues), path="x.srt", kind="srt")
    assert not parsed.labelled and all(t.speaker is None for t in parsed.turns)


def test_subtitle_names_on_some_cues_named_speakers_read_the_same():
    parsed = parse_subtitles(srt(SOME), path="x.srt", kind="srt", speakers=frozenset({"ana soto", "luis perez"}))
    assert [t.speaker for t in parsed.turns] == ["Ana Soto", "Luis Pérez", "Rosa Díaz"]


def test_subtitle_names_on_some_cues_row_and_cli(tmp_path):
    path = tmp_path / "sesion.vtt"
    path.write_text(vtt(SOME), encoding="utf-8")
    corpus, report = qc.load_corpus(path)
    row = report.iloc[0]
    assert row["status"] == "warning" and "3 turns, 3 speakers" in row["message"]
    assert set(corpus.segments["speaker"]) == {"Ana Soto", "Luis Pérez", "Rosa Díaz"}
    result = CliRunner().invoke(app, ["load", str(path)])
    assert result.exit_code == 0 and "on only some cues" in result.output and "edit that cue" in result.output
