"""Codebook validation: cases C1–C5 of the bad-input catalogue."""

from __future__ import annotations

import textwrap

import pytest

import qualcode.codebook as cbm
from qualcode.errors import CodebookError, CodebookWarning

HEAD = "qualcode_codebook: 1\nid: demo\ncodes:\n"


def yaml_codebook(write, body: str):
    return write("demo.yaml", HEAD + textwrap.dedent(body))


def problems(info) -> list[str]:
    return list(info.value.issues["problem"])


GOOD = """\
  - id: collaboration
    label: {es: Colaboración, en: Collaboration}
    keywords: {es: [colaborar], en: [collaborate]}
    codes:
      - id: collaboration.trust
        label: {es: Confianza, en: Trust}
        keywords: {es: [confianza, "confi*"], en: [trust]}
"""


def test_valid_minimal_codebook_loads(write):
    codebook = cbm.load_codebook(yaml_codebook(write, GOOD))
    assert [c.id for c in codebook] == ["collaboration", "collaboration.trust"]
    assert codebook["collaboration.trust"].line == 8


# C1 -----------------------------------------------------------------------------
def test_c1_yaml_syntax_error_names_line_and_column(write):
    path = yaml_codebook(write, GOOD.replace("label: {es: Confianza, en: Trust}", "label: {es: Confianza, en: Trust"))
    with pytest.raises(CodebookError) as info:
        cbm.load_codebook(path)
    assert info.value.line == 10 and info.value.column is not None
    assert f"{path}:10:" in str(info.value) and "YAML syntax error" in str(info.value)
    assert "flow mapping started at line 9" in str(info.value)


def test_c1_bad_indentation_names_its_line(write):
    path = yaml_codebook(write, GOOD.replace("        keywords: {es: [confianza", "       keywords: {es: [confianza"))
    with pytest.raises(CodebookError, match=r"demo.yaml:\d+:\d+: YAML syntax error"):
        cbm.load_codebook(path)


# C2 -----------------------------------------------------------------------------
def test_c2_duplicate_ids_missing_fields_unknown_parents_reported_together(write):
    body = GOOD + """\
      - id: collaboration.trust
        label: {es: Otra, en: Other}
  - id: leadership.style
    label: {es: Estilo, en: Style}
  - id: ethics
    keywords: {es: [ética], en: [ethics]}
  - label: {es: Sin id, en: No id}
"""
    with pytest.raises(CodebookError) as info:
        cbm.load_codebook(yaml_codebook(write, body))
    found = problems(info)
    assert any("duplicate code id" in p and "line 8" in p for p in found)
    assert "unknown parent 'leadership'" in found
    assert any("missing required field 'label'" in p for p in found)
    assert "missing required field 'id'" in found
    assert len(info.value.issues) == 4
    assert "4 problem(s)" in str(info.value)


def test_c2_child_id_must_extend_its_parent(write):
    body = GOOD.replace("      - id: collaboration.trust", "      - id: leadership.trust")
    with pytest.raises(CodebookError, match="does not extend its parent 'collaboration'"):
        cbm.load_codebook(yaml_codebook(write, body))


def test_c2_cycle_in_a_spreadsheet_hierarchy(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "codes"
    book.active.append(["code_id", "parent_id", "label_es", "label_en"])
    book.active.append(["a", "b", "A", "A"])
    book.active.append(["b", "a", "B", "B"])
    book.save(tmp_path / "cycle.xlsx")
    with pytest.raises(CodebookError, match="cycle in the hierarchy: a -> b -> a"):
        cbm.load_codebook(tmp_path / "cycle.xlsx")


def test_c2_invalid_id_and_unknown_field_are_reported(write):
    body = GOOD.replace("id: collaboration.trust", "id: Collaboration.Trust").replace("    label: {es: Colab", "    lable: x\n    label: {es: Colab")
    with pytest.raises(CodebookError) as info:
        cbm.load_codebook(yaml_codebook(write, body))
    found = problems(info)
    assert any("invalid id 'Collaboration.Trust'" in p for p in found)
    assert any("unknown field 'lable' (did you mean 'label'?)" in p for p in found)


# C3 -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "keyword, message",
    [('""', "empty keyword"), ('"de la"', "only of stop words"), ('"/colabor(/"', "invalid regular expression"),
     ('"*"', "invalid pattern"), ('"col*bor"', "invalid pattern"), ('"co*"', "invalid pattern")],
)
def test_c3_bad_keywords_are_reported(write, keyword, message):
    body = GOOD.replace("keywords: {es: [colaborar]", f"keywords: {{es: [colaborar, {keyword}]")
    with pytest.raises(CodebookError) as info:
        cbm.load_codebook(yaml_codebook(write, body))
    assert any(message in p for p in problems(info)), problems(info)
    assert info.value.issues["field"].iloc[0] == "keywords.es"


def test_c3_regular_expression_keywords_are_accepted(write):
    body = GOOD.replace("keywords: {es: [colaborar]", 'keywords: {es: [colaborar, "/trabaj(o|ar) en red/"]')
    assert "/trabaj(o|ar) en red/" in cbm.load_codebook(yaml_codebook(write, body))["collaboration"].keywords["es"]


# C4 -----------------------------------------------------------------------------
def test_c4_keywords_only_in_one_language_warn_for_the_other(write):
    body = GOOD.replace(", en: [collaborate]}", "}").replace(", en: [trust]}", "}")
    codebook = cbm.load_codebook(yaml_codebook(write, body))
    with pytest.warns(CodebookWarning, match="keywords only in es but the corpus has 'en' documents"):
        gaps = cbm.warn_language_gaps(codebook, ["es", "en"])
    assert list(gaps["code_id"]) == ["collaboration", "collaboration.trust"]
    assert cbm.language_gaps(codebook, ["es"]).empty


# C5 -----------------------------------------------------------------------------
def test_c5_spreadsheet_with_merged_cells_blank_rows_and_extra_columns(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "codes"
    ws.append(["Libro de códigos del equipo"])
    ws.append([])
    ws.append(["Código", "Padre", "label_es", "label_en", "keywords_es", "Comentario interno"])
    ws.append(["collaboration", None, "Colaboración", "Collaboration", "colaborar; trabajo en red", "ok"])
    ws.append(["trust", "collaboration", "Confianza", "Trust", "confianza, confiar", ""])
    ws.append([None, None, None, None, None, None])
    ws.append(["respect", None, "Respeto", "Respect", "respeto", ""])
    ws.merge_cells("B5:B7")  # the parent spans trust, the blank row and respect
    book.save(tmp_path / "libro.xlsx")
    with pytest.warns(CodebookWarning, match=r"\['Comentario interno'\] are not codebook fields"):
        codebook = cbm.load_codebook(tmp_path / "libro.xlsx")
    assert [c.id for c in codebook] == ["collaboration", "collaboration.trust", "collaboration.respect"]
    assert codebook["collaboration"].keywords["es"] == ["colaborar", "trabajo en red"]
    assert codebook["collaboration.trust"].keywords["es"] == ["confianza", "confiar"]


def test_c5_spreadsheet_errors_name_rows(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["code_id", "parent_id", "label_es", "label_en"])
    book.active.append(["collaboration", None, "Colaboración", "Collaboration"])
    book.active.append(["trust", "colaboration", "Confianza", "Trust"])
    book.save(tmp_path / "libro.xlsx")
    with pytest.raises(CodebookError, match=r"libro.xlsx, row 3 \[trust\] unknown parent 'colaboration'"):
        cbm.load_codebook(tmp_path / "libro.xlsx")


def test_c5_spreadsheet_without_a_header_lists_expected_columns(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["nombre", "descripción"])
    book.save(tmp_path / "libro.xlsx")
    with pytest.raises(CodebookError, match="Expected columns: \\['code_id', 'parent_id'"):
        cbm.load_codebook(tmp_path / "libro.xlsx")
