from __future__ import annotations

from qualcode.io.docx import read_docx_text
from qualcode.io.text import parse_transcript


def test_read_docx_text_keeps_bold_labels_and_paragraph_order(tmp_path, make_docx):
    path = make_docx(tmp_path / "g.docx", ["**Moderadora:** ¿Cómo partimos?", "**Directora 6:** Con confianza.",
                                            "Y con tiempo."])
    text = read_docx_text(path)
    assert text == "Moderadora: ¿Cómo partimos?\n\nDirectora 6: Con confianza.\n\nY con tiempo."
    parsed = parse_transcript(text)
    assert [(t.speaker, text[t.start:t.end]) for t in parsed.turns] == [
        ("Moderadora", "¿Cómo partimos?"), ("Directora 6", "Con confianza.\n\nY con tiempo.")]


def test_read_docx_text_reads_two_column_tables_as_labelled_turns(tmp_path):
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "E", "¿Cómo fue?"
    table.cell(1, 0).text, table.cell(1, 1).text = "D3", "Muy sola al principio."
    document.save(str(tmp_path / "t.docx"))
    parsed = parse_transcript(read_docx_text(tmp_path / "t.docx"))
    assert [(t.speaker, parsed.text[t.start:t.end]) for t in parsed.turns] == [
        ("E", "¿Cómo fue?"), ("D3", "Muy sola al principio.")]


def test_read_docx_text_maps_manual_line_breaks_to_newlines(tmp_path):
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph("D1: primera línea")
    paragraph.add_run().add_break()
    paragraph.add_run("segunda línea")
    document.save(str(tmp_path / "b.docx"))
    assert read_docx_text(tmp_path / "b.docx") == "D1: primera línea\nsegunda línea"
