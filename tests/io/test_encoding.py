from __future__ import annotations

import pytest

from qualcode.errors import BinaryFileError, EmptyDocumentError
from qualcode.io.encoding import decode_bytes, normalize_text, read_text

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
    with pytest.raises(BinaryFileError, match="foto.txt.*PNG image"):
        read_text(path)


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  "])
def test_read_text_refuses_empty_and_blank_files(write, content):
    path = write("vacio.txt", content)
    with pytest.raises(EmptyDocumentError, match="vacio.txt"):
        read_text(path)


def test_read_text_refuses_blank_utf16_file(write):
    path = write("vacio16.txt", "  \n  ", encoding="utf-16")
    with pytest.raises(EmptyDocumentError):
        read_text(path)
