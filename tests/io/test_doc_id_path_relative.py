"""Issue 16 leftover: ``doc_id="path"`` (``--doc-id path``) never puts the machine's folders into document ids.

An absolute input used to give an absolute id (``/home/ana/estudio/ronda1/entrevista_01.txt``): machine-specific,
and it leaked home directories into every export. The id now starts where the same input typed relatively would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

TEXT = "Hablante 1: ¿Cómo fue?\nHablante 2: Bien.\nHablante 1: ¿Y ahora?\nHablante 2: Mejor.\n"


@pytest.fixture
def study(tmp_path) -> Path:
    for rel in ("estudio/ronda1/entrevista_01.txt", "estudio/ronda2/entrevista_01.txt",
                "estudio/ronda1/sub/entrevista_02.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(TEXT, encoding="utf-8")
    return tmp_path / "estudio"


def ids(paths, **kwargs) -> list[str]:
    corpus, report = qc.load_corpus(paths, doc_id="path", **kwargs)
    assert report.n_errors == 0, report["message"].tolist()
    return sorted(corpus.documents["doc_id"])


@pytest.mark.parametrize("given, expected", [
    (["ronda1", "ronda2"], ["ronda1/entrevista_01.txt", "ronda1/sub/entrevista_02.txt", "ronda2/entrevista_01.txt"]),
    (["ronda1"], ["ronda1/entrevista_01.txt", "ronda1/sub/entrevista_02.txt"]),
    (["ronda1/entrevista_01.txt", "ronda2/entrevista_01.txt"], ["ronda1/entrevista_01.txt", "ronda2/entrevista_01.txt"]),
    (["ronda*/entrevista_01.txt"], ["ronda1/entrevista_01.txt", "ronda2/entrevista_01.txt"]),
])
def test_doc_id_path_with_absolute_paths_is_relative_like_the_typed_path(study, monkeypatch, given, expected):
    monkeypatch.chdir(study)
    assert ids(given) == expected  # typed relatively: as today
    absolute = ids([str(study / g) for g in given])
    assert absolute == expected
    assert not any(str(study.parent) in i or i.startswith("/") for i in absolute)


def test_doc_id_path_glob_from_its_fixed_folder(study):
    assert ids(str(study / "**" / "*.txt")) == [
        "ronda1/entrevista_01.txt", "ronda1/sub/entrevista_02.txt", "ronda2/entrevista_01.txt"]


def test_doc_id_path_does_not_depend_on_the_current_folder(study, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    first = ids([study / "ronda1", study / "ronda2"])
    monkeypatch.chdir(study / "ronda1" / "sub")
    assert ids([study / "ronda1", study / "ronda2"]) == first


def test_doc_id_path_for_a_survey_table_given_absolutely(tmp_path):
    table = tmp_path / "datos" / "encuesta.csv"
    table.parent.mkdir()
    table.write_text("ticket,q1\nt1,Aprendí mucho\nt2,Nada nuevo\n", encoding="utf-8")
    got = ids([table], survey=qc.SurveyColumns(id="ticket", text=["q1"]))
    assert got == ["encuesta.csv#t1", "encuesta.csv#t2"]


def test_doc_id_path_from_the_cli_with_absolute_folders(study, tmp_path):
    result = CliRunner().invoke(app, ["load", str(study / "ronda1"), str(study / "ronda2"), "--doc-id", "path"])
    assert result.exit_code == 0, result.output
    table = result.output.split("\n\n")[0].splitlines()[1:]  # the summary, one row per document
    assert sorted(row.split()[0] for row in table) == [
        "ronda1/entrevista_01.txt", "ronda1/sub/entrevista_02.txt", "ronda2/entrevista_01.txt"]
