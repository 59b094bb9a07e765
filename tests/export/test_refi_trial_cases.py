"""A new user's second REFI-QDA trial (issue 18): cases, notes and pseudonymization, one test per fault kind.

The input is built here in the shape of the trial's hand-made file (a Spanish study: two cases, one with variables
and no memo; source memos as a Description and a NoteRef; notes with and without a date; a PDF with a text
representation).
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

from lxml import etree
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.workflow import export_refi_qda, import_refi_qda

NS = {"q": "urn:QDA-XML:project:1.0"}
runner = CliRunner()


def g(n: int) -> str:
    return f"{0xABC00000 + n:08x}-0000-4000-8000-{n:012x}"


T1 = ("Entrevistadora: ¿Cómo trabajan en red?\r\n"
      "María: Con la red 🤝 nos juntamos cada mes con otras escuelas.\r\n")
T2 = "Entrevistador: Cuénteme del liderazgo.\r\nPedro: El liderazgo es distribuido, la jefa Rosa organiza todo.\r\n"
NAMES = ("María González", "Pedro Ramírez", "Rosa")
DT = 'creationDateTime="2026-03-01T10:00:00Z"'


def _note(guid: str, name: str, text: str, dated: bool = True) -> str:
    return (f'<Note guid="{guid}" name="{name}" creatingUser="{g(1)}"{" " + DT if dated else ""}>'
            f"<PlainTextContent>{text}</PlainTextContent></Note>")


def trial_qdpx(path: Path, *, case_variables: bool = True) -> Path:
    """Two cases (María: memo, variables, two documents; Pedro: variables only), notes of every kind."""
    start = T1.index("nos juntamos")
    lid = T2.index("El liderazgo")
    values = (lambda age, school: f'<VariableValue><VariableRef targetGUID="{g(20)}"/><IntegerValue>{age}'
              f'</IntegerValue></VariableValue><VariableValue><VariableRef targetGUID="{g(21)}"/><TextValue>{school}'
              '</TextValue></VariableValue>') if case_variables else (lambda age, school: "")
    qde = f'''<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Estudio redes" origin="HandTool 0.9">
<Users><User guid="{g(1)}" name="Ana Pérez"/><User guid="{g(2)}" name="José Núñez"/></Users>
<CodeBook><Codes><Code guid="{g(10)}" name="Redes" isCodable="true"/></Codes></CodeBook>
<Variables><Variable guid="{g(20)}" name="Edad" typeOfVariable="Integer"/>
 <Variable guid="{g(21)}" name="Escuela" typeOfVariable="Text"/>
 <Variable guid="{g(23)}" name="Fecha" typeOfVariable="Date"/></Variables>
<Cases>
 <Case guid="{g(30)}" name="María González"><Description>Docente rural; memo de caso de María.</Description>
  {values(41, "Escuela Los Aromos")}<SourceRef targetGUID="{g(40)}"/><SourceRef targetGUID="{g(42)}"/></Case>
 <Case guid="{g(31)}" name="Pedro Ramírez">{values(55, "Liceo Norte")}<SourceRef targetGUID="{g(41)}"/></Case>
</Cases>
<Sources>
 <TextSource guid="{g(40)}" name="ent_maria" plainTextPath="internal://{g(50)}.txt" creatingUser="{g(1)}" {DT}>
  <Description>Memo de fuente: hecha en la escuela de María.</Description>
  <PlainTextSelection guid="{g(70)}" startPosition="{start}" endPosition="{start + 12}" creatingUser="{g(1)}" {DT}>
   <Coding guid="{g(80)}" creatingUser="{g(1)}" {DT}><CodeRef targetGUID="{g(10)}"/></Coding></PlainTextSelection>
  <PlainTextSelection guid="{g(73)}" name="anotación" startPosition="{start}" endPosition="{start + 5}"
   creatingUser="{g(1)}" {DT}><Description>Anotación sobre la red.</Description></PlainTextSelection>
  <NoteRef targetGUID="{g(62)}"/>
  <VariableValue><VariableRef targetGUID="{g(23)}"/><DateValue>2026-03-01</DateValue></VariableValue>
 </TextSource>
 <TextSource guid="{g(41)}" name="ent_pedro" plainTextPath="internal://{g(51)}.txt" creatingUser="{g(1)}" {DT}>
  <PlainTextSelection guid="{g(74)}" startPosition="{lid}" endPosition="{lid + 12}" creatingUser="{g(1)}" {DT}>
   <Coding guid="{g(83)}" creatingUser="{g(1)}" {DT}><CodeRef targetGUID="{g(10)}"/></Coding></PlainTextSelection>
  <VariableValue><VariableRef targetGUID="{g(23)}"/><DateValue>2026-04-10</DateValue></VariableValue>
 </TextSource>
 <PDFSource guid="{g(42)}" name="acta.pdf" path="internal://{g(52)}.pdf" {DT}><Description>Acta en PDF</Description>
  <Representation guid="{g(43)}" name="acta.txt" plainTextPath="internal://{g(53)}.txt"/></PDFSource>
</Sources>
<Notes>
 {_note(g(60), "Diario de campo", "Diario: reflexión de María González.")}
 {_note(g(62), "Nota de fuente", "Audio con ruido; María habló bajo.")}
 {_note(g(65), "Nota sin fecha", "Nota sin fecha de Rosa.", dated=False)}
 <Note guid="{g(66)}" name="Comentario de José" creatingUser="{g(2)}" {DT}><PlainTextContent>José comenta la red.
</PlainTextContent></Note>
</Notes>
<Links><Link guid="{g(90)}" name="memo-sel" originGUID="{g(60)}" targetGUID="{g(70)}"/>
 <Link guid="{g(91)}" name="nota-sel" originGUID="{g(66)}" targetGUID="{g(74)}"/></Links>
<Sets><Set guid="{g(96)}" name="Entrevistas marzo"><MemberSource targetGUID="{g(40)}"/>
 <MemberNote targetGUID="{g(65)}"/></Set></Sets>
<NoteRef targetGUID="{g(60)}"/><NoteRef targetGUID="{g(65)}"/>
</Project>
'''
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr(f"sources/{g(50)}.txt", T1)
        archive.writestr(f"sources/{g(51)}.txt", T2)
        archive.writestr(f"sources/{g(52)}.pdf", b"%PDF-1.4\n%%EOF\n")
        archive.writestr(f"sources/{g(53)}.txt", "Acta. Participó María González y la jefa Rosa.\n")
    return path


def _import(path: Path, project: Path) -> qc.Project:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_refi_qda(path, project)


def _cases(qdpx: Path) -> dict[str, tuple[str | None, int, int]]:
    """Each exported case: its memo, how many variables and documents it holds."""
    root = etree.fromstring(zipfile.ZipFile(qdpx).read("project.qde"))
    out = {}
    for case in root.findall("q:Cases/q:Case", NS):
        memo = case.find("q:Description", NS)
        out[case.get("name")] = (memo.text if memo is not None else None, len(case.findall("q:VariableValue", NS)),
                                 len(case.findall("q:SourceRef", NS)))
    return out


def test_cases_roundtrip_a_case_with_variables_and_no_memo_goes_back_out_as_a_case(tmp_path):
    """Case names and membership are kept (as the participant attribute): every case, with or without a memo,
    goes back out as a <Case> with its variables and documents, and comes back the same."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    docs = first.documents.set_index("doc_id")
    assert docs["participant"].to_dict() == {"ent_maria": "María González", "ent_pedro": "Pedro Ramírez",
                                             "acta": "María González"}
    report = qc.import_report(first).set_index("what")
    assert report.loc["cases (their names and documents)", "count"] == 2
    export_refi_qda(first, tmp_path / "a.qdpx")
    cases = _cases(tmp_path / "a.qdpx")
    # participant, Edad, Escuela on each case; Pedro's case had no memo and is still there.
    assert cases == {"María González": ("Docente rural; memo de caso de María.", 3, 2),
                     "Pedro Ramírez": (None, 3, 1)}
    again = _import(tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    columns = ["doc_id", "participant", "Edad", "Escuela"]
    assert again.documents[columns].astype(str).values.tolist() == first.documents[columns].astype(str).values.tolist()
    assert "cases (their names and documents)" not in set(qc.import_report(again)["what"])  # carried by participant


def test_cases_roundtrip_cases_without_variables_still_come_back(tmp_path):
    """A sibling shape: cases that are only a name and documents (no variable) are kept too."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx", case_variables=False), tmp_path / "t.qualcode")
    export_refi_qda(first, tmp_path / "a.qdpx")
    assert set(_cases(tmp_path / "a.qdpx")) == {"María González", "Pedro Ramírez"}


def test_case_memo_is_one_note_however_many_documents_the_case_has(tmp_path):
    """A case's Description is one imported note, not one per document of the case."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    notes = qc.imported_notes(first)
    assert (notes["kind"] == "case memo").sum() == 1
    assert qc.import_report(first).set_index("what").loc["a memo (case memo)", "count"] == 1


def test_pseudonymized_export_writes_cases_and_notes_and_no_listed_name(tmp_path):
    """``report --pseudonymize`` with ``--qdpx``: cases and the imported notes are written, pseudonymized with the
    same pseudonymizer as memos and texts; no listed name is anywhere in the archive."""
    _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    names = tmp_path / "nombres.txt"
    names.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["report", str(tmp_path / "t.qualcode"), str(tmp_path / "P.xlsx"), "--qdpx",
                                 str(tmp_path / "P.qdpx"), "--pseudonymize", str(names), "--mapping",
                                 str(tmp_path / "priv" / "map.csv")])
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(tmp_path / "P.qdpx")
    everything = "\n".join(archive.read(m).decode("utf-8") for m in archive.namelist())
    folded = everything.casefold()
    for name in NAMES:
        for part in name.split():
            assert part.casefold() not in folded, part
            assert part.casefold().replace("í", "i").replace("á", "a") not in folded, part
    assert len(_cases(tmp_path / "P.qdpx")) == 2
    again = _import(tmp_path / "P.qdpx", tmp_path / "p.qualcode")
    assert len(qc.imported_notes(again)) == len(qc.imported_notes(qc.Project.open(tmp_path / "t.qualcode")))
    assert "Audio con ruido" in everything and "Nota sin fecha" in everything


def test_source_memos_keep_their_order_and_names(tmp_path):
    """The source's Description stays its Description and a NoteRef'd note stays a named note (with a text file,
    which is where QualCoder reads a note's text)."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    export_refi_qda(first, tmp_path / "a.qdpx")
    archive = zipfile.ZipFile(tmp_path / "a.qdpx")
    root = etree.fromstring(archive.read("project.qde"))
    source = root.find("q:Sources/q:TextSource[@name='ent_maria']", NS)
    assert source.find("q:Description", NS).text == "Memo de fuente: hecha en la escuela de María."
    ref = source.find("q:NoteRef", NS).get("targetGUID")
    note = root.find(f"q:Notes/q:Note[@guid='{ref}']", NS)
    assert note.get("name") == "Nota de fuente"
    member = "sources/" + note.get("plainTextPath").removeprefix("internal://")
    assert archive.read(member).decode("utf-8") == "Audio con ruido; María habló bajo."
    again = _import(tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    memos = qc.imported_notes(again).query("kind == 'source memo' and doc_id == 'ent_maria'")
    assert memos[["name", "text"]].values.tolist() == [
        ["ent_maria", "Memo de fuente: hecha en la escuela de María."], ["Nota de fuente", "Audio con ruido; María habló bajo."]]


def test_undated_notes_are_reported_and_dated_with_the_import_time_not_another_notes(tmp_path):
    """A note without creationDateTime: counted in the import report; exported with the time the project was
    imported (the documents' added_at), never with another note's or coding's date."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    report = qc.import_report(first).set_index("what")
    assert report.loc["a memo with no date", "count"] == 2  # the note, and the case memo (cases have no date)
    assert "Rosa" not in report.loc["a memo with no date", "where"]  # kinds, not names, in what is printed
    export_refi_qda(first, tmp_path / "a.qdpx")
    root = etree.fromstring(zipfile.ZipFile(tmp_path / "a.qdpx").read("project.qde"))
    note = root.find("q:Notes/q:Note[@name='Nota sin fecha']", NS)
    assert note.get("creationDateTime") == str(first.documents["added_at"].min())
    assert note.get("creationDateTime") != "2026-03-01T10:00:00Z"


def test_a_linked_note_with_a_place_keeps_it_and_the_link_is_reported(tmp_path):
    """A project memo a <Link> also ties to a coded selection stays the project's memo (not the coder's memo, its
    author kept) and the link is in the report; a note in a source Set is reported; a note tied only by a link to
    a coded selection is an annotation with its own author, not the coding's memo."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    notes = qc.imported_notes(first).set_index("name")
    assert notes.loc["Diario de campo", "kind"] == "project memo" and notes.loc["Diario de campo", "author"] == "Ana Pérez"
    assert (notes.loc["Comentario de José", "kind"], notes.loc["Comentario de José", "author"],
            notes.loc["Comentario de José", "quote"]) == ("annotation", "José Núñez", "El liderazgo")
    assert qc.decisions(first)["memo"].isna().all()
    report = qc.import_report(first).set_index("what")
    assert report.loc["a link between two items", "count"] == 1
    assert "memo-sel" in report.loc["a link between two items", "where"]
    assert report.loc["a note in a set", "count"] == 1


def test_a_pdf_read_as_its_text_is_reported_as_converted(tmp_path):
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    report = qc.import_report(first).set_index("what")
    row = report.loc["a PDFSource imported as the plain text the file gives for it"]
    assert (row["count"], row["outcome"]) == (1, "converted")
    # Its memo is named by the document it is on, so it comes back the same after an export.
    export_refi_qda(first, tmp_path / "a.qdpx")
    again = _import(tmp_path / "a.qdpx", tmp_path / "b.qualcode")
    for project in (first, again):
        memo = qc.imported_notes(project).query("doc_id == 'acta'")
        assert memo[["kind", "name", "text"]].values.tolist() == [["source memo", "acta", "Acta en PDF"]]


def test_the_position_check_counts_coded_selections_not_annotations(tmp_path):
    """The reading of positions is judged on coded selections: an annotation's name is a title, not its words."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    report = qc.import_report(first)
    said = report[report["what"].str.startswith("selection positions")]
    assert len(said) == 1 and " 1 of 1 selections" in said["why"].iloc[0]  # the coded one; the annotation not


def test_variable_types_go_out_as_they_came_in(tmp_path):
    """A Date variable is exported as Date (DateValue), an Integer as Integer; a Float, Boolean and DateTime column
    as such (a sibling built here); every value validates and comes back as it was."""
    first = _import(trial_qdpx(tmp_path / "t.qdpx"), tmp_path / "t.qualcode")
    export_refi_qda(first, tmp_path / "a.qdpx")
    root = etree.fromstring(zipfile.ZipFile(tmp_path / "a.qdpx").read("project.qde"))
    kinds = {v.get("name"): v.get("typeOfVariable") for v in root.findall("q:Variables/q:Variable", NS)}
    assert (kinds["Fecha"], kinds["Edad"], kinds["Escuela"]) == ("Date", "Integer", "Text")
    assert root.findall(".//q:DateValue", NS)[0].text == "2026-03-01"
    documents = first.documents.assign(
        puntaje=[3.5, 1e-05, None], activo=["true", "false", None], hora=["2026-03-01T10:00:00Z", None, None],
        mixto=["2026-03-01", "pronto", None])
    data, _ = qc.export.refi_qda.qde_bytes(first.codebook(), documents, qc.decisions(first), name="t")
    assert qc.export.validate_qde(data) == []
    root = etree.fromstring(data)
    kinds = {v.get("name"): v.get("typeOfVariable") for v in root.findall("q:Variables/q:Variable", NS)}
    assert (kinds["puntaje"], kinds["activo"], kinds["hora"], kinds["mixto"]) == (
        "Float", "Boolean", "DateTime", "Text")
    assert sorted(v.text for v in root.findall(".//q:FloatValue", NS)) == ["0.00001", "3.5"]
