"""A team's own study in Spanish gives the same analyses as the English sample (issue 17; team-study 05).

The sample's attributes are rewritten the way a Chilean team's Excel writes them: Spanish headers
(Archivo, Participante, Seudónimo, Cargo, Comuna, Etapa, Ronda, Fecha), Spanish values, dd/mm/yyyy dates,
a ``;``-separated Windows-1252 CSV. The same codings on both projects must give the same tables.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ParameterError
from qualcode.io.roles import parse_roles, recognise_roles

ROLES = {"principal": "directora", "supporting professional": "profesional de apoyo"}
STAGES = {"diagnostic": "diagnóstico", "intermediate": "intermedia", "final": "final"}


def _spanish_sheet(samples, path):
    english = pd.read_csv(samples / "attributes.csv")
    files = {p.stem: p.name for p in (samples / "transcripts").iterdir()}
    spanish = pd.DataFrame({
        "Archivo": english["doc_id"].map(files), "Participante": english["participant"],
        "Seudónimo": english["pseudonym"], "Cargo": english["role"].map(ROLES), "Comuna": english["district"],
        "Etapa": english["stage"].map(STAGES), "Ronda": english["round"],
        "Fecha": pd.to_datetime(english["date"]).dt.strftime("%d/%m/%Y"), "Idioma": english["language"]})
    spanish.to_csv(path, sep=";", index=False, encoding="cp1252")


@pytest.fixture(scope="module")
def two_studies(samples, tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    _spanish_sheet(samples, folder / "atributos.csv")
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    out = {}
    for name, sheet in [("en", samples / "attributes.csv"), ("es", folder / "atributos.csv")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            corpus, _ = qc.load_corpus(samples / "transcripts", attributes=sheet)
        project = qc.Project.create(folder / f"{name}.qualcode")
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
        out[name] = project
    yield out
    for project in out.values():
        project.close()


def test_spanish_headers_are_recognised_as_roles_and_said(two_studies):
    roles = two_studies["es"].roles()
    assert roles.columns == {"participant": "Participante", "pseudonym": "Seudónimo", "role": "Cargo",
                             "site": "Comuna", "stage": "Etapa", "round": "Ronda", "date": "Fecha"}
    assert "date = Fecha" in roles.recognised


def test_a_spanish_study_gives_the_same_analyses_as_the_english_sample_table_by_table(two_studies, tmp_path):
    en = qc.export_report(two_studies["en"], tmp_path / "en.xlsx", charts=False)
    es = qc.export_report(two_studies["es"], tmp_path / "es.xlsx", charts=False)
    # Frequencies: the share of participants counts the same people.
    pd.testing.assert_frame_equal(en["Frecuencias"], es["Frecuencias"])
    # First appearance: dd/mm/yyyy dates order the interviews as ISO dates do.
    pd.testing.assert_frame_equal(en["Primera aparición"], es["Primera aparición"])
    # Saturation: the same verdicts; the order column says how each study's dates were read.
    same = ["grupo", "método", "n_documentos", "n_códigos", "códigos_base", "saturado", "punto", "veredicto"]
    same = [c for c in same if c in en["Saturación"].columns]
    pd.testing.assert_frame_equal(en["Saturación"][same], es["Saturación"][same])
    assert es["Saturación"]["orden"].str.startswith("por Fecha (fechas dd/mm/aaaa, día primero)").all()
    # Code × attribute tables under the study's own column names, with the same counts.
    for english, spanish, values in [("Por role", "Por Cargo", ROLES), ("Por stage", "Por Etapa", STAGES),
                                     ("Por district", "Por Comuna", {}), ("Por round", "Por Ronda", {})]:
        mine = es[spanish].rename(columns={v: k for k, v in values.items()})
        pd.testing.assert_frame_equal(en[english], mine[list(en[english].columns)], check_names=False)
    # Quote sheets: the same quotes, each with every attribute of the study.
    for title in [t for t in en if t.startswith("Citas")]:
        assert en[title]["cita"].tolist() == es[title]["cita"].tolist()
        assert {"Participante", "Cargo", "Comuna", "Etapa", "Ronda", "Fecha", "Idioma"} <= set(es[title].columns)


def test_declared_roles_win_and_an_unknown_column_names_the_columns_that_exist(two_studies):
    project = two_studies["es"]
    with pytest.raises(ParameterError, match="its attribute columns are Participante, Seudónimo"):
        project.set_roles({"date": "Fechaa"})
    assert recognise_roles(["Cuándo", "Quién"], {"date": "Cuándo", "participant": "Quién"}).columns == {
        "date": "Cuándo", "participant": "Quién"}
    with pytest.raises(ParameterError, match="unknown role 'fecha'; the roles are participant"):
        parse_roles("fecha=Fecha")


def test_report_by_an_unknown_column_is_an_error_naming_the_columns(two_studies, tmp_path):
    with pytest.raises(ParameterError, match="'Comunaa': not a column of this study; its attribute columns are"):
        qc.export_report(two_studies["es"], tmp_path / "x.xlsx", by=["Comunaa"], charts=False)
    with pytest.raises(ParameterError, match="'fechaa': not a column"):
        qc.export_report(two_studies["es"], tmp_path / "y.xlsx", order="fechaa", charts=False)
    tables = qc.export_report(two_studies["es"], tmp_path / "z.xlsx", by=["Idioma"],
                              charts=False)
    assert "Por Idioma" in tables


def test_role_headers_in_spanish_are_not_called_misspellings(samples, tmp_path):
    # team-study 05: "column 'Participante' looks like a misspelling of 'participant'".
    _spanish_sheet(samples, tmp_path / "atributos.csv")
    _, report = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt", attributes=tmp_path / "atributos.csv")
    assert not report["message"].str.contains("misspelling").any(), report["message"].tolist()
    sheet = pd.DataFrame({"doc_id": ["int_d02_final"], "participnat": ["D02"]})
    sheet.to_csv(tmp_path / "typo.csv", index=False)
    _, report = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt", attributes=tmp_path / "typo.csv")
    assert report["message"].str.contains("'participnat' looks like a misspelling of 'participant'").any()


def test_an_ambiguous_date_column_is_said_at_load_with_how_to_make_it_unambiguous(samples, tmp_path):
    # issue 17 item 2: ambiguity is reported; the cells are kept as written.
    sheet = pd.DataFrame({"doc_id": ["int_d02_final"], "Fecha": ["03/04/2024"]})
    sheet.to_csv(tmp_path / "a.csv", index=False)
    corpus, report = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt", attributes=tmp_path / "a.csv")
    said = report["message"][report["message"].str.contains("column 'Fecha' holds dates read day first")]
    assert len(said) == 1 and "Write them as 2024-04-03 (ISO)" in said.iloc[0]
    assert corpus.documents["Fecha"].iloc[0] == "03/04/2024"  # kept as written
    proven = pd.DataFrame({"doc_id": ["int_d02_final"], "Fecha": ["15/04/2024"]})
    proven.to_csv(tmp_path / "b.csv", index=False)
    _, report = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt", attributes=tmp_path / "b.csv")
    assert not report["message"].str.contains("holds dates").any()


def test_python_analyses_use_the_studys_roles_without_the_report(two_studies, samples, tmp_path):
    # Issue 17: every analysis uses roles, not only the report and the CLI. A declared, unusual header (Quién,
    # Cuándo) and a usual Spanish one (Participante, Fecha) give the English sample's figures from qc.* directly.
    en = two_studies["en"]
    expected = qc.code_frequencies(qc.coded_quotes(en), segments=en.segments)
    expected_sat = qc.saturation(qc.coded_quotes(en), order="date")
    sheet = pd.read_csv(samples / "attributes.csv")
    files = {p.stem: p.name for p in (samples / "transcripts").iterdir()}
    odd = pd.DataFrame({"Archivo": sheet["doc_id"].map(files), "Quién": sheet["participant"],
                        "Cuándo": pd.to_datetime(sheet["date"]).dt.strftime("%d/%m/%Y"), "Momento": sheet["stage"]})
    odd.to_csv(tmp_path / "raro.csv", sep=";", index=False, encoding="cp1252")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus, _ = qc.load_corpus(samples / "transcripts", attributes=tmp_path / "raro.csv")
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    for name, project in [("usual", two_studies["es"]), ("declared", qc.Project.create(tmp_path / "raro.qualcode"))]:
        if name == "declared":
            project.add_corpus(corpus)
            project.add_codebook(qc.load_codebook("nic_study"))
            project.set_roles({"participant": "Quién", "date": "Cuándo", "stage": "Momento"})
            project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
        quotes = qc.coded_quotes(project)
        got = qc.code_frequencies(quotes, segments=project.segments)
        pd.testing.assert_frame_equal(expected, got, obj=f"{name} study's frequencies")
        sat = qc.saturation(quotes, order="date")  # the role: the study's date column, read as dates
        pd.testing.assert_series_equal(expected_sat["notation"], sat["notation"], obj=f"{name} saturation")
        assert sat["order"].iloc[0].startswith("by Cuándo" if name == "declared" else "by Fecha")
        by_stage = qc.code_by_attribute(quotes, "stage")
        assert by_stage["n"].sum() == qc.code_by_attribute(qc.coded_quotes(en), "stage")["n"].sum()
    project.close()


@pytest.mark.parametrize("column", ["coder", "memo", "source", "decision", "code"])
def test_attribute_column_named_like_a_decision_column_is_refused_with_its_row(samples, tmp_path, column):
    # An attributes sheet with a 'coder' or 'memo' column made coded_quotes fail (KeyError) after the corpus was
    # added; now the sheet is refused at load, naming the column and what to rename it to.
    sheet = pd.read_csv(samples / "attributes.csv").head(2).assign(**{column: "x"})
    sheet.to_csv(tmp_path / "a.csv", index=False)
    files = [samples / "transcripts" / f"{d}.txt" for d in sheet["doc_id"]]
    with pytest.raises(qc.QualcodeError, match=f"column '{column}' clashes with a column of qualcode's own tables"):
        qc.load_corpus(files, attributes=tmp_path / "a.csv")


def test_declared_participant_column_survives_a_merge_when_segments_are_given(two_studies, samples, tmp_path):
    # Issue 17 trial: after q.merge(...) the declared roles (DataFrame.attrs) were gone and % participants counted
    # documents. With segments=project.segments the study's roles come from there.
    project = two_studies["es"]
    project.set_roles({"participant": "Participante"})
    quotes = qc.coded_quotes(project)
    merged = quotes.merge(pd.DataFrame({"doc_id": quotes["doc_id"].unique(), "extra": 1}), on="doc_id", how="left")
    merged = merged.rename(columns={"Participante": "Código persona"})
    segments = project.segments.rename(columns={"Participante": "Código persona"})
    segments.attrs["roles"] = {"participant": "Código persona"}
    assert not merged.attrs.get("roles")
    expected = qc.code_frequencies(quotes, segments=project.segments)
    got = qc.code_frequencies(merged, segments=segments)
    pd.testing.assert_frame_equal(expected, got)


def test_spanish_report_names_roles_and_dimensions_in_spanish_and_never_repeats_a_header(samples, tmp_path):
    # Issue 17 trial: the about sheet's roles and the dimension ids were English in a Spanish report, and a study
    # column named 'código' or 'decisión' gave the quote sheets the same header twice.
    sheet = pd.read_csv(samples / "attributes.csv").head(4)
    sheet = sheet.assign(código="x1", Decisión="sí")
    sheet.to_csv(tmp_path / "a.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus, _ = qc.load_corpus([samples / "transcripts" / f"{d}.txt" for d in sheet["doc_id"]],
                                   attributes=tmp_path / "a.csv")
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        coding = pd.read_csv(samples / "coding" / "ana.csv")
        coding = coding[coding["segment_id"].isin(set(project.segments["segment_id"]))]
        project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
        tables = qc.export_report(project, tmp_path / "informe.xlsx", lang="es", charts=False)
        about = pd.read_excel(tmp_path / "informe.xlsx", sheet_name="Léame", header=None, engine="openpyxl")
    for title, frame in tables.items():
        assert frame.columns.is_unique, (title, list(frame.columns))
    quotes = next(t for name, t in tables.items() if name.startswith("Citas"))
    assert {"código", "código (atributo)", "decisión", "Decisión (atributo)"} <= set(quotes.columns)
    roles = about.set_index(0).loc["roles", 1]
    assert "participante=participant" in roles and "fecha=date" in roles
    assert {"Colaboración", "Liderazgo"} <= set(tables["Saturación"]["grupo"])
    assert set(tables["Frecuencias"]["dimensión"]) <= {"Colaboración", "Liderazgo", "Ciencia de la mejora"}
    # Python: a mistyped column lists those that exist; a role name works for the heatmap too.
    quotes_py = qc.coded_quotes(qc.Project.open(tmp_path / "p.qualcode", read_only=True))
    with pytest.raises(ParameterError, match="'Comunaa': not a column of these codings; their attribute columns"):
        qc.code_by_attribute(quotes_py, "Comunaa")
    qc.plot_code_by_attribute(qc.code_by_attribute(quotes_py, "stage"), "stage")


def test_report_by_stage_lists_stages_in_the_order_of_their_interviews(two_studies, tmp_path):
    # Issue 17 trial: "Por Etapa" read Diagnóstico, Final, Intermedia (A–Z), not the order of the study.
    tables = qc.export_report(two_studies["es"], tmp_path / "e.xlsx", charts=False)
    stages = [c for c in tables["Por Etapa"].columns if c not in ("id_código", "código")]
    assert stages == ["diagnóstico", "intermedia", "final"]
