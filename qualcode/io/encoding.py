"""Bytes to clean text: the "never mojibake" layer.

Transcripts arrive as UTF-8 (with or without a byte-order mark), UTF-16
(Word's "Unicode text"), or Windows-1252 from Spanish-locale Windows. This
module decides which, refuses binary files that carry a text extension, and
normalises newlines and Unicode so character offsets mean the same thing on
every machine.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ..errors import BinaryFileError, EmptyDocumentError, EncodingError

__all__ = ["decode_bytes", "read_text", "normalize_text", "sniff_binary"]

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]

# Magic numbers of the binary files people most often rename by mistake.
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (perhaps a .docx or .xlsx file)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.doc/.xls) or an encrypted Office file"),
    (b"{\\rtf", "a Rich Text Format (.rtf) document"),
    (b"ID3", "an MP3 audio file"),
    (b"RIFF", "a WAV/AVI media file"),
    (b"\x1f\x8b", "a gzip archive"),
]

# Code pages tried, in order, when the bytes are not UTF-8. Windows-1252 first:
# it is what Spanish-locale Windows and Excel write, and it is a superset of
# Latin-1 for every printable character.
_LEGACY = ["cp1252", "latin_1", "mac_roman", "cp850"]


def sniff_binary(data: bytes) -> str | None:
    """Return a description of ``data`` if it looks binary, else ``None``."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    head = data[:8192]
    if b"\x00" in head and _utf16_without_bom(head) is None:
        return "a binary file (it contains NUL bytes)"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """Detect BOM-less UTF-16 by where its NUL bytes fall."""
    if len(head) < 4:
        return None
    even = head[0::2]
    odd = head[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def decode_bytes(data: bytes, *, path: str | Path | None = None) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``.

    The byte-order mark decides first; then strict UTF-8; then BOM-less
    UTF-16; then charset detection among the code pages Spanish and English
    users meet (Windows-1252 preferred).

    Raises
    ------
    BinaryFileError
        If the bytes are an image, PDF, archive or other binary file.
    EncodingError
        If no candidate decodes the bytes.

    Examples
    --------
    >>> decode_bytes("acción".encode("cp1252"))
    ('acción', 'cp1252')
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.replace("-sig", "") + "-bom"
            except UnicodeDecodeError as exc:
                raise EncodingError(
                    f"{path or '<input>'}: starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding} ({exc.reason} at byte {exc.start}). Re-save it as UTF-8.",
                    path=path,
                ) from None
    what = sniff_binary(data)
    if what is not None:
        raise BinaryFileError(
            f"{path or '<input>'}: this looks like {what}, not a text transcript. "
            "Export the transcript as plain text (.txt), Word (.docx) or subtitles (.vtt/.srt).",
            path=path,
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_bom(data[:8192])
    if utf16 is not None:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    encoding = _detect_legacy(data)
    if encoding is None:
        raise EncodingError(
            f"{path or '<input>'}: the text encoding could not be detected. "
            "Open the file in a text editor and save it as UTF-8.",
            path=path,
        )
    return data.decode(encoding), encoding


def _detect_legacy(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LEGACY).best()
    candidates = ([best.encoding] if best is not None else []) + _LEGACY
    # charset-normalizer often names latin_1 where the file is cp1252: they agree
    # on every letter Spanish uses, and cp1252 also has the curly quotes and
    # dashes Word inserts, so prefer it whenever it decodes.
    if candidates[0] in ("latin_1", "iso8859_15"):
        candidates.insert(0, "cp1252")
    for encoding in candidates:
        try:
            data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return encoding
    return None


_TRAILING_EOF = re.compile(r"\x1a[\x1a\s]*\Z")


def normalize_text(text: str) -> str:
    """Normalise newlines to ``\\n`` and Unicode to NFC; map Word's odd breaks.

    Offsets in qualcode always index the normalised text, so the same
    transcript saved on Windows (CRLF, NFC) or macOS (LF, NFD file names)
    gives the same segments.

    Examples
    --------
    >>> normalize_text("a\\r\\nb\\rc\\x0bd")
    'a\\nb\\nc\\nd'
    >>> normalize_text("Con eso.\\n\\x1a")
    'Con eso.\\n'
    """
    # A DOS end-of-file mark (Ctrl-Z) at the end is the end of the file, not part of the last turn.
    text = _TRAILING_EOF.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Word's manual line break (vertical tab), form feed, and the Unicode
    # line/paragraph separators all mean "new line" to a reader.
    for char in ("\x0b", "\x0c", "\u2028", "\u2029", "\x85"):
        if char in text:
            text = text.replace(char, "\n")
    if "\ufeff" in text:
        text = text.replace("\ufeff", "")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def read_text(path: str | Path) -> tuple[str, str]:
    """Read a text file, returning ``(normalised_text, encoding)``.

    Raises
    ------
    EmptyDocumentError
        If the file is empty or holds only white space.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise EmptyDocumentError(
            f"{path}: the file is empty{' (only white space)' if data else ''}. "
            "Check that the transcript was exported completely, or remove the file from the batch.",
            path=path,
        )
    text, encoding = decode_bytes(data, path=path)
    text = normalize_text(text)
    if not text.strip():
        raise EmptyDocumentError(
            f"{path}: the file holds only white space. Check the export, or remove the file.",
            path=path,
        )
    return text, encoding
