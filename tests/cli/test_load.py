from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from qualcode.cli import app

runner = CliRunner()


def test_cli_load_prints_a_summary_and_exits_zero(samples):
    result = runner.invoke(app, ["load", str(samples / "transcripts"), "--attributes", str(samples / "attributes.csv")])
    assert result.exit_code == 0, result.output
    assert "fg_cerroazul_diagnostico" in result.output and "Corpus(15 documents" in result.output


def test_cli_load_exits_one_when_a_file_fails_and_names_it(tmp_path):
    (tmp_path / "ok.txt").write_text("E: ¿Ya?\nD1: Sí.\n", encoding="utf-8")
    (tmp_path / "vacio.txt").write_bytes(b"")
    result = runner.invoke(app, ["load", str(tmp_path)])
    assert result.exit_code == 1
    assert "vacio.txt" in result.output and "1 file(s) failed" in result.output


def test_cli_load_exits_two_on_unusable_arguments(tmp_path):
    result = runner.invoke(app, ["load", str(tmp_path / "*.nada")])
    assert result.exit_code == 2


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "qualcode", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "load" in out.stdout
