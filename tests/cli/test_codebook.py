from __future__ import annotations

from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()


def test_cli_codebook_validate_reports_valid_shipped_codebook():
    result = runner.invoke(app, ["codebook", "validate", "nic_study"])
    assert result.exit_code == 0, result.output
    assert "60 codes in 3 dimension(s)" in result.output


def test_cli_codebook_validate_lists_problems_and_exits_one(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("qualcode_codebook: 1\nid: x\ncodes:\n  - id: a\n  - id: a\n    label: {es: A}\n", encoding="utf-8")
    result = runner.invoke(app, ["codebook", "validate", str(path)])
    assert result.exit_code == 1
    assert "duplicate code id" in result.output and "missing required field 'label'" in result.output


def test_cli_codebook_convert_writes_a_qdc_that_loads_back(tmp_path):
    result = runner.invoke(app, ["codebook", "convert", "leadership", str(tmp_path / "l.qdc"), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert qc.load_codebook(tmp_path / "l.qdc") == qc.load_codebook("leadership")


def test_cli_codebook_show_prints_the_tree_in_english():
    result = runner.invoke(app, ["codebook", "show", "collaboration", "--lang", "en"])
    assert "  collaboration.building_blocks  Building blocks" in result.output
