"""Fuzzing every reader of files from elsewhere (issue 21): a bad file is refused with a ``QualcodeError``.

Each test feeds one public reader realistic-but-mutated inputs and holds it to
two rules: it either returns a result whose every segment is exactly its
document's ``text[start:end]`` (and every imported coding's quote its span), or
it raises a :class:`~qualcode.errors.QualcodeError` subclass. Anything else (a
``KeyError``, a ``zlib.error``, a ``MemoryError``, a reader that takes longer
than the per-example deadline) fails the test. Inputs per format:

- ``.txt``/``.md``: interviews in every label shape qualcode reads (``Name:``, name alone on a line,
  ``[00:01:02] Name:``, ``Name (00:01):``, ``Name  1:05`` lines, Markdown bold, MAXQDA ``#00:00:04-2#``,
  marks inside speech), then characters inserted (controls, BOMs, line and paragraph separators,
  combining marks, right-to-left text), slices dropped or repeated, line endings mixed; written in
  UTF-8 (with and without BOM), UTF-16 (with and without BOM), cp1252, Latin-1, Mac Roman, or a mix of
  two per line; then bytes flipped, inserted or cut.
- ``.vtt``/``.srt``: cues with voice tags, ``Name:`` cues, name lines, cue settings, NOTE/STYLE blocks,
  broken and overlapping times, the same text and byte mutations.
- any suffix: random bytes.
- ``.docx``/``.xlsx``/``.qdpx`` (zips) and ``.qdc``/``.yaml`` codebooks: valid files written by
  qualcode's writers, python-docx and openpyxl (and the seeds in ``tests/data/fuzz`` and
  ``tests/data/refi``), then members dropped, repeated, renamed or replaced, their XML cut, repeated or
  spliced with markup, and the archive's bytes flipped or truncated.

The budget is fixed and the examples are derandomised, so a CI run is the same every time and takes
about a minute on two quiet cores (60 s CPU, 4,450 examples). Run longer (and with fresh random examples) locally::

    QUALCODE_FUZZ_SCALE=20 PYTHONPATH=$PWD python -m pytest -m slow -p no:cacheprovider tests/test_fuzz_readers.py

``QUALCODE_FUZZ_SCALE`` multiplies every test's number of examples; any value above 1 also turns
derandomisation off (each run then tries new inputs; a failure prints the ``@reproduce_failure``
blob and the minimal input). Minimal reproducers of what the fuzzer found are at the end of this
file, as plain tests.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import resource
import tempfile
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode import errors
from qualcode.codebook.qdc import write_qdc
from qualcode.export.refi_import import read_qdpx
from qualcode.io.docx import read_docx

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(__file__).resolve().parent / "data" / "fuzz"
REFI = Path(__file__).resolve().parent / "data" / "refi"

# Every test's example count is multiplied by this; above 1 the examples are also random (not derandomised).
SCALE = float(os.environ.get("QUALCODE_FUZZ_SCALE", "1"))
# A reader that takes longer than this on an input of a few kilobytes is stuck (a backtracking regex, a quadratic
# loop). Examples take well under a second of CPU; the deadline is wall time, and a shared CI machine running
# other suites stretches that tenfold (a .qdpx import measured 15 s under load 13 on 2 cores).
DEADLINE = timedelta(seconds=60)
# The fuzzed inputs are small; a reader that needs gigabytes for them is unbounded. The cap turns that into
# a MemoryError (a failure) instead of taking the shared machine down.
MEMORY_HEADROOM = 3 << 30


# Where a failing input is kept (the test's message names the file), to minimise it and turn it into a test.
FAILURES = Path(os.environ.get("QUALCODE_FUZZ_FAILURES", Path(tempfile.gettempdir()) / "qualcode-fuzz-failures"))


class Blob(bytes):
    """Bytes that print as their size and hash: a failing example's report stays readable (the file is kept)."""

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(f"<{len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:12]}>")  # type: ignore[attr-defined]


def budget(examples: int) -> settings:
    """Settings for one fuzz test: ``examples`` × ``QUALCODE_FUZZ_SCALE``, reproducible unless scaled."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=DEADLINE, derandomize=SCALE <= 1,
                    database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


@pytest.fixture(scope="module", autouse=True)
def memory_cap() -> Iterator[None]:
    """Cap this process's address space at its current size plus a headroom, for this module only."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as handle:
        current = int(handle.read().split()[0]) * resource.getpagesize()
    cap = current + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ----------------------------------------------------------------------------------------------- checks


# Failures the fuzzer found in modules other helpers of issue 21 are rewriting, by where they are raised (the
# innermost qualcode frame) and what they are: tolerated here so that the fuzzer keeps finding new kinds, each
# with a minimal reproducer at the end of this file (a strict xfail). When a fix lands its reproducer passes
# (XPASS fails the run): then delete the reproducer's marker and the entry here. QUALCODE_FUZZ_STRICT=1
# tolerates nothing.
KNOWN: dict[tuple[str, str, str], str] = {}  # (module, function, exception type or "*") -> reproducer
# Readers that leave a damaged file open (openpyxl's archive, after a part fails to parse): none known.
KNOWN_LEAKS: dict[str, str] = {}
# A load report row keeps the exception's name, not its traceback: a spreadsheet's raw error is the _read_xlsx one.
KNOWN_ROWS: dict[str, str] = {}  # suffix -> reproducer
STRICT = os.environ.get("QUALCODE_FUZZ_STRICT", "") not in ("", "0")


def known(exc: BaseException) -> str | None:
    """The reproducer test of an already-reported failure ``exc`` is an instance of, or None."""
    if STRICT or isinstance(exc, (AssertionError, MemoryError)):
        return None
    # The innermost qualcode function (a comprehension's frame is named "<listcomp>": its function is the caller).
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/qualcode/" in f.filename.replace(os.sep, "/") and not f.name.startswith("<")]
    if not frames:
        return None
    where = frames[-1].filename.replace(os.sep, "/").rsplit("/qualcode/", 1)[1]
    return KNOWN.get((where, frames[-1].name, type(exc).__name__)) or KNOWN.get((where, frames[-1].name, "*"))


def is_qualcode_error(name: object) -> bool:
    """True if ``name`` is the name of a QualcodeError subclass (as load reports record them)."""
    cls = getattr(errors, str(name), None)
    return isinstance(cls, type) and issubclass(cls, errors.QualcodeError)


def check_segments(documents: pd.DataFrame, segments: pd.DataFrame) -> None:
    """Every segment is its document's ``text[start:end]``, inside the text."""
    texts = dict(zip(documents["doc_id"], documents["text"], strict=True))
    for doc_id, start, end, text in segments[["doc_id", "start", "end", "text"]].itertuples(index=False):
        whole = texts[doc_id]
        assert 0 <= start <= end <= len(whole), (doc_id, start, end, len(whole))
        assert whole[start:end] == text, (doc_id, start, end, whole[start:end], text)


def check_loaded(corpus: qc.Corpus, report: pd.DataFrame) -> None:
    """A load: each file's row is ok/warning, or an error a QualcodeError reported; segments are exact."""
    for row in report.itertuples(index=False):
        if row.status == "error" and not (is_qualcode_error(row.error) and "unexpected error" not in str(row.message)):
            assert not STRICT and Path(str(row.path)).suffix.lower() in KNOWN_ROWS, f"{row.error}: {row.message}"
    check_segments(corpus.documents, corpus.segments)


def load(path: Path, **options: object) -> None:
    """Load one file as a user would; check the rules."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what readers warn about is the reader's business, not the fuzzer's
        warnings.simplefilter("always", ResourceWarning)  # but a file left open is a bug (see fuzzed_file)
        corpus, report = qc.load_corpus(path, **options)  # type: ignore[arg-type]
    check_loaded(corpus, report)


def refused_or_read(reader: Callable[[], object]) -> object | None:
    """Run ``reader``: a QualcodeError (or an already-reported failure) is a refusal (None); anything else
    propagates and fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ResourceWarning)
        try:
            return reader()
        except errors.QualcodeError:
            return None
        except Exception as exc:
            if known(exc) is None:
                raise
            return None


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="qc-fuzz-") as name:
        yield Path(name)


def _open_here(path: Path) -> bool:
    """This process still holds ``path`` open (Linux; elsewhere: assume it may)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return True
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd) == str(path):
                return True
    return False


@contextlib.contextmanager
def fuzzed_file(name: str, data: bytes) -> Iterator[Path]:
    """``data`` written as ``name`` in a fresh folder; the reader must not leave it open (a batch of thousands of
    files runs out of handles). If the block fails, the file is kept in FAILURES."""
    with folder() as tmp:
        path = tmp / name
        path.write_bytes(data)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ResourceWarning)
                yield path
                if _open_here(path):
                    gc.collect()  # a file only a reference cycle holds: its "unclosed file" warning comes now
            leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
            tolerated = not STRICT and path.suffix in KNOWN_LEAKS
            assert not leaks or tolerated, f"the reader left files open: {leaks}"
        except Exception as exc:  # (hypothesis stops an example with a BaseException: not a failure)
            FAILURES.mkdir(parents=True, exist_ok=True)
            kept = FAILURES / f"{hashlib.sha256(data).hexdigest()[:12]}-{name}"
            kept.write_bytes(data)
            exc.add_note(f"input kept in {kept}")
            raise


# ------------------------------------------------------------------------------------- text strategies

LABELS = ["ENTREVISTADORA", "Entrevistadora", "E", "P", "R", "I", "Marta Rojas", "JULIÁN", "Hablante 1",
          "Hablante 2", "SPEAKER_00", "SPEAKER_01", "Interviewer", "Participante 2", "Moderadora", "D3",
          "María José Núñez", "Dr. Pérez", "Ana (directora)", "ñ", "X" * 40]
WORDS = ["Colaboramos", "con", "confianza", "¿Cómo", "fue?", "sí", "no.", "Por ejemplo:", "la red", "y",
         "entonces", "…", "—", "«bien»", "I told her:", "A veces:", "jajaja", "12:30", "E:", "[risas]",
         "(inaudible)", "https://x.org/a:b", "😀", "ﬁn", "e\u0301", "\u202eabc", "שלום", "\t", "NO", "Sí."]
TIMES = ["00:00:04", "0:04", "01:02", "00:12:31.500", "1:02:03,250", "00:00:04-2", "99:99:99", "-0:01",
         "1 minute 5 seconds", "4 seconds", "10:15:04", "00:00:00.000", "0:0:0.0"]
SHAPES = ["{L}: {S}", "{L}:\n{S}", "[{T}] {L}: {S}", "{L} ({T}): {S}", "{T} {L}: {S}", "{L}  {T}\n{S}",
          "{L}\t{T}\n{S}", "**{L}:** {S}", "[{L}]: {S}", "{L}\n{S}", "{L}: {S} #{T}#", "[{L}] {T}\n{S}",
          "({T}) {L}: {S}", "{L}: {S} [{T}] {S}", "{S}", "{L}:", "{L}: {S}\n{S}"]
SEPARATORS = ["\n", "\n\n", "\r\n", "\r\n\r\n", "\r", "\n \n", "\u2028", "\x0c\n"]
# Characters that break naive readers: controls, BOM and zero-width marks, separators, surrogate-free oddities.
ODD = ["\x00", "\x01", "\x07", "\x1b[31m", "\x7f", "\x85", "\x9d", "\ufeff", "\u200b", "\u200d", "\u2028",
       "\u2029", "\r", "\n", "\t", "\x0b", "\x0c", "\u0301", "\ufffd", "\U0001f600", "\u00a0", ":", "[", "]",
       "-->", "#", "*", "<", ">", "&", "WEBVTT", "1\n00:00:01,000 --> 00:00:02,000\n"]
# UTF-8 most often: the other encodings' files are mostly refused once mutated, and the readers past decoding
# are where the rest of the bugs are.
ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252",
             "latin-1", "mac_roman", "utf-32", "mixed"]
# Encodings a well-formed file comes in (every character of the text can be written in them).
CLEAN_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16"]
# How many edits an input gets: often none (the realistic file itself), sometimes several.
TEXT_EDITS = [0, 0, 1, 1, 2, 3, 4]
BYTE_EDITS = [0, 0, 0, 0, 1, 2, 3]


@st.composite
def speech(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), min_size=0, max_size=12)))


@st.composite
def turn(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(SHAPES))
    label = draw(st.sampled_from(LABELS) | st.text(min_size=1, max_size=12))
    # Each {S}/{T} gets its own draw: "{S} [{T}] {S}" is speech, a mark, more speech.
    parts = shape.split("{S}")
    out = parts[0]
    for part in parts[1:]:
        out += draw(speech()) + part
    while "{T}" in out:
        out = out.replace("{T}", draw(st.sampled_from(TIMES)), 1)
    return out.replace("{L}", label)


@st.composite
def mutated_text(draw: st.DrawFn, base: str) -> str:
    """``base`` with 0-4 edits: an odd character inserted, a slice dropped or repeated, a separator changed."""
    text = base
    for _ in range(draw(st.sampled_from(TEXT_EDITS))):
        kind = draw(st.sampled_from(["insert", "drop", "repeat", "newline"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(ODD) | st.text(max_size=3)) + text[at:]
        elif kind == "drop":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif kind == "repeat":
            text = text[:at] + text[at:at + draw(st.integers(1, 60))] * draw(st.integers(2, 4)) + text[at:]
        else:
            text = text.replace("\n", draw(st.sampled_from(SEPARATORS)))
    return text


def encode(text: str, encoding: str, lines_in_cp1252: set[int]) -> bytes:
    """``text`` in ``encoding`` (unencodable characters dropped); "mixed": some lines cp1252, others UTF-8."""
    if encoding == "mixed":
        return b"\n".join(line.encode("cp1252" if i in lines_in_cp1252 else "utf-8", errors="ignore")
                          for i, line in enumerate(text.split("\n")))
    return text.encode(encoding, errors="ignore")


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes, max_edits: int = 3) -> bytes:
    """``data`` with 0-``max_edits`` byte edits: a bit flipped, bytes inserted, a cut."""
    out = bytearray(data)
    for _ in range(draw(st.sampled_from([n for n in BYTE_EDITS if n <= max_edits]))):
        kind = draw(st.sampled_from(["flip", "insert", "truncate", "zero"]))
        at = draw(st.integers(0, max(0, len(out) - 1)))
        if kind == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "truncate":
            del out[at:]
        elif out:
            out[at:at + draw(st.integers(1, 64))] = b"\x00" * len(out[at:at + 64])
    return bytes(out)


@st.composite
def transcript_file(draw: st.DrawFn) -> bytes:
    turns = draw(st.lists(turn(), min_size=1, max_size=10))
    text = ""
    for one in turns:
        text += one + draw(st.sampled_from(SEPARATORS))
    if not draw(st.booleans()):  # half the files as a service writes them: the readers' every path is reached
        return Blob(text.encode(draw(st.sampled_from(CLEAN_ENCODINGS))))
    text = draw(mutated_text(text))
    encoding = draw(st.sampled_from(ENCODINGS))
    data = encode(text, encoding, set(draw(st.lists(st.integers(0, 20), max_size=5))))
    return Blob(draw(mutated_bytes(data)))


def cue_time(seconds: float, comma: bool) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    stamp = f"{int(hours):02d}:{int(minutes):02d}:{secs:06.3f}"
    return stamp.replace(".", ",") if comma else stamp


CUE_TEXT = ["<v {L}>{S}</v>", "<v.loud {L}>{S}", "{L}: {S}", "{L}\n{S}", "{S}", "- {L}: {S}\n- {S}",
            "<b>{L}</b>: {S}", "[{L}] {S}", "", "{S}\n\n{S}", "<c.yellow>{S}</c>", "&amp; {S} &lt;"]


@st.composite
def subtitle_file(draw: st.DrawFn, kind: str) -> bytes:
    comma = kind == "srt"
    blocks = ["WEBVTT" + draw(st.sampled_from(["", " - title", "\ttab"]))] if kind == "vtt" else []
    if kind == "vtt" and draw(st.booleans()):
        blocks.append(draw(st.sampled_from(["NOTE a comment", "STYLE\n::cue { color: red }", "REGION\nid:r1",
                                            "NOTE\n00:00:01.000 --> 00:00:02.000"])))
    at = draw(st.floats(0, 4000, allow_nan=False))
    n = draw(st.integers(1, 8))
    # Most files time their cues well (overlaps and gaps included); some have one cue timed impossibly.
    odd_cue = draw(st.none() | st.integers(0, n - 1))
    for i in range(n):
        start = at + draw(st.sampled_from([0.0, 0.04, 0.5, 1.0, 3.0, -0.5]))
        end = start + draw(st.floats(0.1, 20, allow_nan=False))
        if i == odd_cue:
            end = start - draw(st.floats(0, 5, allow_nan=False))
        at = max(0.0, end)
        timing = f"{cue_time(max(0.0, start), comma)} --> {cue_time(max(0.0, end), comma)}"
        if kind == "vtt" and draw(st.booleans()):
            timing += " " + draw(st.sampled_from(["align:start position:10%", "line:0", "vertical:rl", "size:50%"]))
        shape = draw(st.sampled_from(CUE_TEXT))
        label = draw(st.sampled_from(LABELS))
        body = shape.replace("{L}", label)
        while "{S}" in body:
            body = body.replace("{S}", draw(speech()), 1)
        cue_id = str(i + 1) if kind == "srt" else draw(st.sampled_from(["", f"{i + 1}", f"cue-{i}\n"]))
        blocks.append("\n".join(part for part in (cue_id.strip(), timing, body) if part))
    text = draw(st.sampled_from(["\n\n", "\r\n\r\n", "\n\n\n"])).join(blocks) + "\n"
    if not draw(st.booleans()):
        return Blob(text.encode(draw(st.sampled_from(CLEAN_ENCODINGS))))
    text = draw(mutated_text(text))
    data = encode(text, draw(st.sampled_from(ENCODINGS)), set(draw(st.lists(st.integers(0, 40), max_size=5))))
    return Blob(draw(mutated_bytes(data)))


# -------------------------------------------------------------------------------------- zip strategies

XML_SPLICES = [b"<", b">", b"&", b"&amp;", b"&#0;", b"&#x1;", b"&#xD800;", b"&unknown;", b"]]>", b"<![CDATA[x",
               b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<!-- -->", b"<?xml version='1.0'?>", b"\x00", b"\xff\xfe",
               b"\xef\xbb\xbf", b"</w:t>", b"<w:p>", b"<w:t>E: hola</w:t>", b"<w:tab/>", b"<w:br/>",
               b"<row r=\"1048577\">", b"<c r=\"XFD1\" t=\"s\"><v>99999</v></c>", b"<c t=\"inlineStr\"><is><t>x",
               b" xml:space=\"preserve\"", b"<Code guid=\"x\" name=\"a\" isCodable=\"true\"/>",
               b"<PlainTextSelection guid=\"x\" startPosition=\"-5\" endPosition=\"999999\"/>",
               b"startPosition=\"", b"endPosition=\"", b"guid=\"", b"\"", b"'", b"xmlns:w=\"urn:x\"",
               b"<w:ins w:id=\"1\">", b"<w:del w:id=\"2\"><w:r><w:delText>x</w:delText></w:r></w:del>",
               b"<w:vMerge/>", b"<w:gridSpan w:val=\"99999\"/>", b"<w:fldChar w:fldCharType=\"begin\"/>",
               b"<w:fldChar w:fldCharType=\"end\"/>", b"<w:sym w:char=\"F0FF\"/>", b"<w:sym w:char=\"zz\"/>"]


@st.composite
def mutated_xml(draw: st.DrawFn, data: bytes) -> bytes:
    """XML bytes with 1-3 edits: cut, a slice dropped or repeated, markup spliced in."""
    out = data
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["splice", "splice", "drop", "repeat", "cut", "swap_number"]))
        at = draw(st.integers(0, len(out)))
        if kind == "splice":
            out = out[:at] + draw(st.sampled_from(XML_SPLICES) | st.binary(max_size=4)) + out[at:]
        elif kind == "drop":
            out = out[:at] + out[at + draw(st.integers(1, 200)):]
        elif kind == "repeat":
            out = out[:at] + out[at:at + draw(st.integers(1, 400))] * draw(st.integers(2, 5)) + out[at:]
        elif kind == "cut":
            out = out[:at]
        else:
            # Numbers are positions, sizes, indexes and times in these formats: make one wrong.
            digits = [i for i, byte in enumerate(out) if 48 <= byte <= 57]
            if digits:
                i = draw(st.sampled_from(digits))
                out = out[:i] + draw(st.sampled_from([b"-1", b"9999999999", b"0", b"1e5", b"", b"x", b"7"])) + out[i + 1:]
    return out


@st.composite
def mutated_zip(draw: st.DrawFn, members: dict[str, bytes]) -> bytes:
    """A zip made from ``members`` after member-level edits, then byte-level edits of the archive."""
    items = list(members.items())
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["xml", "xml", "xml", "drop", "duplicate", "rename", "replace", "empty"]))
        i = draw(st.integers(0, len(items) - 1)) if items else 0
        if not items:
            break
        name, data = items[i]
        if kind == "xml":
            items[i] = (name, draw(mutated_xml(data)))
        elif kind == "drop":
            del items[i]
        elif kind == "duplicate":
            items.insert(draw(st.integers(0, len(items))), (name, draw(mutated_xml(data)) if draw(st.booleans()) else data))
        elif kind == "rename":
            new = draw(st.sampled_from([name.upper(), name.lower(), "/" + name, "../" + name, name + "/",
                                        name.replace("/", "\\"), "x/" + name, name[:-1], "sources/" + name]))
            items[i] = (new, data)
        elif kind == "replace":
            items[i] = (name, draw(st.binary(max_size=64)))
        else:
            items[i] = (name, b"")
    buffer = io.BytesIO()
    compression = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are part of the attack
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return Blob(draw(mutated_bytes(buffer.getvalue(), max_edits=2)))


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


# -------------------------------------------------------------------------------------------- seeds

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                 b'<Default Extension="xml" ContentType="application/xml"/>'
                 b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                 b'officedocument.wordprocessingml.document.main+xml"/></Types>')
RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'officeDocument" Target="word/document.xml"/></Relationships>')


def docx_seed_from_body(body: str) -> dict[str, bytes]:
    document = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W_NS}><w:body>{body}</w:body></w:document>'
    return {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": RELS, "word/document.xml": document.encode()}


def _docx_python_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    for text in ["Entrevistadora: ¿Cómo colaboran?", "Directora: Con confianza.", "Y con tiempo: mucho."]:
        document.add_paragraph().add_run(text)
    table = document.add_table(rows=3, cols=2)
    for row, (who, said) in enumerate([("Hablante", "Texto"), ("E", "¿Y la red?"), ("D3", "Muy sola al principio.")]):
        table.cell(row, 0).text, table.cell(row, 1).text = who, said
    paragraph = document.add_paragraph("D1: primera línea")
    paragraph.add_run().add_break()
    paragraph.add_run("segunda línea")
    document.save(str(path))


_SEEDS: dict[str, list[tuple[str, dict[str, bytes] | bytes]]] = {}


def seeds(kind: str) -> list[tuple[str, dict[str, bytes] | bytes]]:
    """Valid inputs of ``kind`` (zip kinds as member dicts), written once per session by the library's writers."""
    if not _SEEDS:
        _SEEDS.update(_make_seeds())
    return _SEEDS[kind]


def _make_seeds() -> dict[str, list[tuple[str, dict[str, bytes] | bytes]]]:
    made: dict[str, list[tuple[str, dict[str, bytes] | bytes]]] = {k: [] for k in ("docx", "xlsx", "qdpx", "qdc", "yaml")}
    with folder() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _docx_python_docx(tmp / "python-docx.docx")
        made["docx"].append(("python-docx", zip_members(tmp / "python-docx.docx")))
        for path in sorted(SEEDS.glob("*.docx")) + sorted((ROOT / "data_samples" / "transcripts").glob("*.docx")):
            made["docx"].append((path.name, zip_members(path)))
        for path in sorted(SEEDS.glob("*.xml")):
            made["docx"].append((path.name, docx_seed_from_body(path.read_text(encoding="utf-8"))))
        # Survey answers and attributes written by openpyxl; a codebook workbook by qualcode's writer.
        book = openpyxl.Workbook()
        sheet = book.active
        for row in [["id", "role", "q1", "q2"], ["t1", "directora", "Colaboramos con confianza.", "=1+1"],
                    ["t2", "docente", None, "Sí: mucho"], ["t3", 3, "€ ñ 😀", "x\ny"]]:
            sheet.append(row)
        book.save(tmp / "survey.xlsx")
        made["xlsx"].append(("survey", zip_members(tmp / "survey.xlsx")))
        codebook = qc.load_codebook(ROOT / "codebooks" / "leadership.yaml")
        qc.save_codebook(codebook, tmp / "codebook.xlsx")
        made["xlsx"].append(("codebook", zip_members(tmp / "codebook.xlsx")))
        # A qualcode project with codings, exported; and the other tools' exports kept for import tests.
        write_qdc(codebook, tmp / "codebook.qdc")
        made["qdc"].append(("qualcode", (tmp / "codebook.qdc").read_bytes()))
        for path in sorted(REFI.glob("*.qdc")):
            made["qdc"].append((path.name, path.read_bytes()))
        for path in sorted((ROOT / "codebooks").glob("*.yaml")):
            made["yaml"].append((path.name, path.read_bytes()))
        made["qdpx"].append(("qualcode", zip_members(_qdpx_seed(tmp))))
        for path in sorted(REFI.glob("*.qdpx")):
            made["qdpx"].append((path.name, zip_members(path)))
        for path in sorted(REFI.glob("*.qde")):
            made["qdpx"].append((path.name, {"project.qde": path.read_bytes()}))
    return made


def _qdpx_seed(tmp: Path) -> Path:
    (tmp / "docs").mkdir()
    (tmp / "docs" / "d1.txt").write_text("ENTREVISTADORA: ¿Cómo colaboran?\nDIRECTORA: Colaboramos con confianza, "
                                         "trabajamos juntas.\n\nENTREVISTADORA: ¿Y la red?\nDIRECTORA: Nos apoya.\n",
                                         encoding="utf-8")
    (tmp / "docs" / "d2.txt").write_text("E: ¿Qué aprendió?\nP: Que la mejora es un ciclo.\n", encoding="utf-8")
    project = qc.Project.create(tmp / "seed.qualcode")
    project.add_codebook(qc.load_codebook(ROOT / "codebooks" / "leadership.yaml"))
    project.add_corpus(qc.load_corpus(tmp / "docs")[0])
    segments = project.segments
    said = segments[segments["speaker_role"] == "participant"]
    code = project.codebook().codes[0].id
    qc.accept(project, list(said["segment_id"][:2]), code, coder="ana", memo="memo\tcon tab")
    first = said.iloc[0]
    qc.add_manual(project, [first["segment_id"]], code, coder="luis", spans=[(int(first["start"]), int(first["start"]) + 5)])
    path = tmp / "seed.qdpx"
    qc.export_refi_qda(project, path)
    project.close()
    return path


def seed_of(kind: str) -> st.SearchStrategy[dict[str, bytes] | bytes]:
    return st.sampled_from(range(len(seeds(kind)))).map(lambda i: seeds(kind)[i][1])


# --------------------------------------------------------------------------------------------- tests


@pytest.mark.slow
@budget(900)
@given(data=transcript_file(), suffix=st.sampled_from([".txt", ".md"]),
       unit=st.sampled_from(["turn", "turn", "paragraph", "sentence"]),
       speakers=st.sampled_from([(), ("Marta Rojas",), ("E", "P")]))
def test_fuzz_text_transcripts_read_exactly_or_refused(data, suffix, unit, speakers):
    with fuzzed_file(f"entrevista{suffix}", data) as path:
        load(path, unit=unit, speakers=speakers)


@pytest.mark.slow
@budget(750)
@given(kind=st.sampled_from(["vtt", "srt"]), data=st.data(), unit=st.sampled_from(["turn", "paragraph"]))
def test_fuzz_subtitles_read_exactly_or_refused(kind, data, unit):
    raw = data.draw(subtitle_file(kind))
    suffix = data.draw(st.sampled_from([f".{kind}", ".vtt" if kind == "srt" else ".srt"]))  # a file misnamed too
    with fuzzed_file(f"sesion{suffix}", raw) as path:
        load(path, unit=unit)


@pytest.mark.slow
@budget(400)
@given(data=st.binary(max_size=2048).map(Blob), suffix=st.sampled_from([".txt", ".md", ".vtt", ".srt", ".docx"]))
def test_fuzz_random_bytes_are_read_exactly_or_refused(data, suffix):
    with fuzzed_file(f"x{suffix}", data) as path:
        load(path)


@pytest.mark.slow
@budget(900)
@given(data=st.data())
def test_fuzz_word_files_read_exactly_or_refused(data):
    members = data.draw(seed_of("docx"))
    assert isinstance(members, dict)
    raw, unit = data.draw(mutated_zip(members)), data.draw(st.sampled_from(["turn", "paragraph"]))
    with fuzzed_file("entrevista.docx", raw) as path:
        load(path, unit=unit)


@pytest.mark.slow
@budget(500)
@given(data=st.data())
def test_fuzz_workbooks_read_or_refused(data):
    """Survey answers, attribute sheets and codebook workbooks from a mutated ``.xlsx``."""
    which = data.draw(st.integers(0, len(seeds("xlsx")) - 1))
    name, members = seeds("xlsx")[which]
    assert isinstance(members, dict)
    with fuzzed_file(f"{name}.xlsx", data.draw(mutated_zip(members))) as path:
        if name == "survey":
            load(path, survey=qc.SurveyColumns(id="id", text=["q1", "q2"]))
            transcript = path.with_name("t1.txt")
            transcript.write_text("E: ¿Hola?\nP: Sí.\n", encoding="utf-8")
            refused_or_read(lambda: qc.load_corpus(transcript, attributes=path))
        else:
            refused_or_read(lambda: qc.load_codebook(path))


@pytest.mark.slow
@budget(600)
@given(data=st.data())
def test_fuzz_codebooks_read_or_refused(data):
    """``.qdc`` (REFI-QDA codebooks from other tools) and YAML codebooks, mutated as XML/text and as bytes."""
    kind = data.draw(st.sampled_from(["qdc", "qdc", "yaml"]))
    raw = data.draw(seed_of(kind))
    assert isinstance(raw, bytes)
    if kind == "qdc":
        raw = data.draw(mutated_xml(raw))
    else:
        raw = data.draw(mutated_text(raw.decode("utf-8"))).encode(
            data.draw(st.sampled_from(["utf-8", "utf-16", "cp1252"])), errors="ignore")
    with fuzzed_file(f"libro.{kind}", Blob(data.draw(mutated_bytes(raw, max_edits=1)))) as path:
        refused_or_read(lambda: qc.load_codebook(path))


@pytest.mark.slow
@budget(400)
@given(data=st.data())
def test_fuzz_qdpx_imports_exactly_or_refused(data):
    """A mutated ``.qdpx``: read and imported into a project whose segments and codings are exact, or refused."""
    members = data.draw(seed_of("qdpx"))
    assert isinstance(members, dict)
    with fuzzed_file("estudio.qdpx", data.draw(mutated_zip(members))) as path:
        if refused_or_read(lambda: read_qdpx(path)) is None:
            return
        target = path.with_name("estudio.qualcode")
        project = refused_or_read(lambda: qc.import_refi_qda(path, target))
        if project is None:
            leftovers = sorted(p.name for p in target.parent.iterdir() if p.name.startswith(target.name))
            assert not leftovers, f"a refused import left {leftovers} behind"
            return
        assert isinstance(project, qc.Project)
        try:
            documents = project.documents
            check_segments(documents, project.segments)
            texts = dict(zip(documents["doc_id"], documents["text"], strict=True))
            for row in qc.decisions(project).itertuples(index=False):
                assert texts[row.doc_id][row.start:row.end] == row.quote, row
        finally:
            project.close()


# --------------------------------------------------------------------- regression tests of what the fuzzer found


@pytest.mark.parametrize(("name", "content", "speech"), [
    ("voice.vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v Ana></v>\n\n"
                  "00:00:01.000 --> 00:00:02.000\n<v Luis>Colaboramos.</v>\n", ["Colaboramos."]),
    ("styled.vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<b> </b>\n<c.yellow></c>\n\n"
                   "00:00:01.000 --> 00:00:02.000\nSí, a < b.\n", ["Sí, a < b."]),
    ("italic.srt", "1\n00:00:00,000 --> 00:00:01,000\n<i></i>\n\n2\n00:00:01,000 --> 00:00:02,000\n"
                   "Colaboramos.\n", ["Colaboramos."]),
])
def test_subtitle_cue_of_markup_only_is_an_empty_cue_not_a_malformed_file(tmp_path, name, content, speech):
    """A cue whose text is only tags ("<v Ana></v>") has no words: skipped as an empty cue and reported, not
    counted as a cue with text that "could not be parsed" (which refused the whole file)."""
    (tmp_path / name).write_text(content, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", errors.NoSpeakerLabelsWarning)
        corpus, report = qc.load_corpus(tmp_path / name)
    assert list(report["status"]) == ["warning"], report["message"].tolist()
    timing_line = 2 if name.endswith(".srt") else 3
    assert f"line {timing_line}: empty cue skipped" in report["message"].iloc[0]
    assert [text.split(": ", 1)[-1] for text in corpus.segments["text"]] == speech
    check_segments(corpus.documents, corpus.segments)


# ------------------------------------------------------------------ minimal reproducers of what the fuzzer found
# Each is the smallest input found for one kind of failure. A new one starts as a strict xfail (when its fix
# lands the test passes, fails as XPASS, and the marker and its KNOWN entry are removed); all are fixed now.


def _survey_workbook(tmp: Path, **replaced: bytes) -> Path:
    """The survey seed workbook with some members' bytes replaced."""
    name, members = seeds("xlsx")[0]
    assert name == "survey" and isinstance(members, dict)
    members = {**members, **replaced}
    path = tmp / "encuesta.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


WORKBOOK_DAMAGE = {
    "styles_not_xml": {"xl/styles.xml": b""},
    "core_properties_not_xml": {"docProps/core.xml": b"<<"},
    "content_types_not_xml": {"[Content_Types].xml": b"\xff"},
    "workbook_without_sheets": {"xl/workbook.xml": b"<x/>"},
    "sheet_not_xml": {"xl/worksheets/sheet1.xml": b""},
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", [*sorted(WORKBOOK_DAMAGE), "sheet_deflate_broken"])
def test_damaged_survey_workbook_member_is_refused_with_a_qualcode_error(tmp_path, damage):
    if damage in WORKBOOK_DAMAGE:
        path = _survey_workbook(tmp_path, **WORKBOOK_DAMAGE[damage])
    else:
        path = _zip_with_damaged_member(tmp_path, damage.split("_")[1], "xlsx", "xl/worksheets/sheet1.xml",
                                        "encuesta.xlsx")
    corpus, report = qc.load_corpus(path, survey=qc.SurveyColumns(id="id", text=["q1", "q2"]))
    check_loaded(corpus, report)
    (tmp_path / "t1.txt").write_text("E: ¿Hola?\nP: Sí.\n", encoding="utf-8")
    with pytest.raises(errors.QualcodeError, match=r"encuesta\.xlsx"):
        qc.load_corpus(tmp_path / "t1.txt", attributes=path)


@pytest.mark.slow
def test_codebook_workbook_without_sheets_is_refused_with_a_codebook_error(tmp_path):
    name, members = seeds("xlsx")[1]
    assert name == "codebook" and isinstance(members, dict)
    path = tmp_path / "libro.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in {**members, "xl/workbook.xml": b"<x/>"}.items():
            archive.writestr(member, data)
    with pytest.raises(errors.CodebookError, match=r"libro\.xlsx"):
        qc.load_codebook(path)


def _zip_with_damaged_member(tmp: Path, damage: str, kind: str = "qdpx", member: str = "project.qde",
                             filename: str = "estudio.qdpx") -> Path:
    """A seed zip (qualcode's ``.qdpx`` by default) with one member damaged in one way a copy gets damaged."""
    members = seeds(kind)[0][1]
    assert isinstance(members, dict)
    buffer = io.BytesIO()
    stored = damage == "crc"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    raw = bytearray(buffer.getvalue())
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(member)
    data_at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    if damage == "crc":  # one byte of stored data changed: the checksum no longer matches
        raw[data_at + 100] ^= 0x01
    elif damage == "deflate":  # the compressed stream broken
        raw[data_at:data_at + 8] = b"\xff" * 8
    else:  # "header_name": the local header names another file than the central directory
        raw[info.header_offset + 30] ^= 0x01
    path = tmp / filename
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["crc", "deflate", "header_name"])
def test_damaged_zip_member_is_refused_with_an_exchange_file_error(tmp_path, damage):
    path = _zip_with_damaged_member(tmp_path, damage)
    with pytest.raises(errors.ExchangeFileError, match=r"estudio\.qdpx"):
        read_qdpx(path)
    with pytest.raises(errors.QualcodeError, match=r"estudio\.qdpx"):
        qc.import_refi_qda(path, tmp_path / "estudio.qualcode")
    assert not (tmp_path / "estudio.qualcode").exists()


@pytest.mark.slow
def test_qdpx_source_not_in_utf8_is_refused_with_an_exchange_file_error(tmp_path):
    members = seeds("qdpx")[0][1]
    assert isinstance(members, dict)
    sources = [name for name in members if name.lower().startswith("sources/") and name.endswith(".txt")]
    assert sources
    path = tmp_path / "estudio.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, b"\x80\x81 no es UTF-8" if member == sources[0] else data)
    try:
        read_qdpx(path)  # read with a fallback decoding is as good as refused with the member named
    except errors.ExchangeFileError as exc:
        assert sources[0].rsplit("/", 1)[-1] in str(exc)


def _docx_from_body(tmp: Path, body: str) -> Path:
    path = tmp / "entrevista.docx"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in docx_seed_from_body(body).items():
            archive.writestr(member, data)
    return path


def _cell(text: str, merge: str | None = None) -> str:
    value = f' w:val="{merge}"' if merge else ""
    props = "" if merge is None else f"<w:tcPr><w:vMerge{value}/></w:tcPr>"
    return f"<w:tc>{props}<w:p>" + (f"<w:r><w:t>{text}</w:t></w:r>" if text else "") + "</w:p></w:tc>"


def test_docx_speaker_cell_merged_down_behind_a_time_column_labels_every_row(tmp_path):
    rows = [[_cell("00:01:02"), _cell("D3", "restart"), _cell("Muy sola al principio.")],
            [_cell("00:01:09"), _cell("", ""), _cell("Después no.")],
            [_cell("00:01:12"), _cell("E"), _cell("¿Y la red?")]]
    body = "<w:tbl>" + "".join("<w:tr>" + "".join(row) + "</w:tr>" for row in rows) + "</w:tbl>"
    text = read_docx(_docx_from_body(tmp_path, body)).text
    assert text.split("\n\n") == ["[00:01:02] D3: Muy sola al principio.", "[00:01:09] D3: Después no.",
                                  "[00:01:12] E: ¿Y la red?"]


def test_docx_ruby_inside_a_run_keeps_its_base_text(tmp_path):
    body = ("<w:p><w:r><w:t xml:space=\"preserve\">D6: </w:t></w:r><w:r><w:ruby><w:rt><w:r><w:t>とうきょう</w:t>"
            "</w:r></w:rt><w:rubyBase><w:r><w:t>東京</w:t></w:r></w:rubyBase></w:ruby></w:r>"
            "<w:r><w:t xml:space=\"preserve\"> sí.</w:t></w:r></w:p>")
    assert read_docx(_docx_from_body(tmp_path, body)).text == "D6: 東京 sí."


@pytest.mark.slow
@pytest.mark.parametrize("reader", ["survey", "codebook"])
def test_damaged_workbook_is_closed_once_refused(tmp_path, reader):
    """A damaged workbook, read or refused, is closed: a batch of thousands of files must not run out of handles."""
    members = dict(seeds("xlsx"))[reader]
    assert isinstance(members, dict)
    path = tmp_path / f"{reader}.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in {**members, "xl/worksheets/sheet1.xml": b""}.items():
            archive.writestr(member, data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", ResourceWarning)
        with contextlib.suppress(errors.QualcodeError):
            if reader == "survey":
                qc.load_corpus(path, survey=qc.SurveyColumns(id="id", text=["q1", "q2"]))
            else:
                qc.load_codebook(path)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not _open_here(path)
