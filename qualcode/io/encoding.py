"""Bytes to clean text: the "never mojibake" layer.

Transcripts arrive as UTF-8 (with or without a byte-order mark), UTF-16
(Word's "Unicode text"), or Windows-1252 from Spanish-locale Windows. This
module decides which, refuses binary files that carry a text extension, and
normalises newlines and Unicode so character offsets mean the same thing on
every machine.

Three repairs are made, and reported line by line (:class:`Decoded`):

- a UTF-8 file with an answer pasted from a Windows-1252 file keeps its
  UTF-8 lines as they are; only the byte runs that are not UTF-8 are read as
  Windows-1252 (one pasted answer must not turn the whole file into
  ``PeÃ±alolÃ©n``);
- C1 control characters (U+0080–U+009F) that a cp1252 → Latin-1 → UTF-8
  conversion left where curly quotes, dashes, ``…`` or ``€`` belonged become
  those characters again;
- UTF-8 text that was once read as Windows-1252 and saved again
  (``PeÃ±alolÃ©n``, ``â€œ``) gets its letters back, run by run, only where
  the garbled run decodes as UTF-8.
"""

from __future__ import annotations

import bisect
import codecs
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import BinaryFileError, EmptyDocumentError, EncodingError

__all__ = ["Decoded", "decode", "decode_bytes", "normalize_text", "read_decoded", "read_text", "sniff_binary"]

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
    UTF-16; then UTF-8 with Windows-1252 lines (``"utf-8+cp1252"``); then
    charset detection among the code pages Spanish and English users meet
    (Windows-1252 preferred). C1 controls standing for cp1252 punctuation are
    mapped back. :func:`decode` also says which lines were repaired.

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
    decoded = decode(data, path=path)
    return decoded.text, decoded.encoding


def _decode_whole(data: bytes, path: str | Path | None) -> tuple[str, str]:
    """The encoding decision (see :func:`decode_bytes`), before the C1 and garbled-text repairs."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding.replace("-sig", "") + "-bom"
            except UnicodeDecodeError as exc:
                if bom == codecs.BOM_UTF8:
                    # Notepad's UTF-8 with a Windows-1252 answer pasted or appended later.
                    return data[len(bom):].decode("utf-8", errors="qualcode.cp1252"), MIXED
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
    mixed = _decode_mixed(data)
    if mixed is not None:
        return mixed, MIXED
    legacy = _detect_legacy(data)
    if legacy is None:
        raise EncodingError(
            f"{path or '<input>'}: the text encoding could not be detected. "
            "Open the file in a text editor and save it as UTF-8.",
            path=path,
        )
    return data.decode(legacy), legacy


def _detect_legacy(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LEGACY).best()
    candidates = ([best.encoding] if best is not None else []) + _LEGACY
    # charset-normalizer often names latin_1 where the file is cp1252: they agree
    # on every letter Spanish uses, and cp1252 also has the curly quotes and
    # dashes Word inserts, so prefer it whenever it decodes.
    if candidates[0] in ("latin_1", "iso8859_15"):
        candidates.insert(0, "cp1252")
    decoded: dict[str, str] = {}
    for encoding in dict.fromkeys(candidates):
        try:
            decoded[encoding] = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    if not decoded:
        return None
    # On a short text (an attributes sheet: "Quién;Cuándo") charset-normalizer can take Mac Roman or CP850 for
    # Windows-1252, turning é into È and á into ·. The reading that gives the letters and punctuation of
    # Spanish and English text, and the fewest other characters, wins; ties keep charset-normalizer's order.
    first = next(iter(decoded))
    return max(decoded, key=lambda encoding: (_plausibility(decoded[encoding]), encoding == first))


# What non-ASCII characters Spanish and English transcripts and sheets hold (Excel and Word punctuation too).
_EXPECTED = set("áéíóúüñÁÉÍÓÚÜÑ¿¡çÇàèìòùÀÈÌÒÙâêîôûãõ‘’“”–—…«»°ºª€·")


def _plausibility(text: str) -> int:
    """Expected letters minus unexpected ones: a mis-chosen 8-bit code page shows as odd symbols (È, ·, Ò)."""
    odd = [c for c in text if ord(c) > 127]
    # · and È are expected in their own right, but not in the places where a misread é or á puts them: between
    # two lowercase letters.
    expected = sum(1 for c in odd if c in _EXPECTED)
    inside_words = len(re.findall(r"(?<=[a-z])[·ÈÒÛ](?=[a-z])", text))
    return expected - 2 * inside_words - (len(odd) - expected)


_TRAILING_EOF = re.compile(r"\x1a[\x1a\s]*\Z")


# -- repairs, reported line by line ------------------------------------------------------------

MIXED = "utf-8+cp1252"
_GUESSED = ("cp1252", "latin_1", "mac_roman", "cp850", "utf-16-le", "utf-16-be")
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_C1 = re.compile("[\x80-\x9f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _cp1252_run(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 are read as Windows-1252 (U+FFFD where it has none)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start:error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error("qualcode.cp1252", _cp1252_run)


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, and what was repaired on the way (1-based line numbers).

    Attributes
    ----------
    text : str
        The decoded text.
    encoding : str
        ``utf-8``, ``utf-8-bom``, ``utf-16-bom``, ``utf-16-le``, ``cp1252``, …,
        or ``utf-8+cp1252`` for UTF-8 with some lines in Windows-1252.
    repaired_lines : tuple of int
        Lines whose bytes were not UTF-8 and were read as Windows-1252.
    c1_lines : tuple of int
        Lines where C1 control characters became the cp1252 punctuation they stand for.
    unmapped : tuple of int
        Lines with bytes or controls that mean nothing in Windows-1252 (bytes
        became U+FFFD; controls U+0081, U+008D, U+008F, U+0090, U+009D are kept).
    double_lines : tuple of int
        Lines where UTF-8 text that had been read as Windows-1252 once before
        (``PeÃ±alolÃ©n``, ``Itâ€™s``) was given back its letters.

    Examples
    --------
    >>> d = decode("Peñalolén\\n".encode("utf-8") + "Después".encode("cp1252"))
    >>> d.text, d.encoding, d.repaired_lines
    ('Peñalolén\\nDespués', 'utf-8+cp1252', (2,))
    """

    text: str
    encoding: str
    repaired_lines: tuple[int, ...] = ()
    c1_lines: tuple[int, ...] = ()
    unmapped: tuple[int, ...] = ()
    double_lines: tuple[int, ...] = ()

    def warnings(self, name: str | None = None) -> list[str]:
        """Load-report lines for what was repaired in file ``name`` (empty when nothing was).

        Without ``name`` the lines start with the line numbers: for a report row that names the file once.
        """
        out = []
        name = f"{name}, " if name else ""
        if self.repaired_lines:
            out.append(f"{name}{_lines(self.repaired_lines)}: not UTF-8 (other lines are); read as "
                       "Windows-1252, as text pasted from another program usually is. Check the text there, and "
                       "save the file as UTF-8 to make this warning go away")
        if self.c1_lines:
            out.append(f"{name}{_lines(self.c1_lines)}: invisible control characters (U+0080-U+009F) read as "
                       "the Windows-1252 quotes, dashes, '…' or '€' they stand for")
        if self.double_lines:
            out.append(f"{name}{_lines(self.double_lines)}: text garbled by an earlier wrong conversion "
                       "('PeÃ±alolÃ©n', 'â€œ') given back its letters ('Peñalolén', '“'); check it there")
        if self.unmapped:
            out.append(f"{name}{_lines(self.unmapped)}: bytes or control characters that mean nothing in "
                       "Windows-1252 (shown as '\ufffd' or kept); retype those characters and save as UTF-8")
        return out

    def notes(self, name: str | None = None) -> list[str]:
        """Load-report lines that are facts, not problems: a guessed encoding (``name``: the file, if said)."""
        if self.encoding in _GUESSED:
            return [f"{name or 'the file'} is not UTF-8: its encoding was guessed as {self.encoding}; "
                    "if accents look wrong, save it as UTF-8 and load it again"]
        return []


def decode(data: bytes, *, path: str | Path | None = None) -> Decoded:
    """Decode ``data`` as :func:`decode_bytes` does, saying which lines were repaired.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    path : str or Path, optional
        For messages.

    Returns
    -------
    Decoded
        Text (not yet normalised), encoding, and repaired line numbers.

    Raises
    ------
    BinaryFileError
        If the bytes are an image, PDF, archive or other binary file.
    EncodingError
        If no candidate decodes the bytes.

    Examples
    --------
    >>> decode("\\x93sí\\x94".encode("utf-8")).text
    '“sí”'
    """
    text, encoding = _decode_whole(data, path)
    repaired: tuple[int, ...] = ()
    unmapped: tuple[int, ...] = ()
    if encoding == MIXED:
        repaired, unmapped = _repaired_lines(data)
    # UTF-8 writes C1 controls with a C2 byte and the letters of garbled text (Ã, Â, â) with a C3
    # byte: two fast tests spare regular-expression passes over large clean files.
    clean_utf8 = encoding in ("utf-8", "utf-8-bom")
    if clean_utf8 and b"\xc3" not in data and b"\xc2" not in data:
        return Decoded(text, encoding)
    c1_lines: tuple[int, ...] = ()
    controls: tuple[int, ...] = ()
    if not (clean_utf8 and b"\xc2" not in data):
        # C1 first: a garbled "â\x80\x9c" (read as Latin-1) becomes "â€œ", which the next step turns into "“".
        text, c1_lines, controls = _map_c1(text)
    text, double = _undo_double_decoding(text)
    if controls and double:
        controls = _map_c1(text)[2]  # the garbled runs may have used some of them up
    return Decoded(text, encoding, repaired, c1_lines, tuple(sorted({*unmapped, *controls})), double)


def _decode_mixed(data: bytes) -> str | None:
    """UTF-8 whose invalid byte runs are read as Windows-1252; ``None`` without UTF-8 evidence.

    The evidence is a line that is valid UTF-8 beyond ASCII, or at least two
    UTF-8 sequences: a Windows-1252 file almost never has either by chance.
    """
    sequences = 0
    for _ in _UTF8_SEQUENCE.finditer(data):
        sequences += 1
        if sequences >= 2:
            break
    if sequences == 0:
        return None
    if sequences < 2 and not any(not line.isascii() and _is_utf8(line) for line in data.splitlines()):
        return None
    return data.decode("utf-8", errors="qualcode.cp1252")


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _repaired_lines(data: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Lines that were not UTF-8, and those of them with bytes Windows-1252 does not define."""
    repaired, unmapped = [], []
    for number, line in enumerate(data.splitlines(), 1):
        if line.isascii() or _is_utf8(line):
            continue
        repaired.append(number)
        if "\ufffd" in line.decode("utf-8", errors="qualcode.cp1252"):
            unmapped.append(number)
    return tuple(repaired), tuple(unmapped)


def _map_c1(text: str) -> tuple[str, tuple[int, ...], tuple[int, ...]]:
    """C1 controls → the cp1252 characters they stand for; returns the text, mapped and unmapped lines."""
    if text.isascii() or _C1.search(text) is None:
        return text, (), ()
    starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
    mapped: set[int] = set()
    kept: set[int] = set()

    def swap(match: re.Match[str]) -> str:
        line = bisect.bisect_right(starts, match.start())
        try:
            char = bytes([ord(match.group())]).decode("cp1252")
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: nothing in cp1252
            kept.add(line)
            return match.group()
        mapped.add(line)
        return char

    return _C1.sub(swap, text), tuple(sorted(mapped)), tuple(sorted(kept))


# UTF-8 read as Windows-1252 once ("mojibake"): the lead byte of a Spanish letter or of ¿ ¡ ° (Ã, Â)
# or of a curly quote, dash, ellipsis or euro (â€, â‚) followed by continuation characters. Only these
# shapes are repaired: they almost never occur in real Spanish or English text.
_CONTINUATION = "".join(sorted({bytes([b]).decode("cp1252", errors="ignore") for b in range(0x80, 0xC0)} - {""}))
_DOUBLE = re.compile(f"(?:[ÂÃ][{re.escape(_CONTINUATION)}]|â[€‚][{re.escape(_CONTINUATION)}\x81\x8d\x8f\x90\x9d])+")


def _undo_double_decoding(text: str) -> tuple[str, tuple[int, ...]]:
    """``PeÃ±alolÃ©n`` → ``Peñalolén`` where the garbled run decodes as UTF-8; returns the lines repaired."""
    if not ("Ã" in text or "Â" in text or "â€" in text or "â‚" in text) or _DOUBLE.search(text) is None:
        return text, ()
    starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
    fixed: set[int] = set()

    def undo(match: re.Match[str]) -> str:
        run = match.group()
        try:
            good = bytes(_cp1252_byte(c) for c in run).decode("utf-8")
        except (UnicodeError, ValueError):
            return run
        fixed.add(bisect.bisect_right(starts, match.start()))
        return good

    return _DOUBLE.sub(undo, text), tuple(sorted(fixed))


def _cp1252_byte(char: str) -> int:
    """The byte Windows-1252 writes for ``char``; C1 controls stand for the five bytes it leaves undefined."""
    try:
        return char.encode("cp1252")[0]
    except UnicodeEncodeError:
        return ord(char)  # ValueError in bytes() above when it is beyond a byte


def _lines(numbers: tuple[int, ...]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


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
    decoded = read_decoded(path)
    return decoded.text, decoded.encoding


def read_decoded(path: str | Path, *, data: bytes | None = None) -> Decoded:
    """Read a text file into a :class:`Decoded`: normalised text, encoding, repaired lines.

    Parameters
    ----------
    path : str or Path
        A text file (transcript, subtitles, CSV).
    data : bytes, optional
        The file's bytes, when the caller has read them already (the file is then not read again).

    Returns
    -------
    Decoded
        ``text`` normalised by :func:`normalize_text`; ``warnings(path)``
        gives the load-report lines for repairs.

    Raises
    ------
    EmptyDocumentError
        If the file is empty or holds only white space.
    BinaryFileError, EncodingError
        As :func:`decode`.

    Examples
    --------
    >>> read_decoded("data_samples/transcripts/int_d01_ronda1.txt").encoding  # doctest: +SKIP
    'utf-8'
    """
    path = Path(path)
    if data is None:
        data = path.read_bytes()
    if not data.strip():
        raise EmptyDocumentError(
            f"{path}: the file is empty{' (only white space)' if data else ''}. "
            "Check that the transcript was exported completely, or remove the file from the batch.",
            path=path,
        )
    decoded = decode(data, path=path)
    text = normalize_text(decoded.text)
    if not text.strip():
        raise EmptyDocumentError(
            f"{path}: the file holds only white space. Check the export, or remove the file.",
            path=path,
        )
    return replace(decoded, text=text)
