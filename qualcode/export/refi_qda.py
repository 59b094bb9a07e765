"""REFI-QDA project exchange (``.qdpx``): hand a coded study to ATLAS.ti, NVivo, MAXQDA … and take one back.

A ``.qdpx`` is a zip holding ``project.qde`` (XML, validated here against the
official Project.xsd shipped with qualcode) and ``Sources/<guid>.txt``, the
plain text of each document. qualcode writes: users (the coders), the
codebook (as in ``.qdc``: the description of each code carries its full
definition so nothing is lost), variables and cases (the participant
attributes), each document with its coded selections at character positions,
and memos as notes. GUIDs are derived from ids, so exporting the same project
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
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from ..codebook.model import Codebook
from ..codebook.qdc import code_description, code_guid, refi_schema
from ..errors import ExchangeFileError, QualcodeWarning
from ..io.cells import clean_text
from ..io.safe import parse_xml_safely
from ..schemas import coded as coded_rows
from ..version import __version__

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["is_xsd_datetime", "qde_bytes", "qdpx_bytes", "validate_qde"]

NS = "urn:QDA-XML:project:1.0"
_NAMESPACE = uuid.UUID("0b7c2c9e-58e4-4f7e-8f6a-3f9d7a1e2b44")


def _guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}")).upper()


def validate_qde(data: bytes, *, name: str = "project.qde") -> list[str]:
    """Validate ``project.qde`` bytes against the official Project.xsd; return the errors (empty when valid)."""
    root = parse_xml_safely(data, name=name)
    schema = refi_schema("Project.xsd")
    schema.validate(root)
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _variable_value(parent: etree._Element, attribute: str, value: object, integer: bool) -> None:
    from lxml import etree

    value_el = etree.SubElement(parent, f"{{{NS}}}VariableValue")
    etree.SubElement(value_el, f"{{{NS}}}VariableRef").set("targetGUID", _guid("variable", attribute))
    kind = "IntegerValue" if integer else "TextValue"
    etree.SubElement(value_el, f"{{{NS}}}{kind}").text = _x(value, "attribute values")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _x(value: object, where: str) -> str:
    """Text XML 1.0 can hold (BEL, ESC, NUL, U+FFFF … become spaces, counted; see io.cells.clean_text)."""
    return clean_text(str(value), where)


def qde_bytes(codebook: Codebook, documents: pd.DataFrame, decisions: pd.DataFrame, *, name: str,
              lang: str = "es") -> tuple[bytes, dict[str, str]]:
    """The ``project.qde`` XML of a study and the plain text of its sources (not yet validated).

    Parameters
    ----------
    codebook : Codebook
    documents : DataFrame
        The ``documents`` table (with ``text`` and attribute columns); every
        column that is not a declared document column is a participant
        attribute (a REFI-QDA variable, on cases and on each source).
    decisions : DataFrame
        Current decisions (as :func:`qualcode.decisions` returns them:
        ``segment_id``, ``doc_id``, ``code_id``, ``coder``, ``decision``,
        ``start``, ``end``, ``created_at``, ``memo``); only ``accept`` and
        ``manual`` rows are written, as codings of selections at their document offsets.
    name : str
        The project's name in the other tool.
    lang : {"es", "en"}
        Which label names the codes.

    Returns
    -------
    (bytes, dict of str)
        The XML, and ``Sources/<guid>.txt`` → text for each document.
    """
    from lxml import etree

    E = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    current = coded_rows(decisions).sort_values(["doc_id", "start", "code_id", "coder"])
    root = etree.Element(E("Project"), nsmap={None: NS})
    root.set("name", _x(name, "the project name"))
    root.set("origin", f"qualcode {__version__}")
    coders = sorted(set(current["coder"]))
    if coders:
        users = etree.SubElement(root, E("Users"))
        for coder in coders:
            user = etree.SubElement(users, E("User"))
            user.set("guid", _guid("user", coder))
            user.set("name", _x(coder, "coder names"))
    book = etree.SubElement(root, E("CodeBook"))
    codes_el = etree.SubElement(book, E("Codes"))
    parents: dict[str | None, etree._Element] = {None: codes_el}
    other = "en" if lang == "es" else "es"
    for code in codebook:
        el = etree.SubElement(parents[code.parent_id], E("Code"))
        el.set("guid", code_guid(code.id))
        el.set("name", _x(code.label[lang] or code.label[other] or code.id, "code names"))
        el.set("isCodable", "true")
        if code.color:
            el.set("color", code.color)
        etree.SubElement(el, E("Description")).text = _x(code_description(code), "code descriptions")
        parents[code.id] = el
    declared = {"doc_id", "source_path", "format", "encoding", "language", "sha256", "n_turns", "n_segments", "n_words",
                "labelled", "text", "unit", "added_at", "updated_at"}
    attributes = [c for c in documents.columns if c not in declared]
    if attributes and len(documents):  # the schema wants at least one <Case> in <Cases>
        variables = etree.SubElement(root, E("Variables"))
        for attribute in attributes:
            var = etree.SubElement(variables, E("Variable"))
            var.set("guid", _guid("variable", attribute))
            var.set("name", _x(attribute, "attribute names"))
            var.set("typeOfVariable", "Integer" if str(documents[attribute].dtype) == "Int64" else "Text")
        key = "participant" if "participant" in attributes else None
        cases = etree.SubElement(root, E("Cases"))
        groups = documents.groupby(key, sort=True) if key else documents.groupby("doc_id", sort=True)
        for case_key, group in groups:
            case = etree.SubElement(cases, E("Case"))
            case.set("guid", _guid("case", str(case_key)))
            case.set("name", _x(case_key, "case names"))
            first = group.iloc[0]
            for attribute in attributes:
                values = group[attribute].dropna().unique()
                if len(values) != 1:
                    continue  # differs between the case's documents: kept on each document below
                _variable_value(case, attribute, first[attribute], str(documents[attribute].dtype) == "Int64")
            for doc_id in group["doc_id"]:
                etree.SubElement(case, E("SourceRef")).set("targetGUID", _guid("source", doc_id))
    # Created with the first document: the schema wants at least one source in <Sources> (a codebook-only study).
    sources = etree.Element(E("Sources"))
    texts: dict[str, str] = {}
    notes: list[tuple[str, str, str]] = []
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
        # Kept exactly (a text file holds any character) but lone surrogates, which UTF-8 cannot encode.
        texts[f"Sources/{guid}.txt"] = _SURROGATE.sub(lambda m: _x(m.group(), "sources' text"), str(doc.text))
        coded = by_doc.get(doc.doc_id)
        for (start, end), spans in (coded.groupby(["start", "end"], sort=True) if coded is not None else []):
            selection = etree.SubElement(source, E("PlainTextSelection"))
            selection.set("guid", _guid("selection", f"{doc.doc_id}:{start}:{end}"))
            selection.set("name", _x(str(doc.text)[int(start):int(end)][:60], "coded selections' names"))
            selection.set("startPosition", str(int(start)))
            selection.set("endPosition", str(int(end)))
            for row in spans.itertuples():
                coding = etree.SubElement(selection, E("Coding"))
                coding.set("guid", _guid("coding", f"{row.segment_id}:{row.code_id}:{row.coder}:{start}"))
                coding.set("creatingUser", _guid("user", row.coder))
                if is_xsd_datetime(str(row.created_at)):
                    coding.set("creationDateTime", str(row.created_at))
                else:  # the schema takes only xsd:dateTime (an older import may have stored another tool's text)
                    undated.append(f"{doc.doc_id}:{start}")
                etree.SubElement(coding, E("CodeRef")).set("targetGUID", code_guid(row.code_id))
                if isinstance(row.memo, str) and row.memo:
                    note_guid = _guid("note", f"{row.segment_id}:{row.code_id}:{row.coder}:{start}")
                    notes.append((note_guid, row.coder, row.memo))
                    etree.SubElement(coding, E("NoteRef")).set("targetGUID", note_guid)
        # Attributes travel on each document too (a case's documents may differ: stage, round, date).
        for attribute in attributes:
            value = getattr(doc, attribute) if attribute.isidentifier() else documents.at[doc.Index, attribute]
            if value is None or value is pd.NA or (isinstance(value, float) and value != value):
                continue
            _variable_value(source, attribute, value, str(documents[attribute].dtype) == "Int64")
    if notes:
        notes_el = etree.SubElement(root, E("Notes"))
        for note_guid, coder, memo in notes:
            note = etree.SubElement(notes_el, E("Note"))
            note.set("guid", note_guid)
            note.set("name", _x(f"memo ({coder})", "memo names"))
            note.set("creatingUser", _guid("user", coder))
            etree.SubElement(note, E("PlainTextContent")).text = _x(memo, "memos")
    if undated:
        warnings.warn(f"{name}: {len(undated)} coding(s) have a creation time that is not a date and time (e.g. at "
                      f"{', '.join(undated[:3])}); written without one (REFI-QDA allows that).", QualcodeWarning,
                      stacklevel=3)
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data, texts


def qdpx_bytes(codebook: Codebook, documents: pd.DataFrame, decisions: pd.DataFrame, *, name: str,
               lang: str = "es") -> bytes:
    """A REFI-QDA ``.qdpx`` archive of a study, validated against the official schema (same input, same bytes).

    Parameters are those of :func:`qde_bytes`. The sources' plain text
    (``Sources/*.txt``) is kept exactly: selections' positions refer to it,
    and a text file may hold any character. Only the XML (names, memos,
    labels) has characters replaced.

    Returns
    -------
    bytes
        The zip archive: ``project.qde`` and ``Sources/<guid>.txt``, with fixed dates.

    Raises
    ------
    ExchangeFileError
        Never for user data; only if the written XML does not validate (a bug).

    Examples
    --------
    >>> data = qdpx_bytes(qc.load_codebook("nic_study"), project.documents, qc.decisions(project),
    ...                   name="estudio")  # doctest: +SKIP
    """
    data, texts = qde_bytes(codebook, documents, decisions, name=name, lang=lang)
    errors = validate_qde(data)
    if errors:  # pragma: no cover - a bug in this writer
        raise ExchangeFileError(f"internal error: project.qde does not validate: {errors[:3]}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("project.qde", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
        for member in sorted(texts):
            info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, texts[member].encode("utf-8"))
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
