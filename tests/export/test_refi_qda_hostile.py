"""Damaged and hostile ``.qdpx`` files, and text no XML can hold (issue 21 items 3 and 4, cases hostile 10 and 11).

Import: every malformed member or reference is a :class:`ExchangeFileError` naming the archive, the member and
the line, or is skipped with one warning that says what and where; never a raw exception. Every import (a
``.qdpx``, a dump mirror) builds its project in a hidden file moved into place only when complete: a failed
import leaves nothing behind, and a retry is not refused.

Export: characters XML 1.0 cannot hold are replaced one for one (reported), the sources' text is kept exactly,
and the archive always validates against the official schema.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import (
    CodebookError,
    ExchangeFileError,
    ProjectError,
    QualcodeError,
    QualcodeWarning,
    ReplacedCharactersWarning,
)
from qualcode.export.refi_import import read_qdpx
from qualcode.export.refi_qda import qdpx_bytes, validate_qde
from qualcode.io.cells import reporting
from qualcode.project import Project
from qualcode.workflow import export_refi_qda, import_refi_qda

TEXT = ("ENTREVISTADORA: ¿Cómo colaboran en el equipo directivo?\n"
        "DIRECTORA: Colaboramos con confianza, pero la carga de trabajo es mucha.\n"
        "ENTREVISTADORA: ¿Y con las familias?\n"
        "DIRECTORA: Con las familias hay tensiones a veces.\n")


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, bytes]:
    """The members of a valid export of a two-document project with codings by two coders and a memo."""
    folder = tmp_path_factory.mktemp("good")
    (folder / "docs").mkdir()
    (folder / "docs" / "d1.txt").write_text(TEXT, encoding="utf-8")
    (folder / "docs" / "d2.txt").write_text(TEXT.replace("confianza", "respeto"), encoding="utf-8")
    (folder / "attributes.csv").write_text("doc_id,participant,district\nd1,P1,norte\nd2,P2,sur\n", encoding="utf-8")
    with Project.create(folder / "p.qualcode") as project:
        project.add_codebook(qc.load_codebook("nic_study"))
        project.add_corpus(qc.load_corpus(folder / "docs", attributes=folder / "attributes.csv")[0])
        seg = project.segments
        ids = list(seg[seg.speaker_role == "participant"].segment_id)
        project.add_manual(ids, "collaboration", coder="ana", memo="nota de ana")
        project.add_manual(ids[:1], "collaboration.tensions", coder="luis")
        export_refi_qda(project, folder / "good.qdpx")
    with zipfile.ZipFile(folder / "good.qdpx") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def build(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def with_qde(good: dict[str, bytes], edit) -> dict[str, bytes]:
    out = dict(good)
    out["project.qde"] = edit(good["project.qde"].decode("utf-8")).encode("utf-8")
    return out


def left_behind(folder: Path, name: str = "p.qualcode") -> list[str]:
    """The project file or any hidden file of it in ``folder`` (side files too, unless the project exists: open)."""
    found = sorted(p.name for p in folder.iterdir() if p.name.startswith((name, f".{name}")))
    return [n for n in found if n == name or not (name in found and n in (f"{name}-wal", f"{name}-shm"))]


def first_selection(qde: str) -> re.Match:
    found = re.search(r'startPosition="(\d+)" endPosition="(\d+)"', qde)
    assert found
    return found


# -- zip members that cannot be inflated -------------------------------------------------------------------------


def _corrupt(raw: bytearray, member: str) -> bytearray:
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(member)
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(20, 60):
        raw[offset + k] ^= 0x5A
    return raw


def _flag_encrypted(raw: bytearray, member: str) -> bytearray:
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(member)
    raw[info.header_offset + 6] |= 1
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        n = int.from_bytes(raw[at + 28: at + 30], "little")
        if raw[at + 46: at + 46 + n] == member.encode():
            raw[at + 8] |= 1
        at = raw.find(b"PK\x01\x02", at + 4)
    return raw


def _method(raw: bytearray, member: str, method: int = 9) -> bytearray:
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(member)
    raw[info.header_offset + 8] = method
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        n = int.from_bytes(raw[at + 28: at + 30], "little")
        if raw[at + 46: at + 46 + n] == member.encode():
            raw[at + 10] = method
        at = raw.find(b"PK\x01\x02", at + 4)
    return raw


def _bad_crc(raw: bytearray, member: str) -> bytearray:
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(member)
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[offset + 40] ^= 0x01
    return raw


def damaged_archives(good: dict[str, bytes], folder: Path) -> dict[str, tuple[Path, str]]:
    """Archives whose members cannot be inflated: name → (file, the member the error must name)."""
    source = next(n for n in good if n.startswith("sources/"))
    deflated = bytearray(build(folder / "deflated.qdpx", good).read_bytes())
    stored = bytearray(build(folder / "stored.qdpx", good, zipfile.ZIP_STORED).read_bytes())
    out = {
        "corrupt project.qde": (_corrupt(bytearray(deflated), "project.qde"), "project.qde"),
        "corrupt source": (_corrupt(bytearray(deflated), source), source),
        "wrong crc": (_bad_crc(bytearray(stored), "project.qde"), "project.qde"),
        "wrong crc source": (_bad_crc(bytearray(stored), source), source),
        "encrypted flag": (_flag_encrypted(bytearray(deflated), "project.qde"), "project.qde"),
        "encrypted source": (_flag_encrypted(bytearray(deflated), source), source),
        "deflate64": (_method(bytearray(deflated), "project.qde"), "project.qde"),
        "bzip2 source, data not bzip2": (_method(bytearray(deflated), source, 12), source),
        "unknown method 99": (_method(bytearray(deflated), source, 99), source),
    }
    files = {}
    for k, (name, (raw, member)) in enumerate(out.items()):
        path = folder / f"damaged_{k}.qdpx"
        path.write_bytes(bytes(raw))
        files[name] = (path, member)
    return files


def test_qdpx_member_that_cannot_be_inflated_is_an_exchange_file_error_naming_it(good, tmp_path):
    for label, (path, member) in damaged_archives(good, tmp_path).items():
        with pytest.raises(ExchangeFileError) as caught:
            import_refi_qda(path, tmp_path / "p.qualcode")
        assert member in str(caught.value) and str(path) in str(caught.value), label
        assert "export" in str(caught.value).lower() and "again" in str(caught.value).lower(), label
        assert left_behind(tmp_path) == [], label
    truncated = tmp_path / "truncated.qdpx"
    truncated.write_bytes(build(tmp_path / "whole.qdpx", good).read_bytes()[:-200])
    with pytest.raises(ExchangeFileError):
        import_refi_qda(truncated, tmp_path / "p.qualcode")
    assert left_behind(tmp_path) == []
    # The retry, with a good file, to the same name: not refused.
    project = import_refi_qda(build(tmp_path / "ok.qdpx", good), tmp_path / "p.qualcode")
    assert len(project.documents) == 2 and left_behind(tmp_path) == ["p.qualcode"]


# -- project.qde that is not a well-formed REFI-QDA project -------------------------------------------------------


def malformed(good: dict[str, bytes]) -> dict[str, tuple[dict[str, bytes], str]]:
    """Archives refused as damaged: name → (members, a phrase the message must hold)."""
    qde = good["project.qde"].decode("utf-8")
    sel = first_selection(qde)
    source = next(n for n in good if n.startswith("sources/"))
    user = re.search(r'<User guid="([^"]+)"', qde)
    users = re.findall(r'<User guid="([^"]+)"', qde)
    sources = re.findall(r'<TextSource guid="([^"]+)"', qde)
    codes = re.findall(r'<Code guid="([^"]+)"', qde)
    assert user and len(users) == 2 and len(sources) == 2 and len(codes) > 2

    def edit(fn):
        return with_qde(good, fn)

    return {
        "no project.qde": ({k: v for k, v in good.items() if k != "project.qde"}, "exactly one .qde"),
        "two .qde": ({**good, "other.qde": good["project.qde"]}, "exactly one .qde"),
        "a codebook as project.qde": (edit(lambda _: '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>'),
                                      "not <Project>"),
        "html as project.qde": (edit(lambda _: "<html><body>hola</body></html>"), "not <Project>"),
        "not xml": (edit(lambda _: "PK\x03\x04 not xml at all"), "not well-formed"),
        "empty project.qde": (edit(lambda _: ""), "not well-formed"),
        "truncated project.qde": (edit(lambda q: q[: len(q) // 2]), "not well-formed"),
        "startPosition missing": (edit(lambda q: q.replace(sel.group(0), f'endPosition="{sel.group(2)}"', 1)),
                                  "startPosition is missing"),
        "startPosition not a number": (edit(lambda q: q.replace(sel.group(0), 'startPosition="abc" endPosition="9"',
                                                               1)), "not a whole number"),
        "position with a fraction": (edit(lambda q: q.replace(sel.group(0), 'startPosition="1.5" endPosition="9"', 1)),
                                     "not a whole number"),
        "position in full-width digits": (edit(lambda q: q.replace(sel.group(0),
                                                                   'startPosition="１" endPosition="9"', 1)),
                                          "not a whole number"),
        "source text not UTF-8": ({**good, source: b"\xff\xfe\xfa no es utf-8 " + good[source]}, "not UTF-8"),
        "source text in cp1252": ({**good, source: good[source].decode("utf-8").encode("cp1252")}, "not UTF-8"),
        "two users with one GUID": (edit(lambda q: q.replace(users[1], users[0])), "ambiguous"),
        "two sources with one GUID": (edit(lambda q: q.replace(f'<TextSource guid="{sources[1]}"',
                                                               f'<TextSource guid="{sources[0].lower()}"')),
                                      "ambiguous"),
        "two codes with one GUID": (edit(lambda q: q.replace(f'<Code guid="{codes[1]}"', f'<Code guid="{{{codes[0]}}}"')),
                                    "ambiguous"),
        "a DTD in UTF-16": ({**good, "project.qde": ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE Project '
                                                     '[<!ENTITY x SYSTEM "file:///etc/hostname">]>'
                                                     + qde.split("?>", 1)[1]).encode("utf-16")}, "DTD"),
    }


def test_qdpx_malformed_project_is_refused_with_its_line_and_leaves_nothing(good, tmp_path):
    for label, (members, phrase) in malformed(good).items():
        path = build(tmp_path / "bad.qdpx", members)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QualcodeWarning)
            try:
                import_refi_qda(path, tmp_path / "p.qualcode")
            except ExchangeFileError as exc:
                message = str(exc)
            else:
                pytest.fail(f"{label}: imported")
        assert phrase in message, (label, message)
        assert str(path) in message, label
        assert left_behind(tmp_path) == [], label
    with pytest.raises(ExchangeFileError) as caught:
        read_qdpx(build(tmp_path / "pos.qdpx", malformed(good)["startPosition missing"][0]))
    assert re.search(r"project\.qde:\d+:", str(caught.value)), "names the line"


# -- files that are consistent enough to import: what cannot be used is skipped, and said ------------------------


def test_qdpx_inconsistent_references_are_skipped_with_a_warning_and_the_rest_imported(good, tmp_path):
    qde = good["project.qde"].decode("utf-8")
    sel = first_selection(qde)
    text_len = len(good[next(n for n in good if n.startswith("sources/"))].decode("utf-8"))
    code = re.search(r'<CodeRef targetGUID="([^"]+)"', qde)
    assert code
    edited = qde
    code_ref = re.search(r'<CodeRef targetGUID="([^"]+)"', edited)
    assert code_ref
    edited = edited.replace(code_ref.group(0), '<CodeRef targetGUID="00000000-0000-0000-0000-000000000000"', 1)
    # On a <Coding> (its selection carries the same user and date; the coding's are read first).
    edited = re.sub(r'(<Coding [^>]*?)creatingUser="[^"]+"',
                    r'\1creatingUser="11111111-1111-1111-1111-111111111111"', edited, count=1)
    edited = edited.replace('<NoteRef targetGUID="', '<NoteRef targetGUID="2', 1)
    edited = re.sub(r'(<Coding [^>]*?)creationDateTime="[^"]+"', r'\1creationDateTime="ayer por la tarde"', edited,
                    count=1)
    bad = ""
    for k, (start, end) in enumerate([(-50, -10), (int(sel.group(2)), int(sel.group(1))), (0, text_len + 1), (7, 7),
                                      (0, 10 ** 17), (0, "9" * 5000)]):
        bad += (f'<PlainTextSelection guid="B{k}" startPosition="{start}" endPosition="{end}"><Coding guid="C{k}">'
                f'<CodeRef targetGUID="{code.group(1)}"/></Coding></PlainTextSelection>')
    edited = edited.replace("<PlainTextSelection ", bad + "<PlainTextSelection ", 1)
    path = build(tmp_path / "odd.qdpx", {**good, "project.qde": edited.encode("utf-8")})
    with pytest.warns(QualcodeWarning) as seen:
        project = import_refi_qda(path, tmp_path / "p.qualcode")
    said = " ".join(str(w.message) for w in seen)
    for phrase in ("outside its source's text or is empty", "a code the code book does not hold",
                   "a user the file does not list", "a note the file does not hold", "not a date and time"):
        assert phrase in said, phrase
    assert "line " in said and str(path) in said and "6 time(s): a selection lies outside" in said
    assert len(project.documents) == 2 and len(qc.decisions(project)) > 0
    # What was imported exports again, valid (the date that was not one is not carried over).
    export_refi_qda(project, tmp_path / "again.qdpx")
    assert validate_qde(zipfile.ZipFile(tmp_path / "again.qdpx").read("project.qde")) == []
    quotes = qc.coded_quotes(project)
    docs = project.documents.set_index("doc_id")["text"]
    for row in quotes.itertuples():
        assert docs[row.doc_id][row.start:row.end] == row.quote_now


def test_qdpx_sources_without_their_member_are_skipped_with_a_warning(good, tmp_path):
    source = next(n for n in good if n.startswith("sources/"))
    path = build(tmp_path / "missing.qdpx", {k: v for k, v in good.items() if k != source})
    with pytest.warns(QualcodeWarning, match=r"1 time\(s\): a source has no plain text .* line \d+ \('d\d', 'internal://"):
        project = import_refi_qda(path, tmp_path / "p.qualcode")
    assert len(project.documents) == 1
    qde = good["project.qde"].decode("utf-8")
    external = qde.replace('plainTextPath="internal://', 'plainTextPath="absolute:///etc/', 1)
    with pytest.warns(QualcodeWarning, match="no plain text"):
        contents = read_qdpx(build(tmp_path / "external.qdpx", {**good, "project.qde": external.encode()}))
    assert len(contents.documents) == 1


def test_qdpx_duplicate_source_names_and_reserved_variable_names_are_renamed_and_said(good, tmp_path):
    qde = good["project.qde"].decode("utf-8")
    names = re.findall(r'<TextSource guid="[^"]+" name="([^"]+)"', qde)
    edited = qde.replace(f'name="{names[1]}"', f'name="{names[0]}.txt"', 1)
    assert '<Variable guid="' in edited and 'name="district"' in edited
    edited = re.sub(r'(<Variable guid="[^"]+") name="district"', r'\1 name="text"', edited)
    path = build(tmp_path / "dup.qdpx", {**good, "project.qde": edited.encode("utf-8")})
    with pytest.warns(QualcodeWarning) as seen:
        project = import_refi_qda(path, tmp_path / "p.qualcode")
    said = " ".join(str(w.message) for w in seen)
    assert f"'{names[0]}' → '{names[0]}-2'" in said and "named like a column of qualcode's own tables" in said
    docs = project.documents
    assert sorted(docs["doc_id"]) == sorted([names[0], f"{names[0]}-2"])
    assert "text_2" in docs.columns and docs["text"].str.startswith("ENTREVISTADORA").all()
    assert sorted(docs["text_2"]) == ["norte", "sur"]


def test_qdpx_guids_in_another_shape_still_link_and_overlaps_are_kept(good, tmp_path):
    qde = good["project.qde"].decode("utf-8")
    guids = sorted(set(re.findall(r'[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}', qde)))
    edited = qde
    members = dict(good)
    for k, guid in enumerate(guids):  # not GUIDs at all, but each used consistently
        edited = edited.replace(guid, f"id-{k}")
        if f"sources/{guid}.txt" in members:
            members[f"sources/id-{k}.txt"] = members.pop(f"sources/{guid}.txt")
    sel = first_selection(edited)
    overlap = (f'<PlainTextSelection guid="ov" name="ov" startPosition="{int(sel.group(1)) + 2}" '
               f'endPosition="{int(sel.group(2)) + 5}"><Coding guid="ovc"><CodeRef targetGUID="')
    code_guid = re.search(r'<CodeRef targetGUID="([^"]+)"', edited)
    assert code_guid
    edited = edited.replace("<PlainTextSelection ", overlap + code_guid.group(1) + '"/></Coding>'
                            "</PlainTextSelection><PlainTextSelection ", 1)
    members["project.qde"] = edited.encode("utf-8")
    contents = read_qdpx(build(tmp_path / "shapes.qdpx", members))  # no warning: nothing is lost
    reference = read_qdpx(build(tmp_path / "good.qdpx", good))
    assert len(contents.selections) == len(reference.selections) + 1
    assert contents.selections["code_id"].notna().all()
    assert set(contents.selections["coder"]) == {"ana", "luis", "imported"}  # the overlap names no user


def test_every_import_builds_in_a_temporary_file_a_late_failure_leaves_nothing(good, tmp_path, monkeypatch):
    path = build(tmp_path / "ok.qdpx", good)

    def broken(self, codebook):
        raise CodebookError("boom (injected late failure)")

    with monkeypatch.context() as patch:
        patch.setattr(Project, "add_codebook", broken)
        with pytest.raises(CodebookError):
            import_refi_qda(path, tmp_path / "p.qualcode")
    assert left_behind(tmp_path) == []
    project = import_refi_qda(path, tmp_path / "p.qualcode")
    assert len(project.documents) == 2
    with pytest.raises(ProjectError, match="already exists"):
        import_refi_qda(path, tmp_path / "p.qualcode")
    assert left_behind(tmp_path) == ["p.qualcode"]


# -- load_dump: the other import ----------------------------------------------------------------------------------


@pytest.fixture
def mirror(tmp_path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "d1.txt").write_text(TEXT, encoding="utf-8")
    with Project.create(tmp_path / "orig.qualcode") as project:
        project.add_codebook(qc.load_codebook("nic_study"))
        project.add_corpus(qc.load_corpus(tmp_path / "docs")[0])
        seg = project.segments
        project.add_manual(list(seg.segment_id[:2]), "collaboration", coder="ana")
        project.dump(tmp_path / "mirror")
    return tmp_path / "mirror"


def test_load_dump_of_a_damaged_mirror_is_a_project_error_and_leaves_nothing(mirror, tmp_path):
    target = tmp_path / "restored.qualcode"
    pristine = {p.name: p.read_bytes() for p in mirror.iterdir()}
    documents = pristine["documents.csv"].decode("utf-8")
    damages = {
        "header injection": ("documents.csv", documents.replace(
            "doc_id,", 'doc_id") VALUES (1); DROP TABLE decisions; --,', 1).encode(), ProjectError, "not columns"),
        "unknown column": ("segments.csv", pristine["segments.csv"].replace(b"segment_id,", b"segment,", 1),
                           ProjectError, "not columns"),
        "duplicate rows": ("segments.csv", pristine["segments.csv"] + pristine["segments.csv"].split(b"\n", 1)[1],
                           ProjectError, "do not fit"),
        "not utf-8": ("decisions.csv", b"\xff\xfe\x00garbage", ProjectError, "not a readable CSV"),
        "empty file": ("anchors.csv", b"", ProjectError, "not a readable CSV"),
        "bad codebook": ("codebook.yaml", b"codes: [{id: 1, label: }]\n", CodebookError, ""),
    }
    for label, (name, data, error, phrase) in damages.items():
        (mirror / name).write_bytes(data)
        with pytest.raises(error) as caught:
            Project.load_dump(mirror, target)
        assert phrase in str(caught.value), (label, str(caught.value))
        assert isinstance(caught.value, QualcodeError)
        assert left_behind(tmp_path, target.name) == [], label
        (mirror / name).write_bytes(pristine[name])
    (mirror / "decisions.csv").unlink()
    with pytest.raises(ProjectError, match="missing from the mirror"):
        Project.load_dump(mirror, target)
    (mirror / "decisions.csv").write_bytes(pristine["decisions.csv"])
    restored = Project.load_dump(mirror, target)  # the retry is not refused
    assert len(restored.documents) == 1 and len(qc.decisions(restored)) == 2
    with pytest.raises(ProjectError, match="already exists"):
        Project.load_dump(mirror, target)


# -- export: characters XML 1.0 cannot hold ----------------------------------------------------------------------

# Every class of character: C0 controls other than tab/newline/CR, DEL, C1 controls (NEL too), U+FFFE/U+FFFF,
# a lone surrogate (only through the table functions: a project file cannot store one), and what XML keeps.
FORBIDDEN = "\x00\x01\x07\x08\x0b\x0c\x0e\x1b\x1f\ufffe\uffff\ud800\udfff"
# Names and sort keys (a column name, a document id, a coder) go through pandas' str dtype, which cannot hold a
# lone surrogate at all: they get the rest.
NAME_FORBIDDEN = FORBIDDEN[:-2]
ALLOWED = "\t\n\r\x7f\x80\x85\x9f\u2028😀"


def odd_tables(text: str = TEXT):
    codebook = qc.load_codebook("nic_study")
    odd_code = dataclasses.replace(codebook.codes[0], label={"es": f"etiqueta{FORBIDDEN}{ALLOWED}", "en": "label"},
                                   definition={"es": f"definición{FORBIDDEN}", "en": "d"})
    codebook = dataclasses.replace(codebook, codes=[odd_code, *codebook.codes[1:]])
    doc_id = f"doc{NAME_FORBIDDEN}{ALLOWED}"
    # object columns: pandas' own string dtype cannot hold a lone surrogate at all.
    documents = pd.DataFrame({"doc_id": [doc_id], "source_path": ["x.txt"], "format": ["txt"], "encoding": ["utf-8"],
                              "language": ["es"], "sha256": ["0"], "n_turns": [4], "n_segments": [4], "n_words": [40],
                              "labelled": [True], "text": [f"{text}{FORBIDDEN}{ALLOWED}\n"],
                              f"rol{NAME_FORBIDDEN}": [f"valor{FORBIDDEN}{ALLOWED}"]}, dtype=object)
    decisions = pd.DataFrame({"segment_id": ["s1"], "doc_id": [doc_id], "code_id": [odd_code.id],
                              "coder": [f"ana{NAME_FORBIDDEN}{ALLOWED}"], "decision": ["manual"], "start": [0],
                              "end": [len(text) + 3], "created_at": ["2026-01-01T00:00:00+00:00"],
                              "memo": [f"memo{FORBIDDEN}{ALLOWED}"]}, dtype=object)
    return codebook, documents, decisions


def test_qdpx_export_control_characters_in_every_field_replaced_reported_and_valid(tmp_path):
    codebook, documents, decisions = odd_tables()
    with pytest.warns(ReplacedCharactersWarning) as seen, reporting(tmp_path / "x.qdpx", "XML (the .qdpx project)"):
        data = qdpx_bytes(codebook, documents, decisions, name=f"estudio{FORBIDDEN}")
    message = seen[0].message
    assert isinstance(message, ReplacedCharactersWarning)
    # Ten places (five named, "5 more"): project name, coders, code names and descriptions (the qualcode:
    # block too, whose YAML escapes the reader would refuse), attribute names and values, document names,
    # selections' names, memos; and the sources' lone surrogates (no participant column: no cases).
    assert message.places[:2] == ["the project name", "coder names"] and "and 5 more place(s)" in str(message)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert validate_qde(archive.read("project.qde")) == []
    (tmp_path / "x.qdpx").write_bytes(data)
    contents = read_qdpx(tmp_path / "x.qdpx")
    blank = " " * len(FORBIDDEN)
    # The source text is kept exactly (a text file holds any character) but for lone surrogates, which UTF-8
    # cannot encode: one space for one, so positions hold.
    text = contents.documents[0].parsed.text
    assert text == f"{TEXT}{NAME_FORBIDDEN}  {ALLOWED}\n"
    assert contents.documents[0].doc_id == f"doc{' ' * len(NAME_FORBIDDEN)}{ALLOWED}"
    row = contents.selections.iloc[0]
    assert (row["start"], row["end"]) == (0, len(TEXT) + 3)
    # What XML 1.0 holds comes back exactly: tab, newline, CR, DEL, C1, line separator, emoji.
    assert row["memo"] == f"memo{blank}{ALLOWED}" and row["coder"] == f"ana{' ' * len(NAME_FORBIDDEN)}{ALLOWED}"
    assert contents.documents[0].attributes == {f"rol{' ' * len(NAME_FORBIDDEN)}": f"valor{blank}{ALLOWED}"}


def test_qdpx_export_of_a_project_with_control_characters_round_trips(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "entrevista\x1b.txt").write_text(
        TEXT.replace("confianza", "confianza \x1b[1m\x07\x7f\x85") + TEXT * 60 + "DIRECTORA: hola\x00mundo\n",
        encoding="utf-8")  # a NUL past the first 8 KiB passes the binary sniff
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_codebook(qc.load_codebook("nic_study"))
        project.add_corpus(qc.load_corpus(tmp_path / "docs")[0])
        seg = project.segments
        ids = list(seg[seg.speaker_role == "participant"].segment_id)
        project.add_manual(ids, "collaboration", coder="ana\x1b", memo="nota\x00\x07\r\n\x85fin")
        with pytest.warns(ReplacedCharactersWarning, match="replaced by"):
            export_refi_qda(project, tmp_path / "x.qdpx")
        before = qc.coded_quotes(project)[["start", "end", "quote_now"]].sort_values("start").reset_index(drop=True)
    assert validate_qde(zipfile.ZipFile(tmp_path / "x.qdpx").read("project.qde")) == []
    imported = import_refi_qda(tmp_path / "x.qdpx", tmp_path / "back.qualcode")
    after = qc.coded_quotes(imported)
    assert set(after["coder"]) == {"ana"} and set(after["memo"]) == {"nota  \r\n\x85fin"}
    assert before.equals(after[["start", "end", "quote_now"]].sort_values("start").reset_index(drop=True))
    assert "\x00" in imported.documents["text"].iloc[0]  # the source text itself is kept exactly


def test_qdpx_export_with_a_stored_creation_time_that_is_not_a_date_is_valid_and_said(tmp_path):
    codebook, documents, decisions = odd_tables()
    decisions["created_at"] = ["ayer"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReplacedCharactersWarning)
        with pytest.warns(QualcodeWarning, match="not a date and time"):
            data = qdpx_bytes(codebook, documents, decisions, name="x")
    assert validate_qde(zipfile.ZipFile(io.BytesIO(data)).read("project.qde")) == []


# -- budgets: every hostile .qdpx refused quickly, in bounded memory ----------------------------------------------

# Peak resident memory of the process refusing every hostile file (the bound for a bomb).
MAX_RSS_MIB = 512


def with_bomb(good: dict[str, bytes], path: Path, member: str, size: int = 60 << 20) -> Path:
    """``good`` plus (or with, if it names a source) ``member``: ``size`` zero bytes, inflating at about 1000:1."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in good.items():
            if name != member:
                archive.writestr(name, data)
        with archive.open(member, "w", force_zip64=True) as handle:
            for _ in range(size >> 20):
                handle.write(b"\0" * (1 << 20))
    return path


def test_qdpx_member_no_source_names_is_never_inflated(good, tmp_path):
    path = with_bomb(good, tmp_path / "bomb.qdpx", "sources/unreferenced.txt")
    with_nested = build(tmp_path / "nested.qdpx", {**good, "inner.qdpx": path.read_bytes()})
    for archive in (path, with_nested):
        contents = read_qdpx(archive)
        assert len(contents.documents) == 2


def test_qdpx_hostile_imports_refused_within_memory_budget(good, tmp_path):
    files = [p for p, _ in damaged_archives(good, tmp_path).values()]
    for k, (members, _) in enumerate(malformed(good).values()):
        files.append(build(tmp_path / f"malformed_{k}.qdpx", members))
    source = next(n for n in good if n.startswith("sources/"))
    files.append(with_bomb(good, tmp_path / "source_bomb.qdpx", source))
    files.append(with_bomb(good, tmp_path / "qde_bomb.qdpx", "project.qde"))
    # The child measures its own peak (VmHWM): neither this test process nor a sibling child can blur the figure.
    script = textwrap.dedent(f"""
        import json, resource, warnings
        warnings.simplefilter("ignore")
        import qualcode as qc
        outcomes = []
        for k, name in enumerate({[str(f) for f in files]!r}):
            try:
                qc.import_refi_qda(name, {str(tmp_path)!r} + f"/child_{{k}}.qualcode")
                outcomes.append("imported")
            except qc.QualcodeError as exc:
                outcomes.append(type(exc).__name__)
        try:  # this process's own peak (Linux keeps ru_maxrss across fork and exec: it would show the parent's)
            with open("/proc/self/status") as status:
                peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        except OSError:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"outcomes": outcomes, "rss_mib": peak / 1024}}))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(qc.__file__).parents[1])})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(report["outcomes"]) == {"ExchangeFileError"}, report
    print("peak RSS of the refusing child (MiB):", report["rss_mib"])
    assert report["rss_mib"] < MAX_RSS_MIB, report
    assert not list(tmp_path.glob("*child_*"))


def test_qdpx_export_of_a_study_without_documents_is_valid(tmp_path):
    codebook, documents, decisions = odd_tables()
    data = qdpx_bytes(qc.load_codebook("nic_study"), documents.iloc[0:0], decisions.iloc[0:0], name="vacío")
    assert validate_qde(zipfile.ZipFile(io.BytesIO(data)).read("project.qde")) == []
    (tmp_path / "x.qdpx").write_bytes(data)
    contents = read_qdpx(tmp_path / "x.qdpx")
    assert contents.documents == [] and len(contents.codebook) == len(codebook)


# -- fuzz: any damage to project.qde is a QualcodeError or an import, never another exception ---------------------


@pytest.mark.slow
def test_qdpx_reader_fuzzed_project_raises_only_qualcode_errors(good, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    qde = good["project.qde"]
    attribute = re.compile(rb'(\w+)="([^"]*)"')
    spots = [m.span(2) for m in attribute.finditer(qde)]
    texts = dict(good)
    odd = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.sampled_from(spots), odd), min_size=1, max_size=4),
           st.lists(st.tuples(st.integers(0, len(qde) - 1), st.integers(0, 255)), max_size=3))
    def check(edits, flips):
        data = bytearray(qde)
        for (start, end), value in sorted(edits, reverse=True):
            escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").encode("utf-8")
            data[start:end] = escaped
        for at, byte in flips:
            if at < len(data):
                data[at] = byte
        path = build(tmp_path / "fuzz.qdpx", {**texts, "project.qde": bytes(data)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                contents = read_qdpx(path)
            except QualcodeError:
                return
        lengths = {d.doc_id: len(d.parsed.text) for d in contents.documents}
        for row in contents.selections.itertuples():
            assert 0 <= row.start < row.end <= lengths[row.doc_id]

    check()
