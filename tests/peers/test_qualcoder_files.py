"""Files QualCoder 4.0 wrote itself (its own export of a small project made in it) come into qualcode whole.

``tests/peers/qualcoder/qualcoder-4.0b_native-project.qdpx`` and ``…_native-codebook.qdc`` were written by
QualCoder's exporter (the code in ``tests/peers/qualcoder/src``, run headless): texts in lower-case
``sources/`` as UTF-8 with a BOM, two coders (one selection per coder), a coding memo in
``<PlainTextSelection><Description>``, an emoji before a coded span, a category (``isCodable="false"``) with a
code under it, a case whose ``<SourceRef>`` points at the plain-text file's GUID (QualCoder's own fault), and
document variables. The expected values below are read off the file by hand.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import pytest

import qualcode as qc

FILES = Path(__file__).resolve().parent / "qualcoder"
PROJECT = FILES / "qualcoder-4.0b_native-project.qdpx"
CODEBOOK = FILES / "qualcoder-4.0b_native-codebook.qdc"
# (document, code, coder, the words QualCoder coded: its selection's name)
CODINGS = {("interview_a", "relations.trust", "ana", "I trust my peers"),
           ("interview_a", "relations.trust", "luis", "I trust my peers"),
           ("interview_a", "relations.trust", "ana", "I trust them."),
           ("interview_a", "time.lack_of_time", "luis", "Never enough time"),
           ("notes_b", "time", "ana", "meeting ran long")}
CODES = {("time", None, "Time"), ("time.lack_of_time", "time", "Lack of time"), ("relations", None, "Relations"),
         ("relations.trust", "relations", "Trust")}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        project = qc.import_refi_qda(PROJECT, tmp_path_factory.mktemp("native") / "native.qualcode")
    yield project, [str(w.message) for w in caught]
    project.close()


def test_qualcoders_own_project_brings_every_document_with_its_text(imported):
    project, _ = imported
    with zipfile.ZipFile(PROJECT) as archive:
        plain = {"interview_a": "sources/06fc5d98-49a1-4b10-bdd5-ebd664d2c5c0.txt",
                 "notes_b": "sources/839408ba-0c69-4e03-bf45-0351c16dcb6c.txt"}
        expected = {doc: archive.read(member).decode("utf-8-sig") for doc, member in plain.items()}
    got = dict(zip(project.documents["doc_id"], project.documents["text"], strict=True))
    assert got == expected


def test_qualcoders_own_project_brings_its_codes_with_their_hierarchy(imported):
    project, _ = imported
    got = {(c.id, c.parent_id, c.label.get("en") or c.label.get("es")) for c in project.codebook()}
    assert got == CODES


def test_qualcoders_own_project_brings_each_coders_codings_on_their_words(imported):
    project, _ = imported
    quotes = qc.coded_quotes(project)
    got = set(zip(quotes["doc_id"], quotes["code_id"], quotes["coder"], quotes["quote_now"], strict=True))
    assert got == CODINGS


def test_qualcoders_own_project_brings_its_coding_memo(imported):
    project, _ = imported
    quotes = qc.coded_quotes(project)
    memos = {(r.coder, r.quote_now, r.memo) for r in quotes.itertuples() if isinstance(r.memo, str) and r.memo}
    assert memos == {("ana", "I trust my peers", "coding memo: trust is explicit")}


def test_qualcoders_own_project_brings_document_variables_and_reports_its_broken_case_link(imported):
    project, _ = imported
    docs = project.documents.set_index("doc_id")
    assert (docs.at["interview_a", "site"], docs.at["notes_b", "site"]) == ("North", "South")
    # QualCoder points the case's <SourceRef> at the plain-text file, not at the <TextSource>: the import links
    # the case to the source whose text that file holds (its age reaches the document) and its report says so.
    assert float(docs.at["interview_a", "age"]) == 34.0
    report = qc.import_report(project)
    repaired = report[report["what"].str.contains("a case refers to a copy of a source's text file")]
    assert len(repaired) == 1 and repaired["outcome"].iloc[0] == "imported"


def test_qualcoders_own_codebook_brings_codes_hierarchy_colours_and_memos():
    codebook = qc.load_codebook(CODEBOOK)
    assert {(c.id, c.parent_id, c.label.get("en") or c.label.get("es")) for c in codebook} == CODES
    assert (codebook["relations.trust"].color, codebook["time.lack_of_time"].color) == ("#F5BCA9", "#FFFF00")
    assert codebook["relations.trust"].definition.get("en") == "trust memo"
