"""The report workbook and tables: E1–E4, re-opened after writing; LibreOffice converts it where installed."""

from __future__ import annotations

import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest

import qualcode as qc
from qualcode.export import export_excel, export_tables, quote_tags
from qualcode.io.cells import CELL_LIMIT, sheet_name
from qualcode.workflow import Pseudonymizer, export_report


@pytest.fixture
def coded(project, samples):
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
    return project


def all_text(path) -> str:
    book = openpyxl.load_workbook(path)
    return "\n".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None)


def test_report_workbook_has_every_table_formatted(coded, tmp_path):
    tables = export_report(coded, tmp_path / "informe.xlsx", lang="es")
    book = openpyxl.load_workbook(tmp_path / "informe.xlsx")
    assert book.sheetnames[:4] == ["Léame", "Citas – Ciencia de la mejora", "Citas – Liderazgo", "Citas – Colaboración"]
    assert {"Frecuencias", "Por district", "Coocurrencia", "Saturación", "Libro de códigos", "Gráficos"} <= set(book.sheetnames)
    quotes = book["Citas – Colaboración"]
    header = [c.value for c in quotes[1]]
    assert header[:4] == ["cita", "id_código", "código", "etiqueta"] and "district" in header and "codificador" in header
    assert quotes.freeze_panes == "A2" and quotes.auto_filter.ref and quotes.cell(1, 1).font.bold
    assert quotes.cell(2, 1).alignment.wrap_text
    assert len(book["Gráficos"]._images) == 2
    n_quotes = sum(len(t) for name, t in tables.items() if name.startswith("Citas"))
    assert n_quotes == len(qc.coded_quotes(coded))


def test_spanish_report_is_spanish_in_every_header_verdict_and_chart(coded, tmp_path):
    # team-study 14: a report asked for in Spanish had English column headers and verdicts.
    from qualcode.messages import WORDS

    tables = export_report(coded, tmp_path / "informe.xlsx", lang="es")
    english_only = {w["en"] for w in WORDS.values()} - {w["es"] for w in WORDS.values()}
    attributes = set(coded.segments.columns)
    for title, frame in tables.items():
        if title.startswith("Por "):
            continue  # its columns are the attribute's values, as the study wrote them
        leaked = [c for c in frame.columns if c in english_only and c not in attributes]
        assert not leaked, (title, leaked)
    verdicts = tables["Saturación"]["veredicto"]
    assert verdicts.str.match(r"^(saturación \d+\+\d+|no saturado|muy pocos|indefinido|saturación a los)").all(), verdicts
    assert set(tables["Saturación"]["grupo"]) >= {"todos"}
    chart = qc.plot_saturation(qc.first_appearance(qc.coded_quotes(coded)), lang="es")
    words = [chart.axes[0].get_title(), chart.axes[0].get_xlabel(), chart.axes[0].get_ylabel(),
             *[t.get_text() for t in chart.axes[0].get_legend().get_texts()]]
    assert not [w for w in words if w in english_only], words


def test_report_in_english_uses_english_labels(coded, tmp_path):
    export_report(coded, tmp_path / "report.xlsx", lang="en", charts=False)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert "Quotes – Collaboration" in book.sheetnames
    ws = book["Frequencies"]
    column = [c.value for c in ws[1]].index("code") + 1
    assert "Trust" in [ws.cell(r, column).value for r in range(2, ws.max_row + 1)]


@pytest.mark.parametrize("speech", ["=SUMA(A1:A3) me dijeron", "+56 9 1234 5678 es el número", "-Nada, tía.",
                                    "@todas en el grupo", "\tcon tabulador", "\rcon retorno"])
def test_e1_formula_like_speech_stays_text_in_xlsx_and_csv(tmp_path, speech):
    frame = pd.DataFrame({"quote": [speech], "n": [1]})
    export_excel({"Citas": frame}, tmp_path / "x.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "x.xlsx")["Citas"]["A2"]
    assert cell.value == speech.replace("\r", "\r") and cell.data_type == "s"
    path = export_tables({"citas": frame}, tmp_path / "csv")[0]
    first = path.read_text(encoding="utf-8-sig").splitlines()[1]
    assert first.startswith(("'", "\"'"))


def test_e2_long_quotes_and_control_characters(tmp_path):
    frame = pd.DataFrame({"quote": ["a" * 40_000, "uno\x0bdos\x00tres"]})
    with pytest.warns(qc.errors.ReplacedCharactersWarning, match=r"2 characters .* in sheet 'Citas' cell A3"):
        export_excel({"Citas": frame}, tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx")["Citas"]
    assert len(ws["A2"].value) == CELL_LIMIT and ws["A2"].value.endswith("[…]")
    assert ws["A3"].value == "uno dos tres"


def test_e3_sheet_names_are_valid_unique_and_readable(tmp_path):
    long = "Citas – improvement_science.problem.root_causes [análisis]"
    names = export_excel({long: pd.DataFrame({"a": [1]}), long + " otra": pd.DataFrame({"a": [2]}),
                          "a/b:c*d?e": pd.DataFrame({"a": [3]})}, tmp_path / "x.xlsx")
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len({n.lower() for n in names}) == 3
    assert openpyxl.load_workbook(tmp_path / "x.xlsx").sheetnames == names
    used: set[str] = set()
    assert sheet_name("Sheet", used) == "Sheet" and sheet_name("sheet", used) == "sheet (2)"


def test_e4_no_listed_or_detected_name_in_any_export(coded, tmp_path, samples):
    attributes = pd.read_csv(samples / "attributes.csv")
    names = sorted(set(attributes["pseudonym"]) - {p for p in attributes["pseudonym"] if p.startswith("Grupo")})
    pseudonymizer = Pseudonymizer(names)
    tables = export_report(coded, tmp_path / "informe.xlsx", pseudonymizer=pseudonymizer)
    detected = set(pseudonymizer.mapping["name"]) - set(names)
    assert {"Gloria", "Patricio"} <= detected  # "la tía Gloria", "don Patricio"
    text = all_text(tmp_path / "informe.xlsx")
    for folder in (export_tables(tables, tmp_path / "csv"),):
        text += "\n".join(p.read_text(encoding="utf-8-sig") for p in folder)
    import re

    for name in set(pseudonymizer.mapping["name"]):
        assert not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text), name
    assert "Persona 1" in text
    assert not list(tmp_path.glob("**/*mapping*"))
    pseudonymizer.save_mapping(tmp_path / "private" / "mapping.csv")
    assert "Marcela" in (tmp_path / "private" / "mapping.csv").read_text()


def test_quote_tags_from_attributes():
    quotes = pd.DataFrame({"role": ["principal", "principal", "principal"], "stage": ["final", "intermediate", "final"],
                           "participant": ["D05", "D02", "D05"]})
    assert quote_tags(quotes).tolist() == ["Dfinal1", "Dintermediate1", "Dfinal1"]


def test_parquet_tables_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"code_id": ["a", "b"], "n": [1, 2], "terms": [["x", "y"], ["z"]]})
    path = export_tables({"Frecuencias": frame}, tmp_path, format="parquet")[0]
    back = pd.read_parquet(path)
    assert back["n"].tolist() == [1, 2] and back["terms"].tolist() == ["x; y", "z"]


soffice = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(soffice is None, reason="LibreOffice is not installed (CI installs libreoffice-calc-nogui)")
def test_report_converts_to_pdf_in_libreoffice(coded, tmp_path):
    export_report(coded, tmp_path / "informe.xlsx")
    result = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless",
                             "--convert-to", "pdf", "--outdir", str(tmp_path / "out"), str(tmp_path / "informe.xlsx")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "out" / "informe.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000 and pdf.read_bytes().startswith(b"%PDF")


def test_report_says_when_saturation_is_undefined_for_a_dimension(project, tmp_path):
    segs = project.segments.query("speaker_role == 'participant'").sort_values("date")
    firsts = segs.groupby("doc_id", sort=False).head(1).head(7)
    qc.add_manual(project, list(firsts["segment_id"]), "leadership.workload.time", coder="ana")
    qc.add_manual(project, [firsts["segment_id"].iloc[-1]], "collaboration.isolation", coder="ana")
    table = export_report(project, tmp_path / "x.xlsx", lang="en")["Saturation"].set_index(["group", "method"])
    assert table.loc[("Collaboration", "Guest et al. (2020)"), "notation"].startswith("undefined: no codes in the first 4")
    assert not table.loc[("Leadership", "Guest et al. (2020)"), "notation"].startswith("undefined")
    spanish = export_report(project, tmp_path / "y.xlsx", lang="es")["Saturación"].set_index(["grupo", "método"])
    assert spanish.loc[("Colaboración", "Guest et al. (2020)"), "veredicto"].startswith("indefinido: no hay códigos en los primeros 4")


def test_e4_pseudonymized_corpus_keeps_offsets_and_hides_names(sample_corpus):
    pseudonymizer = Pseudonymizer(["Marcela", "Rodrigo", "Helen"])
    hidden = pseudonymizer.transform_corpus(sample_corpus)
    names = set(pseudonymizer.mapping["name"])
    assert {"Gloria", "Patricio"} <= names
    import re

    pattern = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, names)) + r")(?!\w)")
    for doc_id, text in zip(hidden.documents["doc_id"], hidden.documents["text"], strict=True):
        assert not pattern.search(text), doc_id
    for doc_id, group in hidden.segments.groupby("doc_id"):
        text = hidden.text(doc_id)
        assert all(text[s:e] == t for s, e, t in group[["start", "end", "text"]].itertuples(index=False))
    assert len(hidden.segments) == len(sample_corpus.segments)
    assert hidden.segments["segment_id"].is_unique
    assert sample_corpus.text("int_d02_final") != hidden.text("int_d02_final")
