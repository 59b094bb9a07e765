"""Safe reading of exchange files from other tools (case C6).

XML: any DTD (and so any entity, external or recursive) is refused before
parsing, and lxml parses with entity resolution and network access off.
Zip: member names that climb out (``../``, absolute paths, drive letters) are
refused, and so are archives that expand beyond a size budget or at a
suspicious ratio, checked against the bytes actually inflated, not only the
sizes the archive claims.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..errors import ExchangeFileError

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["ZipLimits", "parse_xml_safely", "read_zip_safely"]

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_XML_BYTES = 512 * 1024 * 1024


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
            f"{name}: the XML declares a DTD or entities (<!DOCTYPE/<!ENTITY>), which REFI-QDA files never "
            "need and which can read local files or exhaust memory. Refused; export the file again from its tool.",
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


class ZipLimits:
    """Budgets for reading a zip: total inflated bytes, per-member ratio, member count."""

    def __init__(self, max_total: int = 2 * 1024**3, max_ratio: float = 200.0, max_members: int = 100_000,
                 ratio_floor: int = 10 * 1024**2) -> None:
        self.max_total = max_total
        self.max_ratio = max_ratio
        self.max_members = max_members
        # Small members may compress very well (empty XML, blank images); the
        # ratio is only checked for members larger than this.
        self.ratio_floor = ratio_floor


def _safe_name(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return False
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return ".." not in parts


def read_zip_safely(path: str | Path, *, limits: ZipLimits | None = None,
                    wanted: Callable[[str], bool] | None = None) -> dict[str, bytes]:
    """Read every member of a zip into memory, refusing path traversal and zip bombs.

    ``wanted``, when given, picks the members to inflate (a Word reader needs
    two XML parts, not the images); every name is still checked.

    Returns
    -------
    dict
        Member name → bytes. Nothing is written to disk.

    Raises
    ------
    ExchangeFileError
        Naming the offending member.
    """
    limits = limits or ZipLimits()
    name = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExchangeFileError(f"{name}: not a readable zip archive ({exc}).", path=name) from None
    out: dict[str, bytes] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise ExchangeFileError(f"{name}: {len(infos)} members is more than {limits.max_members}; refused.",
                                    path=name)
        for info in infos:
            if not _safe_name(info.filename):
                raise ExchangeFileError(
                    f"{name}: member {info.filename!r} points outside the archive (absolute path or '..'); "
                    "refused, nothing was read or written.", path=name)
            if info.is_dir() or (wanted is not None and not wanted(info.filename)):
                continue
            if total + info.file_size > limits.max_total:
                raise ExchangeFileError(
                    f"{name}: member {info.filename!r} would expand the archive beyond "
                    f"{limits.max_total >> 20} MB; refused as a possible zip bomb.", path=name)
            chunks = []
            size = 0
            with archive.open(info) as handle:
                while True:
                    chunk = handle.read(1 << 20)
                    if not chunk:
                        break
                    size += len(chunk)
                    total += len(chunk)
                    ratio = size / max(info.compress_size, 1)
                    if total > limits.max_total or (size > limits.ratio_floor and ratio > limits.max_ratio):
                        raise ExchangeFileError(
                            f"{name}: member {info.filename!r} inflates to more than its declared size or at a "
                            f"ratio above {limits.max_ratio:.0f}:1; refused as a possible zip bomb.", path=name)
                    chunks.append(chunk)
            out[info.filename] = b"".join(chunks)
    return out
