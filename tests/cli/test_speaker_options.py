"""--speakers and --interviewer on every command that loads files (issue 16), and the rows they print."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()
REAL = Path(__file__).resolve().parents[1] / "data" / "real"
HABLANTE = REAL / "hablante_ent_losaromos_marzo.txt"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_load_interviewer_option_names_the_interviewer_and_says_so():
    guessed = run("load", HABLANTE)
    assert guessed.exit_code == 0, guessed.output
    assert "Hablante 1 taken as interviewer by guess" in guessed.output and "--interviewer" in guessed.output
    told = run("load", HABLANTE, "--interviewer", "Hablante 2")
    assert told.exit_code == 0, told.output
    assert "interviewer Hablante 2 (named by you)" in told.output


def test_cli_load_speakers_option_reads_names_alone_on_a_line(tmp_path):
    path = tmp_path / "solo.txt"
    path.write_text("Ana Pérez\nHola, ¿cómo estás?\n\nBea Ruiz\nBien, gracias.\n", encoding="utf-8")
    bare = run("load", path)
    assert "no speaker labels found" in bare.output and "--speakers" in bare.output
    assert "NoSpeakerLabelsWarning" not in bare.output
    told = run("load", path, "--speakers", "Ana Pérez", "--speakers", "Bea Ruiz")
    assert "2 turns, 2 speakers" in told.output


@pytest.mark.parametrize("command", ["add", "round"])
def test_cli_add_and_round_take_the_interviewer_option(tmp_path, command):
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    extra = ["--out", tmp_path, "--no-report", "--methods", "keyword"] if command == "round" else []
    result = run(command, project, HABLANTE, "-q", "--interviewer", "Hablante 2", *extra)
    assert result.exit_code == 0, result.output
    with qc.Project.open(project) as p:
        roles = p.segments.groupby("speaker")["speaker_role"].unique()
    assert list(roles["Hablante 2"]) == ["interviewer"] and list(roles["Hablante 1"]) == ["participant"]




def test_adding_an_unchanged_file_again_with_another_interviewer_updates_its_roles(tmp_path):
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    assert "1 added" in run("add", project, HABLANTE, "-q").output
    again = run("add", project, HABLANTE, "-q")
    assert "1 unchanged" in again.output, again.output
    fixed = run("add", project, HABLANTE, "-q", "--interviewer", "Hablante 2")
    assert "1 updated" in fixed.output and "0 orphaned" in fixed.output, fixed.output
    with qc.Project.open(project) as p:
        roles = p.segments.groupby("speaker")["speaker_role"].unique()
    assert list(roles["Hablante 2"]) == ["interviewer"]


@pytest.mark.parametrize("command", ["load", "add", "round"])
def test_named_interviewer_not_a_speaker_is_printed_by_every_command(tmp_path, command):
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    head = [command] if command == "load" else [command, project]
    extra = ["--out", tmp_path, "--no-report", "--methods", "keyword"] if command == "round" else []
    quiet = [] if command == "load" else ["-q"]
    result = run(*head, HABLANTE, *quiet, "--interviewer", "Hablante 3", *extra)
    assert result.exit_code == 0, result.output
    assert "'Hablante 3' was given as interviewer but is not a speaker of this file" in result.output
    assert "(speakers found: Hablante 1, Hablante 2)" in result.output
    assert "--interviewer 'Hablante 1'" in result.output and "interviewer=[" not in result.output


@pytest.mark.parametrize("command", ["load", "add"])
def test_named_interviewer_who_asks_nothing_is_printed(tmp_path, command):
    path = tmp_path / "ent.txt"
    path.write_text("Hablante 1: ¿Cómo fue?\nHablante 2: Bien.\nHablante 1: ¿Y ahora?\nHablante 2: Mejor.\n",
                    encoding="utf-8")
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    head = [command] if command == "load" else [command, project, "-q"]
    result = run(*head, path, "--interviewer", "Hablante 2")
    assert result.exit_code == 0, result.output
    assert "[warning]" in result.output and "Hablante 2 asks no question in this file" in result.output
