"""REFI-QDA import of other tools' projects (issue 18, import side): where texts are, how positions count, every
coding kept, memos in every form, one report of what has no home; on real NVivo and QualCoder files and siblings.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.errors import ExchangeFileError, ParameterError, QualcodeWarning
from qualcode.export.refi_import import read_qdpx
from qualcode.project import Project
from qualcode.workflow import import_refi_qda

REFI = Path(__file__).resolve().parents[1] / "data" / "refi"
NVIVO = REFI / "nvivo-12.6_oltas0517.qdpx"
QUALCODER = REFI / "qualcoder-4.0b_native-project.qdpx"
NS = "urn:QDA-XML:project:1.0"
USER = "10000000-0000-0000-0000-000000000001"
CODE = "20000000-0000-0000-0000-000000000001"
SOURCE = "30000000-0000-0000-0000-000000000001"
runner = CliRunner()


def qdpx(path: Path, body: str, files: dict[str, str | bytes], *, origin: str = "hand-made test",
         tail: str = "", code: str = "") -> Path:
    """A .qdpx written by hand (no qualcode involved): one user 'ana', one code 'Trust', ``body`` after them."""
    qde = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="t" origin="{origin}">'
           f'<Users><User guid="{USER}" name="ana"/></Users>'
           f'<CodeBook><Codes><Code guid="{CODE}" name="Trust" isCodable="true">{code}</Code></Codes></CodeBook>'
           f'{body}{tail}'
           "</Project>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", qde)
        for name, text in files.items():
            archive.writestr(name, text.encode("utf-8") if isinstance(text, str) else text)
    return path


def selection(start: int, end: int, k: int = 1, *, name: str = "", inner: str = "", coded: bool = True) -> str:
    coding = (f'<Coding guid="50000000-0000-0000-0000-00000000000{k}" creatingUser="{USER}">'
              f'<CodeRef targetGUID="{CODE}"/></Coding>') if coded else ""
    return (f'<PlainTextSelection guid="40000000-0000-0000-0000-00000000000{k}" name="{name}" '
            f'startPosition="{start}" endPosition="{end}">{inner}{coding}</PlainTextSelection>')


def text_source(selections: str, *, attributes: str = f'plainTextPath="internal://{SOURCE}.txt"',
                inner: str = "") -> str:
    return f'<Sources><TextSource guid="{SOURCE}" name="entrevista" {attributes}>{inner}{selections}</TextSource></Sources>'


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualcodeWarning)
        return call(*args, **kwargs)


TEXT = "ENTREVISTADORA: Hola\nD1: Confío en mis colegas.\n"
WORDS = "Confío en mis colegas"
AT = TEXT.index(WORDS)


# -- where the texts are (spec §8.1, §8.3) -------------------------------------------------------------------------


@pytest.mark.parametrize(("member", "attributes"), [
    (f"sources/{SOURCE}.txt", f'plainTextPath="internal://{SOURCE}.txt"'),             # the spec, QualCoder, MAXQDA
    (f"Sources/{SOURCE}.txt", f'plainTextPath="internal://{SOURCE}.txt"'),             # NVivo
    (f"SOURCES/{SOURCE}.txt", f'plainTextPath="internal://{SOURCE}.txt"'),             # any case
    (f"sources/{SOURCE}.txt", f'plainTextPath="{SOURCE}.txt"'),                        # without internal://
    (f"sources/{SOURCE}.txt", f'plainTextPath="internal:///{SOURCE}.txt"'),            # a leading slash
    (f"sources/{SOURCE}.txt", f'plainTextPath="sources/{SOURCE}.txt"'),                # the folder in the path
    (f"sources/{SOURCE}.txt", f'plainTextPath="./sources\\{SOURCE}.txt"'),             # relative, backslash
    (f"sources/{SOURCE}.txt", f'path="internal://{SOURCE}.txt"'),                      # in path, not plainTextPath
    (f"{SOURCE}.txt", f'plainTextPath="internal://{SOURCE}.txt"'),                     # at the archive's root
], ids=["sources", "Sources", "SOURCES", "no-scheme", "leading-slash", "folder-in-path", "dot-backslash",
        "path-attribute", "root"])
def test_import_finds_lowercase_sources_folder_and_every_spec_path_shape(tmp_path, member, attributes):
    path = qdpx(tmp_path / "p.qdpx", text_source(selection(AT, AT + len(WORDS)), attributes=attributes),
                {member: TEXT})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is lost: no warning
        project = import_refi_qda(path, tmp_path / "p.qualcode")
    quotes = qc.coded_quotes(project)
    assert list(project.documents["doc_id"]) == ["entrevista"] and list(quotes["quote_now"]) == [WORDS]


def test_import_of_a_maxqda_style_archive_with_sources_and_internal_paths_keeps_every_document(tmp_path):
    body = "<Sources>" + "".join(
        f'<TextSource guid="3000000{k}-0000-0000-0000-000000000001" name="e{k}.docx" '
        f'richTextPath="internal://3000000{k}-0000-0000-0000-000000000001.docx" '
        f'plainTextPath="internal://3000000{k}-0000-0000-0000-000000000001.txt">'
        f'{selection(AT, AT + len(WORDS), k)}</TextSource>' for k in range(1, 4)) + "</Sources>"
    files = {f"sources/3000000{k}-0000-0000-0000-000000000001.txt": "\ufeff" + TEXT for k in range(1, 4)}
    files |= {f"sources/3000000{k}-0000-0000-0000-000000000001.docx": b"PK not read" for k in range(1, 4)}
    project = import_refi_qda(qdpx(tmp_path / "m.qdpx", body, files, origin="MAXQDA 24.7.0"), tmp_path / "m.qualcode")
    assert sorted(project.documents["doc_id"]) == ["e1", "e2", "e3"]
    assert list(qc.coded_quotes(project)["quote_now"]) == [WORDS] * 3


def test_import_refuses_a_project_whose_sources_are_all_missing_naming_what_it_looked_for(tmp_path):
    body = text_source(selection(AT, AT + len(WORDS)))
    path = qdpx(tmp_path / "vacío.qdpx", body, {f"texts/{SOURCE}.txt": TEXT})
    with pytest.raises(ExchangeFileError) as raised:
        import_refi_qda(path, tmp_path / "v.qualcode")
    message = str(raised.value)
    assert "vacío.qdpx" in message and "none of its 1 text source(s)" in message
    assert f"sources/{SOURCE}.txt" in message and f"texts/{SOURCE}.txt" in message  # looked for, and what is there
    assert not (tmp_path / "v.qualcode").exists()
    external = text_source(selection(AT, AT + len(WORDS)), attributes='plainTextPath="absolute:///C:/e.txt"')
    with pytest.raises(ExchangeFileError, match="outside the archive"):
        read_qdpx(qdpx(tmp_path / "ext.qdpx", external, {}))


def test_import_with_both_sources_and_Sources_reads_the_spec_folder_and_says_when_they_differ(tmp_path):
    body = text_source(selection(AT, AT + len(WORDS)))
    same = qdpx(tmp_path / "same.qdpx", body, {f"Sources/{SOURCE}.txt": TEXT, f"sources/{SOURCE}.txt": TEXT})
    assert read_qdpx(same).report.empty
    other = TEXT.replace("Hola", "Hola!")  # the coded words move by one character
    differ = qdpx(tmp_path / "differ.qdpx", body, {f"Sources/{SOURCE}.txt": other, f"sources/{SOURCE}.txt": TEXT})
    with pytest.warns(QualcodeWarning, match="both sources/ and Sources/"):
        contents = read_qdpx(differ)
    assert contents.documents[0].parsed.text == TEXT


# -- positions ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nvivo(tmp_path_factory):
    """The real NVivo project, imported once for the tests that look at it (a few seconds)."""
    return import_refi_qda(NVIVO, tmp_path_factory.mktemp("nvivo") / "nvivo.qualcode")


def test_nvivo_positions_are_utf16_code_units_on_the_real_project(nvivo):
    """The real NVivo 12.6 project: ≥ 300 of its 303 codings on the words NVivo meant, all 303 kept.

    NVivo writes no selected text (``name=""``): what it meant is judged as in the issue, a human selection
    starts and ends on word boundaries; read as code points, only 49 of 303 do.
    """
    quotes = qc.coded_quotes(nvivo)
    texts = nvivo.documents.set_index("doc_id")["text"]
    assert len(quotes) == 303 and on_boundaries(texts, quotes) >= 300
    report = qc.import_report(nvivo)
    assert list(report["outcome"]) == ["converted"] and report["count"].iloc[0] == 303
    assert "UTF-16" in report["what"].iloc[0] and "300 of 303" in report["why"].iloc[0]
    # The same file read as code points (qualcode before issue 18) lands most codings on the wrong words.
    wrong = quiet(read_qdpx, NVIVO, position_units="codepoints")
    assert wrong.positions == "codepoints" and len(wrong.selections) == 303
    assert on_boundaries(texts, wrong.selections) < 60


def on_boundaries(texts: pd.Series, spans: pd.DataFrame) -> int:
    """How many spans start and end on word boundaries (or the text's ends), as human selections do."""
    fits = 0
    for doc_id, a, b in spans[["doc_id", "start", "end"]].itertuples(index=False):
        text = texts[doc_id]
        fits += (a == 0 or not text[a - 1].isalnum() or not text[a].isalnum()) and \
            (b == len(text) or not text[b].isalnum() or not text[b - 1].isalnum())
    return fits


def test_nvivo_positions_are_utf16_code_units_in_crlf_text_with_a_bom(tmp_path):
    text = "comment_text\r\nGreat video 😀😀 Vaccines are safe.\r\nSecond 🙂 line: trust them\r\n"
    body = ""
    for k, words in enumerate(["Vaccines are safe", "trust them", "😀😀"], start=1):
        at = text.index(words)
        units = len(text[:at].encode("utf-16-le")) // 2
        body += selection(units, units + len(words.encode("utf-16-le")) // 2, k)
    path = qdpx(tmp_path / "nvivo.qdpx", text_source(body), {f"Sources/{SOURCE}.txt": "\ufeff" + text},
                origin="NVivo for Windows 12.6")
    project = import_refi_qda(path, tmp_path / "n.qualcode")
    assert list(qc.coded_quotes(project).sort_values("start")["quote_now"]) == ["Great video 😀😀"[-2:],
                                                                               "Vaccines are safe", "trust them"]
    assert project.documents["text"].iloc[0] == text  # CRLF kept: positions refer to the exact text


def test_unknown_producer_positions_are_measured_from_the_selections_names_and_said_guessed(tmp_path):
    text = "Intro 😀 texto. Confío en mis colegas 🙂 y en la directora.\n"
    body = ""
    for k, words in enumerate(["Confío en mis colegas", "en la directora"], start=1):
        at = text.index(words)
        units = len(text[:at].encode("utf-16-le")) // 2
        body += selection(units, units + len(words), k, name=words)
    path = qdpx(tmp_path / "atlas.qdpx", text_source(body), {f"sources/{SOURCE}.txt": text}, origin="ATLAS.ti 26")
    with pytest.warns(QualcodeWarning, match="guessed"):
        contents = read_qdpx(path)
    assert contents.positions == "utf16"
    row = contents.report.set_index("outcome").loc["guessed"]
    assert "2 of 2 selections match the words" in row["why"] and "--positions" in row["why"]
    # No names stored: word boundaries decide.
    unnamed = re.sub(r'name="[^"]*" start', 'name="" start', body)
    with pytest.warns(QualcodeWarning, match="word boundaries"):
        assert read_qdpx(qdpx(tmp_path / "b.qdpx", text_source(unnamed), {f"sources/{SOURCE}.txt": text},
                              origin="")).positions == "utf16"
    # Code points fit better: kept (a tie keeps code points too).
    at = text.index("Confío en mis colegas")
    plain = selection(at, at + 21, name="Confío en mis colegas")
    with pytest.warns(QualcodeWarning, match="guessed"):
        assert read_qdpx(qdpx(tmp_path / "c.qdpx", text_source(plain), {f"sources/{SOURCE}.txt": text},
                              origin="MAXQDA 24")).positions == "codepoints"


def test_position_units_given_by_the_user_win_and_a_bad_value_is_refused(tmp_path):
    text = "Hola 😀 Confío en mis colegas.\n"
    at = text.index(WORDS)
    path = qdpx(tmp_path / "q.qdpx", text_source(selection(at, at + len(WORDS), name=WORDS)),
                {f"sources/{SOURCE}.txt": text}, origin="QualCoder 4.0")
    assert read_qdpx(path).selections["start"].tolist() == [at]
    with pytest.warns(QualcodeWarning, match="check --positions codepoints"):  # it fits worse: said
        forced = read_qdpx(path, position_units="utf16")
    assert forced.positions == "utf16" and forced.selections["start"].tolist() == [at - 1]
    with pytest.raises(ParameterError, match="position_units='bytes'"):
        read_qdpx(path, position_units="bytes")
    result = runner.invoke(app, ["import", str(path), str(tmp_path / "x.qualcode"), "--positions", "bytes"])
    assert result.exit_code == 2 and "--positions" in result.output and not (tmp_path / "x.qualcode").exists()


# -- every coding kept --------------------------------------------------------------------------------------------


def test_several_selections_of_one_code_by_one_coder_in_one_segment_are_all_kept(tmp_path):
    text = "Interviewer: How was it?\nAna: I trust my peers. We share a lot. I trust them.\n"
    body = "".join(selection(text.index(w), text.index(w) + len(w), k)
                   for k, w in enumerate(["I trust my peers", "I trust them", "I trust my peers. We"], start=1))
    project = import_refi_qda(qdpx(tmp_path / "c03.qdpx", text_source(body), {f"sources/{SOURCE}.txt": text}),
                              tmp_path / "c03.qualcode")
    quotes = qc.coded_quotes(project)
    assert quotes["segment_id"].nunique() == 1
    assert sorted(quotes["quote_now"]) == ["I trust my peers", "I trust my peers. We", "I trust them"]


def test_every_coding_of_the_real_nvivo_project_is_kept_at_its_own_span(nvivo):
    root = etree.fromstring(zipfile.ZipFile(NVIVO).read("project.qde"))
    in_file = [s for s in root.iter(f"{{{NS}}}PlainTextSelection") for _ in s.iter(f"{{{NS}}}Coding")]
    assert len(in_file) == 303
    current = qc.decisions(nvivo)
    assert len(current) == 303
    # Same (code, coder, segment) more than once: the case C03 lost 134 of.
    assert current.duplicated(["segment_id", "code_id", "coder"]).sum() >= 134


# -- memos and the report -------------------------------------------------------------------------------------


def memos_qdpx(tmp_path: Path) -> tuple[Path, str]:
    """A .qdpx with a memo in every place the spec allows (QualCoder's, MAXQDA's and NVivo's forms)."""
    text = "Interviewer: Hello\nAna: I trust my peers a lot. We share materials.\n"
    a, b = text.index("I trust my peers"), text.index("I trust my peers") + 16
    c, d = text.index("We share"), text.index("We share") + 8
    note = "60000000-0000-0000-0000-00000000000"
    inner = (f'<Description>coding memo (QualCoder)</Description>'
             f'<NoteRef targetGUID="{note}3"/>')
    body = text_source(
        selection(a, b, 1, inner=inner)
        + selection(c, d, 2, inner="<Description>MAXQDA memo on words, no code</Description>", coded=False)
        + selection(0, 11, 3, coded=False),  # NVivo annotation, tied by a Link below
        inner="<Description>source memo</Description>").replace(
            "</TextSource>", f'<NoteRef targetGUID="{note}2"/></TextSource>')
    tail = (f'<Notes><Note guid="{note}1" name="Journal" plainTextPath="internal://{note}1.txt"/>'
            f'<Note guid="{note}2" creatingUser="{USER}"><PlainTextContent>annotation text</PlainTextContent>'
            f'<PlainTextSelection guid="40000000-0000-0000-0000-000000000009" startPosition="{c}" endPosition="{d}"/>'
            f'</Note><Note guid="{note}3"><PlainTextContent>coding memo (Note)</PlainTextContent></Note>'
            f'<Note guid="{note}5"><PlainTextContent>code memo (Note)</PlainTextContent></Note>'
            f'<Note guid="{note}4" plainTextPath="internal://{note}4.txt"/></Notes>'
            f'<Links><Link guid="70000000-0000-0000-0000-000000000001" originGUID="{note}4" '
            f'targetGUID="40000000-0000-0000-0000-000000000003"/></Links>'
            f'<Cases><Case guid="80000000-0000-0000-0000-000000000001" name="Ana"><Description>case memo</Description>'
            f'<SourceRef targetGUID="{SOURCE}"/></Case></Cases>'
            '<Description>project memo</Description>')
    # <Cases> must come before <Sources>: the schema's order, which readers should not need.
    path = qdpx(tmp_path / "memos.qdpx", body, {f"sources/{SOURCE}.txt": text, f"sources/{note}1.txt": "journal entry",
                                               f"sources/{note}4.txt": "NVivo annotation"}, tail=tail,
                code=f'<NoteRef targetGUID="{note}5"/>')
    return path, text


def test_memos_in_every_form_become_coding_memos_or_notes(tmp_path):
    path, text = memos_qdpx(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every memo has a home: nothing to warn about
        project = import_refi_qda(path, tmp_path / "m.qualcode")
    quotes = qc.coded_quotes(project)
    assert quotes["memo"].tolist() == ["coding memo (QualCoder)\n\ncoding memo (Note)"]
    notes = qc.imported_notes(project)
    got = {(k, t) for k, t in notes[["kind", "text"]].itertuples(index=False)}
    assert got == {("annotation", "MAXQDA memo on words, no code"), ("annotation", "NVivo annotation"),
                   ("annotation", "annotation text"), ("source memo", "source memo"), ("case memo", "case memo"),
                   ("journal", "journal entry"), ("project memo", "project memo"), ("code memo", "code memo (Note)")}
    spans = notes.dropna(subset=["start"]).set_index("text")
    assert spans.loc["annotation text", "quote"] == "We share" and spans.loc["NVivo annotation", "quote"] == text[:11]
    assert notes.set_index("kind").loc["project memo", "doc_id"] is pd.NA
    assert set(qc.import_report(project)["outcome"]) == {"imported as note", "imported as attribute"}  # the case


def test_import_report_lists_what_has_no_home_with_counts_and_why(tmp_path):
    """The hand-authored all-features fixture: sets, links, graphs, media, PDF areas, case codes; transcripts come in."""
    qde = (REFI / "qdpx-toolkit_hand-authored_all-features_project.qde").read_bytes()
    path = tmp_path / "all.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr("sources/11111111-1111-1111-1111-111111111111.txt",
                         "Diet and health are closely linked in this interview.")
        archive.writestr("sources/22222222-2222-2222-2222-222222222222.jpg", b"\xff\xd8 not read")
    with pytest.warns(QualcodeWarning) as seen:
        project = import_refi_qda(path, tmp_path / "all.qualcode")
    report = qc.import_report(project).set_index("what")
    lost = report[report["outcome"] == "not imported"]
    for what, count in [("a set of codes (code group)", 1), ("a graph (network view)", 1),
                        ("a non-text source (PictureSource)", 1), ("a non-text source (VideoSource)", 1),
                        ("a selection on a non-text source (PDFSelection)", 1),
                        ("a coding of a selection on a non-text source (AudioSelection)", 1),
                        ("a code given to a whole case", 1), ("a selection assigned to a case", 1)]:
        assert lost.loc[what, "count"] == count, what
        assert lost.loc[what, "why"] and lost.loc[what, "where"].startswith("line ")
    # The Link ties the research memo, which the project refers to, to a coded selection: the memo stays the
    # project's (not the coder's memo) and the link, not kept, is said.
    assert lost.loc["a link between two items", "count"] == 1
    assert "Remember to follow up on diet-related comments." in set(
        qc.imported_notes(project).query("kind == 'project memo'")["text"])
    quotes = qc.coded_quotes(project).set_index("quote_now")
    assert quotes.loc["Diet and health", "memo"] is None or pd.isna(quotes.loc["Diet and health", "memo"])
    assert set(qc.imported_notes(project)["kind"]) == {"case memo", "project memo"}
    # The PDF's plain-text representation and the recording's transcript are documents; the text source's and the
    # transcript's codings are on their words (the transcript's between its two sync points, 0–20).
    assert sorted(project.documents["doc_id"]) == ["Interview 1", "doc", "interview"]
    assert sorted(quotes.index) == ["Diet and health", "Diet and health are ", "health are clo"]  # as the file says
    assert "a non-text source (AudioSource)" not in report.index
    # The set's source member: an attribute to group documents by.
    assert report.loc["a set of sources (document group)", "outcome"] == "imported as attribute"
    assert project.documents.set_index("doc_id").loc["Interview 1", "Diet-related"] == "yes"
    said = " ".join(str(w.message) for w in seen)
    assert "a set of codes (code group)" in said and "imported as note" not in said


def test_import_of_a_real_qualcoder_export_keeps_documents_coders_memos_cases_and_notes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        project = import_refi_qda(QUALCODER, tmp_path / "qc.qualcode")
    docs = project.documents.set_index("doc_id")
    assert sorted(docs.index) == ["interview_a", "notes_b"]
    assert docs.loc["interview_a", "site"] == "North" and docs.loc["notes_b", "site"] == "South"
    assert float(docs.loc["interview_a", "age"]) == 34  # a case variable, through QualCoder's SourceRef to a file
    quotes = qc.coded_quotes(project)
    assert len(quotes) == 5 and set(quotes["coder"]) == {"ana", "luis"}
    trust = quotes[quotes["quote_now"] == "I trust my peers"].set_index("coder")
    assert trust.loc["ana", "memo"] == "coding memo: trust is explicit" and len(trust) == 2
    assert set(qc.imported_notes(project)["kind"]) == {"source memo", "annotation", "case memo", "project memo",
                                                        "journal"}
    # Kept with the project: read again after reopening.
    project.close()
    with Project.open(tmp_path / "qc.qualcode") as again:
        assert len(qc.imported_notes(again)) == 5 and not qc.import_report(again).empty


def test_import_report_of_a_project_not_made_by_an_import_is_empty(project):
    assert qc.import_report(project).empty and qc.imported_notes(project).empty


# -- the command line ---------------------------------------------------------------------------------------------


def test_cli_import_prints_what_came_in_and_the_report_with_its_exit_code(tmp_path):
    result = runner.invoke(app, ["import", str(QUALCODER), str(tmp_path / "qc.qualcode")])
    assert result.exit_code == 0, result.output
    assert "2 document(s), 4 code(s), 5 coding(s) by 2 coder(s), 1 coding memo(s), 5 note(s)" in result.output
    assert "import report" in result.output and "imported as note" in result.output
    qde = (REFI / "qdpx-toolkit_hand-authored_all-features_project.qde").read_bytes()
    path = tmp_path / "all.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr("sources/11111111-1111-1111-1111-111111111111.txt",
                         "Diet and health are closely linked in this interview.")
    result = runner.invoke(app, ["import", str(path), str(tmp_path / "all.qualcode")])
    assert result.exit_code == 1, result.output  # done in part: what was not imported is listed
    assert "a set of codes (code group)" in result.output and "were not imported" in result.output
    missing = qdpx(tmp_path / "missing.qdpx", text_source(selection(AT, AT + len(WORDS))), {})
    result = runner.invoke(app, ["import", str(missing), str(tmp_path / "m.qualcode")])
    assert result.exit_code == 2 and "error:" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["import", str(QUALCODER), str(tmp_path / "qc.qualcode")])
    assert result.exit_code == 2 and "already exists" in result.output
    result = runner.invoke(app, ["import", str(tmp_path / "missing.qdpxx"), str(tmp_path / "n.qualcode")])
    assert result.exit_code == 2 and "no such REFI-QDA project" in result.output and "missing.qdpx?" in result.output


def test_codings_in_a_file_without_a_code_book_are_reported_not_imported(tmp_path):
    path = qdpx(tmp_path / "p.qdpx", text_source(selection(AT, AT + len(WORDS))), {f"sources/{SOURCE}.txt": TEXT})
    qde = zipfile.ZipFile(path).read("project.qde").decode("utf-8")
    bare = qdpx(tmp_path / "bare.qdpx", "", {f"sources/{SOURCE}.txt": TEXT})
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("project.qde", re.sub(r"<CodeBook>.*</CodeBook>", "", qde))
        archive.writestr(f"sources/{SOURCE}.txt", TEXT)
    with pytest.warns(QualcodeWarning):
        project = import_refi_qda(bare, tmp_path / "bare.qualcode")
    report = qc.import_report(project).set_index("what")
    assert report.loc["a coding in a file without a code book (not imported)", "count"] == 1
    assert len(project.documents) == 1 and qc.coded_quotes(project).empty


def test_import_of_a_qualcoder_reexport_keeps_every_document_and_coding_and_loses_no_case_value(tmp_path):
    """qualcode's demo through QualCoder 4.0 and back: its cases lost their SourceRef, but QualCoder wrote their
    values on each source too, so nothing is lost and nothing is warned about."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        project = import_refi_qda(REFI / "qualcoder-4.0b_reexport-of-qualcode-demo.qdpx", tmp_path / "re.qualcode")
    assert len(project.documents) == 15 and len(qc.coded_quotes(project)) == 435
    assert project.documents["district"].notna().all()
    report = qc.import_report(project)
    assert list(report["outcome"]) == ["imported"] and report["count"].iloc[0] == 13


def test_qualcoder_timestamp_with_an_offset_and_a_z_is_read_as_that_time(tmp_path):
    # QualCoder 4.0 writes a time it imported with an offset back as "…+00:00Z" (not an xsd:dateTime): the same
    # instant, kept, not replaced by the import time with a warning per coding.
    data = QUALCODER.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    qde = members["project.qde"].decode("utf-8")
    stamps = re.findall(r'creationDateTime="([^"]+)"', qde)
    assert stamps
    qde = re.sub(r'creationDateTime="[^"]+"', 'creationDateTime="2026-12-01T03:31:39.780062+00:00Z"', qde)
    members["project.qde"] = qde.encode("utf-8")
    with zipfile.ZipFile(tmp_path / "qc.qdpx", "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        project = import_refi_qda(tmp_path / "qc.qdpx", tmp_path / "qc.qualcode")
    created = set(qc.decisions(project)["created_at"])
    assert created == {"2026-12-01T03:31:39.780062+00:00"}


# -- imported notes written back (qualcode → .qdpx → qualcode keeps them) -----------------------------------------

PARTICIPANT = ('<Variables><Variable guid="90000000-0000-0000-0000-000000000001" name="participant" '
               'typeOfVariable="Text"/></Variables>')


def _with_participant(path: Path) -> Path:
    """The memos fixture with its case's participant as a variable (so the export has a case for the case memo)."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    qde = members["project.qde"].decode("utf-8")
    qde = qde.replace("<Sources>", PARTICIPANT + "<Sources>", 1).replace(
        '<Description>case memo</Description>', '<Description>case memo</Description><VariableValue><VariableRef '
        'targetGUID="90000000-0000-0000-0000-000000000001"/><TextValue>Ana</TextValue></VariableValue>')
    members["project.qde"] = qde.encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _notes(project: Project) -> set[tuple]:
    notes = qc.imported_notes(project)
    return {tuple(None if pd.isna(v) else v for v in row)
            for row in notes[["kind", "doc_id", "start", "end", "quote", "author", "text"]].itertuples(index=False)}


def test_notes_roundtrip_every_kind_is_written_back_where_the_spec_puts_it_and_read_again(tmp_path):
    path, _ = memos_qdpx(tmp_path)
    first = quiet(import_refi_qda, _with_participant(path), tmp_path / "m.qualcode")
    qc.export_refi_qda(first, tmp_path / "a.qdpx")
    archive = zipfile.ZipFile(tmp_path / "a.qdpx")
    qde = archive.read("project.qde")
    assert qc.export.validate_qde(qde) == []
    root = etree.fromstring(qde)
    ns = {"q": NS}
    # Every note dated and its author a user (QualCoder's import stops at a note without a date).
    notes = root.findall("q:Notes/q:Note", ns)
    assert notes and all(n.get("creationDateTime") for n in notes)
    users = {u.get("guid") for u in root.findall("q:Users/q:User", ns)}
    assert all(n.get("creatingUser") in users for n in notes if n.get("creatingUser"))
    # Source memo: the TextSource's first child; case memo: the Case's; annotations: selections without a coding.
    source = root.find("q:Sources/q:TextSource", ns)
    assert etree.QName(source[0]).localname == "Description" and source[0].text == "source memo"
    assert root.find("q:Cases/q:Case/q:Description", ns).text == "case memo"
    uncoded = [s for s in source.findall("q:PlainTextSelection", ns) if s.find("q:Coding", ns) is None]
    assert sorted(s.find("q:Description", ns).text for s in uncoded) == [
        "MAXQDA memo on words, no code", "NVivo annotation", "annotation text"]
    # A journal's text is a file, as QualCoder reads journals; the project memo a note the project refers to.
    journal = next(n for n in notes if n.get("name") == "Journal")
    assert archive.read("sources/" + journal.get("plainTextPath").removeprefix("internal://")) == b"journal entry"
    assert [r.get("targetGUID") for r in root.findall("q:NoteRef", ns)] != []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = import_refi_qda(tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    assert _notes(again) == _notes(first) and len(qc.imported_notes(again)) == len(qc.imported_notes(first)) == 8
    qc.export_refi_qda(again, tmp_path / "b.qdpx")
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()


def test_notes_roundtrip_a_case_memo_without_a_participant_comes_back_by_its_case_name(tmp_path):
    """The other tool's case had no participant variable: its name becomes the participant attribute, and the
    export writes that case (name, memo, documents)."""
    path, _ = memos_qdpx(tmp_path)
    first = quiet(import_refi_qda, path, tmp_path / "m.qualcode")
    assert first.documents["participant"].tolist() == ["Ana"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qc.export_refi_qda(first, tmp_path / "a.qdpx")
    again = quiet(import_refi_qda, tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    assert _notes(again) == _notes(first)
    case = qc.imported_notes(again).set_index("kind").loc["case memo"]
    assert (case["name"], case["doc_id"], case["text"]) == ("Ana", "entrevista", "case memo")


def test_notes_roundtrip_a_note_without_its_place_is_a_journal_and_said(project, tmp_path):
    """A code memo of a code the codebook no longer has, an annotation beyond its text, a note with no date and a
    journal in non-ASCII: written (journals where they have no place), dated, valid, and said."""
    doc = project.documents.iloc[0]
    notes = pd.DataFrame([
        {"doc_id": None, "kind": "code memo", "name": "Código borrado", "author": "ana", "created_at": None,
         "start": None, "end": None, "quote": None, "text": "memo de un código que ya no está"},
        {"doc_id": doc.doc_id, "kind": "annotation", "name": "", "author": None, "created_at": "15/03/2024",
         "start": len(doc.text) + 5, "end": len(doc.text) + 9, "quote": None, "text": "fuera del texto"},
        {"doc_id": None, "kind": "journal", "name": "Diario ñandú", "author": "Íñigo",
         "created_at": "2024-03-15 10:00:00", "start": None, "end": None, "quote": None, "text": "¿qué aprendí? 🙂"},
    ]).astype({"start": "Int64", "end": "Int64"})
    with pytest.warns(QualcodeWarning, match="2 imported note.*code memo 'Código borrado'.*written as journals"):
        data, texts = qc.export.refi_qda.qde_bytes(project.codebook(), project.documents, qc.decisions(project),
                                                   name="t", notes=notes)
    assert qc.export.validate_qde(data) == []
    root = etree.fromstring(data)
    written = {n.get("name"): n for n in root.iter(f"{{{NS}}}Note")}
    assert set(written) == {"Código borrado", "annotation", "Diario ñandú"}  # an unnamed note: named by its kind
    assert all(n.get("creationDateTime") for n in written.values())
    assert written["Diario ñandú"].get("creationDateTime") == "2024-03-15T10:00:00"
    users = {u.get("name") for u in root.iter(f"{{{NS}}}User")}
    assert {"ana", "Íñigo"} <= users
    journal = written["Diario ñandú"].get("plainTextPath").removeprefix("internal://")
    assert texts[f"sources/{journal}"] == "¿qué aprendí? 🙂"


def _drop(path: Path, target: Path, pattern: str, by: str = "") -> Path:
    """A copy of a .qdpx with the parts of its project.qde matching ``pattern`` removed (as another tool drops them)."""
    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name == "project.qde":
                data = re.sub(pattern, by, data.decode("utf-8"), flags=re.S).encode("utf-8")
            out.writestr(name, data)
    return target


@pytest.mark.parametrize("lang", ["es", "en"])
def test_codebook_title_comes_back_from_the_project_description_when_a_tool_drops_the_set(project, tmp_path, lang):
    """QualCoder keeps the project's description (as its project memo) and drops qualcode's Set: the title is read
    from the description's first line, and that description is no project memo note."""
    codebook = project.codebook()
    qc.export_refi_qda(project, tmp_path / "a.qdpx", lang=lang)
    path = _drop(tmp_path / "a.qdpx", tmp_path / "no_set.qdpx", r"<Sets>.*</Sets>")
    assert b"<Sets>" not in zipfile.ZipFile(path).read("project.qde")
    back = quiet(import_refi_qda, path, tmp_path / "b.qualcode")
    assert back.codebook().id == codebook.id and back.codebook().title[lang] == codebook.title[lang]
    assert qc.imported_notes(back).empty
    # A real project memo in the description is still one.
    memo = _drop(path, tmp_path / "memo.qdpx", r"<Description>(Libro de códigos|Codebook): [^<]*</Description>",
                 "<Description>our memo</Description>")
    assert set(read_qdpx(memo).notes["kind"]) == {"project memo"}


def _annotation_note(k: int, start: int, end: int, text: str) -> str:
    return (f'<Note guid="60000000-0000-0000-0000-00000000000{k}" creatingUser="{USER}" '
            f'creationDateTime="2024-03-15T10:00:00Z"><PlainTextContent>{text}</PlainTextContent>'
            f'<PlainTextSelection guid="40000000-0000-0000-0000-00000000009{k}" startPosition="{start}" '
            f'endPosition="{end}"/></Note>')


def test_annotation_note_no_source_refers_to_is_an_annotation_of_the_document_it_fits(tmp_path):
    """QualCoder 4.0 writes a source's NoteRef for its first annotation only: the others are Notes with a selection
    that nothing refers to. With one document they are its annotations; with several, journals (reported)."""
    notes = f"<Notes>{_annotation_note(1, AT, AT + 6, 'first')}{_annotation_note(2, 0, 4, 'second')}</Notes>"
    body = text_source("", inner="").replace("</TextSource>",
                                             '<NoteRef targetGUID="60000000-0000-0000-0000-000000000001"/></TextSource>')
    path = qdpx(tmp_path / "one.qdpx", body + notes, {f"sources/{SOURCE}.txt": TEXT}, origin="QualCoder 4.0 Beta")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read = read_qdpx(path)
    got = {(k, t, s, e) for k, t, s, e in read.notes[["kind", "text", "start", "end"]].itertuples(index=False)}
    assert got == {("annotation", "first", AT, AT + 6), ("annotation", "second", 0, 4)}
    other = "31000000-0000-0000-0000-000000000001"
    two = body.replace("</Sources>", f'<TextSource guid="{other}" name="otra" plainTextPath="internal://{other}.txt"/>'
                                     "</Sources>")
    path = qdpx(tmp_path / "two.qdpx", two + notes, {f"sources/{SOURCE}.txt": TEXT, f"sources/{other}.txt": TEXT},
                origin="QualCoder 4.0 Beta")
    with pytest.warns(QualcodeWarning, match="an annotation no source refers to"):
        read = read_qdpx(path)
    assert dict(zip(read.notes["text"], read.notes["kind"], strict=True)) == {"first": "annotation", "second": "journal"}


@pytest.mark.parametrize("name", ["coder", "memo", "text", "code_id", "unit", "language"])
def test_reserved_name_variable_is_imported_renamed_and_reported_as_a_sheet_would_refuse_it(tmp_path, name):
    """A .qdpx variable named like a column of qualcode's own tables (schemas.NOT_ATTRIBUTES) does not collide: it
    comes in as NAME_2, said in the warning and the report (an attribute sheet refuses the same names)."""
    var = "90000000-0000-0000-0000-000000000001"
    body = (f'<Variables><Variable guid="{var}" name="{name}" typeOfVariable="Text"/></Variables>'
            + text_source("").replace("</TextSource>", f'<VariableValue><VariableRef targetGUID="{var}"/>'
                                                          '<TextValue>ana</TextValue></VariableValue></TextSource>'))
    path = qdpx(tmp_path / "v.qdpx", body, {f"sources/{SOURCE}.txt": TEXT})
    with pytest.warns(QualcodeWarning, match=f"named like a column of qualcode's own tables.*'{name}' → '{name}_2'"):
        project = import_refi_qda(path, tmp_path / "v.qualcode")
    assert project.documents.set_index("doc_id").at["entrevista", f"{name}_2"] == "ana"
    assert qc.import_report(project).set_index("outcome").loc["renamed", "count"] == 1
    if name != "language":  # a sheet may give each document's language
        from qualcode.io.tables import RESERVED
        assert name in RESERVED


def _all_features(tmp_path: Path) -> Path:
    path = tmp_path / "all.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", (REFI / "qdpx-toolkit_hand-authored_all-features_project.qde").read_bytes())
        archive.writestr("sources/11111111-1111-1111-1111-111111111111.txt",
                         "Diet and health are closely linked in this interview.")
    return path


@pytest.mark.parametrize("sample", ["nvivo-12.6_oltas0517.qdpx", "qualcoder-4.0b_native-project.qdpx",
                                    "qualcoder-4.0b_reexport-of-qualcode-demo.qdpx",
                                    "atlasti-win-23.2_blank-project.qdpx", "all-features", "memos"])
def test_real_tool_file_roundtrip_through_qualcode_keeps_documents_codings_and_notes(tmp_path, sample):
    """Other tools' files (NVivo, QualCoder, ATLAS.ti, the hand-authored all-features file, memos in every place):
    imported, exported, imported again — the same documents, codings (with coders and memos) and notes, and the
    exported file valid (an ATLAS.ti project without codes too)."""
    path = {"all-features": lambda: _all_features(tmp_path), "memos": lambda: memos_qdpx(tmp_path)[0]}.get(
        sample, lambda: REFI / sample)()
    first = quiet(import_refi_qda, path, tmp_path / "a.qualcode")
    qc.export_refi_qda(first, tmp_path / "a.qdpx")
    assert qc.export.validate_qde(zipfile.ZipFile(tmp_path / "a.qdpx").read("project.qde")) == []
    again = quiet(import_refi_qda, tmp_path / "a.qdpx", tmp_path / "b.qualcode")

    def codings(project: Project) -> list[tuple]:
        rows = qc.schemas.coded(qc.decisions(project))
        return sorted(map(tuple, rows[["doc_id", "start", "end", "code_id", "coder", "memo"]].astype(str).values))

    assert dict(zip(first.documents["doc_id"], first.documents["text"], strict=True)) == \
        dict(zip(again.documents["doc_id"], again.documents["text"], strict=True))
    assert codings(first) == codings(again)
    assert _notes(first) == _notes(again)


def test_notes_roundtrip_a_pseudonymized_export_writes_the_imported_notes_pseudonymized(tmp_path):
    """Another tool's notes go out pseudonymized like the study's own memos (the case named after a listed
    name too): written, none lost, no listed name left."""
    path, _ = memos_qdpx(tmp_path)
    first = quiet(import_refi_qda, path, tmp_path / "m.qualcode")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qc.export_refi_qda(first, tmp_path / "p.qdpx", pseudonymizer=qc.Pseudonymizer(["Ana"], detect=False))
    archive = zipfile.ZipFile(tmp_path / "p.qdpx")
    qde = archive.read("project.qde").decode("utf-8")
    everything = "\n".join(archive.read(m).decode("utf-8") for m in archive.namelist())
    assert all(t in everything for t in ("journal entry", "source memo", "case memo", "NVivo annotation",
                                         "project memo"))
    assert "coding memo (QualCoder)" in qde  # the study's own memos are pseudonymized and written
    assert "ana" not in everything.casefold().replace("annotation", "") and "<Case " in qde
    again = quiet(import_refi_qda, tmp_path / "p.qdpx", tmp_path / "p.qualcode")
    assert len(qc.imported_notes(again)) == len(qc.imported_notes(first)) == 8


def test_notes_roundtrip_an_annotation_overlapping_a_coding_stays_an_annotation_and_the_coding_memo_free(tmp_path):
    """An annotation on words a coding also covers (the same words and a part of them): neither becomes the other's
    memo, on the way in or out."""
    body = text_source(selection(AT, AT + len(WORDS), 1)
                       + selection(AT, AT + len(WORDS), 2, inner="<Description>sobre lo codificado</Description>",
                                   coded=False)
                       + selection(AT, AT + 6, 3, inner="<Description>una parte</Description>", coded=False))
    path = qdpx(tmp_path / "o.qdpx", body, {f"sources/{SOURCE}.txt": TEXT})
    first = quiet(import_refi_qda, path, tmp_path / "a.qualcode")
    qc.export_refi_qda(first, tmp_path / "a.qdpx")
    again = quiet(import_refi_qda, tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    for project in (first, again):
        quotes = qc.coded_quotes(project)
        assert quotes["quote_now"].tolist() == [WORDS] and quotes["memo"].isna().all()
        notes = qc.imported_notes(project)
        assert set(zip(notes["kind"], notes["quote"], notes["text"], strict=True)) == {
            ("annotation", WORDS, "sobre lo codificado"), ("annotation", WORDS[:6], "una parte")}
