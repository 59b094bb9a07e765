"""REFI-QDA project import (``.qdpx``): take a coded study back from ATLAS.ti, NVivo, MAXQDA, QualCoder ….

Reading refuses unsafe archives and XML (case C6), accepts what real tools
write (one ``*.qde`` under another name, namespaces ``1.0``/``1:0``, empty
sets), and returns the documents, codebook and coded selections it holds.
The writer is :mod:`qualcode.export.refi_qda`.

This module reads files into tables; it never sees a project.
:func:`qualcode.import_refi_qda` (in :mod:`qualcode.workflow`) builds a
project from what :func:`read_qdpx` returns, the coded selections becoming
manual decisions of the users who made them.
"""

from __future__ import annotations

import hashlib
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from ..codebook.model import Codebook
from ..codebook.qdc import code_guid, read_qdc
from ..corpus import ReadDocument
from ..errors import ExchangeFileError, QualcodeError, QualcodeWarning
from ..io.safe import parse_xml_safely, read_zip_safely
from ..io.text import parse_transcript
from ..schemas import columns
from .refi_qda import is_xsd_datetime

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["SELECTION_COLUMNS", "QdpxContents", "read_qdpx"]


def _local(el: etree._Element) -> str:
    from lxml import etree

    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _first(el: etree._Element, name: str) -> etree._Element | None:
    found = _children(el, name)
    return found[0] if found else None


# Columns of QdpxContents.selections: one row per coding of a coded selection, at document offsets.
SELECTION_COLUMNS = ["doc_id", "start", "end", "code_id", "coder", "memo", "created_at"]


class QdpxContents(NamedTuple):
    """What a ``.qdpx`` holds, as :func:`read_qdpx` returns it.

    Attributes
    ----------
    name : str
        The project's name (the archive's name when the file gives none).
    codebook : Codebook or None
        None when the file has no code book.
    documents : list
        One read document per text source (text kept exactly, speakers
        found as in plain-text transcripts, case and source variables as attributes).
    selections : DataFrame
        Columns ``doc_id``, ``start``, ``end`` (document offsets), ``code_id``
        (None when the coding's code could not be read), ``coder`` (the user
        who coded, ``"imported"`` when unknown), ``memo`` (its notes, or None),
        ``created_at`` (as written in the file, or None).
    """

    name: str
    codebook: Codebook | None
    documents: list[ReadDocument]
    selections: pd.DataFrame


def read_qdpx(path: str | Path) -> QdpxContents:
    """Read a ``.qdpx`` written by qualcode or another tool: its documents, code book and coded selections.

    Documents keep their text exactly (positions in the file refer to it);
    speaker labels are found as in plain-text transcripts. Case variables
    and source variables become document attributes. Only the ``.qde`` file
    and the plain texts its sources name are inflated (other members, such as
    originals or nested archives, are never read).

    Parameters
    ----------
    path : path
        The ``.qdpx`` archive.

    Returns
    -------
    QdpxContents
        ``name``, ``codebook``, ``documents``, ``selections`` (columns in :data:`SELECTION_COLUMNS`).

    Raises
    ------
    ExchangeFileError
        For an unsafe or damaged archive (C6): a member that cannot be
        inflated (corrupt, encrypted, unknown compression), no or several
        ``.qde`` files, a root that is not ``<Project>``, a GUID used by two
        elements of one kind, a selection whose position is not a whole
        number, a source text that is not UTF-8. The message names the
        archive, the member and the line, and says what to do.

    Warns
    -----
    QualcodeWarning
        When the project file is not named ``project.qde``; and once per
        file, with counts and lines, for what was skipped or renamed: a
        source without text (skipped, with its codings), selections outside
        their text (skipped), codings referring to codes, users or notes the
        file does not hold, two sources with one name (the second renamed),
        a variable named like a corpus column (renamed).

    Examples
    --------
    >>> read_qdpx("estudio.qdpx").selections.head()  # doctest: +SKIP
    """
    path = Path(path)
    names: list[str] = []

    def root_qde(member: str) -> bool:
        names.append(member)
        return member.lower().endswith(".qde") and "/" not in member.strip("/")

    members = _inflate(path, root_qde)
    qde = list(members)
    if len(qde) != 1:
        raise ExchangeFileError(f"{path}: a .qdpx holds exactly one .qde file at its root; found {qde or 'none'}. "
                                "Export the project again from its tool.", path=path)
    if qde[0] != "project.qde":
        warnings.warn(f"{path}: the project file is named {qde[0]!r}, not 'project.qde' (read anyway).",
                      QualcodeWarning, stacklevel=3)
    data = members[qde[0]]
    where = f"{path}:{qde[0]}"
    root = parse_xml_safely(data, name=where)
    if _local(root) != "Project":
        raise ExchangeFileError(
            f"{where}: the root element is <{_local(root) or root.tag}>, not <Project>: this is not a REFI-QDA "
            "project. A codebook (.qdc) is read with qc.load_codebook(); otherwise export the project again.",
            path=path)
    issues = _Issues(path)
    _refuse_duplicate_guids(root, where)
    users = {_key(u.get("guid")): (u.get("name") or "imported")
             for users in _children(root, "Users") for u in _children(users, "User")}
    codebook_el = _first(root, "CodeBook")
    codebook = read_qdc(path.with_suffix(".qdc"), data=data) if codebook_el is not None else None
    guid_to_code = {}
    if codebook is not None and codebook_el is not None:
        ours = {code_guid(c.id): c.id for c in codebook}
        ordered = [el for el in codebook_el.iter() if _local(el) == "Code"]
        # Matched by position only when the counts agree; otherwise nothing is (an empty list on purpose).
        for el, code in zip(ordered, codebook.codes if len(ordered) == len(codebook.codes) else [], strict=False):
            guid_to_code[_key(el.get("guid"))] = code.id
        guid_to_code.update(ours)
    variables = _variable_names(root, issues)
    notes: dict[str, str] = {}
    for block in _children(root, "Notes"):
        for n in _children(block, "Note"):
            content = _first(n, "PlainTextContent")
            if content is not None:
                notes[_key(n.get("guid"))] = content.text or ""
    sources = [source for block in _children(root, "Sources") for source in _children(block, "TextSource")]
    source_guids = {_key(s.get("guid")) for s in sources}
    doc_attributes: dict[str, dict[str, Any]] = {}  # source GUID -> attribute name -> the XML element's text
    for block in _children(root, "Cases"):
        for case in _children(block, "Case"):
            values = _values(case, variables)
            for ref in _children(case, "SourceRef"):
                target = _key(ref.get("targetGUID"))
                if target not in source_guids:
                    issues.add("a case refers to a source the file does not hold (its variables are not used)",
                               ref.sourceline)
                doc_attributes.setdefault(target, {}).update(values)
    texts = _source_texts(path, sources, names, issues)
    docs, selections = [], []
    doc_ids: set[str] = set()
    for source in sources:
        guid = _key(source.get("guid"))
        name = source.get("name") or guid
        text = texts.get(id(source))
        if text is None:
            continue
        wanted_id = Path(name).stem if name.lower().endswith((".txt", ".docx", ".pdf")) else name
        doc_id = _free_id(wanted_id, doc_ids)
        if doc_id != wanted_id:
            issues.add("two sources have one name (the later one is imported under another)", source.sourceline,
                       f"{wanted_id!r} → {doc_id!r}")
        # Parsed as it is, never normalised: the selections' positions refer to this exact text.
        parsed = parse_transcript(text)
        sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        attrs = dict(doc_attributes.get(guid, {}))
        attrs.update(_values(source, variables))
        docs.append(ReadDocument(doc_id, str(path), "qdpx", "utf-8", sha, parsed, "", attrs or None))
        for selection in _children(source, "PlainTextSelection"):
            start = _position(selection, "startPosition", where)
            end = _position(selection, "endPosition", where)
            if not 0 <= start < end <= len(text):
                issues.add(f"a selection lies outside its source's text or is empty (not imported; source {name!r} "
                           f"has {len(text)} characters)", selection.sourceline, f"{start}–{end}")
                continue
            for coding in _children(selection, "Coding"):
                ref = _first(coding, "CodeRef")
                code_id = guid_to_code.get(_key(ref.get("targetGUID") if ref is not None else None))
                if code_id is None and codebook is not None:
                    issues.add("a coding refers to a code the code book does not hold (not imported)",
                               coding.sourceline)
                memo_parts = []
                for note_ref in _children(coding, "NoteRef"):
                    note = notes.get(_key(note_ref.get("targetGUID")))
                    if note is None:
                        issues.add("a coding refers to a note the file does not hold", note_ref.sourceline)
                    elif note:
                        memo_parts.append(note)
                memo = " ".join(memo_parts).strip() or None
                user = coding.get("creatingUser") or selection.get("creatingUser")
                who = users.get(_key(user)) if user else "imported"
                if who is None:
                    issues.add("a coding names a user the file does not list (attributed to 'imported')",
                               coding.sourceline)
                    who = "imported"
                created = coding.get("creationDateTime")
                if created is not None and not is_xsd_datetime(created):
                    issues.add("a coding's creationDateTime is not a date and time (the import time is used)",
                               coding.sourceline, repr(created[:40]))
                    created = None
                selections.append((doc_id, start, end, code_id, who, memo, created))
    issues.warn()
    return QdpxContents(root.get("name") or path.stem, codebook, docs,
                        pd.DataFrame(selections, columns=SELECTION_COLUMNS, dtype=object))


# A position is a whole number (ASCII digits, as xsd:integer). More than 18 digits is beyond any text: read as
# 10**18 (so skipped as outside its text) without converting a hostile 5,000-digit value.
_INTEGER = re.compile(r"\s*([+-]?)([0-9]+)\s*")
_MAX_DIGITS = 18
# xsd:dateTime, as the schema (and so the export) requires it.
# Examples (lines) named per kind of problem in the one warning an import gives.
_SHOWN = 5
# Columns of the corpus tables (and the project's documents table): a variable may not reuse them.
_CORPUS_COLUMNS = frozenset({*columns("documents"), *columns("segments"), "unit", "added_at", "updated_at",
                             "attributes"})
# What zipfile and zlib raise on a member they cannot inflate (damaged, encrypted, unknown method, truncated).
_INFLATE_ERRORS = (zlib.error, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, ValueError)


def _key(guid: str | None) -> str:
    """A GUID as a lookup key: braces, case and surrounding space do not matter (tools differ)."""
    return (guid or "").strip().strip("{}").upper()


class _Issues:
    """What an import skipped or changed, by kind, reported as one warning per file (never silently)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kinds: dict[str, list[str]] = {}

    def add(self, kind: str, line: int | None, detail: str | None = None) -> None:
        seen = self.kinds.setdefault(kind, [])
        seen.append(f"line {line}" + (f" ({detail})" if detail else "") if line else detail or "?")

    def warn(self) -> None:
        if not self.kinds:
            return
        parts = []
        for kind, places in self.kinds.items():
            shown = ", ".join(places[:_SHOWN]) + (f" and {len(places) - _SHOWN} more" if len(places) > _SHOWN else "")
            parts.append(f"{len(places)} time(s): {kind} — {shown}")
        warnings.warn(f"{self.path}: " + "; ".join(parts) + ". Everything else was imported; to keep these, fix "
                      "them in the tool that wrote the file and export it again.", QualcodeWarning, stacklevel=4)


def _inflate(path: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """The members ``wanted`` picks, read safely; any failure to inflate one is an ExchangeFileError naming it."""
    asked: list[str] = []

    def pick(member: str) -> bool:
        if wanted(member):
            asked.append(member)
            return True
        return False

    try:
        return read_zip_safely(path, wanted=pick)
    except QualcodeError:
        raise
    except _INFLATE_ERRORS as exc:
        text = str(exc).lower()
        reason = ("it is encrypted" if "encrypt" in text or "password" in text
                  else "it is compressed with a method qualcode cannot read" if isinstance(exc, NotImplementedError)
                  else "its checksum does not match its content" if "crc" in text
                  else "it is truncated" if isinstance(exc, EOFError)
                  else f"its compressed data are damaged ({type(exc).__name__}: {str(exc)[:80]})")
        member = f"member {asked[-1]!r}" if asked else "a member"
        raise ExchangeFileError(f"{path}: {member} cannot be read: {reason}. Nothing was imported. Export the project "
                                "again from its tool (unencrypted, standard zip compression).", path=path) from None


def _refuse_duplicate_guids(root: etree._Element, where: str) -> None:
    """Two elements of one kind with one GUID make every reference to it ambiguous: refused, naming both lines."""
    for kind in ("User", "Code", "TextSource", "Note", "Variable", "Case"):
        seen: dict[str, int | None] = {}
        for el in root.iter():
            if _local(el) != kind or not _key(el.get("guid")):
                continue
            key = _key(el.get("guid"))
            if key in seen:
                raise ExchangeFileError(
                    f"{where}:{el.sourceline}: the GUID {el.get('guid')!r} of this <{kind}> is also the GUID of the "
                    f"<{kind}> at line {seen[key]}: references to it would be ambiguous. The file is damaged; export "
                    "it again from its tool.", path=where, line=el.sourceline)
            seen[key] = el.sourceline


def _variable_names(root: etree._Element, issues: _Issues) -> dict[str, str]:
    """Variable GUID → attribute name; a name the corpus tables already use gets a suffix (said in the warning)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for block in _children(root, "Variables"):
        for variable in _children(block, "Variable"):
            name = variable.get("name")
            if not name:
                continue
            if name in _CORPUS_COLUMNS:
                base, n = name, 2
                while f"{base}_{n}" in _CORPUS_COLUMNS or f"{base}_{n}" in taken:
                    n += 1
                issues.add("a variable is named like a corpus column (imported under another name)",
                           variable.sourceline, f"{name!r} → {base}_{n!r}")
                name = f"{base}_{n}"
            taken.add(name)
            out[_key(variable.get("guid"))] = name
    return out


def _values(owner: etree._Element, variables: dict[str, str]) -> dict[str, Any]:
    """The variable values of a case or source: attribute name → the value element's text."""
    values = {}
    for value in _children(owner, "VariableValue"):
        ref = _first(value, "VariableRef")
        name = variables.get(_key(ref.get("targetGUID") if ref is not None else None))
        content = [c for c in value if _local(c) not in ("VariableRef", "")]
        if name and content:
            values[name] = content[0].text
    return values


def _source_texts(path: Path, sources: list[etree._Element], names: list[str], issues: _Issues) -> dict[int, str]:
    """Each source's plain text (inline, or its member under ``Sources/``), decoded strictly; keyed by element id."""
    exact = set(names)
    folded = {n.lower(): n for n in names}
    wanted: dict[int, str] = {}
    texts: dict[int, str] = {}
    for source in sources:
        inline = _first(source, "PlainTextContent")
        if inline is not None and inline.text:
            texts[id(source)] = inline.text
            continue
        internal = (source.get("plainTextPath") or "").strip()
        if internal.startswith("internal://"):
            member = f"Sources/{internal[len('internal://'):]}"
            member = member if member in exact else folded.get(member.lower(), member)
            if member in exact:
                wanted[id(source)] = member
                continue
        name = source.get("name") or _key(source.get("guid"))
        issues.add("a source has no plain text in the archive (not imported, nor its codings)", source.sourceline,
                   f"{name!r}" + (f", {internal!r}" if internal else ""))
    needed = set(wanted.values())
    members = _inflate(path, needed.__contains__) if needed else {}
    for key, member in wanted.items():
        texts[key] = _decode(members[member], f"{path}: member {member!r}")
    return texts


def _decode(raw: bytes, where: str) -> str:
    """UTF-8, the encoding REFI-QDA prescribes (a BOM is dropped); anything else is refused, never guessed."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExchangeFileError(
            f"{where} is not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at offset {exc.start}): REFI-QDA "
            "sources are UTF-8, and the selections' positions cannot be trusted in a guessed encoding. Nothing was "
            "imported; export the project again from its tool.", path=where.split(": member")[0]) from None


def _position(selection: etree._Element, attribute: str, where: str) -> int:
    value = selection.get(attribute)
    number = _INTEGER.fullmatch(value) if value is not None else None
    if number is None:
        shown = "is missing" if value is None else f"is {(value or '')[:40]!r}, not a whole number"
        raise ExchangeFileError(
            f"{where}:{selection.sourceline}: the <{_local(selection)}>'s {attribute} {shown}. The file is damaged; "
            "nothing was imported. Export the project again from its tool.", path=where, line=selection.sourceline)
    sign, digits = number.groups()
    magnitude = int(digits) if len(digits.lstrip("0")) <= _MAX_DIGITS else 10**_MAX_DIGITS
    return -magnitude if sign == "-" else magnitude


def _free_id(doc_id: str, taken: set[str]) -> str:
    """``doc_id``, or ``doc_id-2``, ``-3`` … when another source already has it (both stay)."""
    free, n = doc_id, 2
    while free in taken:
        free, n = f"{doc_id}-{n}", n + 1
    taken.add(free)
    return free
