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
    assert "orden: por Cuándo (fechas dd/mm/aaaa, día primero)" in result.output
    assert "grupo" in result.output and "veredicto" in result.output and "Guest et al. (2020)" in result.output
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


def _coded_study(tmp_path, samples):
    import qualcode as qc

    sheet = _study(tmp_path, samples)
    project = str(tmp_path / "estudio.qualcode")
    assert runner.invoke(app, ["init", project, "--roles", "participant=Quién,stage=Momento,date=Cuándo"]).exit_code == 0
    runner.invoke(app, ["add", project, str(samples / "transcripts"), "-a", str(sheet), "-q"])
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    with qc.Project.open(project) as p:
        p.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
        first = p.segments.query("speaker_role == 'participant'").iloc[:3]
        qc.accept(p, first.assign(code_id="leadership.focus.pedagogical"), coder="ana")
    return project


def test_spanish_report_csv_uses_semicolons_and_decimal_commas(tmp_path, samples):
    # Issue 17 trial P6: Excel with Spanish (Chilean) settings splits CSV fields on ';' and reads ',' as the decimal
    # mark; a comma-separated file opened as one column.
    project = _coded_study(tmp_path, samples)
    result = runner.invoke(app, ["report", project, str(tmp_path / "informe.xlsx"), "--csv", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "t" / "frecuencias.csv").read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    assert header.count(";") >= 5 and "," not in header
    table = pd.read_csv(tmp_path / "t" / "frecuencias.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert table["pct_participantes"].dtype.kind == "f" and table["pct_participantes"].between(0, 100).all()
    pairs = pd.read_csv(tmp_path / "t" / "coocurrencia.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert pairs["jaccard"].dtype.kind == "f" and (pairs["jaccard"] % 1 != 0).any()  # decimals, with a comma
    # English keeps commas; --sep chooses either way.
    result = runner.invoke(app, ["report", project, str(tmp_path / "report.xlsx"), "--lang", "en", "--csv",
                                 str(tmp_path / "en")])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "en" / "frequencies.csv", encoding="utf-8-sig")["pct_participants"].dtype.kind == "f"
    result = runner.invoke(app, ["report", project, str(tmp_path / "r2.xlsx"), "--lang", "en", "--csv",
                                 str(tmp_path / "en2"), "--sep", "tab"])
    assert result.exit_code == 0, result.output
    assert "\t" in (tmp_path / "en2" / "frequencies.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    result = runner.invoke(app, ["report", project, str(tmp_path / "r3.xlsx"), "--csv", str(tmp_path / "x"),
                                 "--sep", "|"])
    assert result.exit_code == 2 and "--sep" in result.output and not (tmp_path / "r3.xlsx").exists()


def test_spanish_report_values_are_spanish(tmp_path, samples):
    # Issue 17 trial P6: 'accept', 'False', 'guest' and English parameter names in a Spanish report.
    import openpyxl

    project = _coded_study(tmp_path, samples)
    assert runner.invoke(app, ["report", project, str(tmp_path / "informe.xlsx")]).exit_code == 0
    book = openpyxl.load_workbook(tmp_path / "informe.xlsx", read_only=True)
    words = {str(v) for ws in book.worksheets if not ws.title.startswith("Libro")
             for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, (str, bool))}
    assert not words & {"accept", "reject", "True", "False", "guest", "francis", "yes"}
    assert {"aceptada", "manual", "Guest et al. (2020)", "Francis et al. (2010)"} <= words
    assert any(w.startswith("base=4, racha=2, umbral=") for w in words)


def test_add_one_round_folds_the_sheets_rows_of_other_rounds_and_counts_failed_files(tmp_path, samples):
    # Issue 17 trial: `add` printed one "not in the corpus" line per sheet row of the other rounds, and its summary
    # line did not count the files that failed.
    sheet = _study(tmp_path, samples)
    folder = tmp_path / "ronda1"
    folder.mkdir()
    for name in ("int_d02_final.txt", "int_d07_intermedia.txt"):
        (folder / name).write_bytes((samples / "transcripts" / name).read_bytes())
    (folder / "notas.pdf").write_bytes(b"%PDF-1.4\n")
    project = str(tmp_path / "e.qualcode")
    assert runner.invoke(app, ["init", project]).exit_code == 0
    result = runner.invoke(app, ["add", project, str(folder), "-a", str(sheet), "-q"])
    assert result.exit_code == 1, result.output  # some inputs failed
    out = result.output
    assert "2 added, 0 updated, 0 unchanged, 1 failed (below)" in out
    assert "is not in the corpus" not in out
    assert out.count("rows of the attributes sheet are for documents not loaded now") == 1


def test_cli_edges_a_new_user_hit_say_what_to_do_and_write_nothing(tmp_path, samples):
    # Issue 17 trial: a report named .docx was written as an Excel file; `review export` before any `suggest`
    # wrote an empty workbook that then blocked the name; `round` on a mistyped folder printed a whole summary.
    project = str(tmp_path / "e.qualcode")
    assert runner.invoke(app, ["init", project]).exit_code == 0
    runner.invoke(app, ["add", project, str(samples / "transcripts" / "int_d02_final.txt"), "-q"])
    result = runner.invoke(app, ["review", "export", project, str(tmp_path / "rev.xlsx"), "--coder", "ana"])
    assert result.exit_code == 2 and f"run: qualcode suggest {project}" in result.output
    assert not (tmp_path / "rev.xlsx").exists()
    result = runner.invoke(app, ["report", project, str(tmp_path / "z.docx")])
    assert result.exit_code == 2 and "ending in .xlsx (e.g. z.xlsx)" in result.output
    assert not (tmp_path / "z.docx").exists()
    result = runner.invoke(app, ["round", project, str(tmp_path / "ronda4"), "--out", str(tmp_path / "r4"),
                                 "--coder", "ana", "-q"])
    assert result.exit_code == 2
    assert "nothing was read, so nothing was suggested or written" in result.output
    assert "saturation so far" not in result.output and not (tmp_path / "r4").exists()
