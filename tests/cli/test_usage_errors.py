"""Usage errors are refused the same way by every command, before any work: exit code 2 and the valid choices."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def coded(project):
    qc.suggest(project, methods=("keyword",))
    project.accept(project.suggestions.head(40), coder="ana")
    path = project.path
    project.close()
    return path


@pytest.mark.parametrize("command", [
    ["round", "{p}", "{samples}/transcripts", "--out", "{tmp}/o", "--lang", "xx", "-q"],
    ["review", "export", "{p}", "{tmp}/r.xlsx", "--lang", "xx"],
    ["report", "{p}", "{tmp}/i.xlsx", "--lang", "xx"],
    ["codebook", "show", "nic_study", "--lang", "xx"],
    ["codebook", "convert", "nic_study", "{tmp}/c.qdc", "--lang", "xx"],
    ["load", "{samples}/transcripts", "--language", "xx"],
])
def test_bad_lang_is_the_same_usage_error_for_every_command(tmp_path, samples, command):
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    before = project.stat().st_size
    args = [a.format(p=project, samples=samples, tmp=tmp_path) for a in command]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "must be es or en, got 'xx'" in result.output
    # Refused before any work: no folder made, nothing added, nothing written.
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob("*.xlsx")) and not list(tmp_path.glob("*.qdc"))
    with qc.Project.open(project, read_only=True) as p:
        assert p.documents.empty
    assert project.stat().st_size == before


def test_saturation_unknown_order_is_refused_with_the_valid_choices(coded):
    result = run("saturation", coded, "--order", "unknown")
    assert result.exit_code == 2, result.output
    assert "--order 'unknown'" in result.output and "date" in result.output and "round" in result.output


def test_saturation_known_order_and_default_still_work(coded):
    default = run("saturation", coded)
    assert default.exit_code == 0, default.output
    assert run("saturation", coded, "--order", "date").output == default.output
    assert run("saturation", coded, "--order", "round").exit_code == 0


def test_saturation_reads_a_project_it_may_not_write(coded):
    # Saturation only reads: it opens the project read-only (no write even for the WAL's indexes).
    result = run("saturation", coded, "--by", "dimension")
    assert result.exit_code == 0, result.output
