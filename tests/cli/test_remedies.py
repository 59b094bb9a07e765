"""Every remedy a load report row or error gives works when followed literally, in the caller's words (issue 16,
kind 7): the command line prints options (--survey-id, --doc-id, --speakers), Python keeps its parameters."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.cli.corpus import in_cli_words
from qualcode.errors import NoSpeakerLabelsWarning

runner = CliRunner()
FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
# A Python parameter in a message printed on the command line: advice the CLI user cannot follow.
PYTHON_WORDS = re.compile(r"\b\w+=\[|SurveyColumns|\bdoc_id=|\battributes=|\bsurvey=")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def excel_unicode_text(path: Path) -> Path:
    """Excel's "Unicode Text" export of an exit-ticket survey: UTF-16 with BOM, tab-separated, CRLF, named .txt."""
    rows = [["ticket_id", "participante", "comuna", "q1_aprendizaje", "q2_dificultad"],
            ["T01", "P01", "Norte", "Aprendí a planificar con otras escuelas del territorio", "Los horarios de reunión no calzan"],
            ["T02", "P02", "Sur", "Que compartir material ahorra tiempo a todos los equipos", "Falta de tiempo para preparar"],
            ["T03", "P03", "Norte", "La red nos ayudó a mirar los datos de asistencia juntos", "La conexión a internet en la sala"],
            ["T04", "P04", "Centro", "Conocer experiencias de otros directivos de la comuna", "Nada en especial, todo funcionó"]]
    path.write_bytes("\r\n".join("\t".join(r) for r in rows).encode("utf-16"))
    return path


def survey_csv(path: Path) -> Path:
    path.write_text("ticket_id,q1\nT01,Aprendí mucho\nT02,Nada nuevo\n", encoding="utf-8")
    return path


def same_names(tmp_path: Path, second: str = "entrevista.txt") -> list[Path]:
    (tmp_path / "ronda1").mkdir()
    (tmp_path / "ronda2").mkdir(exist_ok=True)
    first = tmp_path / "ronda1" / "entrevista.txt"
    other = tmp_path / "ronda2" / second
    first.write_text("E: ¿Cómo partió la red?\nP: Con dos escuelas.\n", encoding="utf-8")
    other.write_text("E: ¿Y hoy?\nP: Somos siete escuelas.\n", encoding="utf-8")
    return [first, other]


def options_after(output: str, before: str, after: str) -> list[str]:
    found = re.search(re.escape(before) + r"(.*?)" + re.escape(after), output, re.S)
    assert found, output
    return shlex.split(found.group(1))


# -- a tab-separated .txt read as a transcript: the survey remedy -----------------------------------------------

def test_remedy_survey_txt_cli_followed_literally_reads_the_survey(tmp_path):
    path = excel_unicode_text(tmp_path / "encuesta.txt")
    first = run("load", path)
    assert "looks like a table" in first.output and not PYTHON_WORDS.search(first.output), first.output
    advice = options_after(first.output, "load it with ", " naming")
    assert advice == ["--survey-id", "ticket_id", "--survey-text", "q1_aprendizaje", "--survey-text", "q2_dificultad"]
    followed = run("load", path, *advice)
    assert followed.exit_code == 0, followed.output
    assert "4 responses, 8 answers" in followed.output and "looks like a table" not in followed.output


def test_remedy_survey_txt_python_followed_literally_reads_the_survey(tmp_path):
    path = excel_unicode_text(tmp_path / "encuesta.txt")
    with pytest.warns(NoSpeakerLabelsWarning, match="looks like a table"):
        _, report = qc.load_corpus(path)
    found = re.search(r"load it with survey=(SurveyColumns\(.*?\)) naming", report["message"].iloc[0])
    assert found, report["message"].iloc[0]
    survey = eval(found.group(1), {"SurveyColumns": qc.SurveyColumns})  # the printed advice, verbatim
    corpus, report = qc.load_corpus(path, survey=survey)
    assert list(report["status"]) == ["ok"]
    assert len(corpus.documents) == 4 and len(corpus.segments) == 8
    assert set(corpus.segments["field"]) == {"q1_aprendizaje", "q2_dificultad"}


@pytest.mark.parametrize("command", ["add", "round"])
def test_remedy_survey_options_on_add_and_round(tmp_path, command):
    path = excel_unicode_text(tmp_path / "encuesta.txt")
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    extra = ["--out", tmp_path / "out", "--no-report", "--methods", "keyword"] if command == "round" else []
    result = run(command, project, path, "-q", "--survey-id", "ticket_id", "--survey-text", "q1_aprendizaje",
                 "--survey-text", "q2_dificultad", "--survey-speaker", "participante", *extra)
    assert result.exit_code == 0, result.output
    with qc.Project.open(project) as p:
        assert sorted(p.documents["doc_id"]) == [f"encuesta#T0{i}" for i in range(1, 5)]
        assert set(p.segments["speaker"]) == {"P01", "P02", "P03", "P04"}


# -- a spreadsheet without survey columns -------------------------------------------------------------------------

def test_remedy_spreadsheet_cli_names_the_options_and_they_work(tmp_path):
    path = survey_csv(tmp_path / "tickets.csv")
    first = run("load", path)
    assert first.exit_code == 2 and not PYTHON_WORDS.search(first.output), first.output
    # The remedy names the file's own columns (issue 16 leftover), followed literally it works.
    assert "its columns are ticket_id, q1" in first.output
    advice = options_after(first.output, "Load it with ", " naming")
    assert advice == ["--survey-id", "ticket_id", "--survey-text", "q1"]
    followed = run("load", path, *advice)
    assert followed.exit_code == 0 and "2 responses, 2 answers" in followed.output, followed.output


def test_remedy_survey_options_refused_in_cli_words(tmp_path):
    path = survey_csv(tmp_path / "tickets.csv")
    alone = run("load", path, "--survey-text", "q1")
    assert alone.exit_code == 2 and "--survey-text and --survey-speaker need --survey-id" in alone.output
    no_text = run("load", path, "--survey-id", "ticket_id")
    assert no_text.exit_code == 2 and "--survey-id needs at least one --survey-text" in no_text.output
    assert f"{path} has the columns ticket_id, q1" in no_text.output and "--survey-text q1" in no_text.output
    bad = run("load", path, "--doc-id", "full")
    assert bad.exit_code == 2 and "--doc-id must be stem, name or path" in bad.output


# -- two files that would get the same document id ----------------------------------------------------------------

def test_remedy_duplicate_doc_id_same_name_in_two_folders_cli(tmp_path):
    files = same_names(tmp_path)
    first = run("load", *files)
    assert first.exit_code == 1 and not PYTHON_WORDS.search(first.output), first.output
    # Only the path tells same-named files apart: --doc-id name would clash again, so it is not offered.
    advice = options_after(first.output, "or load with ", " to keep both")
    assert advice == ["--doc-id", "path"]
    followed = run("load", *files, *advice)
    assert followed.exit_code == 0, followed.output
    assert "2 documents" in followed.output


def test_remedy_duplicate_doc_id_python_followed_literally(tmp_path):
    files = same_names(tmp_path)
    _, report = qc.load_corpus(files)
    rule = re.search(r"load with doc_id='(\w+)' to keep both", report.errors["message"].iloc[0])
    assert rule, report.errors["message"].iloc[0]
    corpus, report = qc.load_corpus(files, doc_id=rule.group(1))
    assert report.n_errors == 0
    # Relative to the folder holding the given files, never the machine's folders (issue 16 leftover).
    assert sorted(corpus.documents["doc_id"]) == ["ronda1/entrevista.txt", "ronda2/entrevista.txt"]


@pytest.mark.parametrize("rule", ["name", "path"])
def test_remedy_duplicate_doc_id_same_stem_other_suffix_offers_both_rules(tmp_path, rule):
    files = same_names(tmp_path, second="entrevista.md")
    first = run("load", *files)
    assert "or load with --doc-id name or --doc-id path to keep both" in first.output, first.output
    followed = run("load", *files, "--doc-id", rule)
    assert followed.exit_code == 0 and "2 documents" in followed.output, followed.output


@pytest.mark.parametrize("command", ["add", "round"])
def test_remedy_duplicate_doc_id_on_add_and_round(tmp_path, command):
    files = same_names(tmp_path)
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    extra = ["--out", tmp_path / "out", "--no-report", "--methods", "keyword"] if command == "round" else []
    refused = run(command, project, *files, "-q", *extra)
    assert refused.exit_code == 1 and "--doc-id path" in refused.output and \
        not PYTHON_WORDS.search(refused.output), refused.output
    followed = run(command, project, *files, "-q", "--doc-id", "path", *extra)
    assert followed.exit_code == 0, followed.output
    with qc.Project.open(project) as p:
        # The refused run added the first file under its stem; the followed run adds both under their paths.
        assert {"ronda1/entrevista.txt", "ronda2/entrevista.txt"} <= set(p.documents["doc_id"])


# -- no row or error printed on the command line names a Python parameter ------------------------------------------

def test_remedy_cli_rows_of_every_format_fixture_are_in_cli_words():
    result = run("load", FORMATS)
    assert result.output.count("speakers and interviewer per file") == 1, result.output
    assert not PYTHON_WORDS.search(result.output), PYTHON_WORDS.findall(result.output)


@pytest.mark.parametrize(("python", "cli"), [
    ("name it with interviewer=['<label>'] (command line: --interviewer '<label>')", "name it with --interviewer "
                                                                                     "'<label>'"),
    ("name the speakers: speakers=[...] / --speakers '...'; then", "name the speakers: --speakers '...'; then"),
    ("(if one is a speaker, pass speakers=[...] / --speakers naming it)", "(if one is a speaker, pass --speakers "
                                                                          "naming it)"),
    ("pass survey=SurveyColumns(id=..., text=[...]) naming (or attributes=... if", "pass --survey-id COLUMN "
                                                                                   "--survey-text COLUMN naming (or "
                                                                                   "--attributes FILE if"),
    ("with survey=SurveyColumns(id=\"it's\", text=['a b'])", "with --survey-id 'it'\"'\"'s' --survey-text 'a b'"),
])
def test_remedy_python_words_become_cli_options(python, cli):
    assert in_cli_words(python) == cli


# -- following a remedy inside a project -------------------------------------------------------------------------

def test_remedy_followed_in_a_project_says_the_earlier_reading_stays(tmp_path):
    # The first add reads the survey as prose (with a warning); following its remedy reads it again under new ids.
    # The earlier reading cannot be removed yet, so the row must say it is still there and would count twice.
    path = excel_unicode_text(tmp_path / "encuesta.txt")
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    first = run("add", project, path, "-q")
    assert first.exit_code == 0, first.output
    followed = run("add", project, path, "-q", "--survey-id", "ticket_id", "--survey-text", "q1_aprendizaje",
                   "--survey-text", "q2_dificultad")
    assert followed.exit_code == 0, followed.output
    assert "this file is also in the project as 'encuesta'" in followed.output, followed.output
    assert "count twice" in followed.output and "qualcode init" in followed.output
    # Adding the same reading again is not another reading: nothing to say.
    again = run("add", project, path, "-q", "--survey-id", "ticket_id", "--survey-text", "q1_aprendizaje",
                "--survey-text", "q2_dificultad")
    assert "also in the project as 'encuesta#" not in again.output, again.output


def test_remedy_doc_id_path_in_a_project_names_the_stem_reading_left(tmp_path):
    files = same_names(tmp_path)
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    run("add", project, *files, "-q")  # refused for the second file; the first is added under its stem
    followed = run("add", project, *files, "-q", "--doc-id", "path")
    assert followed.exit_code == 0, followed.output
    stem = files[0].stem
    assert f"this file is also in the project as '{stem}'" in followed.output, followed.output
