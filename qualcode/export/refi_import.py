"""REFI-QDA project import (``.qdpx``): take a coded study back from ATLAS.ti, NVivo, MAXQDA, QualCoder ….

Reading refuses unsafe archives and XML (case C6), accepts what real tools
write (one ``*.qde`` under another name, namespaces ``1.0``/``1:0``, empty
sets, ``sources/`` or ``Sources/``), and returns the documents, codebook,
coded selections and memos it holds, with one report of everything it could
not take as it was (REFI-QDA 1.5 §7 asks importers to say what they discard).
The writer is :mod:`qualcode.export.refi_qda`.

Where a source's text is found (spec §8.1, §8.3)
    A text source's ``plainTextPath`` (or, as some tools write, its ``path``
    when that names a ``.txt``) is ``internal://NAME``: the member ``NAME`` of
    the archive's ``sources`` folder. The folder is matched in any case
    (NVivo writes ``Sources/``, QualCoder, MAXQDA and the spec ``sources/``);
    a path without ``internal://``, with a leading ``/`` or ``./``, with the
    folder already in it, or with backslashes is read the same way. When both
    ``sources/`` and ``Sources/`` hold the member, the spec's ``sources/`` is
    used (and said when the two differ). ``relative://`` and ``absolute://``
    name files outside the archive: not read. A project whose text sources
    are all missing is refused (:class:`~qualcode.errors.ExchangeFileError`
    naming what was looked for), never imported empty.

How positions are counted (``position_units``)
    The spec counts characters; tools differ in what a character is, which
    matters only for characters outside the Basic Multilingual Plane (emoji):

    ========================  ====================  ==========================================================
    ``origin`` contains       positions read as     evidence
    ========================  ====================  ==========================================================
    ``NVivo``                 UTF-16 code units     a real NVivo 12.6 project: 300/303 selections start and end
                                                    on word boundaries read so, 49/303 read as code points
    ``QualCoder``             code points           QualCoder indexes Python strings; its selection names match
    ``qualcode``              code points           qualcode's own export
    ``Taguette``              code points           Taguette exports code books only (no positions)
    ``ATLAS.ti``, ``MAXQDA``  measured              no real export with emoji seen (both run on platforms that
                                                    count UTF-16, so both readings are tried)
    anything else             measured
    ========================  ====================  ==========================================================

    "Measured" reads the selections both ways and keeps the reading under
    which more selections match the words the file stores for them (their
    ``name``, which QualCoder, qualcode and others fill with the selected
    text), or, when the file stores none, under which more selections start
    and end on word boundaries, as human selections do. Ties keep code
    points. The report says the reading was a guess, with both figures.
    ``position_units="utf16"`` or ``"codepoints"`` overrides (``--positions``
    on the command line). Texts without such characters read the same
    either way.

This module reads files into tables; it never sees a project.
:func:`qualcode.import_refi_qda` (in :mod:`qualcode.workflow`) builds a
project from what :func:`read_qdpx` returns, the coded selections becoming
manual decisions of the users who made them.
"""

from __future__ import annotations

import bisect
import hashlib
import posixpath
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pandas as pd

from ..codebook.model import Codebook
from ..codebook.qdc import guid_key, is_codebook_set, read_codebook_summary, read_codebook_xml
from ..corpus import ReadDocument
from ..errors import ExchangeFileError, ParameterError, QualcodeError, QualcodeWarning
from ..io.paths import existing_file
from ..io.safe import parse_xml_safely, read_zip_safely
from ..io.text import parse_transcript
from ..schemas import NOT_ATTRIBUTES, check, columns
from .refi_qda import SOURCES_FOLDER, is_xsd_datetime

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["POSITION_UNITS", "PRODUCERS", "REPORTED", "SELECTION_COLUMNS", "PositionUnits", "QdpxContents", "read_qdpx"]

PositionUnits = Literal["auto", "utf16", "codepoints"]
#: The values of ``position_units`` (``--positions``): see the module's docstring.
POSITION_UNITS: tuple[str, ...] = ("auto", "utf16", "codepoints")


def _local(el: etree._Element) -> str:
    from lxml import etree

    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _first(el: etree._Element, name: str) -> etree._Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _text_of(el: etree._Element | None) -> str:
    """An element's text, stripped ('' for none): what a Description or PlainTextContent says."""
    return (el.text or "").strip() if el is not None else ""


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
        Columns ``doc_id``, ``start``, ``end`` (document offsets, code points),
        ``code_id`` (None when the coding's code could not be read), ``coder``
        (the user who coded, ``"imported"`` when unknown), ``memo`` (the
        coding's memos however the tool wrote them, or None), ``created_at``
        (as written in the file, or None).
    notes : DataFrame
        Memos with no coding to hang on (annotations, source, case and
        project memos, journals): table ``imported_notes`` of :mod:`qualcode.schemas`.
    report : DataFrame
        Everything not taken as it was (what, how many, outcome, why, where):
        table ``import_report`` of :mod:`qualcode.schemas`.
    origin : str
        The ``origin`` attribute of ``<Project>`` (the tool that wrote the file), or "".
    positions : str
        How the selections' positions were read: ``"codepoints"`` or ``"utf16"``.
    """

    name: str
    codebook: Codebook | None
    documents: list[ReadDocument]
    selections: pd.DataFrame
    notes: pd.DataFrame = pd.DataFrame()
    report: pd.DataFrame = pd.DataFrame()
    origin: str = ""
    positions: str = "codepoints"


def read_qdpx(path: str | Path, *, position_units: PositionUnits | str = "auto") -> QdpxContents:
    """Read a ``.qdpx`` written by qualcode or another tool: documents, code book, codings, memos, and a report.

    Documents keep their text exactly (positions in the file refer to it);
    speaker labels are found as in plain-text transcripts. Case variables
    and source variables become document attributes. Coding memos are read
    in every form tools write them (``<Coding><NoteRef>``,
    ``<PlainTextSelection><Description>`` or ``<NoteRef>``); annotations,
    source, case and project memos and journals become notes; a PDF's text
    and a recording's transcripts become documents, a set of sources an
    attribute. What has no place in qualcode (pictures, PDF page areas, time
    selections, code groups, Links, Graphs …) is counted in the report.
    Only the ``.qde`` file and the texts its sources and notes name are
    inflated (originals, Word copies and media are never read).

    Parameters
    ----------
    path : path
        The ``.qdpx`` archive.
    position_units : {"auto", "utf16", "codepoints"}, default "auto"
        How the file counts positions: by the tool that wrote it, measured
        when unknown (see the module's docstring); or as given.

    Returns
    -------
    QdpxContents
        ``name``, ``codebook``, ``documents``, ``selections`` (columns in
        :data:`SELECTION_COLUMNS`), ``notes``, ``report``, ``origin``, ``positions``.

    Raises
    ------
    ExchangeFileError
        For an unsafe or damaged archive (C6): a member that cannot be
        inflated (corrupt, encrypted, unknown compression), no or several
        ``.qde`` files, a root that is not ``<Project>``, a GUID used by two
        elements of one kind, a selection whose position is not a whole
        number, a source text that is not UTF-8; and for a project with
        text sources none of whose texts is in the archive. The message
        names the archive, the member and the line, and says what to do.
    ParameterError
        For a ``position_units`` that is not one of the three.

    Warns
    -----
    QualcodeWarning
        When the project file is not named ``project.qde``; and once per
        file, with counts and lines, for what was not imported, renamed or
        guessed (the rows of ``report`` with those outcomes).

    Examples
    --------
    >>> read_qdpx("estudio.qdpx").selections.head()  # doctest: +SKIP
    >>> read_qdpx("nvivo.qdpx").report  # doctest: +SKIP
    """
    if position_units not in POSITION_UNITS:
        raise ParameterError(f"position_units={position_units!r} is not one of {', '.join(POSITION_UNITS)}: 'auto' "
                             "reads positions as the tool that wrote the file counts them.")
    path = existing_file(path, ExchangeFileError, "REFI-QDA project (.qdpx)")
    with path.open("rb") as head:
        start = head.read(64).lstrip()
    if path.suffix.lower() == ".qdc" or start.startswith((b"<?xml", b"\xef\xbb\xbf<?xml")):
        raise ExchangeFileError(
            f"{path}: this is an XML file (a REFI-QDA codebook, .qdc, or a bare .qde), not a .qdpx project archive. "
            "A codebook starts a project with: qualcode init PROJECT --codebook FILE.qdc (or qualcode codebook "
            "convert FILE.qdc codebook.yaml); a project is exported from its tool as .qdpx.", path=path)
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
    _refuse_duplicate_guids(root, where)
    return _Reader(path, where, root, names, data, str(position_units)).read()


# A position is a whole number (ASCII digits, as xsd:integer). More than 18 digits is beyond any text: read as
# 10**18 (so skipped as outside its text) without converting a hostile 5,000-digit value.
_INTEGER = re.compile(r"\s*([+-]?)([0-9]+)\s*")
_MAX_DIGITS = 18
# Examples (lines) named per kind of problem in the one warning an import gives and in the report's `where`.
_SHOWN = 5
# What zipfile and zlib raise on a member they cannot inflate (damaged, encrypted, unknown method, truncated).
_INFLATE_ERRORS = (zlib.error, zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, ValueError)
# Characters outside the Basic Multilingual Plane: one code point, two UTF-16 code units.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# File suffixes a source's name may carry that a document id leaves out (texts, PDFs, recordings).
_SUFFIXES = (".txt", ".docx", ".rtf", ".pdf", ".m4a", ".mp3", ".wav", ".mp4", ".mov", ".avi", ".mpg")
# The spec's folder for internal files (§8.1); NVivo capitalises it.
_SOURCES = SOURCES_FOLDER + "/"
# How each producer counts positions: (substring of <Project origin>, lower case; reading or None = measured; why).
# First match wins ("qualcoder" before "qualcode"). The module docstring's table says the same.
PRODUCERS: tuple[tuple[str, str | None, str], ...] = (
    ("nvivo", "utf16", "NVivo counts UTF-16 code units (an emoji counts 2)"),
    ("qualcoder", "codepoints", "QualCoder counts characters (code points)"),
    ("qualcode", "codepoints", "qualcode counts characters (code points)"),
    ("taguette", "codepoints", "Taguette counts characters (code points)"),
    ("atlas", None, "how ATLAS.ti counts emoji is not known"),
    ("maxqda", None, "how MAXQDA counts emoji is not known"),
)
#: The words of the one import warning that point to the report (the CLI, which prints the report, skips it).
REPORTED = "the import report lists it all"
# Outcomes of the report that lose or change something: these are also said in the one warning.
_WARNED = frozenset({"not imported", "renamed", "changed", "guessed"})
# Source elements other than TextSource, and what their selections are called (reported, not imported).
_MEDIA = {"PictureSource": "PictureSelection", "AudioSource": "AudioSelection", "VideoSource": "VideoSelection",
          "PDFSource": "PDFSelection"}


# A GUID as a lookup key (braces, case and space do not matter): one rule for codes, sources, notes ….
_key = guid_key


class _Issues:
    """What an import did not take as it was, by kind: the import report, and one warning per file for losses."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kinds: dict[tuple[str, str], tuple[str, list[str]]] = {}

    def add(self, what: str, line: int | None, detail: str | None = None, *, outcome: str = "not imported",
            why: str = "", count: int = 1) -> None:
        _, seen = self.kinds.setdefault((what, outcome), (why, []))
        place = f"line {line}" + (f" ({detail})" if detail else "") if line else detail or ""
        seen.extend([place] * count)

    def frame(self) -> pd.DataFrame:
        rows = []
        for (what, outcome), (why, places) in self.kinds.items():
            rows.append((what, len(places), outcome, why, _shown([p for p in places if p])))
        out = pd.DataFrame(rows, columns=columns("import_report"))
        out = out.astype(dict.fromkeys(("what", "outcome", "why", "where"), "string") | {"count": "int64"})
        return check(out, "import_report")

    def warn(self) -> None:
        parts = []
        for (what, outcome), (why, places) in self.kinds.items():
            if outcome not in _WARNED:
                continue
            said = f" ({outcome}: {why})" if why else ""
            parts.append(f"{len(places)} time(s): {what}{said} — {_shown([p for p in places if p]) or '?'}")
        if parts:
            warnings.warn(f"{self.path}: " + "; ".join(parts) + f". Everything else was imported ({REPORTED}); "
                          "to keep these, fix them in the tool that wrote the file and export it again.",
                          QualcodeWarning, stacklevel=5)


_OFFSET_THEN_Z = re.compile(r"[+-][0-9]{2}:[0-9]{2}Z\s*$")


def _shown(places: list[str]) -> str:
    unique = list(dict.fromkeys(places))
    more = len(unique) - _SHOWN
    return ", ".join(unique[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


@dataclass
class _Source:
    """One text-bearing element (a TextSource, or a PDF's plain-text Representation) and what it yields."""

    element: etree._Element
    guid: str
    name: str
    owner: etree._Element  # where variables, notes and the name live (the PDFSource for a Representation)
    text: str | None = None
    doc_id: str = ""
    reading: Any = None  # _Positions for this text


@dataclass
class _Notes:
    """The file's <Note>s, and which of them a coding, selection or source used (the rest are project notes)."""

    elements: dict[str, etree._Element] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)


class _Reader:
    """One read of one ``.qde``: the steps of :func:`read_qdpx` sharing the archive, the report and the notes."""

    def __init__(self, path: Path, where: str, root: etree._Element, names: list[str], data: bytes,
                 position_units: str) -> None:
        self.path, self.where, self.root, self.names, self.data = path, where, root, names, data
        self.position_units = position_units
        self.issues = _Issues(path)
        self.notes = _Notes()
        self.note_rows: list[tuple[Any, ...]] = []
        self.missing: list[tuple[_Source, list[str]]] = []
        # Cases with no SourceRef: (line, variable values, memo as (name, text, author, created) or None).
        self.sourceless: list[tuple[int | None, dict[str, Any], tuple[str, str, str | None, str | None] | None]] = []
        # Per GUID a case's SourceRef names but no source has: the case's (variables, memo), linked later if can be.
        self.case_of_unlinked: dict[str, list[tuple[dict[str, Any], tuple[str, str, str | None, str | None] | None]]]
        self.case_of_unlinked = {}
        self.used_links: set[int] = set()  # the <Link>s taken as annotations (by id of the element)
        self.read_sources: list[_Source] = []  # the sources imported as documents (set once they are)
        self.users = {_key(u.get("guid")): (u.get("name") or "imported")
                      for users in _children(root, "Users") for u in _children(users, "User")}

    # -- the steps ----------------------------------------------------------------------------------------------

    def read(self) -> QdpxContents:
        root, issues = self.root, self.issues
        codebook, guid_to_code = self._codebook()
        variables = _variable_names(root, issues)
        sources = self._sources()
        doc_attributes, case_memos, unlinked = self._cases(sources, variables)
        for guid, sets in self._source_sets(sources, variables).items():
            doc_attributes.setdefault(guid, {}).update(sets)
        wanted = self._wanted_members(sources, unlinked)
        inflated = _inflate(self.path, set(wanted.values()).__contains__) if wanted else {}
        twins: list[tuple[int, str, str]] = []
        for key, member in wanted.items():
            kind, _, rest = key.partition(":")
            where = f"{self.path}: member {member!r}"
            if kind == "source":  # a source's text: not UTF-8 is refused (its positions could not be trusted)
                sources[int(rest)].text = _decode(inflated[member], where)
                continue
            try:
                text = _decode(inflated[member], where)
            except ExchangeFileError:
                issues.add("a note or file that is not UTF-8 text", None, repr(member),
                           why="REFI-QDA texts are UTF-8; export the project again")
                continue
            if kind == "note":
                self.notes.texts[rest] = text
            elif kind == "twin":
                twins.append((int(rest), member, text))
            else:  # a case's SourceRef to a file, not a source (QualCoder): matched by the text it holds
                self._link_by_content(rest, text, sources, doc_attributes, case_memos, unlinked)
        self._refuse_when_nothing_readable(sources)
        for index, member, text in twins:
            source = sources[index]
            if source.text is not None and source.text != text:
                issues.add("a source's text is in both sources/ and Sources/, and the two differ", None,
                           f"{source.name!r}: {wanted[f'source:{index}']!r} read, {member!r} not", outcome="changed",
                           why="the spec's sources/ is read; remove the other folder's copy if that is the right one")
        for refs in unlinked.values():
            for line in refs:
                issues.add("a case refers to a source the file does not hold (its variables are not used)", line,
                           why="the case's SourceRef names no source of the file")
        positions = self._choose_positions([s for s in sources if s.text is not None])
        docs, selections = [], []
        doc_ids: set[str] = set()
        links = self._note_links()
        for source in sources:
            if source.text is None:
                continue
            doc, rows = self._document(source, doc_ids, variables, doc_attributes, guid_to_code, codebook, links)
            docs.append(doc)
            selections.extend(rows)
            for name, memo, author, created in case_memos.get(source.guid, []):
                self._note(source.doc_id, "case memo", name, author, created, None, None, None, memo)
        self._sourceless_cases(docs)
        self.read_sources = [s for s in sources if s.text is not None]
        self._project_level()
        issues.warn()
        notes = pd.DataFrame(self.note_rows, columns=columns("imported_notes"))
        notes = check(notes.astype({c: "string" for c in columns("imported_notes") if c not in ("start", "end")}
                                   | {"start": "Int64", "end": "Int64"}), "imported_notes")
        return QdpxContents(root.get("name") or self.path.stem, codebook, docs,
                            pd.DataFrame(selections, columns=SELECTION_COLUMNS, dtype=object), notes,
                            issues.frame(), root.get("origin") or "", positions)

    def _source_sets(self, sources: list[_Source], variables: dict[str, str]) -> dict[str, dict[str, str]]:
        """Sets of sources (NVivo source sets, ATLAS.ti document groups): one attribute per set, "yes" on its members.

        An attribute is what qualcode groups documents by (``--by``); a set named like a variable or a corpus
        column gets ``set_`` before its name.
        """
        known = {s.guid for s in sources}
        taken = set(variables.values()) | NOT_ATTRIBUTES
        out: dict[str, dict[str, str]] = {}
        for block in _children(self.root, "Sets"):
            for item in _children(block, "Set"):
                members = [_key(m.get("targetGUID")) for m in _children(item, "MemberSource")]
                if not members:
                    continue
                name = (item.get("name") or "").strip() or f"set_{item.sourceline}"
                while name in taken:
                    name = f"set_{name}"
                taken.add(name)
                for guid in members:
                    if guid in known:
                        out.setdefault(guid, {})[name] = "yes"
                self.issues.add("a set of sources (document group)", item.sourceline, repr(name),
                                outcome="imported as attribute",
                                why="each member document has the attribute, with value 'yes': group by it with --by")
        return out

    def _sourceless_cases(self, docs: list[ReadDocument]) -> None:
        """Cases that name no source (QualCoder's re-export): their memo is a project note; their values are said
        lost only when no document carries them already (QualCoder writes them on the sources too)."""
        carried = {(k, str(v)) for doc in docs for k, v in (doc.attributes or {}).items()}
        for line, values, memo in self.sourceless:
            if memo is not None:
                name, text, author, created = memo
                self._note(None, "case memo", name, author, created, None, None, None, text)
            if not values:
                continue
            # Line only: a case is often named after its participant, and the report is printed.
            if all((k, str(v)) in carried for k, v in values.items()):
                self.issues.add("a case with no source, whose values its documents carry", line, outcome="imported",
                                why="the documents' own variables hold the same values")
            else:
                self.issues.add("a case with no source", line,
                                why="its variables have no document to go on; link the case to its sources")

    def _codebook(self) -> tuple[Codebook | None, dict[str, str]]:
        """The code book and each code's GUID → its id, from the one parse of the ``.qde`` (matched by GUID)."""
        if _first(self.root, "CodeBook") is None:
            return None, {}
        return read_codebook_xml(self.root, name=self.where, stem=self.path.stem)

    def _sources(self) -> list[_Source]:
        """The text-bearing sources; every other kind of source is counted in the report with its codings."""
        out: list[_Source] = []
        for block in _children(self.root, "Sources"):
            for el in block:
                kind = _local(el)
                if kind == "TextSource":
                    out.append(_Source(el, _key(el.get("guid")), el.get("name") or _key(el.get("guid")), el))
                    continue
                if not kind:
                    continue
                # A PDF's plain-text representation, a recording's transcripts: text, imported as documents (the
                # first carries the source's name, variables, memo and whole-source codings).
                texts = _children(el, "Representation") if kind == "PDFSource" else _children(el, "Transcript")
                for k, part in enumerate(texts):
                    name = (el.get("name") if k == 0 else None) or part.get("name") or el.get("name") or \
                        _key(part.get("guid")) or _key(el.get("guid"))
                    out.append(_Source(part, _key(el.get("guid")) if k == 0 else _key(part.get("guid")), name,
                                       el if k == 0 else part))
                if texts:
                    self.issues.add(f"a {kind} imported as the plain text the file gives for it", el.sourceline,
                                    outcome="converted", why="qualcode codes text: the document is that text "
                                    "(its pages, layout and pictures are not kept); selections on it are read")
                self._report_media(el, kind, imported_text=bool(texts))
        return out

    def _report_media(self, el: etree._Element, kind: str, *, imported_text: bool) -> None:
        issues = self.issues
        why_kind = "qualcode codes text; open the file in a tool that codes pictures, audio, video or PDF pages"
        if not imported_text:
            issues.add(f"a non-text source ({kind})", el.sourceline, repr(el.get("name") or ""), why=why_kind)
        selection = _MEDIA.get(kind, "")
        for sel in el.iter():
            local = _local(sel)
            if local == selection:
                n = len(_children(sel, "Coding"))
                issues.add(f"a selection on a non-text source ({local})", sel.sourceline, why=why_kind)
                if n:
                    issues.add(f"a coding of a selection on a non-text source ({local})", sel.sourceline,
                               why=why_kind, count=n)
                if _text_of(_first(sel, "Description")):
                    issues.add(f"a memo on a selection of a non-text source ({local})", sel.sourceline, why=why_kind)
        n_direct = len(_children(el, "Coding"))
        if n_direct and not imported_text:
            issues.add(f"a coding of a whole non-text source ({kind})", el.sourceline, why=why_kind, count=n_direct)
        if _text_of(_first(el, "Description")) and not imported_text:
            issues.add(f"a memo on a non-text source ({kind})", el.sourceline, why=why_kind)
        values = _children(el, "VariableValue")
        if values and not imported_text:
            issues.add("a variable value of a non-text source", el.sourceline, why=why_kind, count=len(values))

    def _cases(self, sources: list[_Source], variables: dict[str, str]
               ) -> tuple[dict[str, dict[str, Any]], dict[str, list[tuple[str, str, str | None, str | None]]],
                          dict[str, list[int | None]]]:
        """Per source GUID: its case variables and case memos; and SourceRefs naming no source (by target)."""
        known = {s.guid for s in sources}
        attributes: dict[str, dict[str, Any]] = {}
        memos: dict[str, list[tuple[str, str, str | None, str | None]]] = {}
        unlinked: dict[str, list[int | None]] = {}
        by_guid = {s.guid: s for s in sources}
        case_column = self._case_column(by_guid, variables)
        for block in _children(self.root, "Cases"):
            for case in _children(block, "Case"):
                values = _values(case, variables)
                if case_column is not None:  # the case itself (its name) kept: it goes back out as a <Case>
                    values = {case_column: (case.get("name") or "").strip() or f"case_{case.sourceline}", **values}
                description = _text_of(_first(case, "Description"))
                memo = ((case.get("name") or "case", description, self._user(case.get("creatingUser")),
                         case.get("creationDateTime")) if description else None)
                for ref in _children(case, "SourceRef"):
                    target = _key(ref.get("targetGUID"))
                    if target not in known:
                        unlinked.setdefault(target, []).append(ref.sourceline)
                        self.case_of_unlinked.setdefault(target, []).append((values, memo))
                        continue
                    if case_column is not None and case_column in attributes.get(target, {}):
                        self.issues.add("a document in several cases", ref.sourceline, repr(by_guid[target].name),
                                        outcome="changed", why=f"qualcode keeps one case per document: "
                                        f"{case_column!r} holds the last case that names it")
                    attributes.setdefault(target, {}).update(values)
                    if memo is not None:
                        memos.setdefault(target, []).append(memo)
                        memo = None  # one note per case (on its first document), not one per document
                if not _children(case, "SourceRef") and (values or memo):
                    self.sourceless.append((case.sourceline, values, memo))
                n_codes = len(_children(case, "CodeRef"))
                if n_codes:
                    self.issues.add("a code given to a whole case", case.sourceline, count=n_codes,
                                    why="qualcode codes text, not cases; the case's documents are imported")
                n_selections = len(_children(case, "SelectionRef"))
                if n_selections:
                    self.issues.add("a selection assigned to a case", case.sourceline, count=n_selections,
                                    why="qualcode keeps cases as document attributes, not parts of texts")
        return attributes, memos, unlinked

    def _case_column(self, sources: dict[str, _Source], variables: dict[str, str]) -> str | None:
        """The attribute that keeps each case's name, or None when every case's values already name it.

        A case whose name is one of its values (or of all its sources' values), as qualcode and QualCoder write
        them, is carried by that variable. Otherwise the case's name becomes the ``participant`` attribute
        (``case`` when the file has a variable of that name), so cases and their members survive a trip.
        """
        linked = []
        for block in _children(self.root, "Cases"):
            for case in _children(block, "Case"):
                refs = [sources[t] for t in (_key(r.get("targetGUID")) for r in _children(case, "SourceRef"))
                        if t in sources]
                if refs:
                    linked.append((case, refs))
        if not linked:
            return None

        def carried(case: etree._Element, refs: list[_Source]) -> bool:
            name = (case.get("name") or "").strip()
            own = {str(v).strip() for v in _values(case, variables).values() if v is not None}
            return bool(name) and (name in own or all(
                name in {str(v).strip() for v in _values(s.owner, variables).values() if v is not None}
                for s in refs))

        if all(carried(case, refs) for case, refs in linked):
            return None
        taken = {v.casefold() for v in variables.values()}
        column = "participant" if "participant" not in taken else "case"
        while column.casefold() in taken:
            column = f"{column}_"
        self.issues.add("cases (their names and documents)", linked[0][0].sourceline, repr(column),
                        outcome="imported as attribute", count=len(linked),
                        why=f"each case's documents have its name in the attribute {column!r}; exported back as cases")
        return column

    def _wanted_members(self, sources: list[_Source], unlinked: dict[str, list[int | None]]) -> dict[str, str]:
        """Which archive member holds each source's text, each note's text, and each file a case names."""
        lookup = _Members(self.names)
        wanted: dict[str, str] = {}
        for index, source in enumerate(sources):
            inline = _first(source.element, "PlainTextContent")
            if inline is not None and inline.text:
                source.text = inline.text
                continue
            tried: list[str] = []
            member = None
            for attribute in ("plainTextPath", "path"):
                ref = (source.element.get(attribute) or "").strip()
                if not ref or (attribute == "path" and not ref.lower().endswith(".txt")):
                    continue
                member, looked = lookup.find(ref)
                tried.append(f"{attribute}={ref!r} → {looked}")
                if member is not None:
                    break
            if member is not None:
                wanted[f"source:{index}"] = member
                if lookup.twin:
                    wanted[f"twin:{index}"] = lookup.twin
                continue
            internal = (source.element.get("plainTextPath") or source.element.get("path") or "").strip()
            self.missing.append((source, tried))
            self.issues.add("a source has no plain text in the archive (not imported, nor its codings)",
                            source.element.sourceline, f"{source.name!r}" + (f", {internal!r}" if internal else ""),
                            why="its text is neither in the .qde nor in the archive's sources folder")
        for guid, note in self._note_elements().items():
            inline = _first(note, "PlainTextContent")
            if inline is not None and inline.text:
                self.notes.texts[guid] = inline.text
                continue
            ref = (note.get("plainTextPath") or "").strip()
            member = lookup.find(ref)[0] if ref else None
            if member is not None:
                wanted["note:" + guid] = member
            elif _text_of(_first(note, "Description")):
                self.notes.texts[guid] = _text_of(_first(note, "Description"))
        for guid in unlinked:
            member = lookup.by_stem(guid)
            if member is not None and member not in wanted.values():
                wanted["file:" + guid] = member
        return wanted

    def _note_elements(self) -> dict[str, etree._Element]:
        if not self.notes.elements:
            self.notes.elements = {_key(n.get("guid")): n for block in _children(self.root, "Notes")
                                   for n in _children(block, "Note")}
        return self.notes.elements

    def _link_by_content(self, guid: str, text: str, sources: list[_Source], attributes: dict[str, dict[str, Any]],
                         memos: dict[str, list[tuple[str, str, str | None, str | None]]],
                         unlinked: dict[str, list[int | None]]) -> None:
        """QualCoder points a case at a copy of a source's text file, not at the source: link when one text matches."""
        same = [s for s in sources if s.text is not None and s.text.lstrip("\ufeff") == text]
        if len(same) != 1:
            return
        lines = unlinked.pop(guid)
        for values, memo in self.case_of_unlinked.get(guid, []):
            attributes.setdefault(same[0].guid, {}).update(values)
            if memo is not None:
                memos.setdefault(same[0].guid, []).append(memo)
        self.issues.add("a case refers to a copy of a source's text file instead of the source", lines[0],
                        outcome="imported", count=len(lines),
                        why="linked to the source whose text it holds (QualCoder writes cases so)")

    def _refuse_when_nothing_readable(self, sources: list[_Source]) -> None:
        missing = self.missing
        if not sources or len(missing) < len(sources):
            return
        shown = "; ".join(f"{s.name!r} (line {s.element.sourceline}: " + (", ".join(tried) or "no plainTextPath")
                          + ")" for s, tried in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        held = [n for n in self.names if not n.lower().endswith(".qde")]
        raise ExchangeFileError(
            f"{self.path}: none of its {len(sources)} text source(s) has its text in the archive, so the project "
            f"would come in without documents or codings. Looked for: {shown}{more}. The archive holds "
            f"{_shown(held) or 'no other file'}. Export the project again from its tool with its sources embedded "
            "(REFI-QDA keeps them in the archive's 'sources' folder).", path=self.path)

    def _choose_positions(self, sources: list[_Source]) -> str:
        """The reading of positions for the whole file (one tool wrote it), said in the report when it matters."""
        affected = [s for s in sources if s.text is not None and _ASTRAL.search(s.text)]
        for source in sources:
            source.reading = _Positions(source.text or "", "codepoints")
        if self.position_units != "auto":
            chosen = self.position_units
            how = "as asked (position_units / --positions)"
            outcome = "converted" if chosen == "utf16" else "imported"
            if affected:
                fits = {u: _fit(affected, u) for u in ("codepoints", "utf16")}
                if fits[chosen][0] < fits[_other(chosen)][0]:  # the user's reading fits worse: say so, loudly
                    how += (f", although only {fits[chosen][0]} of {fits[chosen][1]} selections {fits[chosen][2]} "
                            f"read so and {fits[_other(chosen)][0]} read as {_UNITS[_other(chosen)]}: check "
                            f"--positions {_other(chosen)}")
                    outcome = "guessed"
        else:
            origin = (self.root.get("origin") or "").lower()
            rule, why = next(((u, why) for key, u, why in PRODUCERS if key in origin), (None, "the tool is not known"))
            if not affected:
                return rule or "codepoints"
            fits = {u: _fit(affected, u) for u in ("codepoints", "utf16")}
            guessed = rule is None
            chosen = rule or ("utf16" if fits["utf16"][0] > fits["codepoints"][0] else "codepoints")
            figures = (f"{fits[chosen][0]} of {fits[chosen][1]} selections {fits[chosen][2]} read so, "
                       f"{fits[_other(chosen)][0]} read as {_UNITS[_other(chosen)]}")
            if guessed:
                how, outcome = (f"guessed ({why}, origin {self.root.get('origin')!r}): {figures}; give --positions "
                                "(position_units=) if that is wrong"), "guessed"
            else:
                how = f"{why} (origin {self.root.get('origin')!r}): {figures}"
                outcome = "converted" if chosen == "utf16" else "imported"
        for source in sources:
            source.reading = _Positions(source.text or "", chosen)
        n = sum(len(_children(s.element, "PlainTextSelection")) for s in affected)
        if n:  # a reading only matters where there are selections to place
            self.issues.add(f"selection positions in texts with emoji or other characters beyond U+FFFF, read as "
                            f"{_UNITS[chosen]}", None, ", ".join(repr(s.name) for s in affected[:_SHOWN]),
                            outcome=outcome, why=how, count=n)
        return chosen

    def _note_links(self) -> dict[str, list[tuple[str, etree._Element]]]:
        """Selection GUID → the notes a <Link> ties to it, with the link (NVivo's annotations).

        A note something refers to by a ``<NoteRef>`` (the project's memo, a source's, a code's) has its place
        already: its link is not taken (and is reported as a link qualcode does not keep).
        """
        out: dict[str, list[tuple[str, etree._Element]]] = {}
        notes = self._note_elements()
        referred = {_key(r.get("targetGUID")) for r in self.root.iter() if _local(r) == "NoteRef"}
        for block in _children(self.root, "Links"):
            for link in _children(block, "Link"):
                origin, target = _key(link.get("originGUID")), _key(link.get("targetGUID"))
                if origin in notes and origin not in referred:
                    out.setdefault(target, []).append((origin, link))
                elif target in notes and target not in referred:
                    out.setdefault(origin, []).append((target, link))
        return out

    def _document(self, source: _Source, doc_ids: set[str], variables: dict[str, str],
                  doc_attributes: dict[str, dict[str, Any]], guid_to_code: dict[str, str], codebook: Codebook | None,
                  links: dict[str, list[tuple[str, etree._Element]]]) -> tuple[ReadDocument, list[tuple[Any, ...]]]:
        issues, name, text = self.issues, source.name, source.text or ""
        wanted_id = Path(name).stem if name.lower().endswith(_SUFFIXES) else name
        doc_id = _free_id(wanted_id, doc_ids)
        source.doc_id = doc_id
        if doc_id != wanted_id:
            issues.add("two sources have one name (the later one is imported under another)", source.owner.sourceline,
                       f"{wanted_id!r} → {doc_id!r}", outcome="renamed")
        # Parsed as it is, never normalised: the selections' positions refer to this exact text.
        parsed = parse_transcript(text)
        sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        attrs = dict(doc_attributes.get(source.guid, {}))
        attrs.update(_values(source.owner, variables))
        doc = ReadDocument(doc_id, str(self.path), "qdpx", "utf-8", sha, parsed, "", attrs or None)
        rows: list[tuple[Any, ...]] = []
        for owner in {id(source.element): source.element, id(source.owner): source.owner}.values():
            memo = _text_of(_first(owner, "Description"))
            if memo:  # named by its document, the name it goes back out under (a PDF's name loses ".pdf")
                self._note(doc_id, "source memo", doc_id, self._user(owner.get("creatingUser")),
                           owner.get("creationDateTime"), None, None, None, memo)
            for ref in _children(owner, "NoteRef"):
                self._source_note(source, _key(ref.get("targetGUID")), ref.sourceline)
            for coding in _children(owner, "Coding"):  # the whole source coded
                rows.extend(self._codings(source, [coding], 0, len(text), None, guid_to_code, codebook))
        for selection in [*_children(source.element, "PlainTextSelection"),
                          *_children(source.element, "TranscriptSelection")]:
            span = self._span(source, selection)
            if span is None:
                continue
            start, end = span
            memos: list[str] = [_text_of(_first(selection, "Description"))]
            memos += [self._note_text(_key(r.get("targetGUID")), r.sourceline, "a selection")
                      for r in _children(selection, "NoteRef")]
            for guid, link in links.get(_key(selection.get("guid")), []):
                # A note tied to the words by a Link (NVivo's annotation): an annotation with its own name, author
                # and date, never a coding's memo (it is not the coder's).
                note = self._note_elements()[guid]
                linked = self.notes.texts.get(guid, "")
                if linked.strip():
                    self.notes.used.add(guid)
                    self.used_links.add(id(link))
                    self._note(doc_id, "annotation", note.get("name") or selection.get("name") or "",
                               self._user(note.get("creatingUser") or selection.get("creatingUser")),
                               note.get("creationDateTime"), start, end, text[start:end], linked)
            codings = _children(selection, "Coding")
            if not codings:
                said = _join(memos)
                if not said and any(self.notes.texts.get(g, "").strip()
                                    for g, _ in links.get(_key(selection.get("guid")), [])):
                    continue  # its annotation is the linked note's
                if said:  # MAXQDA's and NVivo's annotations: a selection with a memo and no code
                    self._note(doc_id, "annotation", selection.get("name") or "",
                               self._user(selection.get("creatingUser")), selection.get("creationDateTime"),
                               start, end, text[start:end], said)
                else:
                    issues.add("a selection with neither a code nor a memo", selection.sourceline,
                               why="nothing to import")
                continue
            rows.extend(self._codings(source, codings, start, end, selection, guid_to_code, codebook, memos))
        return doc, rows

    def _codings(self, source: _Source, codings: list[etree._Element], start: int, end: int,
                 selection: etree._Element | None, guid_to_code: dict[str, str], codebook: Codebook | None,
                 memos: list[str] | None = None) -> list[tuple[Any, ...]]:
        issues = self.issues
        rows = []
        # A selection's own memo is its creator's: it goes with the codings that creator made, not with every
        # coder's coding of the same words (one with none of theirs: every coding, as before).
        owner = _key(selection.get("creatingUser")) if selection is not None and selection.get("creatingUser") else ""
        theirs = {i for i, c in enumerate(codings) if not owner or _key(c.get("creatingUser") or owner) == owner}
        for index, coding in enumerate(codings):
            ref = _first(coding, "CodeRef")
            code_id = guid_to_code.get(_key(ref.get("targetGUID") if ref is not None else None))
            if code_id is None and codebook is not None:
                issues.add("a coding refers to a code the code book does not hold (not imported)", coding.sourceline,
                           why="the file is inconsistent")
            elif code_id is None:
                issues.add("a coding in a file without a code book (not imported)", coding.sourceline,
                           why="the file holds no <CodeBook>: export the project with its codes")
            parts = list(memos or []) if index in theirs or not theirs else []
            parts += [self._note_text(_key(r.get("targetGUID")), r.sourceline, "a coding")
                      for r in _children(coding, "NoteRef")]
            user = coding.get("creatingUser") or (selection.get("creatingUser") if selection is not None else None)
            who = self.users.get(_key(user)) if user else "imported"
            if who is None:
                issues.add("a coding names a user the file does not list (attributed to 'imported')",
                           coding.sourceline, outcome="changed")
                who = "imported"
            created = coding.get("creationDateTime") or (selection.get("creationDateTime")
                                                         if selection is not None else None)
            if created is not None and _OFFSET_THEN_Z.search(created):
                # QualCoder 4.0 writes back a time it read with an offset as "…+00:00Z": the same time.
                created = created.strip()[:-1]
            if created is not None and not is_xsd_datetime(created):
                issues.add("a coding's creationDateTime is not a date and time (the import time is used)",
                           coding.sourceline, repr(created[:40]), outcome="changed")
                created = None
            rows.append((source.doc_id, start, end, code_id, who, _join(parts), created))
        return rows

    def _span(self, source: _Source, selection: etree._Element, *, report: bool = True) -> tuple[int, int] | None:
        if _local(selection) == "TranscriptSelection":  # between two sync points of the transcript
            points = {_key(p.get("guid")): p for p in _children(source.element, "SyncPoint")}
            ends = [points.get(_key(selection.get(a))) for a in ("fromSyncPoint", "toSyncPoint")]
            if any(p is None or p.get("position") is None for p in ends):
                self.issues.add("a transcript selection whose sync points give no text position (not imported)",
                                selection.sourceline, why="the file ties it to times only")
                return None
            raw_start, raw_end = (_position(p, "position", self.where) for p in ends if p is not None)
        else:
            raw_start = _position(selection, "startPosition", self.where)
            raw_end = _position(selection, "endPosition", self.where)
        text = source.text or ""
        start, end = source.reading.to_text(raw_start), source.reading.to_text(raw_end)
        if start is None or end is None or not 0 <= start < end <= len(text):
            if not report:
                return None
            self.issues.add(f"a selection lies outside its source's text or is empty (not imported; source "
                            f"{source.name!r} has {len(text)} characters)", selection.sourceline,
                            f"{raw_start}–{raw_end}")
            return None
        return start, end

    def _source_note(self, source: _Source, guid: str, line: int | None) -> None:
        """A note a source refers to: an annotation when it holds a selection of the source, else a source memo."""
        note = self._note_elements().get(guid)
        text = self._note_text(guid, line, "a source")
        if note is None or not text:
            return
        selection = _first(note, "PlainTextSelection")
        span = self._span(source, selection) if selection is not None else None
        author, created = self._user(note.get("creatingUser")), note.get("creationDateTime")
        if span is not None:
            start, end = span
            self._note(source.doc_id, "annotation", note.get("name") or "", author, created, start, end,
                       (source.text or "")[start:end], text)
        else:
            self._note(source.doc_id, "source memo", note.get("name") or "", author, created, None, None, None, text)

    def _note_text(self, guid: str, line: int | None, what: str) -> str:
        if guid not in self._note_elements():
            self.issues.add(f"{what} refers to a note the file does not hold" if what != "a coding"
                            else "a coding refers to a note the file does not hold", line,
                            why="the file is inconsistent")
            return ""
        self.notes.used.add(guid)
        return self.notes.texts.get(guid, "")

    def _project_level(self) -> None:
        """Project memo, journals and notes no element used; Sets, Graphs and the Links not read as annotations."""
        root, issues = self.root, self.issues
        description = _text_of(_first(root, "Description"))
        # qualcode's own (and, through QualCoder, its project memo): the code book's title, read with the code book.
        if description and read_codebook_summary(description) is None:
            self._note(None, "project memo", root.get("name") or "", self._user(root.get("creatingUserGUID")),
                       root.get("creationDateTime"), None, None, None, description)
        for ref in _children(root, "NoteRef"):  # notes about the whole project (Project.xsd's last element)
            guid = _key(ref.get("targetGUID"))
            if guid in self.notes.used:  # already a coding's memo or an annotation: kept there, once
                continue
            note = self._note_elements().get(guid)
            text = self._note_text(guid, ref.sourceline, "the project")
            if note is not None and text:
                self._note(None, "project memo", note.get("name") or "", self._user(note.get("creatingUser")),
                           note.get("creationDateTime"), None, None, None, text)
        for codebook in _children(root, "CodeBook"):
            for code in codebook.iter():
                for ref in _children(code, "NoteRef") if _local(code) == "Code" else []:
                    guid = _key(ref.get("targetGUID"))
                    note = self._note_elements().get(guid)
                    text = self._note_text(guid, ref.sourceline, "a code")
                    if note is not None and text:  # the code's own Description is its definition already
                        self._note(None, "code memo", code.get("name") or "", self._user(note.get("creatingUser")),
                                   note.get("creationDateTime"), None, None, None, text)
        for guid, note in self._note_elements().items():
            if guid in self.notes.used:
                continue
            text = self.notes.texts.get(guid, "")
            if not text:
                issues.add("a note without text in the file", note.sourceline, repr(note.get("name") or ""),
                           why="its text is neither in the .qde nor in the archive")
                continue
            if _first(note, "PlainTextSelection") is not None and self._orphan_annotation(note, text):
                continue
            self._note(None, "journal", note.get("name") or "", self._user(note.get("creatingUser")),
                       note.get("creationDateTime"), None, None, None, text)
        for block in _children(root, "Links"):
            for link in _children(block, "Link"):
                if id(link) in self.used_links:  # a note's link to words: its annotation
                    continue
                issues.add("a link between two items", link.sourceline, repr(link.get("name") or ""),
                           why="qualcode keeps no links; the linked items themselves are imported when they can be")
        for block in _children(root, "Sets"):
            for item in _children(block, "Set"):
                n_notes = len(_children(item, "MemberNote"))
                if n_notes:
                    issues.add("a note in a set", item.sourceline, repr(item.get("name") or ""), count=n_notes,
                               why="qualcode keeps no sets of notes; the notes themselves are imported")
                n_codes = len(_children(item, "MemberCode"))
                if n_codes and not is_codebook_set(item):  # qualcode's own codebook metadata: read by read_qdc
                    issues.add("a set of codes (code group)", item.sourceline, repr(item.get("name") or ""),
                               why="qualcode has no code groups; group codes under a parent code")
        for block in _children(root, "Graphs"):
            for item in _children(block, "Graph"):
                issues.add("a graph (network view)", item.sourceline, repr(item.get("name") or ""),
                           why="qualcode keeps no drawings")

    def _orphan_annotation(self, note: etree._Element, text: str) -> bool:
        """A note holding a selection that no source refers to (QualCoder 4.0 refers to one annotation per
        document only): an annotation of the one document its selection fits, else False (kept as a journal)."""
        selection = _first(note, "PlainTextSelection")
        fits = []
        for source in self.read_sources:
            try:
                span = self._span(source, selection, report=False) if selection is not None else None
            except ExchangeFileError:
                return False
            if span is not None:
                fits.append((source, span))
        if len(fits) != 1:
            self.issues.add("an annotation no source refers to, on words of several documents (kept as a journal)",
                            note.sourceline, outcome="changed",
                            why="the file does not say which document it annotates (QualCoder 4.0 writes so)")
            return False
        (source, (start, end)), = fits
        self._note(source.doc_id, "annotation", note.get("name") or "", self._user(note.get("creatingUser")),
                   note.get("creationDateTime"), start, end, (source.text or "")[start:end], text)
        if len(self.read_sources) > 1:
            self.issues.add("an annotation no source refers to, placed on the only document its words fit",
                            note.sourceline, outcome="guessed",
                            why="the file does not say which document it annotates (QualCoder 4.0 writes so)")
        return True

    # -- helpers ------------------------------------------------------------------------------------------------

    def _user(self, guid: str | None) -> str | None:
        return self.users.get(_key(guid)) if guid else None

    def _note(self, doc_id: str | None, kind: str, name: str, author: str | None, created: str | None,
              start: int | None, end: int | None, quote: str | None, text: str) -> None:
        self.note_rows.append((doc_id, kind, name, author, created, start, end, quote, text))
        self.issues.add(f"a memo ({kind})", None, outcome="imported as note",
                        why="qualcode keeps it with the project: qc.imported_notes(project)")
        if not (created or "").strip():
            self.issues.add("a memo with no date", None, kind, outcome="imported as note",
                            why="the file gives it no creationDateTime; an export dates it when the project was "
                            "imported (REFI-QDA tools need a date)")


def _join(parts: Iterable[str]) -> str | None:
    """Memos as one text: each distinct one once (a tool may write a memo in two forms), in file order."""
    kept = list(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
    return "\n\n".join(kept) or None


_UNITS = {"codepoints": "code points", "utf16": "UTF-16 code units"}


def _other(units: str) -> str:
    return "codepoints" if units == "utf16" else "utf16"


class _Positions:
    """A text's positions as a tool counts them → offsets in the text (code points)."""

    def __init__(self, text: str, units: str) -> None:
        self.length = len(text)
        # Where each character beyond U+FFFF starts, counted in UTF-16 code units (it takes two): the k-th one,
        # at code point a, starts at unit a + k. None when positions are code points or the text has none.
        self.wide: list[int] | None = None
        if units == "utf16":
            self.wide = [m.start() + k for k, m in enumerate(_ASTRAL.finditer(text))] or None

    def to_text(self, position: int) -> int | None:
        """The offset in the text; None beyond its end. Inside a surrogate pair: the character after it."""
        if self.wide is None or position < 0:
            return position
        # Wide characters that end at or before the position (each counted one unit more than a code point); one
        # the position falls inside is not counted, so the offset is the character after it.
        before = bisect.bisect_right(self.wide, position - 2)
        offset = position - before
        return offset if offset <= self.length else None


def _fit(sources: list[_Source], units: str) -> tuple[int, int, str]:
    """How many selections fit a reading: by the words the file stores for them if any, else by word boundaries."""
    named = 0
    matched = bounded = total = 0
    # Coded selections only (an annotation's name is its title, not its words), unless the file has none.
    coded = any(_children(s, "Coding") for source in sources for s in _children(source.element, "PlainTextSelection"))
    for source in sources:
        text = source.text or ""
        reading = _Positions(text, units)
        for selection in _children(source.element, "PlainTextSelection"):
            if coded and not _children(selection, "Coding"):
                continue
            total += 1
            try:
                a = reading.to_text(_position(selection, "startPosition", ""))
                b = reading.to_text(_position(selection, "endPosition", ""))
            except ExchangeFileError:
                continue
            if a is None or b is None or not 0 <= a < b <= len(text):
                continue
            words = " ".join((selection.get("name") or "").split())
            if words:
                named += 1
                matched += " ".join(text[a:b].split()).startswith(words)
            starts = a == 0 or not text[a - 1].isalnum() or not text[a].isalnum()
            ends = b == len(text) or not text[b].isalnum() or not text[b - 1].isalnum()
            bounded += starts and ends
    if named:
        return matched, total, "match the words the file stores for them"
    return bounded, total, "start and end on word boundaries"


class _Members:
    """The archive's members, looked up as the spec's paths name them (§8.1, §8.3), in any case."""

    def __init__(self, names: list[str]) -> None:
        self.exact = {n.replace("\\", "/"): n for n in names}
        self.folded: dict[str, list[str]] = {}
        for norm, name in self.exact.items():
            self.folded.setdefault(norm.lower(), []).append(name)
        self.twin = ""

    def find(self, ref: str) -> tuple[str | None, str]:
        """The member a path names, and what was looked for (for the message when none is)."""
        self.twin = ""
        low = ref.lower()
        if low.startswith(("relative://", "absolute://")):
            return None, "a file outside the archive (not read)"
        rest = ref[len("internal://"):] if low.startswith("internal://") else ref
        rest = posixpath.normpath(rest.replace("\\", "/")).lstrip("/")
        if rest.startswith("../") or rest in ("", ".", ".."):
            return None, "nothing (the path leaves the archive)"
        base = rest[len(_SOURCES):] if rest.lower().startswith(_SOURCES) else rest
        candidates = [_SOURCES + base, "Sources/" + base, rest]
        for candidate in candidates:
            if candidate in self.exact:
                self._check_twins(candidate)
                return self.exact[candidate], _SOURCES + base
        for candidate in candidates:
            found = self.folded.get(candidate.lower(), [])
            if found:
                return sorted(found)[-1], _SOURCES + base
        return None, f"{_SOURCES}{base} (in any case)"

    def _check_twins(self, chosen: str) -> None:
        """Another member with the same name in another case (``Sources/`` beside ``sources/``): kept in ``twin``."""
        twins = [n for n in self.folded.get(chosen.lower(), []) if n != self.exact[chosen]]
        self.twin = twins[0] if twins else ""

    def by_stem(self, guid: str) -> str | None:
        """The one member whose file name (without suffix) is ``guid``, in any case; None when none or several."""
        found = [name for norm, name in self.exact.items()
                 if _key(posixpath.splitext(posixpath.basename(norm))[0]) == guid and norm.lower().endswith(".txt")]
        return found[0] if len(found) == 1 else None


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
            if name in NOT_ATTRIBUTES:
                base, n = name, 2
                while f"{base}_{n}" in NOT_ATTRIBUTES or f"{base}_{n}" in taken:
                    n += 1
                issues.add("a variable is named like a column of qualcode's own tables (imported under another name)",
                           variable.sourceline, f"{name!r} → {f'{base}_{n}'!r}", outcome="renamed",
                           why="the name is qualcode's (coder, memo, text …); an attribute sheet may not use it either")
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


def _decode(raw: bytes, where: str) -> str:
    """UTF-8, the encoding REFI-QDA prescribes (a BOM is dropped); anything else is refused, never guessed."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf16 = "; it starts with a UTF-16 byte-order mark" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else ""
        raise ExchangeFileError(
            f"{where} is not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} at offset {exc.start}{utf16}): "
            "REFI-QDA sources are UTF-8, and the selections' positions cannot be trusted in a guessed encoding. "
            "Nothing was imported; export the project again from its tool (as UTF-8).",
            path=where.split(": member")[0]) from None


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
