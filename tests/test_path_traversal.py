"""File names built from data stay inside the folder the user named (case hostile 19).

The review workbook is named after the round's ``round`` attribute, a cell of the attributes sheet; CSV
tables after titles that hold attribute names; the pseudonymized copy after the project's name. All go
through ``qualcode.io.paths.path_in``; each place is tested here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from qualcode.cli import app
from qualcode.errors import ParameterError
from qualcode.export.excel import table_files
from qualcode.io.paths import MAX_NAME_BYTES, path_in, safe_file_name

runner = CliRunner()

# Other shapes of the attack than the case's "/../../escaped".
TRAVERSALS = [
    "/../../escaped",
    "..",
    "../../../../../../tmp/owned",
    "a/../../b",
    "..\\..\\windows",
    "C:\\Users\\x",
    "/etc/passwd",
    "~/.bashrc",
    ".hidden",
    "ronda\r\n2",
    "\x1b]0;t\x07",
    "CON",
    "nul",
    "x" * 600,
    "ñ" * 300,
    "",
    " ",
    "./.",
]


@pytest.mark.parametrize("value", TRAVERSALS)
def test_file_names_from_data_stay_inside_the_folder(tmp_path, value):
    path = path_in(tmp_path / "out", value, prefix="revision_", suffix=".xlsx", fallback="ronda")
    assert path.parent == tmp_path / "out"
    assert path.resolve().parent == (tmp_path / "out").resolve()
    stem = path.name[len("revision_"):-len(".xlsx")]
    assert stem and all(ch.isalnum() or ch in "-_" for ch in stem), stem
    assert len(path.name.encode("utf-8")) <= MAX_NAME_BYTES + len("revision_.xlsx")
    assert stem.lower() not in ("con", "nul")


def test_safe_file_name_keeps_readable_names():
    assert safe_file_name("ronda2", fallback="ronda") == "ronda2"
    assert safe_file_name("Ronda 2 — Ñuñoa", fallback="ronda") == "Ronda_2_Ñuñoa"
    assert safe_file_name("R-2_b", fallback="ronda") == "R-2_b"


def test_path_in_refuses_a_link_that_leads_outside(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.xlsx"
    os.symlink(elsewhere, out / "revision_r1.xlsx")
    with pytest.raises(ParameterError, match="leads outside"):
        path_in(out, "r1", prefix="revision_", suffix=".xlsx", fallback="ronda")


def test_round_attribute_value_writes_inside_out_folder(tmp_path):
    # The case: the attributes sheet's round column names the review workbook.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "d1.txt").write_text("ENTREVISTADORA: ¿Cómo colaboran?\n"
                                 "DIRECTORA: Colaboramos mucho con confianza en la red.\n", encoding="utf-8")
    for k, value in enumerate(["/../../escaped", "..\\..\\x\r\ny"]):
        attrs = tmp_path / f"attrs{k}.csv"
        pd.DataFrame({"doc_id": ["d1"], "round": [value]}).to_csv(attrs, index=False)
        project = tmp_path / f"p{k}.qualcode"
        assert runner.invoke(app, ["init", str(project)]).exit_code == 0
        out = tmp_path / "study" / "out"
        result = runner.invoke(app, ["round", str(project), str(docs), "-a", str(attrs), "--out", str(out),
                                     "--methods", "keyword", "-q"])
        assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.xlsx"))
    assert all(p.startswith("study/out/") and p.count("/") == 2 for p in written), written
    assert "study/out/revision_escaped.xlsx" in written


def test_round_name_option_writes_inside_out_folder(tmp_path, project):
    from qualcode.batch import run_round

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "d9.txt").write_text("ENTREVISTADORA: ¿Cómo colaboran?\n"
                                 "DIRECTORA: Colaboramos mucho con confianza en la red.\n", encoding="utf-8")
    result = run_round(project, docs, out=tmp_path / "out", name="../../../owned", report=False,
                       methods=("keyword",))
    assert [p.parent for p in result.written] == [tmp_path / "out"]
    assert result.written[0].name == "revision_owned.xlsx"


def test_table_file_names_from_attribute_names_stay_inside_the_folder(tmp_path):
    tables = {"../../escaped": pd.DataFrame(), "Por ../../x": pd.DataFrame(), "por-x": pd.DataFrame(),
              "Por /x": pd.DataFrame(), "\x1b[2J": pd.DataFrame()}
    files = table_files(tables, tmp_path / "tablas")
    assert all(f.parent == tmp_path / "tablas" for f in files)
    assert len(set(files)) == len(files)  # titles that make the same name do not overwrite each other
    assert [f.name for f in files][:2] == ["escaped.csv", "por_x.csv"]


def test_pseudonymized_copy_name_stays_inside_its_temporary_folder(tmp_path, project):
    from qualcode.workflow import Pseudonymizer

    names = Pseudonymizer(["Rosa"], detect=False)
    with names.project(project) as view:
        assert Path(view.path).name.endswith(".qualcode")
        assert Path(view.path).parent.name.startswith("qualcode-pseudonymized-")
