"""The project commands end to end on the sample: init, add, suggest, review export/apply, report, saturation."""

from __future__ import annotations

import openpyxl
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_cli_flow_from_init_to_report(tmp_path, samples):
    project = tmp_path / "study.qualcode"
    assert run("init", project, "--codebook", "leadership").exit_code == 0
    result = run("add", project, samples / "transcripts", "--attributes", samples / "attributes.csv")
    assert result.exit_code == 0 and "15 added" in result.output
    assert "15 unchanged" in run("add", project, samples / "transcripts").output
    result = run("suggest", project, "--methods", "keyword", "--min-score", "0.4")
    assert result.exit_code == 0 and "suggestions for" in result.output
    sheet = tmp_path / "rev.xlsx"
    assert run("review", "export", project, sheet, "--coder", "ana").exit_code == 0
    book = openpyxl.load_workbook(sheet)
    ws = book.worksheets[0]
    column = [c.value for c in ws[1]].index("decisión") + 1
    ws.cell(2, column).value, ws.cell(3, column).value = "sí", "no"
    book.save(sheet)
    result = run("review", "apply", project, sheet)
    assert result.exit_code == 0 and "2 applied" in result.output
    assert "2 unchanged" in run("review", "apply", project, sheet).output
    report = tmp_path / "informe.xlsx"
    result = run("report", project, report, "--qdpx", tmp_path / "e.qdpx", "--csv", tmp_path / "csv")
    assert result.exit_code == 0 and report.exists() and (tmp_path / "e.qdpx").exists()
    assert "saturated" in run("saturation", project).output or "not" in run("saturation", project).output
    assert len(qc.decisions(qc.Project.open(project))) == 2


def test_cli_reports_a_missing_project_with_exit_code_two(tmp_path):
    result = run("suggest", tmp_path / "nope.qualcode")
    assert result.exit_code == 2 and "no such project file" in result.output


@pytest.mark.slow
def test_demo_runs_both_rounds_and_a_second_run_changes_nothing(tmp_path):
    first = run("demo", "--out", tmp_path / "demo")
    assert first.exit_code == 0, first.output
    assert "round 1:" in first.output and "round 2:" in first.output and "saturation" in first.output
    for name in ("informe.xlsx", "estudio.qdpx", "graficos/saturacion.png", "tablas/frecuencias.csv"):
        assert (tmp_path / "demo" / name).exists(), name
    decisions = len(qc.decisions(qc.Project.open(tmp_path / "demo" / "estudio.qualcode"), history=True))
    second = run("demo", "--out", tmp_path / "demo")
    assert second.exit_code == 0 and second.output.count("nothing new") == 2
    assert len(qc.decisions(qc.Project.open(tmp_path / "demo" / "estudio.qualcode"), history=True)) == decisions
