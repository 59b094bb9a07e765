"""A "Word word: ..." line inside a speaker's turn (Por ejemplo: ..., Yo le dije: ...) stays that speaker's.

Found by the format-matrix property test: in a file whose labels are diarization codes (SPEAKER_00), a line
without a label is read as a turn of nobody, and a line opening with a colon the speaker judge reads as speech
was read so too — the load report said both "kept inside speech" and "no speaker". Word files were hit hardest:
their paragraphs are blank-line separated, so even a turn's second paragraph going on with an open sentence
became nobody's. Siblings: text, Word and subtitle files; bracketed codes; names as labels; the line above
ending a sentence or not.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc

ASIDES = ["Por ejemplo: sí", "Yo le dije: no", "So basically: yes", "Nota: eso pasó", "A veces: sí", "I told her: no"]
LABELS = {
    "codes": ("SPEAKER_00", "SPEAKER_01"),
    "bracketed codes": ("[SPEAKER_00]", "[SPEAKER_01]"),
    "names": ("Entrevistadora", "Marta Rojas"),
}


def _write(tmp_path: Path, suffix: str, lines: list[str]) -> Path:
    path = tmp_path / f"entrevista{suffix}"
    if suffix == ".docx":
        import docx

        document = docx.Document()
        for line in lines:
            document.add_paragraph(line)
        document.save(str(path))
    elif suffix == ".srt":
        path.write_text("\n".join(f"{n}\n00:00:{n * 3:02d},000 --> 00:00:{n * 3 + 2:02d},000\n{line}\n"
                                  for n, line in enumerate(lines, 1)), encoding="utf-8")
    else:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _turns(path: Path) -> tuple[list[tuple[str | None, list[str]]], str]:
    corpus, report = qc.load_corpus(path, language="es")
    got = [(None if pd.isna(speaker) else str(speaker), str(text).split())
           for speaker, text in zip(corpus.segments["speaker"], corpus.segments["text"], strict=True)]
    return got, str(report.iloc[0]["message"])


@pytest.mark.parametrize("suffix", [".txt", ".docx", ".srt"])
@pytest.mark.parametrize("labels", list(LABELS))
@pytest.mark.parametrize("answer", ["Sí", "Sí, claro."])  # the line above leaves its sentence open, or ends it
def test_colon_aside_inside_a_turn_stays_with_its_speaker(tmp_path, suffix, labels, answer):
    asker, other = LABELS[labels]
    for n, aside in enumerate(ASIDES):
        lines = [f"{asker}: ¿Cómo parte el día?", f"{other}: {answer}", aside, f"{asker}: ¿Y la red?",
                 f"{other}: Ayuda."]
        (tmp_path / str(n)).mkdir()
        got, message = _turns(_write(tmp_path / str(n), suffix, lines))
        a, o = asker.strip("[]"), other.strip("[]")
        assert got == [(a, ["¿Cómo", "parte", "el", "día?"]), (o, f"{answer} {aside}".split()),
                       (a, ["¿Y", "la", "red?"]), (o, ["Ayuda."])], (aside, got)
        assert "no speaker label" not in message


@pytest.mark.parametrize("going_on", ["y después el correo.", "Y después el correo."])
def test_word_paragraph_going_on_with_an_open_sentence_stays_with_its_speaker(tmp_path, going_on):
    # Word separates paragraphs with a blank line; the turn's first paragraph leaves its sentence open.
    path = _write(tmp_path, ".docx", ["SPEAKER_00: ¿Cómo parte el día?", "SPEAKER_01: Con el WhatsApp", going_on,
                                      "SPEAKER_00: ¿Y la red?", "SPEAKER_01: Ayuda."])
    got, message = _turns(path)
    assert got[1] == ("SPEAKER_01", f"Con el WhatsApp {going_on}".split())
    assert len(got) == 4 and "no speaker label" not in message


@pytest.mark.parametrize("suffix", [".txt", ".docx"])
def test_sentence_without_label_after_a_finished_turn_is_still_nobodys(tmp_path, suffix):
    # The fix keeps asides and open sentences with their speaker; a whole sentence diarization left without a
    # label is still a turn of no speaker, reported, in Word files as in text files.
    path = _write(tmp_path, suffix, ["SPEAKER_00: ¿Cómo parte el día?", "SPEAKER_01: Con el WhatsApp.",
                                     "Y después el correo.", "SPEAKER_00: ¿Y la red?", "SPEAKER_01: Ayuda."])
    got, message = _turns(path)
    assert got[2] == (None, ["Y", "después", "el", "correo."])
    assert "1 line(s) carry no speaker label" in message
