"""REFI-QDA project exchange (``.qdpx``): hand a coded study to ATLAS.ti, NVivo, MAXQDA … and take one back.

A ``.qdpx`` is a zip holding ``project.qde`` (XML, validated here against the
official Project.xsd shipped with qualcode) and ``Sources/<guid>.txt``, the
plain text of each document. qualcode writes: users (the coders), the
codebook (as in ``.qdc``: the description of each code carries its full
definition so nothing is lost), variables and cases (the participant
attributes), each document with its coded selections at character positions,
and memos as notes. GUIDs are derived from ids, so exporting the same project
twice gives the same file.

Reading refuses unsafe archives and XML (case C6), accepts what real tools
write (one ``*.qde`` under another name, namespaces ``1.0``/``1:0``, empty
sets), and turns coded selections into manual decisions of the users who
made them.
"""

from __future__ import annotations

import io
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import ExchangeFileError, QualcodeWarning
from ..schemas import coded as coded_rows

if TYPE_CHECKING:
    from ..project import Project
    from .pseudonymize import Pseudonymizer

__all__ = ["export_refi_qda", "import_refi_qda", "validate_qde"]

NS = "urn:QDA-XML:project:1.0"
_NAMESPACE = uuid.UUID("0b7c2c9e-58e4-4f7e-8f6a-3f9d7a1e2b44")


def _guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}")).upper()


def validate_qde(data: bytes, *, name: str = "project.qde") -> list[str]:
    """Validate ``project.qde`` bytes against the official Project.xsd; return the errors (empty when valid)."""
    from ..codebook.qdc import refi_schema as _schema
    from ..io.safe import parse_xml_safely

    root = parse_xml_safely(data, name=name)
    schema = _schema("Project.xsd")
    schema.validate(root)
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _variable_value(parent, attribute: str, value: object, integer: bool) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    value_el = etree.SubElement(parent, f"{{{NS}}}VariableValue")
    etree.SubElement(value_el, f"{{{NS}}}VariableRef").set("targetGUID", _guid("variable", attribute))
    etree.SubElement(value_el, f"{{{NS}}}{'IntegerValue' if integer else 'TextValue'}").text = _x(value, "attribute values")


def _x(value: object, where: str) -> str:
    """Text XML 1.0 can hold (BEL, ESC, NUL, U+FFFF … become spaces, counted; see io.cells.clean_text)."""
    from ..io.cells import clean_text

    return clean_text(str(value), where)


def _qde(project: Project, *, lang: str) -> tuple[bytes, dict[str, str]]:
    from lxml import etree

    from .. import __version__
    from ..codebook.qdc import code_description as _description
    from ..codebook.qdc import code_guid
    from ..review.decisions import decisions

    E = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    codebook = project.codebook()
    documents = project.documents
    current = decisions(project)
    current = coded_rows(current).sort_values(["doc_id", "start", "code_id", "coder"])
    root = etree.Element(E("Project"), nsmap={None: NS})
    stored = project.query("SELECT value FROM meta WHERE key = 'name'")
    root.set("name", _x(stored[0][0] if stored else Path(project.path).stem, "the project name"))
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
    parents = {None: codes_el}
    other = "en" if lang == "es" else "es"
    for code in codebook:
        el = etree.SubElement(parents[code.parent_id], E("Code"))
        el.set("guid", code_guid(code.id))
        el.set("name", _x(code.label[lang] or code.label[other] or code.id, "code names"))
        el.set("isCodable", "true")
        if code.color:
            el.set("color", code.color)
        etree.SubElement(el, E("Description")).text = _x(_description(code), "code descriptions")
        parents[code.id] = el
    declared = {"doc_id", "source_path", "format", "encoding", "language", "sha256", "n_turns", "n_segments", "n_words",
                "labelled", "text", "unit", "added_at", "updated_at"}
    attributes = [c for c in documents.columns if c not in declared]
    if attributes:
        variables = etree.SubElement(root, E("Variables"))
        for attribute in attributes:
            var = etree.SubElement(variables, E("Variable"))
            var.set("guid", _guid("variable", attribute))
            var.set("name", _x(attribute, "attribute names"))
            var.set("typeOfVariable", "Integer" if str(documents[attribute].dtype) == "Int64" else "Text")
        key = "participant" if "participant" in attributes else None
        cases = etree.SubElement(root, E("Cases"))
        groups = documents.groupby(key, sort=True) if key else documents.groupby("doc_id", sort=True)
        for name, group in groups:
            case = etree.SubElement(cases, E("Case"))
            case.set("guid", _guid("case", str(name)))
            case.set("name", _x(name, "case names"))
            first = group.iloc[0]
            for attribute in attributes:
                values = group[attribute].dropna().unique()
                if len(values) != 1:
                    continue  # differs between the case's documents: kept on each document below
                _variable_value(case, attribute, first[attribute], str(documents[attribute].dtype) == "Int64")
            for doc_id in group["doc_id"]:
                etree.SubElement(case, E("SourceRef")).set("targetGUID", _guid("source", doc_id))
    sources = etree.SubElement(root, E("Sources"))
    texts: dict[str, str] = {}
    notes: list[tuple[str, str, str]] = []
    by_doc = dict(tuple(current.groupby("doc_id")))
    for doc in documents.itertuples():
        guid = _guid("source", doc.doc_id)
        source = etree.SubElement(sources, E("TextSource"))
        source.set("guid", guid)
        source.set("name", _x(doc.doc_id, "document names"))
        source.set("plainTextPath", f"internal://{guid}.txt")
        texts[f"Sources/{guid}.txt"] = str(doc.text)
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
                coding.set("creationDateTime", str(row.created_at))
                etree.SubElement(coding, E("CodeRef")).set("targetGUID", code_guid(row.code_id))
                if isinstance(row.memo, str) and row.memo:
                    note_guid = _guid("note", f"{row.segment_id}:{row.code_id}:{row.coder}:{start}")
                    notes.append((note_guid, row.coder, row.memo))
                    etree.SubElement(coding, E("NoteRef")).set("targetGUID", note_guid)
        # Attributes travel on each document too (a case's documents may differ: stage, round, date).
        for attribute in attributes:
            value = getattr(doc, attribute) if attribute.isidentifier() else documents.loc[doc.Index, attribute]
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
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    return data, texts


def export_refi_qda(project: Project, path: str | Path, *, lang: str = "es", overwrite: bool = False,
                    pseudonymizer: Pseudonymizer | None = None) -> Path:
    """Write the project as a REFI-QDA ``.qdpx`` (validated against the official schema; atomic).

    Parameters
    ----------
    lang : {"es", "en"}
        Which label names the codes in the other tool.
    overwrite : bool, default False
        Replace an existing file at ``path``.
    pseudonymizer : Pseudonymizer, optional
        Write a pseudonymized copy of the project (see
        :meth:`Pseudonymizer.project`): sources' text and names, selections,
        memos, cases, variables and users hold no listed or detected name;
        selections still point at the same words.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false (nothing is written).
    ExchangeFileError
        Never for user data; only if the written XML does not validate (a bug).
    """
    from ..io.atomic import check_writable
    from ..io.cells import reporting
    from .pseudonymize import PseudonymizedProject

    check_writable([path], overwrite=overwrite)
    with reporting(path, "XML (the .qdpx project)"):
        if pseudonymizer is not None and not isinstance(project, PseudonymizedProject):
            with pseudonymizer.project(project) as hidden:
                _write_qdpx(hidden, path, lang=lang, overwrite=overwrite)
        else:
            _write_qdpx(project, path, lang=lang, overwrite=overwrite)
    return Path(path)


def _write_qdpx(project: Project, path: str | Path, *, lang: str, overwrite: bool) -> None:
    from ..io.atomic import atomic_write_bytes

    # The sources' plain text (Sources/*.txt) is kept exactly: selections' positions refer to it, and a text
    # file may hold any character. Only the XML (names, memos, labels) has characters replaced.
    data, texts = _qde(project, lang=lang)
    errors = validate_qde(data)
    if errors:  # pragma: no cover - a bug in this writer
        raise ExchangeFileError(f"internal error: project.qde does not validate: {errors[:3]}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("project.qde", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
        for name in sorted(texts):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, texts[name].encode("utf-8"))
    atomic_write_bytes(path, buffer.getvalue(), overwrite=overwrite)


def _local(el) -> str:  # type: ignore[no-untyped-def]
    from lxml import etree

    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el, name: str) -> list:  # type: ignore[no-untyped-def]
    return [c for c in el if _local(c) == name]


def _first(el, name: str):  # type: ignore[no-untyped-def]
    found = _children(el, name)
    return found[0] if found else None


def import_refi_qda(path: str | Path, project_path: str | Path, *, unit: str = "turn") -> Project:
    """Create a project from a ``.qdpx`` written by qualcode or another tool.

    Documents keep their text exactly (positions in the file refer to it);
    speaker labels are found as in plain-text transcripts. Each coded
    selection becomes a manual decision of the user who made it, on every
    segment it overlaps. Case variables become document attributes.

    Raises
    ------
    ExchangeFileError
        For an unsafe or damaged archive (C6), or one without a ``.qde`` file.
    """
    import hashlib

    from ..codebook.qdc import read_qdc
    from ..corpus import Corpus
    from ..corpus import ReadDocument as _Document
    from ..io.safe import parse_xml_safely, read_zip_safely
    from ..io.text import parse_transcript
    from ..project import Project
    from ..review.log import Decision

    path = Path(path)
    members = read_zip_safely(path)
    qde = [n for n in members if n.lower().endswith(".qde") and "/" not in n.strip("/")]
    if len(qde) != 1:
        raise ExchangeFileError(f"{path}: a .qdpx holds exactly one .qde file at its root; found {qde or 'none'}.",
                                path=path)
    if qde[0] != "project.qde":
        warnings.warn(f"{path}: the project file is named {qde[0]!r}, not 'project.qde' (read anyway).",
                      QualcodeWarning, stacklevel=2)
    data = members[qde[0]]
    root = parse_xml_safely(data, name=f"{path}:{qde[0]}")
    users = {u.get("guid", "").strip("{}").upper(): (u.get("name") or "imported")
             for users in _children(root, "Users") for u in _children(users, "User")}
    codebook = read_qdc(path.with_suffix(".qdc"), data=data) if _first(root, "CodeBook") is not None else None
    guid_to_code = {}
    if codebook is not None:
        codebook_el = _first(root, "CodeBook")
        from ..codebook.qdc import code_guid

        ours = {code_guid(c.id): c.id for c in codebook}
        ordered = [el for el in codebook_el.iter() if _local(el) == "Code"]
        for el, code in zip(ordered, codebook.codes if len(ordered) == len(codebook.codes) else []):
            guid_to_code[el.get("guid", "").strip("{}").upper()] = code.id
        guid_to_code.update({g: c for g, c in ours.items()})
    variables = {v.get("guid", "").strip("{}").upper(): v.get("name")
                 for block in _children(root, "Variables") for v in _children(block, "Variable")}
    notes = {n.get("guid", "").strip("{}").upper(): (_first(n, "PlainTextContent").text or "")
             for block in _children(root, "Notes") for n in _children(block, "Note")
             if _first(n, "PlainTextContent") is not None}
    doc_attributes: dict[str, dict[str, object]] = {}
    for block in _children(root, "Cases"):
        for case in _children(block, "Case"):
            values = {}
            for value in _children(case, "VariableValue"):
                ref = _first(value, "VariableRef")
                name = variables.get((ref.get("targetGUID") if ref is not None else "").strip("{}").upper())
                content = [c for c in value if _local(c) != "VariableRef"]
                if name and content:
                    values[name] = content[0].text
            for ref in _children(case, "SourceRef"):
                doc_attributes.setdefault(ref.get("targetGUID", "").strip("{}").upper(), {}).update(values)
    docs, selections = [], []
    for block in _children(root, "Sources"):
        for source in _children(block, "TextSource"):
            guid = source.get("guid", "").strip("{}").upper()
            name = source.get("name") or guid
            inline = _first(source, "PlainTextContent")
            text = inline.text if inline is not None and inline.text else None
            internal = source.get("plainTextPath") or ""
            if text is None and internal.startswith("internal://"):
                raw = members.get(f"Sources/{internal[len('internal://'):]}")
                text = raw.decode("utf-8-sig") if raw is not None else None
            if text is None:
                warnings.warn(f"{path}: source {name!r} has no plain text in the archive; its codings are skipped.",
                              QualcodeWarning, stacklevel=2)
                continue
            doc_id = Path(name).stem if name.lower().endswith((".txt", ".docx", ".pdf")) else name
            # Parsed as it is, never normalised: the selections' positions refer to this exact text.
            parsed = parse_transcript(text)
            sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
            attrs = dict(doc_attributes.get(guid, {}))
            for value in _children(source, "VariableValue"):
                ref = _first(value, "VariableRef")
                name_ = variables.get((ref.get("targetGUID") if ref is not None else "").strip("{}").upper())
                content = [c for c in value if _local(c) != "VariableRef"]
                if name_ and content:
                    attrs[name_] = content[0].text
            docs.append(_Document(doc_id, str(path), "qdpx", "utf-8", sha, parsed, "", attrs or None))
            for selection in _children(source, "PlainTextSelection"):
                start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
                for coding in _children(selection, "Coding"):
                    ref = _first(coding, "CodeRef")
                    code_id = guid_to_code.get((ref.get("targetGUID") if ref is not None else "").strip("{}").upper())
                    memo = " ".join(notes.get(n.get("targetGUID", "").strip("{}").upper(), "")
                                    for n in _children(coding, "NoteRef")).strip() or None
                    who = users.get((coding.get("creatingUser") or selection.get("creatingUser") or "").strip("{}").upper(),
                                    "imported")
                    selections.append((doc_id, start, end, code_id, who, memo, coding.get("creationDateTime")))
    from ..io import assign_languages as _set_languages

    _set_languages(docs, None, None)
    corpus = Corpus._from_documents(docs, unit=unit)
    if any(d.attributes for d in docs):
        from ..io import merge_survey_attributes as _merge_survey_attributes

        _merge_survey_attributes(corpus, docs)
    project = Project.create(project_path)
    with project.transaction() as db:
        db.execute("INSERT INTO meta(key, value) VALUES ('name', ?)", (root.get("name") or path.stem,))
    project.add_corpus(corpus)
    if codebook is not None:
        project.add_codebook(codebook)
    segments = corpus.segments
    version = codebook.version if codebook is not None else None
    records = []
    skipped = 0
    for doc_id, start, end, code_id, who, memo, created in selections:
        if code_id is None or codebook is None:
            skipped += 1
            continue
        overlapping = segments[(segments["doc_id"] == doc_id) & (segments["start"] < end) & (segments["end"] > start)]
        for seg in overlapping.itertuples():
            a, b = max(start, int(seg.start)) - int(seg.start), min(end, int(seg.end)) - int(seg.start)
            if b <= a:
                continue
            # Each selection is its own coding: two selections of one code in one turn stay two.
            records.append(Decision.imported(
                seg.segment_id, code_id, who, doc_id=doc_id, quote=seg.text[a:b],
                span=(a, None if (a, b) == (0, len(seg.text)) else b), created_at=created, memo=memo,
                codebook_version=version))
    project.log.append(records)
    if skipped:
        warnings.warn(f"{path}: {skipped} coding(s) refer to codes or sources that could not be read; not imported.",
                      QualcodeWarning, stacklevel=2)
    return project
