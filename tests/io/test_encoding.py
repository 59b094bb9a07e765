from __future__ import annotations

from pathlib import Path

import pytest

import qualcode as qc
from qualcode.errors import BinaryFileError, EmptyDocumentError
from qualcode.io.encoding import decode, decode_bytes, normalize_text, read_text

SPANISH = "¿Cómo está la educadora? ¡Año difícil! Acción, niño, pingüino, “comillas” — fin…"


@pytest.mark.parametrize(
    "encoding, expected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-bom"), ("utf-16", "utf-16-bom"),
     ("utf-16-le", "utf-16-le"), ("cp1252", "cp1252")],
)
def test_decode_bytes_reads_spanish_in_every_common_encoding(encoding, expected):
    text, found = decode_bytes(SPANISH.encode(encoding))
    assert text.lstrip("\ufeff") == SPANISH
    assert found == expected


def test_decode_bytes_reads_latin1_without_mojibake():
    text, _ = decode_bytes("Educación inicial: niñas y niños.".encode("latin-1"))
    assert text == "Educación inicial: niñas y niños."


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_normalize_text_folds_every_newline_style(newline):
    assert normalize_text(f"a{newline}b{newline}{newline}c") == "a\nb\n\nc"


def test_normalize_text_composes_decomposed_accents():
    decomposed = "Jose\u0301 y Mari\u0301a"
    assert normalize_text(decomposed) == "José y María"


def test_read_text_refuses_png_renamed_txt(write):
    path = write("foto.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(BinaryFileError, match=r"foto\.txt.*PNG image"):
        read_text(path)


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  "])
def test_read_text_refuses_empty_and_blank_files(write, content):
    path = write("vacio.txt", content)
    with pytest.raises(EmptyDocumentError, match=r"vacio\.txt"):
        read_text(path)


def test_read_text_refuses_blank_utf16_file(write):
    path = write("vacio16.txt", "  \n  ", encoding="utf-16")
    with pytest.raises(EmptyDocumentError):
        read_text(path)


# Encodings per line (issue 16, kind 5) -------------------------------------------------------

REAL = Path(__file__).parents[1] / "data" / "real"


def _segments(path):
    corpus, report = qc.load_corpus(path)
    assert report.n_errors == 0
    segs = corpus.segments
    for doc_id, start, end, text in segs[["doc_id", "start", "end", "text"]].itertuples(index=False):
        assert corpus.text(doc_id)[start:end] == text
    return corpus, report, list(segs[["speaker", "speaker_role", "text"]].itertuples(index=False, name=None))


def test_mixed_encodings_a_pasted_cp1252_answer_does_not_turn_utf8_lines_into_mojibake():
    corpus, report, segs = _segments(REAL / "mixed_utf8_cp1252.txt")
    assert segs == [
        ("ENTREVISTADORA", "interviewer", "¿Cómo se organizó la red este año?"),
        ("DIRECTORA 5", "participant", "Nos reunimos en la escuela de Peñalolén; la educadora trajo los gráficos de "
         "asistencia y conversamos sobre la inclusión de niños con necesidades educativas especiales."),
        ("ENTREVISTADORA", "interviewer", "¿Qué pasó después?"),
        ("DIRECTORA 5", "participant",
         "Después vino la “reflexión” – el equipo dijo que sí, que el año próximo seguimos."),
    ]
    assert corpus.documents["encoding"].iloc[0] == "utf-8+cp1252"
    row = report.iloc[0]
    assert row["status"] == "warning"
    assert "mixed_utf8_cp1252.txt: line 7: not UTF-8 (other lines are); read as Windows-1252" in row["message"]


def test_mixed_encodings_c1_controls_become_the_cp1252_quotes_they_stand_for():
    corpus, report, segs = _segments(REAL / "c1_controls.txt")
    assert segs[1] == ("D2", "participant", "Es un “espacio seguro”, donde uno puede decir ‘no sé’ sin miedo.")
    assert not any(0x80 <= ord(c) <= 0x9F for c in corpus.text("c1_controls"))
    assert report.iloc[0]["status"] == "warning"
    assert "c1_controls.txt: line 3: invisible control characters (U+0080-U+009F) read as" in report.iloc[0]["message"]


def test_mixed_encodings_cp1252_runs_on_several_lines_are_named_line_by_line(write):
    utf8 = "E: ¿Cómo partió la reunión?\r\n\r\nD4: ".encode()
    data = (utf8 + "Llegó tarde el “café” – nadie se quejó.\r\n\r\n".encode("cp1252")
            + "E: ¿Y después?\r\n\r\nD4: Seguimos en Ñuñoa, ".encode() + "año próximo…".encode("cp1252")
            + b"\r\n")
    path = write("varias.txt", data)
    _corpus, report, segs = _segments(path)
    assert [t for _, _, t in segs] == ["¿Cómo partió la reunión?", "Llegó tarde el “café” – nadie se quejó.",
                                       "¿Y después?", "Seguimos en Ñuñoa, año próximo…"]
    assert "varias.txt: lines 3, 7: not UTF-8" in report.iloc[0]["message"]


def test_mixed_encodings_bytes_without_a_cp1252_meaning_are_reported(write):
    path = write("raro.txt", "E: ¿Qué?\n\nD1: Bien ".encode() + b"\x81 y \xe9xito.\n")
    _corpus, report, segs = _segments(path)
    assert segs[1][2] == "Bien \ufffd y éxito."
    assert "; line 3: bytes or control characters that mean nothing in Windows-1252" in report.iloc[0]["message"]


def test_mixed_encodings_c1_ellipsis_euro_and_dash_are_mapped_and_undefined_controls_reported():
    decoded = decode("Costó 5\x80 \x96 bueno\x85\nfin\x81".encode())
    assert decoded.text == "Costó 5€ – bueno…\nfin\x81"
    assert decoded.c1_lines == (1,) and decoded.unmapped == (2,)


def test_mixed_encodings_a_whole_cp1252_file_is_still_cp1252_and_the_guess_is_said(write):
    # "Ú…" is a valid UTF-8 pair by accident; one such pair is no evidence of UTF-8.
    path = write("viejo.txt", "E: ¿Qué dijo el ÑANDÚ…?\n\nD1: Que sí, niña.\n", encoding="cp1252")
    corpus, report, segs = _segments(path)
    assert corpus.documents["encoding"].iloc[0] == "cp1252"
    assert segs[0][2] == "¿Qué dijo el ÑANDÚ…?"
    assert report.iloc[0]["status"] == "ok"
    assert "its encoding was guessed as cp1252" in report.iloc[0]["message"]


def test_mixed_encodings_clean_utf8_reports_nothing(write):
    path = write("limpio.txt", "E: ¿Qué?\n\nD1: “Nada” – todo bien…\n")
    _, report, _ = _segments(path)
    assert report.iloc[0]["status"] == "ok"
    assert report.iloc[0]["message"].endswith("limpio.txt: 2 turns, 2 speakers; interviewer E (role word)")


def test_mixed_encodings_utf8_with_bom_and_an_appended_cp1252_answer_is_repaired(write):
    data = "\ufeffE: ¿Cómo?\n\nD1: ".encode("utf-8") + "Después, “bien”.".encode("cp1252") + b"\n"
    _corpus, report, segs = _segments(write("bom.txt", data))
    assert [t for _, _, t in segs] == ["¿Cómo?", "Después, “bien”."]
    assert "bom.txt: line 3: not UTF-8" in report.iloc[0]["message"]


def test_mixed_encodings_text_decoded_twice_gets_its_letters_back_and_is_reported(write):
    garbled = "D1: En PeÃ±alolÃ©n dijeron â€œsÃ­â€\x9d â€“ Â¿quÃ© mÃ¡s?"
    latin1 = "E: â\x80\x9cPregunta final\x85â\x80\x9d"
    path = write("doble.txt", f"E: ¿Dónde?\n\n{garbled}\n\n{latin1}\n")
    _corpus, report, segs = _segments(path)
    assert [t for _, _, t in segs] == ["¿Dónde?", "En Peñalolén dijeron “sí” – ¿qué más?", "“Pregunta final…”"]
    message = report.iloc[0]["message"]
    assert "; lines 3, 5: text garbled by an earlier wrong conversion" in message
    assert "doble.txt: line 5: invisible control characters" in message
    assert "mean nothing" not in message


def test_mixed_encodings_a_utf8_answer_pasted_into_a_cp1252_file_is_read_too(write):
    data = ("E: ¿Cómo partió?\n\nD1: Con miedo, año difícil.\n\nE: ¿Y después?\n\n".encode("cp1252")
            + "D1: Después, “mejor” – Peñalolén.\n".encode())
    _corpus, report, segs = _segments(write("inverso.txt", data))
    assert [t for _, _, t in segs] == ["¿Cómo partió?", "Con miedo, año difícil.", "¿Y después?",
                                       "Después, “mejor” – Peñalolén."]
    assert "inverso.txt: lines 1, 3, 5: not UTF-8 (other lines are); read as Windows-1252" in report.iloc[0]["message"]


@pytest.mark.parametrize("text", [
    "Archivo;Quién;Cargo;Comuna;Momento;Cuándo\nfg_a.txt;GF-CA;directora;Cerro Azul;diagnóstico;12/04/2023\n",
    "Quién;Cuándo\nD01;12/04/2023\n", "doc;Día\nx;lunes\n", "Nombre;Región\nAna;Ñuble\n"])
def test_short_legacy_text_is_read_as_windows_1252_not_mac_roman(text):
    # team-study: a short ;-separated Windows-1252 attributes sheet came back with headers "QuiÈn" and "Cu·ndo".
    from qualcode.io.encoding import decode_bytes

    assert decode_bytes(text.encode("cp1252")) == (text, "cp1252")


def test_text_really_in_mac_roman_still_reads_as_mac_roman():
    from qualcode.io.encoding import decode_bytes

    assert decode_bytes("Quién cuándo, según él".encode("mac_roman"))[0] == "Quién cuándo, según él"
