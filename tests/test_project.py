"""The project file: creation, schema, corpus updates, codebook versions, append-only log, plain-text dump."""

from __future__ import annotations

import sqlite3

import pytest

import qualcode as qc
from qualcode.errors import ParameterError, ProjectError
from qualcode.project import SCHEMA_VERSION, Project


def participant_ids(project, n=3):
    segs = project.segments
    return list(segs[segs["speaker_role"] == "participant"]["segment_id"][:n])


def test_create_refuses_to_overwrite_and_open_refuses_other_files(tmp_path):
    path = tmp_path / "s.qualcode"
    Project.create(path).close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(path)
    (tmp_path / "notes.txt").write_text("hola", encoding="utf-8")
    with pytest.raises(ProjectError, match="not a qualcode project"):
        Project.open(tmp_path / "notes.txt")
    with pytest.raises(ProjectError, match="no such project file"):
        Project.open(tmp_path / "missing.qualcode")


def test_project_is_plain_sqlite_in_wal_mode(project):
    db = sqlite3.connect(project.path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"documents", "segments", "codebooks", "codes", "suggestions", "decisions", "anchors", "cache"} <= tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT count(*) FROM segments").fetchone()[0] == len(project.segments)


def test_open_refuses_a_file_from_a_newer_qualcode(project):
    with project.transaction() as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(ProjectError, match="newer qualcode"):
        Project.open(project.path)


def test_add_corpus_is_a_no_op_for_unchanged_files(project, sample_corpus):
    before = project.segments
    result = project.add_corpus(sample_corpus)
    assert set(result["action"]) == {"unchanged"}
    assert project.segments.equals(before)


def test_a_corrected_attributes_sheet_reaches_unchanged_documents(project, samples, tmp_path):
    import pandas as pd

    sheet = pd.read_csv(samples / "attributes.csv")
    sheet.loc[sheet["doc_id"] == "int_d02_final", "district"] = "Valle Oriente"
    sheet.to_csv(tmp_path / "corrected.csv", index=False)
    segments = project.segments[["segment_id", "text"]]
    corrected, _ = qc.load_corpus(samples / "transcripts", attributes=tmp_path / "corrected.csv")
    result = project.add_corpus(corrected).set_index("doc_id")["action"]
    assert result["int_d02_final"] == "attributes" and (result.drop("int_d02_final") == "unchanged").all()
    assert project.documents.set_index("doc_id").loc["int_d02_final", "district"] == "Valle Oriente"
    assert project.segments[["segment_id", "text"]].equals(segments)
    # Loading the same files without a sheet keeps the attributes the documents have.
    bare, _ = qc.load_corpus(samples / "transcripts")
    assert set(project.add_corpus(bare)["action"]) == {"unchanged"}
    assert project.documents.set_index("doc_id").loc["int_d02_final", "district"] == "Valle Oriente"


def test_project_tables_keep_attributes_and_types(project, sample_corpus):
    docs = project.documents.set_index("doc_id")
    assert docs.loc["int_d02_final", "stage"] == "final" and docs.loc["int_d02_final", "round"] == 2
    segs = project.segments
    assert len(segs) == len(sample_corpus.segments)
    assert set(segs["segment_id"]) == set(sample_corpus.segments["segment_id"])
    rebuilt = project.corpus
    assert rebuilt.text("int_d09_final") == sample_corpus.text("int_d09_final")
    assert str(segs["round"].dtype) == "Int64"


def test_codebook_versions_are_recorded_and_the_last_is_current(project, study_codebook):
    leadership = qc.load_codebook("leadership")
    project.add_codebook(leadership)
    assert project.codebook() == leadership
    assert project.codebook(study_codebook.version) == study_codebook
    project.add_codebook(study_codebook)
    assert project.codebook().version == study_codebook.version
    assert set(project.codes["code_id"]) == {c.id for c in study_codebook}


def test_decision_log_refuses_update_and_delete(project):
    project.accept(participant_ids(project, 1), "collaboration.isolation", coder="ana")
    db = sqlite3.connect(project.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE decisions SET decision = 'reject'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM decisions")


def test_dump_and_load_dump_rebuild_the_project(project, tmp_path):
    ids = participant_ids(project, 2)
    project.accept(ids, "collaboration.isolation", coder="ana", memo="soledad")
    project.reject(ids[:1], "collaboration.isolation", coder="ana")
    files = project.dump(tmp_path / "mirror")
    assert {f.name for f in files} == {"codebook.yaml", "decisions.csv", "anchors.csv", "documents.csv", "segments.csv"}
    rebuilt = Project.load_dump(tmp_path / "mirror", tmp_path / "rebuilt.qualcode")
    assert rebuilt.decisions[["segment_id", "code_id", "decision", "memo"]].equals(
        project.decisions[["segment_id", "code_id", "decision", "memo"]])
    assert rebuilt.codebook() == project.codebook()
    assert rebuilt.segments.equals(project.segments)
    second = tmp_path / "mirror2"
    rebuilt.dump(second)
    assert (second / "decisions.csv").read_text() == (tmp_path / "mirror" / "decisions.csv").read_text()


def test_suggestions_are_stored_and_replaced(project):
    import pandas as pd

    ids = participant_ids(project, 2)
    rows = pd.DataFrame({"segment_id": ids, "code_id": "collaboration.isolation", "method": "keyword",
                         "score": [0.9, 0.4], "evidence": [["sola"], []], "codebook_version": project.codebook().version,
                         "rank": [1, 1]})
    assert project.add_suggestions(rows) == 2
    rows["score"] = [0.5, 0.6]
    project.add_suggestions(rows)
    stored = project.suggestions
    assert len(stored) == 2 and sorted(stored["score"]) == [0.5, 0.6]
    with pytest.raises(ParameterError, match="missing column"):
        project.add_suggestions(rows.drop(columns=["method"]))


@pytest.mark.parametrize("name", ["collaboration", "improvement_science", "leadership", "nic_study"])
def test_stored_codebook_reads_back_as_from_a_file_without_touching_the_disk(tmp_path, name, monkeypatch):
    from qualcode.codebook.yaml import dump_yaml, read_yaml_codebook

    codebook = qc.load_codebook(name)
    # What project.codebook() did before: write the stored YAML to a temporary file and read that.
    stored = tmp_path / "codebook.yaml"
    stored.write_text(dump_yaml(codebook), encoding="utf-8")
    from_file = read_yaml_codebook(stored)
    with Project.create(tmp_path / "study.qualcode") as project:
        project.add_codebook(codebook)
    monkeypatch.setattr("tempfile.TemporaryDirectory", lambda *a, **k: pytest.fail("a temporary file"))
    with Project.open(tmp_path / "study.qualcode") as project:  # reads the stored text, nothing cached
        read = project.codebook()
    assert read == from_file and read.version == from_file.version == codebook.version
    assert read.to_frame().equals(from_file.to_frame())
    assert dump_yaml(read) == dump_yaml(from_file)


def test_an_include_in_codebook_text_is_refused():
    from qualcode.codebook.yaml import parse_yaml_codebook
    from qualcode.errors import CodebookError

    with pytest.raises(CodebookError, match="include: needs the codebook's folder"):
        parse_yaml_codebook("id: x\ninclude: [leadership.yaml]\n")
