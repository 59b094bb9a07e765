"""Codebook exchange: YAML ⇄ spreadsheet ⇄ REFI-QDA .qdc, files from other tools, and safe parsing (C6)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode.codebook as cbm
from qualcode.cli import app
from qualcode.errors import CodebookWarning, ExchangeFileError
from qualcode.io.safe import ZipLimits, read_zip_safely

REFI = Path(__file__).resolve().parents[1] / "data" / "refi"


@pytest.fixture(scope="module")
def study():
    return cbm.load_codebook("nic_study")


@pytest.mark.parametrize("suffix", ["xlsx", "qdc", "yaml"])
def test_round_trip_through_each_format_is_lossless(study, tmp_path, suffix):
    cbm.save_codebook(study, tmp_path / f"book.{suffix}")
    back = cbm.load_codebook(tmp_path / f"book.{suffix}")
    assert back == study
    assert back.version == study.version
    assert back.to_frame().equals(study.to_frame())


def test_yaml_to_sheet_to_yaml_to_qdc_chain_is_lossless(study, tmp_path):
    cbm.save_codebook(study, tmp_path / "a.xlsx")
    cbm.save_codebook(cbm.load_codebook(tmp_path / "a.xlsx"), tmp_path / "b.yaml")
    cbm.save_codebook(cbm.load_codebook(tmp_path / "b.yaml"), tmp_path / "c.qdc")
    assert cbm.load_codebook(tmp_path / "c.qdc") == study


@pytest.mark.parametrize("lang", ["es", "en"])
def test_written_qdc_validates_against_the_official_schema(study, tmp_path, lang):
    cbm.save_codebook(study, tmp_path / "book.qdc", lang=lang)
    data = (tmp_path / "book.qdc").read_bytes()
    assert cbm.validate_qdc(data) == []
    assert (b'name="Confianza"' in data) == (lang == "es")


def test_qdc_validation_catches_what_the_schema_forbids():
    data = (REFI / "taguette_codebook_from-tests.qdc").read_bytes()
    errors = cbm.validate_qdc(data)
    assert errors and "Sets" in errors[0]


def test_codebook_written_to_a_sheet_opens_with_header_and_filters(study, tmp_path):
    import openpyxl

    cbm.save_codebook(study, tmp_path / "book.xlsx")
    book = openpyxl.load_workbook(tmp_path / "book.xlsx")
    ws = book["codes"]
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref
    assert ws.cell(1, 1).value == "code_id" and ws.cell(1, 1).font.bold
    assert ws.max_row == len(study) + 1
    assert book["codebook"].cell(2, 2).value == "nic_study"


def test_atlasti_codebook_imports_with_colour_and_description():
    with pytest.warns(CodebookWarning, match="code groups"):
        codebook = cbm.load_codebook(REFI / "atlasti-win-23.4_codebook.qdc")
    code = codebook["code1"]
    assert (code.label["en"], code.color, code.definition["es"]) == ("code1", "#46AA00", "description")


def test_taguette_codebook_with_empty_sets_imports():
    codebook = cbm.load_codebook(REFI / "taguette_codebook_from-tests.qdc")
    assert [c.id for c in codebook] == ["interesting", "people", "interesting_places"]
    assert codebook["interesting_places"].label["es"] == "interesting\\places"


def test_nvivo_project_codebook_imports_its_nested_codes(tmp_path):
    qde = REFI / "nvivo-12.6_oltas0517_project.qde"
    target = tmp_path / "nvivo.qdc"
    target.write_bytes(qde.read_bytes())
    codebook = cbm.load_codebook(target)
    assert len(codebook) == 152
    assert max(c.depth for c in codebook) == 3
    assert codebook.to_frame()["code_id"].is_unique


def test_truncated_qdc_fails_with_its_line():
    with pytest.raises(ExchangeFileError, match=r"truncated.qdc:18: not well-formed XML") as info:
        cbm.load_codebook(REFI / "atlasti-win-23.4_codebook_truncated.qdc")
    assert info.value.line == 18


# C6 -----------------------------------------------------------------------------
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE CodeBook [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294" name="&secret;" isCodable="true"/></Codes></CodeBook>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294" name="&lol3;" isCodable="true"/></Codes></CodeBook>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS, XXE.decode().replace('encoding="UTF-8"', "").encode("utf-16")],
                         ids=["external-entity", "billion-laughs", "utf16-external-entity"])
def test_c6_xml_entities_are_refused_before_parsing(tmp_path, payload):
    path = tmp_path / "evil.qdc"
    path.write_bytes(payload)
    with pytest.raises(ExchangeFileError, match="DTD or entities"):
        cbm.load_codebook(path)


def zip_with(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../evil.txt", "Sources/../../evil.txt", "/etc/evil", "C:/evil.txt", "..\\evil.txt"])
def test_c6_zip_members_climbing_out_are_refused(tmp_path, name):
    path = tmp_path / "evil.qdpx"
    path.write_bytes(zip_with({"project.qde": b"<Project/>", name: b"x"}))
    with pytest.raises(ExchangeFileError, match="points outside the archive"):
        read_zip_safely(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_c6_zip_bomb_is_refused_by_ratio(tmp_path):
    path = tmp_path / "bomb.qdpx"
    path.write_bytes(zip_with({"project.qde": b"\0" * (64 * 1024 * 1024)}))
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(ExchangeFileError, match="possible zip bomb"):
        read_zip_safely(path)


def test_c6_zip_over_the_size_budget_is_refused(tmp_path):
    path = tmp_path / "big.qdpx"
    path.write_bytes(zip_with({"a.txt": b"a" * 3000, "b.txt": b"b" * 3000}, zipfile.ZIP_STORED))
    with pytest.raises(ExchangeFileError, match="beyond"):
        read_zip_safely(path, limits=ZipLimits(max_total=4000))
    assert set(read_zip_safely(path)) == {"a.txt", "b.txt"}


@pytest.mark.slow
def test_c6_zip_expanding_to_gigabytes_is_refused_early(tmp_path):
    path = tmp_path / "giga.qdpx"
    with (zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
          archive.open("project.qde", "w", force_zip64=True) as member):
        block = b"\0" * (16 * 1024 * 1024)
        for _ in range(192):  # 3 GiB of zeros, about 3 MB on disk
            member.write(block)
    with pytest.raises(ExchangeFileError, match="zip bomb"):
        read_zip_safely(path)



def test_qdc_code_fields_with_characters_xml_cannot_hold_read_back_with_their_ids(tmp_path):
    # A label with a lone surrogate or a NUL reached the qualcode: block as a YAML escape the reader refused, and
    # every code fell back to an id made from its name ("id does not extend its parent 'etiqueta'").
    import dataclasses

    import qualcode as qc

    book = qc.load_codebook("nic_study")
    odd = dataclasses.replace(book.codes[0], label={"es": "etiqueta\x00\ud800\uffff", "en": "label"},
                              definition={"es": "definición\x07", "en": "d"})
    book = dataclasses.replace(book, codes=[odd, *book.codes[1:]])
    from qualcode.errors import ReplacedCharactersWarning

    with pytest.warns(ReplacedCharactersWarning, match="code descriptions"):
        qc.save_codebook(book, tmp_path / "x.qdc")
    back = qc.load_codebook(tmp_path / "x.qdc")
    assert [c.id for c in back] == [c.id for c in book]
    assert back[odd.id].label["es"] == "etiqueta" and back[odd.id].definition["es"] == "definición"


def test_unreadable_qualcode_block_in_a_qdc_is_said_not_silent(tmp_path):
    import contextlib

    import pytest

    import qualcode as qc
    from qualcode.errors import CodebookWarning

    qc.save_codebook(qc.load_codebook("leadership"), tmp_path / "x.qdc")
    text = (tmp_path / "x.qdc").read_text(encoding="utf-8").replace("qualcode:\nid: leadership\n",
                                                                    'qualcode:\nid: "leadership\\uD800"\n', 1)
    (tmp_path / "y.qdc").write_text(text, encoding="utf-8")
    # The fallback ids may not make a valid codebook (then it is refused); either way the warning says why.
    with pytest.warns(CodebookWarning, match="qualcode: block is not valid YAML"), \
            contextlib.suppress(qc.errors.CodebookError):
        qc.load_codebook(tmp_path / "y.qdc")


_CATEGORY_QDC = '''<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="abc00001-0000-4000-8000-000000000001" name="Categoría" isCodable="false">
 <Code guid="abc00001-0000-4000-8000-000000000002" name="Hoja" isCodable="true"/></Code>
<Code guid="abc00001-0000-4000-8000-000000000003" name="Suelta"/>
</Codes></CodeBook>'''


def test_not_codable_category_stays_not_codable_through_convert_and_yaml(tmp_path):
    """``codebook convert cb.qdc out.qdc`` (and through YAML) keeps isCodable="false" on a category; a code without
    the attribute, or codable, stays codable."""
    (tmp_path / "cb.qdc").write_text(_CATEGORY_QDC, encoding="utf-8")
    runner = CliRunner()
    for source, target in (("cb.qdc", "out.qdc"), ("cb.qdc", "cb.yaml"), ("cb.yaml", "again.qdc")):
        result = runner.invoke(app, ["codebook", "convert", str(tmp_path / source), str(tmp_path / target)])
        assert result.exit_code == 0, result.output
    for written in ("out.qdc", "again.qdc"):
        text = (tmp_path / written).read_text(encoding="utf-8")
        assert 'name="Categoría" isCodable="false"' in text
        assert 'name="Hoja" isCodable="true"' in text and 'name="Suelta" isCodable="true"' in text
    assert "codable: false" in (tmp_path / "cb.yaml").read_text(encoding="utf-8")
