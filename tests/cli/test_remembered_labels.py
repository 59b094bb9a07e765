"""A document keeps the --interviewer/--speakers it was first added with (issue 16, kind 4): adding the file again
without them reads it with the same labels, and says so; giving others replaces them, and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.batch import add_files
from qualcode.cli import app

runner = CliRunner()
# Hablante 2 asks every question, so without --interviewer Hablante 2 is guessed: naming Hablante 1 is a choice
# the guess would revert.
TURNS = ["Hablante 1: Buenas tardes, gracias por recibirnos.",
         "Hablante 2: ¿Cuánto tiempo lleva en la escuela?",
         "Hablante 1: Doce años, desde que abrió.",
         "Hablante 2: ¿Y la red le sirvió?",
         "Hablante 1: Sí, sobre todo el primer año.",
         "Hablante 2: ¿Por qué?",
         "Hablante 1: Por el apoyo de otras directoras."]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def write(path: Path, extra: str = "") -> Path:
    path.write_text("\n".join(TURNS) + "\n" + extra, encoding="utf-8")
    return path


def roles(project: Path) -> dict[str, str]:
    with qc.Project.open(project) as p:
        found = p.segments.groupby("speaker")["speaker_role"].unique()
    return {speaker: "/".join(values) for speaker, values in found.items()}


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "p.qualcode"
    assert run("init", path).exit_code == 0
    return path


@pytest.mark.parametrize("command", ["add", "round"])
def test_remembered_interviewer_kept_when_a_changed_file_is_added_again_without_it(tmp_path, project, command):
    extra = ["--out", tmp_path / "out", "--no-report", "--methods", "keyword"] if command == "round" else []
    path = write(tmp_path / "directora.txt")
    first = run(command, project, path, "-q", "--interviewer", "Hablante 1", *extra)
    assert first.exit_code == 0, first.output
    assert roles(project) == {"Hablante 1": "interviewer", "Hablante 2": "participant"}
    write(path, "Hablante 1: Y algo más: la red sigue.\n")  # the transcriber corrected the file
    again = run(command, project, path, "-q", *extra)
    assert again.exit_code == 0, again.output
    assert roles(project) == {"Hablante 1": "interviewer", "Hablante 2": "participant"}
    assert "using the labels given when it was last added with labels: interviewer 'Hablante 1'" in again.output
    assert "interviewer=[" not in again.output  # command-line words on the command line
    other = run(command, project, path, "-q", "--interviewer", "Hablante 2", *extra)
    assert other.exit_code == 0, other.output
    assert roles(project) == {"Hablante 1": "participant", "Hablante 2": "interviewer"}
    assert ("the labels given now (interviewer 'Hablante 2') replace those given when it was last added with labels "
            "(interviewer 'Hablante 1')") in other.output
    write(path, "Hablante 1: Y algo más: la red sigue.\nHablante 2: ¿Algo más?\n")
    later = run(command, project, path, "-q", *extra)
    assert roles(project) == {"Hablante 1": "participant", "Hablante 2": "interviewer"}
    assert "given when it was last added with labels: interviewer 'Hablante 2'" in later.output


def test_remembered_labels_leave_an_unchanged_file_unchanged(tmp_path, project):
    path = write(tmp_path / "directora.txt")
    assert "1 added" in run("add", project, path, "-q", "--interviewer", "Hablante 1").output
    again = run("add", project, path, "-q")
    # Read with guessed labels it would have other roles, be "updated" and its decisions re-anchored.
    assert "0 updated, 1 unchanged" in again.output, again.output
    assert roles(project) == {"Hablante 1": "interviewer", "Hablante 2": "participant"}


def test_remembered_speakers_read_names_alone_on_a_line_again(tmp_path, project):
    path = tmp_path / "solo.txt"
    path.write_text("Ana Pérez\n¿Cómo partió la red?\n\nBea Ruiz\nCon dos escuelas.\n", encoding="utf-8")
    told = run("add", project, path, "-q", "--speakers", "Ana Pérez", "--speakers", "Bea Ruiz")
    assert told.exit_code == 0, told.output
    path.write_text("Ana Pérez\n¿Cómo partió la red?\n\nBea Ruiz\nCon dos escuelas, en 2019.\n", encoding="utf-8")
    again = run("add", project, path, "-q")
    assert "speakers 'Ana Pérez', 'Bea Ruiz'" in again.output, again.output
    assert set(roles(project)) == {"Ana Pérez", "Bea Ruiz"}


def test_remembered_labels_python_add_files_and_load_corpus(tmp_path, caplog):
    path = write(tmp_path / "directora.txt")
    with qc.Project.create(tmp_path / "py.qualcode") as p, caplog.at_level(logging.DEBUG):
        add_files(p, path, interviewer=["Hablante 1"])
        assert p.load_options() == {"directora": {"speakers": [], "interviewer": ["Hablante 1"]}}
        write(path, "Hablante 2: ¿Algo más?\n")
        _, documents, report = add_files(p, path)
        assert list(documents["action"]) == ["updated"]
        assert "using the labels given when it was last added with labels: interviewer 'Hablante 1'" in report["message"][0]
        assert "interviewer=[...] / --interviewer" in report["message"][0]  # Python words, and the CLI's
        roles_now = p.segments.groupby("speaker")["speaker_role"].first().to_dict()
        assert roles_now == {"Hablante 1": "interviewer", "Hablante 2": "participant"}
        # load_corpus itself takes what a project remembers.
        corpus, report = qc.load_corpus(path, remembered=p.load_options())
        assert set(corpus.segments.loc[corpus.segments["speaker_role"] == "interviewer", "speaker"]) == {"Hablante 1"}
    # The labels are the user's own, in their row: nothing of them goes to the log.
    assert not [r for r in caplog.records if "Hablante" in r.getMessage()]
