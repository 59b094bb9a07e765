"""Missing folders, transcripts in formats qualcode does not read, LibreOffice files: said, counted, right exit code.

team-study 08: a mistyped folder talked about suffixes and exited 1; an old Word .doc in a round's folder was only
a 'skipped' warning, the round said '0 failed' and exited 0; a review workbook saved as .ods got an openpyxl
message.
"""

from __future__ import annotations

import shutil
import zipfile

from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()


def _odf(path, kind: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), f"application/vnd.oasis.opendocument.{kind}")
        archive.writestr("content.xml", "<office:document-content/>")


def test_a_mistyped_folder_says_no_such_folder_and_nothing_done(tmp_path, samples, monkeypatch):
    (tmp_path / "ronda1").mkdir()
    shutil.copy(samples / "transcripts" / "int_d02_final.txt", tmp_path / "ronda1")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "p.qualcode"]).exit_code == 0
    result = runner.invoke(app, ["add", "p.qualcode", "ronda_1/"])
    assert result.exit_code == 2, result.output
    assert "ronda_1/: no such file or folder" in result.output and "did you mean ronda1?" in result.output
    result = runner.invoke(app, ["load", "ronda_1"])
    assert result.exit_code == 2 and "no such file or folder" in result.output
    # One missing among readable ones: the rest is done, exit 1.
    result = runner.invoke(app, ["add", "p.qualcode", "ronda1/", "ronda_2/"])
    assert result.exit_code == 1 and "1 added" in result.output and "ronda_2/: no such file or folder" in result.output


def test_transcripts_in_formats_qualcode_does_not_read_are_failed_inputs_with_how_to_convert(tmp_path, samples):
    folder = tmp_path / "ronda2"
    folder.mkdir()
    shutil.copy(samples / "transcripts" / "int_d02_final.txt", folder)
    (folder / "ent_patricia.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (folder / "ent_rosa.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\n")
    _odf(folder / "ent_ines.odt", "text")
    (folder / "audio.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    corpus, report = qc.load_corpus(folder)
    assert len(corpus.documents) == 1 and report.n_errors == 3
    messages = " ".join(report.errors["message"])
    assert "Save As > .docx" in messages and "Save As > Word (.docx)" in messages and "as .docx or .txt" in messages
    skipped = report[report["status"] == "warning"]
    assert skipped["message"].str.contains("audio.m4a: skipped").any()  # audio is no transcript: listed only
    project = tmp_path / "p.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    result = runner.invoke(app, ["round", str(project), str(folder), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1, result.output
    assert "1 added" in result.output and "3 failed" in result.output


def test_a_libreoffice_file_is_refused_with_how_to_save_it_as_office(tmp_path, samples):
    _odf(tmp_path / "revision.xlsx", "spreadsheet")  # an .ods renamed
    _odf(tmp_path / "entrevista.docx", "text")
    _, report = qc.load_corpus(tmp_path / "entrevista.docx")
    assert "OpenDocument text document (.odt)" in report.errors["message"].iloc[0]
    assert "Save As > Word 2007-365 (.docx)" in report.errors["message"].iloc[0]
    shutil.copy(tmp_path / "revision.xlsx", tmp_path / "revision.ods")
    project = tmp_path / "p.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    for name in ("revision.xlsx", "revision.ods"):
        result = runner.invoke(app, ["review", "apply", str(project), str(tmp_path / name), "--coder", "ana"])
        assert result.exit_code == 2, result.output
        assert "OpenDocument spreadsheet" in result.output and "Excel 2007-365 (.xlsx)" in result.output


def test_a_mistyped_attributes_sheet_or_review_workbook_is_one_error_line_exit_2(tmp_path, samples, monkeypatch):
    # issue 17 trial: `add -a atributoss.csv` and `review apply nada.xlsx` ended in FileNotFoundError tracebacks.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "atributos.csv").write_text("doc_id,role\nint_d02_final,principal\n", encoding="utf-8")
    assert runner.invoke(app, ["init", "p.qualcode"]).exit_code == 0
    transcript = str(samples / "transcripts" / "int_d02_final.txt")
    for command in (["add", "p.qualcode", transcript, "-a", "atributoss.csv"],
                    ["load", transcript, "-a", "atributoss.csv"],
                    ["round", "p.qualcode", transcript, "-a", "atributoss.csv", "--out", "o"],
                    ["review", "apply", "p.qualcode", "nada.xlsx", "--coder", "ana"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output and "FileNotFoundError" not in result.output
        assert "no such" in result.output
    assert "did you mean atributos.csv?" in runner.invoke(app, ["load", transcript, "-a", "atributoss.csv"]).output
