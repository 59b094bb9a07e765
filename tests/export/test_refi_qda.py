"""REFI-QDA .qdpx: valid against the official schema, stable through export → import → export, other tools' files, C6."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ExchangeFileError, ParameterError
from qualcode.export import validate_qde
from qualcode.workflow import export_refi_qda, import_refi_qda

REFI = Path(__file__).resolve().parents[1] / "data" / "refi"


@pytest.fixture
def coded(project, samples):
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
    segs = list(coding["segment_id"][:3])
    qc.accept(project, segs, list(coding["code_id"][:3]), coder="luis", memo="claro, la soledad del cargo")
    start = int(project.segments.set_index("segment_id").loc[segs[0], "start"])
    qc.add_manual(project, segs[:1], "collaboration.tensions", coder="luis", spans=[(start, start + 20)])
    return project


def test_written_qdpx_validates_and_carries_sources_codes_users_cases(coded, tmp_path):
    export_refi_qda(coded, tmp_path / "estudio.qdpx")
    archive = zipfile.ZipFile(tmp_path / "estudio.qdpx")
    names = archive.namelist()
    assert names[0] == "project.qde" and sum(n.startswith("sources/") for n in names) == len(coded.documents)
    qde = archive.read("project.qde")
    assert validate_qde(qde) == []
    text = qde.decode("utf-8")
    # One selection per coding, so each coder's codings are separate selections.
    assert text.count("<PlainTextSelection ") == text.count("<Coding ") == 435 + 3 + 1
    assert 'name="ana"' in text and 'name="luis"' in text
    assert "<Case " in text and 'name="district"' in text and "claro, la soledad del cargo" in text


def test_export_import_export_is_stable(coded, tmp_path):
    export_refi_qda(coded, tmp_path / "a.qdpx")
    imported = import_refi_qda(tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    export_refi_qda(imported, tmp_path / "b.qdpx")
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()
    before = qc.coded_quotes(coded)[["doc_id", "code_id", "coder", "quote_now", "start", "end"]]
    after = qc.coded_quotes(imported)[["doc_id", "code_id", "coder", "quote_now", "start", "end"]]
    key = ["doc_id", "start", "code_id", "coder"]
    assert before.sort_values(key).reset_index(drop=True).equals(after.sort_values(key).reset_index(drop=True))
    assert imported.codebook().to_frame().drop(columns=[]).equals(coded.codebook().to_frame())
    docs = imported.documents.set_index("doc_id")
    assert docs.loc["int_d02_final", "stage"] == "final" and docs.loc["int_d02_final", "round"] == 2


def test_atlasti_project_imports_its_codes(tmp_path):
    project = import_refi_qda(REFI / "atlasti-win-23.2_target-project.qdpx", tmp_path / "atlas.qualcode")
    codes = project.codebook().to_frame()
    assert len(codes) == 3 and codes["depth"].max() == 1
    assert codes["label_en"].iloc[0] == "Commits" and project.documents.empty


def test_hand_authored_project_with_missing_sources_says_so(tmp_path):
    qdpx = tmp_path / "toolkit.qdpx"
    with zipfile.ZipFile(qdpx, "w") as archive:
        archive.writestr("project.qde", (REFI / "qdpx-toolkit_hand-authored_all-features_project.qde").read_bytes())
    with pytest.warns(qc.QualcodeWarning, match="no plain text"):
        project = import_refi_qda(qdpx, tmp_path / "toolkit.qualcode")
    assert len(project.codebook().to_frame()) == 4


def test_c6_qdpx_with_path_traversal_or_entities_is_refused(tmp_path):
    evil = tmp_path / "evil.qdpx"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("project.qde", b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>')
        archive.writestr("../../escape.txt", b"x")
    with pytest.raises(ExchangeFileError, match="outside the archive"):
        import_refi_qda(evil, tmp_path / "e.qualcode")
    assert not (tmp_path / "e.qualcode").exists()
    xxe = tmp_path / "xxe.qdpx"
    with zipfile.ZipFile(xxe, "w") as archive:
        archive.writestr("project.qde", b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                       b'<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>')
    with pytest.raises(ExchangeFileError, match="DTD or entities"):
        import_refi_qda(xxe, tmp_path / "x.qualcode")


def test_qdpx_without_a_qde_is_refused(tmp_path):
    empty = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("Sources/a.txt", b"hola")
    with pytest.raises(ExchangeFileError, match=r"exactly one \.qde"):
        import_refi_qda(empty, tmp_path / "n.qualcode")


def test_the_pure_writer_and_reader_work_on_tables_without_a_project(coded, tmp_path):
    from qualcode.export.refi_import import SELECTION_COLUMNS, read_qdpx
    from qualcode.export.refi_qda import qdpx_bytes

    export_refi_qda(coded, tmp_path / "a.qdpx")
    stored = coded.query("SELECT value FROM meta WHERE key = 'name'")
    name = stored[0][0] if stored else Path(coded.path).stem
    data = qdpx_bytes(coded.codebook(), coded.documents, qc.decisions(coded), name=name)
    assert data == (tmp_path / "a.qdpx").read_bytes()
    contents = read_qdpx(tmp_path / "a.qdpx")
    assert contents.name == name and [c.id for c in contents.codebook] == [c.id for c in coded.codebook()]
    assert sorted(d.doc_id for d in contents.documents) == sorted(coded.documents["doc_id"])
    assert list(contents.selections.columns) == SELECTION_COLUMNS
    assert len(contents.selections) == 435 + 3 + 1 and set(contents.selections["coder"]) == {"ana", "luis"}


def test_qdpx_for_qualcoder_puts_participant_level_values_on_documents_only(coded, tmp_path):
    """QualCoder files a variable found on a <Case> as a case variable and links no document to a case it imports:
    written for it, participant-level values are document variables only (checked in QualCoder: tests/peers)."""
    from lxml import etree

    ns = {"q": "urn:QDA-XML:project:1.0"}
    export_refi_qda(coded, tmp_path / "qc.qdpx", for_tool="qualcoder")
    export_refi_qda(coded, tmp_path / "any.qdpx")
    for_qc = etree.fromstring(zipfile.ZipFile(tmp_path / "qc.qdpx").read("project.qde"))
    anyone = etree.fromstring(zipfile.ZipFile(tmp_path / "any.qdpx").read("project.qde"))
    assert validate_qde(etree.tostring(for_qc)) == []
    assert for_qc.findall(".//q:Case/q:VariableValue", ns) == [] and anyone.findall(".//q:Case/q:VariableValue", ns)
    assert len(for_qc.findall(".//q:Case/q:SourceRef", ns)) == len(coded.documents)
    values = [len(s.findall("q:VariableValue", ns)) for s in for_qc.findall(".//q:TextSource", ns)]
    assert values == [len(s.findall("q:VariableValue", ns)) for s in anyone.findall(".//q:TextSource", ns)]
    with pytest.raises(ParameterError, match=r"for_tool must be one of 'qualcoder'.*got 'nvivo'"):
        export_refi_qda(coded, tmp_path / "n.qdpx", for_tool="nvivo")
    from typer.testing import CliRunner

    from qualcode.cli import app
    result = CliRunner().invoke(app, ["report", str(coded.path), str(tmp_path / "r.xlsx"), "--qdpx",
                                      str(tmp_path / "r.qdpx"), "--qdpx-for", "nvivo"])
    assert result.exit_code == 2 and "--qdpx-for" in result.output and not (tmp_path / "r.xlsx").exists()
