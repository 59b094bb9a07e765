"""Safe reading of exchange files from other tools (case C6).

XML: any DTD (and so any entity, external or recursive) is refused before
parsing, and lxml parses with entity resolution and network access off.
Zip (the archive policy, one for every zipped format qualcode reads): member
names that climb out (``../``, absolute paths, drive letters) are refused, and
so are archives with too many members, members and archives that would inflate
beyond a size budget or at a suspicious ratio (checked on the declared sizes
before inflating, and on the bytes actually inflated while inflating), and
only the members a format needs are inflated. :class:`ZipLimits` holds one
format's budgets; :data:`WORD_LIMITS`, :data:`WORKBOOK_LIMITS` and
:data:`REFI_LIMITS` are the ones qualcode uses.
"""

from __future__ import annotations

import io
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from ..errors import ExchangeFileError

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["CODEBOOK_WORKBOOK_LIMITS", "REFI_LIMITS", "WORD_LIMITS", "WORKBOOK_LIMITS", "ZipLimits",
           "parse_xml_safely", "read_zip_safely", "repack_zip_safely"]

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_XML_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20  # inflate a MiB at a time: the budgets are checked between chunks


def parse_xml_safely(data: bytes, *, name: str) -> etree._Element:
    """Parse XML bytes with lxml, refusing DTDs, entities and network access.

    Raises
    ------
    ExchangeFileError
        If the document declares a DTD or entity, is too large, or is not
        well-formed (the message gives the line).
    """
    from lxml import etree

    if len(data) > MAX_XML_BYTES:
        raise ExchangeFileError(f"{name}: the XML document is larger than {MAX_XML_BYTES >> 20} MB; refused.",
                                path=name)
    probe = data
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        probe = data.decode("utf-16", errors="ignore").encode("utf-8")
    if _DTD.search(probe):
        raise ExchangeFileError(
            f"{name}: the XML declares a DTD or entities (<!DOCTYPE/<!ENTITY>), which Word, Excel and REFI-QDA files "
            "never need and which can read local files or exhaust memory. Refused; save or export the file again "
            "from its program.",
            path=name,
        )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if getattr(exc, "lineno", None) else None
        raise ExchangeFileError(
            f"{name}:{line}: not well-formed XML ({exc.msg}). The file is probably truncated or damaged; "
            "export it again from its tool.",
            path=name, line=line,
        ) from None


# --- The archive policy ------------------------------------------------------------------------------------------
# Every zipped format qualcode reads (.docx, .xlsx, .qdpx, a .qdc inside a .qdpx) goes through one policy: the
# central directory is sized before it is parsed, each member's declared size and ratio are checked before a byte
# is inflated, and the bytes actually inflated are counted again while inflating (a member may lie about its size).
# Budgets fit the README's memory target (a load stays under 2 GiB; importing qualcode itself takes ~200 MiB).

_MiB = 1024 * 1024
#: Deflate cannot do better than ~1032:1; Office XML compresses 5-30:1 and a very repetitive sheet ~100:1,
#: so a member (or archive) inflating at more than 200:1 is a bomb, not a document.
MAX_RATIO = 200.0
#: Below this many inflated bytes any ratio is allowed: an empty sheet or a blank image compresses ~1000:1 and
#: costs nothing to read.
RATIO_FLOOR = 10 * _MiB
#: A Word or Excel file has 10-50 parts, a few hundred with many images; 10,000 entries is a central directory
#: of ~1 MiB. More is not an Office file.
OFFICE_MAX_MEMBERS = 10_000
#: Central directory bytes allowed per member (46-byte record + name + extra field): the directory is parsed
#: whole by zipfile before any count can be checked, so its size is checked first, from the end record.
_DIRECTORY_BYTES_PER_MEMBER = 1024
#: The Word main part is parsed whole by lxml, which takes ~14x its size for tiny paragraphs (measured: 32 MiB
#: of them took 450 MiB): 64 MiB stays under ~900 MiB. A three-hour interview is ~1 MiB of XML.
WORD_PART_BYTES = 64 * _MiB
#: A Word file is read through two parts: the package relationships and the main part.
WORD_TOTAL_BYTES = WORD_PART_BYTES + 1 * _MiB
#: One workbook part (a sheet, the shared strings), streamed by openpyxl's read-only mode: 64 MiB of sheet XML
#: is ~3 million cells; a survey of 50,000 answers in 20 columns is ~30 MiB.
WORKBOOK_PART_BYTES = 64 * _MiB
#: Every part openpyxl reads whole is held inflated in memory (it never sees the original archive): 256 MiB.
WORKBOOK_TOTAL_BYTES = 256 * _MiB
#: A worksheet read in read-only mode is streamed row by row from the copy, which spills to a temporary file
#: beyond :data:`SPOOL_BYTES`, so its budget is disk, not memory (the work stays bounded by the cells a reader
#: takes, ``io.tables.SHEET_MAX_CELLS``). qualcode's own review workbook takes ~1.5 KB of sheet XML a row:
#: 323 MiB for the ~200,000 rows of a 10M-word round, which the in-memory budget refused.
WORKBOOK_STREAMED_PART_BYTES = 2048 * _MiB
#: A copy of an archive stays in memory up to this size, and goes to a temporary file beyond it.
SPOOL_BYTES = 64 * _MiB
#: A codebook workbook is read whole (merged cells need openpyxl's full mode, ~350 B a cell): 16 MiB of sheet
#: XML is at most ~1.4 million cells, ~500 MiB; a codebook of 5,000 codes with examples is ~5 MiB.
CODEBOOK_PART_BYTES = 16 * _MiB
#: A REFI-QDA project (.qdpx) part, parsed whole by lxml (~5-12x): project.qde with ~400,000 codings, or one
#: text source of ~60,000 pages.
REFI_PART_BYTES = 128 * _MiB
#: All the parts of a .qdpx read into memory together (project.qde and the text sources).
REFI_TOTAL_BYTES = 512 * _MiB
#: A .qdpx holds a part per source: 100,000 entries is a central directory of ~10 MiB.
REFI_MAX_MEMBERS = 100_000


@dataclass(frozen=True)
class ZipLimits:
    """Budgets for reading one kind of zip archive (the archive policy).

    Parameters
    ----------
    max_total : int
        Inflated bytes of all the members read, together.
    max_ratio : float
        Inflated / compressed size, per member and for the members read together,
        checked once more than ``ratio_floor`` bytes are involved.
    max_members : int
        Entries in the central directory (read or not).
    ratio_floor : int
        Sizes below which any ratio is allowed.
    max_member : int, optional
        Inflated bytes of one member (``None``: up to ``max_total``).
    streamed_member : int, optional
        Inflated bytes of the members ``streamed`` picks, together: parts the
        reader streams from a copy on disk instead of holding them (``None``:
        no member is streamed). They do not count against ``max_total``.
    streamed : callable, optional
        Member name → whether the reader streams it.
    what : str
        What the archive is, for messages ("Word file").
    fix : str
        What to do about a refused file, for messages.
    """

    max_total: int = REFI_TOTAL_BYTES
    max_ratio: float = MAX_RATIO
    max_members: int = REFI_MAX_MEMBERS
    ratio_floor: int = RATIO_FLOOR
    max_member: int | None = REFI_PART_BYTES
    what: str = "archive"
    fix: str = "export it again from the tool that made it"
    streamed_member: int | None = None
    streamed: Callable[[str], bool] | None = None

    @property
    def member_budget(self) -> int:
        """The inflated bytes one member held in memory may take."""
        return min(self.max_member or self.max_total, self.max_total)

    def is_streamed(self, name: str) -> bool:
        """Whether the member ``name`` is streamed from disk (and so has the streamed budget)."""
        return self.streamed_member is not None and self.streamed is not None and self.streamed(name)

    def budget_for(self, name: str) -> int:
        """The inflated bytes the member ``name`` may take."""
        return self.streamed_member if self.is_streamed(name) and self.streamed_member else self.member_budget


#: ``.qdpx`` projects and ``.qdc`` codebooks from other tools (the default).
REFI_LIMITS = ZipLimits(what="REFI-QDA file")
#: ``.docx`` transcripts.
WORD_LIMITS = ZipLimits(max_total=WORD_TOTAL_BYTES, max_members=OFFICE_MAX_MEMBERS, max_member=WORD_PART_BYTES,
                        what="Word file", fix="open it in Word or LibreOffice, save a new copy as .docx, and load that")
_WORKSHEET = re.compile(r"(^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)

#: ``.xlsx`` workbooks read row by row (attributes, surveys, review workbooks): worksheets are streamed.
WORKBOOK_LIMITS = ZipLimits(max_total=WORKBOOK_TOTAL_BYTES, max_members=OFFICE_MAX_MEMBERS,
                            max_member=WORKBOOK_PART_BYTES, what="Excel workbook",
                            fix="open it in Excel or LibreOffice, save it again as .xlsx, "
                                "and load that",
                            streamed_member=WORKBOOK_STREAMED_PART_BYTES,
                            streamed=lambda name: bool(_WORKSHEET.search(name)))
#: ``.xlsx`` codebooks, read whole: nothing is streamed.
CODEBOOK_WORKBOOK_LIMITS = replace(WORKBOOK_LIMITS, max_member=CODEBOOK_PART_BYTES, streamed_member=None)


def _a(what: str) -> str:
    return f"{'an' if what[:1].upper() in 'AEIOU' else 'a'} {what}"


def _mib(size: int) -> str:
    return f"{size / _MiB:,.1f} MiB" if size < 10 * _MiB else f"{size / _MiB:,.0f} MiB"


def _safe_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." not in parts


def _directory_size(handle: IO[bytes]) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory, from the end record, or ``None`` when there is none."""
    handle.seek(0, 2)
    size = handle.tell()
    span = min(size, 65536 + 22)  # the end record (22 bytes) plus the longest comment
    handle.seek(size - span)
    tail = handle.read(span)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, directory = struct.unpack("<HI", tail[at + 10:at + 16])
    if (entries == 0xFFFF or directory == 0xFFFFFFFF) and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[at - 12:at - 4])
        handle.seek(offset)
        record = handle.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


def _refuse(name: str, limits: ZipLimits, what: str) -> ExchangeFileError:
    return ExchangeFileError(f"{name}: refused as a possible zip bomb: {what}. Nothing was read. If the "
                             f"{limits.what} is genuine, {limits.fix}.", path=name)


def _damaged(name: str, limits: ZipLimits, what: str) -> ExchangeFileError:
    return ExchangeFileError(f"{name}: the {limits.what} is damaged or incomplete ({what}); {limits.fix}.",
                             path=name)


def _open_archive(path: str | Path, name: str, limits: ZipLimits) -> zipfile.ZipFile:
    """The archive, opened only after its central directory is known to fit the member budget."""
    try:
        with open(path, "rb") as handle:
            declared = _directory_size(handle)
        if declared is not None:
            entries, directory = declared
            if entries > limits.max_members or directory > limits.max_members * _DIRECTORY_BYTES_PER_MEMBER:
                raise _refuse(name, limits, f"its directory lists {entries:,} members ({_mib(directory)}), more "
                                            f"than the {limits.max_members:,} {_a(limits.what)} may have")
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as exc:
        if isinstance(exc, ExchangeFileError):
            raise
        raise _damaged(name, limits, f"not a readable zip archive: {exc}") from None
    if len(archive.infolist()) > limits.max_members:
        archive.close()
        raise _refuse(name, limits, f"{len(archive.infolist()):,} members, more than the {limits.max_members:,} "
                                    f"{_a(limits.what)} may have")
    return archive


def _plan(archive: zipfile.ZipFile, name: str, limits: ZipLimits,
          wanted: Callable[[str], bool] | None) -> list[zipfile.ZipInfo]:
    """The members to inflate, after every name and every declared size and ratio is checked."""
    chosen: list[zipfile.ZipInfo] = []
    total = packed = streamed = 0
    for info in archive.infolist():
        if not _safe_name(info.filename):
            raise ExchangeFileError(
                f"{name}: member {info.filename!r} points outside the archive (absolute path or '..'); "
                "refused, nothing was read or written.", path=name)
        if info.is_dir() or (wanted is not None and not wanted(info.filename)):
            continue
        member = info.filename
        budget = limits.budget_for(member)
        if info.file_size > budget:
            raise _refuse(name, limits, f"member {member!r} would inflate to {_mib(info.file_size)}, more than "
                                        f"the {_mib(budget)} qualcode reads from one part of "
                                        f"{_a(limits.what)}")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            raise _refuse(name, limits, f"member {member!r} would inflate {ratio:,.0f}-fold (from "
                                        f"{_mib(info.compress_size)} to {_mib(info.file_size)}), more than "
                                        f"{limits.max_ratio:,.0f}-fold")
        if info.flag_bits & 0x1:
            raise ExchangeFileError(f"{name}: member {member!r} is encrypted; remove the password, "
                                    f"{limits.fix}.", path=name)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _damaged(name, limits, f"member {member!r} uses compression method {info.compress_type}, "
                                         "which Office and REFI-QDA files never use")
        if limits.is_streamed(member):
            streamed += info.file_size
            if streamed > budget:
                raise _refuse(name, limits, f"member {member!r} would expand the streamed parts beyond "
                                            f"{_mib(budget)} (the budget for {_a(limits.what)})")
            chosen.append(info)
            continue
        total += info.file_size
        packed += info.compress_size
        if total > limits.max_total:
            raise _refuse(name, limits, f"member {member!r} would expand the archive beyond "
                                        f"{_mib(limits.max_total)} (the budget for {_a(limits.what)})")
        if total > limits.ratio_floor and total / max(packed, 1) > limits.max_ratio:
            raise _refuse(name, limits, f"its members would inflate {total / max(packed, 1):,.0f}-fold together, "
                                        f"more than {limits.max_ratio:,.0f}-fold")
        chosen.append(info)
    return chosen


class _Counter:
    """Inflated bytes so far, across the members of one archive."""

    def __init__(self) -> None:
        self.total = 0
        self.streamed = 0


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: ZipLimits,
             counter: _Counter) -> Iterator[bytes]:
    """The member's bytes in chunks, counted against the budgets as they are inflated."""
    size = 0
    streamed = limits.is_streamed(info.filename)
    budget = min(limits.budget_for(info.filename), info.file_size)  # zipfile stops at the declared size; so do we
    try:
        with archive.open(info) as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if streamed:
                    counter.streamed += len(chunk)
                else:
                    counter.total += len(chunk)
                if size > budget or counter.total > limits.max_total or (streamed and counter.streamed > (
                        limits.streamed_member or 0)) or (
                        size > limits.ratio_floor and size / max(info.compress_size, 1) > limits.max_ratio):
                    raise _refuse(name, limits, f"member {info.filename!r} inflates to more than its declared "
                                                f"size or at a ratio above {limits.max_ratio:.0f}:1")
                yield chunk
    except ExchangeFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        raise _damaged(name, limits, f"member {info.filename!r}: {exc}") from None


def read_zip_safely(path: str | Path, *, limits: ZipLimits | None = None,
                    wanted: Callable[[str], bool] | None = None) -> dict[str, bytes]:
    """Read the members of a zip into memory under an archive policy, refusing path traversal and zip bombs.

    ``wanted``, when given, picks the members to inflate (a Word reader needs
    two XML parts, not the images); every name is still checked.

    Parameters
    ----------
    path : str or Path
    limits : ZipLimits, optional
        The policy (default :data:`REFI_LIMITS`, for ``.qdpx``); see
        :data:`WORD_LIMITS` and :data:`WORKBOOK_LIMITS`.
    wanted : callable, optional
        Member name → whether to read it.

    Returns
    -------
    dict
        Member name → bytes. Nothing is written to disk.

    Raises
    ------
    ExchangeFileError
        Naming the file and the offending member: over a budget (before it is
        inflated when its declared size says so, else as soon as the inflated
        bytes do), a name climbing out, or a damaged archive.
    """
    limits = limits or REFI_LIMITS
    name = str(path)
    out: dict[str, bytes] = {}
    counter = _Counter()
    with _open_archive(path, name, limits) as archive:
        for info in _plan(archive, name, limits, wanted):
            buffer = io.BytesIO()
            for chunk in _inflate(archive, info, name, limits, counter):
                buffer.write(chunk)
            out[info.filename] = buffer.getvalue()
    return out


def repack_zip_safely(path: str | Path, *, limits: ZipLimits,
                      wanted: Callable[[str], bool] | None = None) -> IO[bytes]:
    """A copy of a zip, uncompressed, holding only what passed the archive policy.

    For libraries that open a package themselves (openpyxl): they read this
    copy, never the original, so every byte they see was inflated here under
    the budgets. Members ``wanted`` refuses (images, embedded files) are kept
    as empty entries, so the package's relationships still resolve. The copy
    is in memory up to :data:`SPOOL_BYTES` and in a temporary file beyond
    (removed when it is closed), so a large streamed worksheet costs disk, not
    memory.

    Raises
    ------
    ExchangeFileError
        As :func:`read_zip_safely`.
    """
    name = str(path)
    counter = _Counter()
    copy: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned open)
    try:
        with _open_archive(path, name, limits) as archive, zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED,
                                                                           allowZip64=True) as out:
            chosen = {info.filename for info in _plan(archive, name, limits, wanted)}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                with out.open(entry, "w", force_zip64=info.file_size > 0x7FFF0000) as target:
                    if info.filename in chosen:
                        for chunk in _inflate(archive, info, name, limits, counter):
                            target.write(chunk)
    except BaseException:
        copy.close()  # a refused or damaged archive leaves no temporary file behind
        raise
    copy.seek(0)
    return copy
