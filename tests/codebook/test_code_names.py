"""How codes are named: short ids under several parents in a spreadsheet, and a code's name as its keyword."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.codebook.validate import check_keyword
from qualcode.errors import CodebookError

runner = CliRunner()


# -- short ids repeated under different parents (the README: "short ids under a parent are completed") ----------

@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_short_ids_repeated_under_different_parents_resolve_by_their_own_parent(tmp_path, suffix):
    rows = [["code_id", "parent_id", "label_en", "keywords_es"],
            ["collaboration", "", "Collaboration", ""],
            ["trust", "collaboration", "Trust in peers", "confianza"],
            ["leadership", "", "Leadership", ""],
            ["trust", "leadership", "Trust in the leader", "credibilidad"],
            ["sharing", "collaboration.trust", "Sharing", "compartir"]]
    path = tmp_path / f"codes{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    else:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "codes"
        for row in rows:
            sheet.append(row)
        book.save(path)
    codebook = qc.load_codebook(path)
    labels = {c.id: c.label["en"] for c in codebook}
    assert labels == {"collaboration": "Collaboration", "collaboration.trust": "Trust in peers",
                      "collaboration.trust.sharing": "Sharing", "leadership": "Leadership",
                      "leadership.trust": "Trust in the leader"}
    assert codebook["leadership.trust"].keywords["es"] == ["credibilidad"]


def test_short_parent_shared_by_several_codes_is_refused_naming_rows_and_full_ids(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code_id,parent_id,label_en\ncollaboration,,Collaboration\ntrust,collaboration,Peers\n"
                    "leadership,,Leadership\ntrust,leadership,Leader\nsharing,trust,Sharing\n", encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        qc.load_codebook(path)
    message = str(caught.value)
    assert "row 6: parent 'trust' is the short id of 2 codes (collaboration.trust, leadership.trust, rows 3, 5)" \
        in message
    assert "write the full id" in message


def test_chains_of_short_ids_still_complete(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code_id,parent_id,label_en\na,,A\nb,a,B\nc,b,C\nd,,D\n", encoding="utf-8")
    assert [c.id for c in qc.load_codebook(path)] == ["a", "a.b", "a.b.c", "d"]


# -- a code's own name as its keyword, when spaCy lists the word as a stop word ---------------------------------

@pytest.mark.parametrize("code_id, label, keyword, lang", [
    ("acuerdos", "Acuerdos", "acuerdo", "es"),
    ("primeros_pasos", "Primeros pasos", "primeros", "es"),
    ("verdad", "Decir la verdad", "verdad", "es"),
    ("seriousness", "Serious", "serious", "en"),
])
def test_code_name_that_spacy_calls_a_stop_word_is_accepted_as_its_keyword(tmp_path, code_id, label, keyword,
                                                                         lang):
    path = tmp_path / "codes.yaml"
    path.write_text(f"qualcode_codebook: 1\nid: x\ncodes:\n  - id: {code_id}\n    label: {{{lang}: {label}}}\n"
                    f"    keywords: {{{lang}: [{keyword}]}}\n", encoding="utf-8")
    codebook = qc.load_codebook(path)
    assert codebook[code_id].keywords[lang] == [keyword]


def test_stop_words_that_are_not_the_codes_name_are_still_refused():
    assert check_keyword("de la", "es", name=["acuerdos", "Acuerdos"]) is not None
    assert check_keyword("acuerdo", "es", name=["liderazgo", "Liderazgo"]) is not None
    assert check_keyword("the", "en", name=["theme"]) is not None


def test_keyword_named_after_its_code_finds_the_word(tmp_path, sample_corpus):
    path = tmp_path / "codes.yaml"
    path.write_text("qualcode_codebook: 1\nid: x\ncodes:\n  - id: acuerdos\n    label: {es: Acuerdos}\n"
                    "    keywords: {es: [acuerdo]}\n", encoding="utf-8")
    out = qc.KeywordCoder(lang="es").fit(qc.load_codebook(path)).suggest(sample_corpus.segments)
    assert len(out) > 0 and out["evidence"].str.contains("(acuerdo)", regex=False).all()


# -- validate says which suggestion methods the codebook supports ------------------------------------------------

def test_validate_names_the_methods_a_codebook_supports(tmp_path):
    result = runner.invoke(app, ["codebook", "validate", "nic_study"])
    assert result.exit_code == 0, result.output
    assert "suggestion methods (qualcode suggest --methods): embedding, keyword; not learned:" in result.output
    path = tmp_path / "labels.yaml"
    path.write_text("qualcode_codebook: 1\nid: x\ncodes:\n  - id: a\n    label: {es: Confianza}\n"
                    "    definition: {es: Confiar en los colegas.}\n", encoding="utf-8")
    result = runner.invoke(app, ["codebook", "validate", str(path)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "suggestion methods (qualcode suggest --methods): embedding; not keyword: no code has keywords" in output
    assert "no code has example quotes" in output


@pytest.mark.parametrize("rows, shown", [
    ("a,c,A\nb,a,B\nc,b,C\n", "cycle in the hierarchy"),
    ("a,a,A\n", "a"),
])
def test_cycles_of_short_parents_are_reported_not_completed(tmp_path, rows, shown):
    path = tmp_path / "codes.csv"
    path.write_text("code_id,parent_id,label_en\n" + rows, encoding="utf-8")
    with pytest.raises(CodebookError) as caught:
        qc.load_codebook(path)
    assert shown in str(caught.value) and "a.b" not in str(caught.value)
