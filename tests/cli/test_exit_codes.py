"""One test per row of the README's exit-code table (issue 17 item 4: one CLI error boundary)."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.cli.app import DONE, INTERRUPTED, NOTHING_DONE, PARTLY_DONE

runner = CliRunner()


def test_exit_0_done(tmp_path, samples):
    assert runner.invoke(app, ["codebook", "validate", "nic_study"]).exit_code == DONE == 0
    result = runner.invoke(app, ["load", str(samples / "transcripts" / "int_d02_final.txt")])
    assert result.exit_code == 0, result.output


def test_exit_1_done_in_part_some_inputs_failed_each_listed(tmp_path, samples):
    shutil.copy(samples / "transcripts" / "int_d02_final.txt", tmp_path)
    (tmp_path / "vacía.txt").write_text("   \n", encoding="utf-8")
    result = runner.invoke(app, ["load", str(tmp_path)])
    assert result.exit_code == PARTLY_DONE == 1, result.output
    assert "1 file(s) failed" in result.output and "vacía.txt" in result.output
    bad = tmp_path / "libro.yaml"
    bad.write_text("qualcode_codebook: 1\nid: x\ncodes:\n  - id: a\n  - id: a\n    label: {es: A}\n", encoding="utf-8")
    assert runner.invoke(app, ["codebook", "validate", str(bad)]).exit_code == 1  # validate: problems found


@pytest.mark.parametrize("args", [
    ["report", "{tmp}/nada.qualcode", "{tmp}/x.xlsx"],               # a missing project
    ["suggest", "{tmp}/nada.qualcode"],
    ["codebook", "show", "{tmp}/no_existe.yaml"],                     # a missing file
    ["codebook", "show", "nic_study", "--lang", "fr"],               # a usage error
    ["load", "{tmp}/carpeta_que_no_existe"],                         # nothing readable
    ["codebook", "convert", "nic_study", "{tmp}/existe.yaml"],       # an output that exists
], ids=["missing-project-report", "missing-project-suggest", "missing-file", "usage", "nothing-readable",
        "output-exists"])
def test_exit_2_nothing_done_one_error_line_no_traceback(tmp_path, args):
    (tmp_path / "existe.yaml").write_text("x", encoding="utf-8")
    result = runner.invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == NOTHING_DONE == 2, result.output
    assert "Traceback" not in result.output and "Project.create" not in result.output
    assert (tmp_path / "existe.yaml").read_text(encoding="utf-8") == "x"


def test_exit_130_interrupted_says_how_to_finish(monkeypatch):
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("qualcode.cli.codebook.load_codebook", interrupted)
    result = runner.invoke(app, ["codebook", "show", "nic_study"])
    assert result.exit_code == INTERRUPTED == 130
    assert "run the same command again" in result.output and "Traceback" not in result.output
