"""A team's own study from the command line: roles, --by, --order, dates (issue 17 items 1, 2)."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from qualcode.cli import app

runner = CliRunner()


def _study(tmp_path, samples):
    english = pd.read_csv(samples / "attributes.csv")
    files = {p.stem: p.name for p in (samples / "transcripts").iterdir()}
    sheet = pd.DataFrame({"Archivo": english["doc_id"].map(files), "Quién": english["participant"],
                          "Cargo": english["role"], "Comuna": english["district"], "Momento": english["stage"],
                          "Cuándo": pd.to_datetime(english["date"]).dt.strftime("%d/%m/%Y")})
    sheet.to_csv(tmp_path / "atributos.csv", sep=";", index=False, encoding="cp1252")
    return tmp_path / "atributos.csv"


def test_declared_roles_drive_the_report_and_saturation_from_the_cli(tmp_path, samples):
    sheet = _study(tmp_path, samples)
    project = str(tmp_path / "estudio.qualcode")
    # "Quién", "Momento", "Cuándo" are no usual header: the team declares them.
    result = runner.invoke(app, ["init", project, "--roles", "participant=Quién,stage=Momento,date=Cuándo"])
    assert result.exit_code == 0, result.output
    assert "roles: participant=Quién, stage=Momento, date=Cuándo" in result.output
    result = runner.invoke(app, ["add", project, str(samples / "transcripts"), "-a", str(sheet), "-q"])
    assert result.exit_code in (0, 1), result.output
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    import qualcode as qc

    with qc.Project.open(project) as p:
        p.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
        assert p.roles().columns["date"] == "Cuándo" and p.roles().columns["role"] == "Cargo"
    result = runner.invoke(app, ["saturation", project, "--lang", "es"])
    assert result.exit_code == 0, result.output
    assert "order: por Cuándo (fechas dd/mm/aaaa, día primero)" in result.output
    result = runner.invoke(app, ["report", project, str(tmp_path / "informe.xlsx"), "--csv", str(tmp_path / "t"),
                                 "--by", "Comuna", "--by", "stage"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "t").iterdir()}
    assert {"por_comuna.csv", "por_momento.csv"} <= names and "por_cargo.csv" not in names


def test_unknown_by_or_order_column_is_a_usage_error_naming_the_columns(tmp_path, samples):
    sheet = _study(tmp_path, samples)
    project = str(tmp_path / "e.qualcode")
    assert runner.invoke(app, ["init", project]).exit_code == 0
    runner.invoke(app, ["add", project, str(samples / "transcripts" / "int_d02_final.txt"), "-a", str(sheet), "-q"])
    import qualcode as qc

    with qc.Project.open(project) as p:
        segs = list(p.segments.query("speaker_role == 'participant'")["segment_id"][:2])
        qc.add_manual(p, segs, "improvement_science.pdsa.plan", coder="ana")
    result = runner.invoke(app, ["report", project, str(tmp_path / "x.xlsx"), "--by", "Comunaa"])
    assert result.exit_code == 2 and "its attribute columns are" in result.output and "Comuna" in result.output
    result = runner.invoke(app, ["saturation", project, "--order", "fechaa"])
    assert result.exit_code == 2 and "Cuándo" in result.output
    assert not (tmp_path / "x.xlsx").exists()


def test_init_with_an_unknown_role_lists_the_roles(tmp_path):
    result = runner.invoke(app, ["init", str(tmp_path / "p.qualcode"), "--roles", "fecha=Fecha"])
    assert result.exit_code == 2 and "the roles are participant, pseudonym, role, site, stage, round, date" in \
        result.output
    assert not (tmp_path / "p.qualcode").exists()


def test_add_says_which_columns_were_recognised_as_roles(tmp_path, samples):
    sheet = _study(tmp_path, samples)
    project = str(tmp_path / "r.qualcode")
    assert runner.invoke(app, ["init", project, "--roles", "date=Cuándo"]).exit_code == 0
    result = runner.invoke(app, ["add", project, str(samples / "transcripts" / "int_d02_final.txt"), "-a",
                                 str(sheet), "-q"])
    assert "roles: date=Cuándo, role=Cargo (recognised), site=Comuna (recognised)" in result.output, result.output


def test_a_typo_in_roles_is_said_at_add_and_fixed_with_qualcode_roles(tmp_path, samples):
    # issue 17 trial: --roles "participant=Quien" (accent missing) was dropped without a word, with no CLI to fix it.
    sheet = _study(tmp_path, samples)
    project = str(tmp_path / "t.qualcode")
    assert runner.invoke(app, ["init", project, "--roles", "participant=Quien;date=Cuándo"]).exit_code == 0
    result = runner.invoke(app, ["add", project, str(samples / "transcripts" / "int_d02_final.txt"), "-a",
                                 str(sheet), "-q"])
    assert "role participant=Quien: the attributes have no column 'Quien'" in result.output, result.output
    assert "qualcode roles" in result.output
    fixed = runner.invoke(app, ["roles", project, "--set", "participant=Quién;date=Cuándo"])
    assert fixed.exit_code == 0 and "participant: Quién (declared)" in fixed.output
    assert "role: Cargo (recognised from its header)" in fixed.output and "[warning]" not in fixed.output
    wrong = runner.invoke(app, ["roles", project, "--set", "participant=Quien"])
    assert wrong.exit_code == 2 and "its attribute columns are Quién" in wrong.output


def test_round_names_its_review_workbook_from_the_studys_round_column(tmp_path, samples):
    # issue 17 trial: `round -a atributos.csv` with a "Ronda" column wrote revision_ronda.xlsx, not revision_ronda2.
    import pandas as pd

    sheet = tmp_path / "atributos.csv"
    pd.DataFrame({"Archivo": ["int_d02_final.txt"], "Ronda": [2]}).to_csv(sheet, sep=";", index=False)
    project = str(tmp_path / "r.qualcode")
    assert runner.invoke(app, ["init", project]).exit_code == 0
    result = runner.invoke(app, ["round", project, str(samples / "transcripts" / "int_d02_final.txt"), "-a",
                                 str(sheet), "--out", str(tmp_path / "ronda2"), "--coder", "ana", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ronda2" / "revision_ronda2.xlsx").exists(), result.output


def test_add_says_when_no_column_plays_the_participant_or_the_date(tmp_path, samples):
    # issue 17 trial: unusual headers without --roles silently counted documents as participants.
    sheet = _study(tmp_path, samples)
    project = str(tmp_path / "s.qualcode")
    assert runner.invoke(app, ["init", project]).exit_code == 0
    result = runner.invoke(app, ["add", project, str(samples / "transcripts" / "int_d02_final.txt"), "-a",
                                 str(sheet), "-q"])
    assert "no column was recognised as the participant (Quién, Cargo, Comuna, Momento, Cuándo)" in result.output
    assert 'qualcode roles' in result.output and "no column was recognised as the date" in result.output
