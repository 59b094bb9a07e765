"""Pseudonymized outputs (issue 14, fault 4): no listed or detected name in any output, in any case or accent.

A small study whose names sit in the transcripts, the speaker labels, the file
names (document ids), the attribute values, the memos and the project's own
file name is written through every writer under a pseudonymizer — the CLI
``qualcode report --pseudonymize … --csv … --qdpx …`` and the Python calls —
and every byte written (unzipped, XML unescaped, Parquet read back), every
chart text and every line printed is folded (case, accents) and searched for
every name as a whole word.
"""

from __future__ import annotations

import html
import re
import unicodedata
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.export import Pseudonymizer

LISTED = ["Rosa", "Marisol", "María"]
# Not listed: found by qualcode ("la tía Gloria"; "Ximena" speaks under her own name in two turns).
DETECTED = ["Gloria", "Ximena"]

ROSA = """Entrevistadora: ¿Cómo es el trabajo con otras directoras, Rosa?
Rosa: Con la Marisol nos juntamos una vez al mes. MARIA también viene, y maria trae café.
Entrevistadora: ¿Y el Servicio Local?
Rosa: La asesora viene cada dos meses. La tía Gloria dice que en Rosario es igual.
"""
XIMENA = """Entrevistadora: ¿Qué hace con su equipo?
Ximena: Hablo con María todos los días; la Rósa del jardín vecino me ayuda con el MARISOL.
Entrevistadora: ¿Algo más?
Ximena: Nada más, gracias, dígale a ROSA que la llamo.
"""
ATTRIBUTES = """doc_id,participant,pseudonym,role,district,stage,round,date
ent_directora_rosa_marzo,Rosa Pérez,Rosa,principal,Rosario,final,1,2024-03-01
entrevista_ximena,Ximena,Marisol,principal,María Pinto,final,1,2024-03-02
"""


def folded(text: str) -> str:
    """Case- and accent-folded, as a reader searching for a name would compare."""
    return "".join(c for c in unicodedata.normalize("NFD", text.casefold()) if not unicodedata.combining(c))


def names_in(text: str, names) -> set[str]:
    """The names found in ``text`` as whole words (letters on neither side), in any case or accent variant."""
    text = folded(text)
    return {n for n in names if re.search(rf"(?<![^\W\d_]){re.escape(folded(n))}(?![^\W\d_])", text)}


def file_text(path: Path) -> str:
    """Everything a file holds that a person could read: zip members unzipped, XML unescaped, Parquet read."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            parts = [name + "\n" + html.unescape(archive.read(name).decode("utf-8", "replace"))
                     for name in archive.namelist()]
        return "\n".join(parts)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return "\n".join([" ".join(table.column_names)] + [str(row) for row in table.to_pylist()])
    return data.decode("utf-8-sig")


@pytest.fixture
def study(tmp_path, write):
    """A project whose names are everywhere: text, labels, file names, attributes, memos, project file name."""
    write("entrevistas/ent_directora_rosa_marzo.txt", ROSA)
    write("entrevistas/entrevista_ximena.txt", XIMENA)
    write("atributos.csv", ATTRIBUTES)
    corpus, _ = qc.load_corpus(tmp_path / "entrevistas", attributes=tmp_path / "atributos.csv")
    project = qc.Project.create(tmp_path / "estudio_rosa.qualcode")
    project.add_corpus(corpus)
    project.add_codebook(qc.load_codebook("nic_study"))
    said = project.segments.query("speaker_role == 'participant'")
    first = said.iloc[0]
    # A span after the names of its turn: its offsets must move with the text.
    span_start = first["start"] + first["text"].index("MARIA")  # document offsets
    qc.add_manual(project, [first["segment_id"]], "collaboration.channels", coder="ana",
                  spans=[(span_start, first["end"])], memo="maría y Rosa se apoyan; ver a Ximena")
    qc.add_manual(project, list(said["segment_id"][1:]), "collaboration.channels", coder="ana",
                  memo="la tía Gloria, otra vez")
    qc.accept(project, list(said["segment_id"][:2]), "leadership", coder="luis", memo="ROSA lo dice claro")
    return project


def chart_texts(monkeypatch) -> list[str]:
    """Collect every text (titles, labels, tick labels, legends) of every figure saved from now on."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    seen: list[str] = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.extend(t.get_text() for t in self.findobj(Text))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return seen


def test_pseudonymized_outputs_hold_no_name_in_any_variant(study, tmp_path, monkeypatch, caplog, recwarn):
    pytest.importorskip("pyarrow")
    charts = chart_texts(monkeypatch)
    names_file = tmp_path / "nombres.txt"
    names_file.write_text("\ufeff" + "\n".join(LISTED) + "\n", encoding="utf-8")  # as Notepad saves it
    cli = tmp_path / "cli"
    cli.mkdir()
    result = CliRunner().invoke(app, ["report", str(study.path), str(cli / "informe.xlsx"), "--pseudonymize",
                                      str(names_file), "--csv", str(cli / "tablas"),
                                      "--qdpx", str(cli / "estudio.qdpx")])
    assert result.exit_code == 0, result.output
    printed = result.output
    cli_files = {str(p.relative_to(tmp_path)): file_text(p) for p in cli.rglob("*") if p.is_file()}
    leaks = {where: found for where, text in {**cli_files, "printed": printed}.items()
             if (found := names_in(where + "\n" + text, LISTED + DETECTED))}
    assert not leaks

    pseudonymizer = Pseudonymizer(LISTED)
    py = tmp_path / "py"
    tables = qc.export_report(study, py / "informe.xlsx", pseudonymizer=pseudonymizer)
    qc.export_tables(tables, py / "csv")
    qc.export_tables(tables, py / "parquet", format="parquet")
    qc.export_refi_qda(study, py / "estudio.qdpx", pseudonymizer=pseudonymizer)

    assert set(DETECTED) <= set(pseudonymizer.mapping["name"])
    everything = {"printed": printed, "charts": "\n".join(charts),
                  "logs": caplog.text, "warnings": "\n".join(str(w.message) for w in recwarn)}
    written = [p for p in tmp_path.joinpath("cli").rglob("*") if p.is_file()] + \
              [p for p in py.rglob("*") if p.is_file()]
    assert len(written) >= 2 * 8 + 4
    for path in written:
        everything[str(path.relative_to(tmp_path))] = str(path.relative_to(tmp_path)) + "\n" + file_text(path)
    everything["tables"] = "\n".join(t.to_csv() for t in tables.values())
    leaks = {where: found for where, text in everything.items() if (found := names_in(text, LISTED + DETECTED))}
    assert not leaks
    assert any("persona_1" in t for t in charts)  # the saturation chart's ticks are document ids

    # Whole words only: "Rosario" (a district, and a word in the text) is not "Rosa".
    assert "Rosario" in file_text(cli / "informe.xlsx") and "Rosario" in file_text(cli / "estudio.qdpx")
    # The workbook says what was covered, not a bare "yes".
    import openpyxl

    about = dict(openpyxl.load_workbook(cli / "informe.xlsx")["Léame"].iter_rows(values_only=True))
    assert about["seudonimizado"].startswith("yes") and "speaker" in about["seudonimizado"]
    assert "5 names" in about["seudonimizado"]


def test_pseudonymized_qdpx_selections_point_at_the_same_words(study, tmp_path):
    from lxml import etree

    pseudonymizer = Pseudonymizer(LISTED)
    qc.export_refi_qda(study, tmp_path / "e.qdpx", pseudonymizer=pseudonymizer)
    archive = zipfile.ZipFile(tmp_path / "e.qdpx")
    root = etree.fromstring(archive.read("project.qde"))
    ns = {"q": "urn:QDA-XML:project:1.0"}
    sources = root.findall(".//q:TextSource", ns)
    assert sorted(s.get("name") for s in sources) == ["ent_directora_persona_1_marzo", "entrevista_persona_4"]
    n = 0
    for source in sources:
        text = archive.read("sources/" + source.get("plainTextPath").split("//")[1]).decode("utf-8")
        for selection in source.findall("q:PlainTextSelection", ns):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert text[start:end][:60] == selection.get("name")
            n += 1
    assert n == 6  # one selection per coding
    quotes = qc.coded_quotes(study)
    spans = quotes[quotes["quote_now"].str.startswith("MARIA")]
    assert len(spans) == 1  # the span after two names moved with them:
    hidden = qc.import_refi_qda(tmp_path / "e.qdpx", tmp_path / "back.qualcode")
    back = qc.coded_quotes(hidden)
    assert back["quote_now"].str.startswith("Persona 3 también viene").sum() == 1
    assert not names_in(hidden.documents.to_csv() + back.to_csv(), LISTED + DETECTED)


def test_pseudonymizer_matches_whole_words_in_any_case_or_accent():
    p = Pseudonymizer(["María", "Rosa", "Ana María"], detect=False).fit([])
    text = "MARIA, maria, Maria, MARÍA, Mari\u0301a, María; Rosario y rosado no; ROSA, rósa, Ana  maría."
    out = p.transform(text)
    assert out == ("Persona 1, Persona 1, Persona 1, Persona 1, Persona 1, Persona 1; Rosario y rosado no; "
                   "Persona 2, Persona 2, Persona 3.")
    # Identifiers: separated by _ - . or digits, written with the pseudonym's letters (no spaces).
    assert p.transform_id("ent_directora_rosa_marzo") == "ent_directora_persona_2_marzo"
    assert p.transform_id("Rosa2-MARIA.txt") == "Persona_22-PERSONA_1.txt"


def test_report_without_pseudonymizer_says_no(study, tmp_path):
    import openpyxl

    qc.export_report(study, tmp_path / "r.xlsx", charts=False)
    about = dict(openpyxl.load_workbook(tmp_path / "r.xlsx")["Léame"].iter_rows(values_only=True))
    assert about["seudonimizado"] == "no"


def test_pseudonym_mapping_is_written_only_where_asked_and_apart(study, tmp_path):
    names_file = tmp_path / "nombres.txt"
    names_file.write_text("Rosa\nMarisol\n", encoding="utf-8")
    out = tmp_path / "salida"
    result = CliRunner().invoke(app, ["report", str(study.path), str(out / "informe.xlsx"), "--pseudonymize",
                                      str(names_file), "--csv", str(out / "tablas")])
    assert result.exit_code == 0, result.output
    assert not [p for p in tmp_path.rglob("*") if "mapping" in p.name or "mapeo" in p.name]
    assert "Rosa" not in result.output
    private = tmp_path / "privado" / "mapeo.csv"
    result = CliRunner().invoke(app, ["report", str(study.path), str(out / "informe2.xlsx"), "--pseudonymize",
                                      str(names_file), "--mapping", str(private)])
    assert result.exit_code == 0, result.output
    mapping = pd.read_csv(private)
    assert {"Rosa", "Marisol", "Gloria", "Ximena"} <= set(mapping["name"])
    assert "warning" not in result.output.lower()
    beside = out / "mapeo.csv"
    result = CliRunner().invoke(app, ["report", str(study.path), str(out / "informe3.xlsx"), "--pseudonymize",
                                      str(names_file), "--mapping", str(beside)])
    assert result.exit_code == 0 and "keep it apart" in result.output


def test_names_file_that_cannot_be_read_is_a_clear_error(study, tmp_path):
    result = CliRunner().invoke(app, ["report", str(study.path), str(tmp_path / "r.xlsx"), "--pseudonymize",
                                      str(tmp_path / "no_such_names.txt")])
    assert result.exit_code == 2 and "no_such_names.txt" in result.output
    assert not (tmp_path / "r.xlsx").exists()
    latin = tmp_path / "latin.txt"
    latin.write_bytes("María\nRosa\n".encode("cp1252"))
    p = Pseudonymizer.from_file(latin)
    assert p.names == ["María", "Rosa"]


def test_pseudonymizer_detects_speaker_labels_that_are_names_not_roles():
    labels = ["Entrevistadora", "ENTREVISTADORA", "D2", "PA4", "Directora 3", "E", "Moderadora", "Voz", "Host",
              "Todos", "Rosa", "ANA MARÍA", "Ximena", "Ximena"]
    p = Pseudonymizer().fit([], speakers=labels)
    assert set(p.mapping["name"]) == {"Rosa", "ANA MARÍA", "ANA", "Ximena"}
    assert p.mapping_["ANA"] == p.mapping_["ANA MARÍA"]  # her first name alone is the same person
    assert p.transform("Ana María habló con rosa.") == "Persona 2 habló con Persona 1."


def test_saved_mapping_read_back_gives_the_same_pseudonyms(tmp_path):
    p = Pseudonymizer(["Rosa", "Marisol"]).fit(["La tía Gloria llegó."])
    p.save_mapping(tmp_path / "mapeo.csv")
    again = Pseudonymizer.from_file(tmp_path / "mapeo.csv").fit([])
    assert dict(zip(again.mapping["name"], again.mapping["pseudonym"], strict=True)) == p.mapping_
    text = "Rosa, Marisol y la tía Gloria"
    assert again.transform(text) == p.transform(text) == "Persona 1, Persona 2 y la tía Persona 3"


def test_pseudonymizer_detects_names_in_capitals_and_never_a_role():
    text = ("LA TÍA GLORIA y DON PEDRO VINO. La señora Directora y el señor Director, no. "
            "Habló la profesora D’Angelo con Pedro.")
    p = Pseudonymizer(["D'Angelo"]).fit([text])
    assert set(p.mapping["name"]) == {"D'Angelo", "GLORIA", "PEDRO VINO", "PEDRO"}
    assert p.transform(text) == ("LA TÍA Persona 2 y DON Persona 3. La señora Directora y el señor "
                                 "Director, no. Habló la profesora Persona 1 con Persona 3.")


def test_a_listed_full_name_hides_the_first_name_alone_too():
    p = Pseudonymizer(["Marta Rojas", "Daniela Soto"], detect=False).fit([])
    text = "Marta Rojas  1 minute 2 seconds\nMARTA pregunta; daniela responde; Soto no; Martina tampoco."
    assert p.transform(text) == ("Persona 1  1 minute 2 seconds\nPersona 1 pregunta; Persona 2 responde; Soto no; "
                                 "Martina tampoco.")
