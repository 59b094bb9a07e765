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


# Word content outside plain runs (issue 16, kind 1) -----------------------------------------

import re  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import qualcode as qc  # noqa: E402
from qualcode.errors import TranscriptFormatError  # noqa: E402
from qualcode.io.docx import read_docx  # noqa: E402

REAL = Path(__file__).parents[1] / "data" / "real"
NS = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
      'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:v="urn:schemas-microsoft-com:vml"')
CHANGE = 'w:id="9" w:author="Revisora" w:date="2024-05-02T10:00:00Z"'


def word_file(path: Path, body: str) -> Path:
    """A real .docx (python-docx's template) whose body is ``body``, raw WordprocessingML."""
    import docx
    from lxml import etree

    document = docx.Document()
    section = document.element.body[-1]
    for child in list(etree.fromstring(f"<w:body {NS}>{body}</w:body>")):
        section.addprevious(child)
    document.save(str(path))
    return path


def r(text: str, props: str = "") -> str:
    return f'<w:r>{f"<w:rPr>{props}</w:rPr>" if props else ""}<w:t xml:space="preserve">{text}</w:t></w:r>'


def p(*inline: str, props: str = "") -> str:
    return f'<w:p>{f"<w:pPr>{props}</w:pPr>" if props else ""}{"".join(inline)}</w:p>'


def field(code: str, *result: str) -> str:
    return ('<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText xml:space="preserve">{code}</w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + "".join(result)
            + '<w:r><w:fldChar w:fldCharType="end"/></w:r>')


def text_box(*paragraphs: str) -> str:
    """A text box as Word 2010+ writes it: a DrawingML Choice and a VML Fallback holding the same text."""
    content = f"<w:txbxContent>{''.join(paragraphs)}</w:txbxContent>"
    return ('<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData>'
            f'<wps:wsp><wps:txbx>{content}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>'
            f'</mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{content}</v:textbox></v:shape></w:pict>'
            '</mc:Fallback></mc:AlternateContent></w:r>')


def row(*cells: str, props: str = "") -> str:
    return (f'<w:tr>{f"<w:trPr>{props}</w:trPr>" if props else ""}'
            + "".join(f"<w:tc>{c if c.startswith('<') else p(r(c))}</w:tc>" for c in cells) + "</w:tr>")


def table(*rows: str) -> str:
    return f"<w:tbl>{''.join(rows)}</w:tbl>"


def turns(path: Path) -> list[tuple[str | None, str, str]]:
    corpus, report = qc.load_corpus(path)
    assert report.n_errors == 0, report["message"].tolist()
    segs = corpus.segments
    for doc_id, start, end, text in segs[["doc_id", "start", "end", "text"]].itertuples(index=False):
        assert corpus.text(doc_id)[start:end] == text
    speakers = segs["speaker"].astype(object).where(segs["speaker"].notna(), None)
    return list(zip(speakers, segs["speaker_role"], segs["text"], strict=True))


def test_word_tracked_changes_are_read_as_accepted_and_reported():
    _corpus, report = qc.load_corpus(REAL / "tracked_changes.docx")
    assert turns(REAL / "tracked_changes.docx") == [
        ("ENTREVISTADORA", "interviewer", "¿Cada cuánto se reúne la red de directoras?"),
        ("DIRECTORA 2", "participant",
         "Nos juntamos cada dos semanas en el jardín y revisamos los datos del ciclo de mejora."),
        ("ENTREVISTADORA", "interviewer", "¿Y quién lleva el registro de los acuerdos?"),
        ("DIRECTORA 2", "participant", "La educadora de párvulos, porque ella maneja la planilla."),
    ]
    row_ = report.iloc[0]
    assert row_["status"] == "warning"
    assert ("tracked_changes.docx: Word tracked changes read as if accepted (2 insertion(s) kept, 1 deletion(s) "
            "left out)") in row_["message"]


def test_word_table_header_row_is_not_a_turn():
    got = turns(REAL / "table_header_row.docx")
    assert ("Hablante", "participant", "Intervención") not in got
    assert [s for s, _, _ in got[1:]] == ["Entrevistadora", "Directora Carmen"] * 5
    assert got[1] == ("Entrevistadora", "interviewer",
                      "Carmen, ¿qué significa para usted trabajar colaborativamente con otros jardines?")
    _, report = qc.load_corpus(REAL / "table_header_row.docx")
    assert "table header row 'Hablante | Intervención' not read as a turn" in report["message"].iloc[0]


@pytest.mark.parametrize("header", [
    row("Speaker", "Text"), row("Nombre", "Texto"), row("Hablante:", "Intervención"),
    row("Tiempo", "Hablante", "Texto"),
    row("Persona", "Lo que dijo", props="<w:tblHeader/>"),
    row(p(r("Quién", "<w:b/>")), p(r("Lo que dijo", "<w:b/>"))),
])
def test_word_table_header_row_variants_are_not_turns(tmp_path, header):
    three = header.count("<w:tc>") == 3
    body = table(header, row(*(["00:00:05"] if three else []), "E", "¿Cómo partieron?"),
                 row(*(["00:00:09"] if three else []), "D3", "Con miedo."))
    got = turns(word_file(tmp_path / "h.docx", body))
    assert [(s, t) for s, _, t in got] == [("E", "¿Cómo partieron?"), ("D3", "Con miedo.")]


def test_word_first_row_that_is_a_turn_is_kept(tmp_path):
    body = table(row("Entrevistadora", "Hola"), row("Directora", "Hola, ¿partimos?"),
                 row("Entrevistadora", "Sí."))
    assert [t for _, _, t in turns(word_file(tmp_path / "t.docx", body))] == ["Hola", "Hola, ¿partimos?", "Sí."]


def test_word_containers_outside_plain_runs_are_read_once_in_document_order(tmp_path):
    body = "".join([
        p(r("E: "), '<w:hyperlink w:history="1">', r("¿Vio"), "</w:hyperlink>", '<w:r><w:tab/></w:r>',
          '<w:smartTag w:uri="u" w:element="place">', r("el informe"), "</w:smartTag>", r(" de "),
          '<w:fldSimple w:instr=" DATE ">', r("2024"), "</w:fldSimple>", r("?")),
        p(r("D1: Sí, lo leí "), field(' HYPERLINK "https://x.cl" ', r("en línea")), r(" "),
          '<w:sdt><w:sdtPr><w:alias w:val="x"/></w:sdtPr><w:sdtContent>', r("con el equipo"),
          "</w:sdtContent></w:sdt>",
          f"<w:moveFrom {CHANGE}>", r(" ayer"), "</w:moveFrom>",
          f"<w:del {CHANGE}><w:r><w:delText> nunca</w:delText></w:r></w:del>",
          f"<w:moveTo {CHANGE}>", r(" entero"), "</w:moveTo>", f"<w:ins {CHANGE}>", r(" y completo"), "</w:ins>",
          '<w:r><w:t>.</w:t><w:br/><w:t xml:space="preserve">Es e</w:t><w:noBreakHyphen/><w:t>mail, co</w:t>'
          '<w:softHyphen/><w:t>rreo</w:t><w:sym w:font="Wingdings" w:char="F04A"/><w:t>.</w:t></w:r>',
          r(" secreto", "<w:vanish/>"), '<w:r><w:footnoteReference w:id="1"/></w:r>',
          field(" PAGE ", field(" NUMPAGES ", r("99"))), text_box(p(r("Cuadro: dentro del cuadro.")))),
        table(row("E", "¿Y la tabla?"),
              row("D1", p(r("Tiene")) + table(row("dos", "celdas")) + p(r("anidadas."))),
              row("D1", "Fila borrada.", props=f"<w:del {CHANGE}/>")),
        p(r("D1: Primera parte"), props=f"<w:rPr><w:del {CHANGE}/></w:rPr>"), p(r(" y segunda.")),
        '<w:sdt><w:sdtContent>' + p(r("E: Gracias.")) + "</w:sdtContent></w:sdt>",
    ])
    word = read_docx(word_file(tmp_path / "c.docx", body))
    assert word.text == (
        "E: ¿Vio\tel informe de 2024?\n\n"
        "D1: Sí, lo leí en línea con el equipo entero y completo.\nEs e-mail, correo.99\n\n"
        "Cuadro: dentro del cuadro.\n\n"
        "E: ¿Y la tabla?\n\nD1: Tiene\ndos celdas\nanidadas.\n\n"
        "D1: Primera parte y segunda.\n\nE: Gracias.")
    assert "secreto" not in word.text and "ayer" not in word.text and "nunca" not in word.text
    assert any("1 run(s) of hidden text" in w for w in word.warnings)
    assert any("1 insertion(s) kept, 3 deletion(s) left out, 1 move(s)" in w for w in word.warnings)
    assert "1 text box(es) read after the paragraph that holds them" in word.notes
    assert "1 footnote(s) not read: notes and comments are not transcript text" in word.notes


def test_word_file_that_is_another_office_document_is_refused(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.save(tmp_path / "hoja.xlsx")
    (tmp_path / "hoja.docx").write_bytes((tmp_path / "hoja.xlsx").read_bytes())
    with pytest.raises(TranscriptFormatError, match="not a Word document"):
        read_docx(tmp_path / "hoja.docx")


def test_word_document_part_with_a_dtd_is_refused(tmp_path):
    import zipfile

    good = word_file(tmp_path / "g.docx", p(r("E: hola")))
    bad = tmp_path / "dtd.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1)
            dst.writestr(info, data)
    with pytest.raises(TranscriptFormatError, match="damaged"):
        read_docx(bad)


WORDS = st.lists(st.sampled_from(["casa", "red", "jardín", "niños", "datos", "ciclo", "mejora", "año", "¿por",
                                  "qué?", "sí,", "e-mail", "educadora"]), min_size=1, max_size=5)
WRAPPERS = {  # containers whose text Word shows; each takes the XML of runs and wraps it
    "ins": lambda x: f"<w:ins {CHANGE}>{x}</w:ins>",
    "moveTo": lambda x: f"<w:moveTo {CHANGE}>{x}</w:moveTo>",
    "hyperlink": lambda x: f"<w:hyperlink>{x}</w:hyperlink>",
    "smartTag": lambda x: f'<w:smartTag w:element="x">{x}</w:smartTag>',
    "customXml": lambda x: f'<w:customXml w:element="x">{x}</w:customXml>',
    "sdt": lambda x: f"<w:sdt><w:sdtPr/><w:sdtContent>{x}</w:sdtContent></w:sdt>",
    "fldSimple": lambda x: f'<w:fldSimple w:instr=" REF x ">{x}</w:fldSimple>',
    "field": lambda x: field(" REF x ", x),
    "alternate": lambda x: (f'<mc:AlternateContent><mc:Choice Requires="wps">{x}</mc:Choice>'
                            f"<mc:Fallback>{x}</mc:Fallback></mc:AlternateContent>"),
}
HIDDEN = {
    "del": lambda t: f"<w:del {CHANGE}><w:r><w:delText>{t}</w:delText></w:r></w:del>",
    "moveFrom": lambda t: f"<w:moveFrom {CHANGE}>{r(t)}</w:moveFrom>",
    "vanish": lambda t: r(t, "<w:vanish/>"),
    "code": lambda t: f'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>{t}</w:instrText></w:r>'
                      '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
}
PIECE = st.tuples(st.lists(st.sampled_from(sorted(WRAPPERS)), max_size=2), WORDS,
                  st.sampled_from(sorted(HIDDEN)), WORDS)
TURN = st.tuples(st.sampled_from(["table", "table with header", "paragraph", "text box"]),
                 st.lists(PIECE, min_size=1, max_size=4))


def _visible(wrappers: list[str], text: str) -> str:
    xml = r(text)
    for name in wrappers:
        xml = WRAPPERS[name](xml)
    return xml


@settings(max_examples=25, deadline=None)
@given(st.lists(TURN, min_size=1, max_size=6))
def test_word_word_count_equals_the_visible_words_of_the_source(tmp_path_factory, document):
    body, expected = [], 0
    for number, (shape, pieces) in enumerate(document):
        speech = []
        for visible, words, hidden, unseen in pieces:
            speech.append(_visible(visible, " " + " ".join(words)) + HIDDEN[hidden](" " + " ".join(unseen)))
            expected += len(words)
        label = "E" if number % 2 == 0 else "D1"
        if shape.startswith("table"):
            header = [row("Hablante", "Intervención")] if shape.endswith("header") else []
            body.append(table(*header, row(label, p(*speech))))
        elif shape == "text box":
            body.append(p(r(f"{label}:"), *speech[:1], text_box(p(*speech[1:]))))
        else:
            body.append(p(r(f"{label}:"), *speech))
    path = word_file(tmp_path_factory.mktemp("w") / "random.docx", "".join(body))
    corpus, report = qc.load_corpus(path)
    assert report.n_errors == 0
    assert int(corpus.documents["n_words"].iloc[0]) == expected
    assert not re.search(r"\b(E|D1):", " ".join(corpus.segments["text"]))


def test_word_speaker_cell_merged_down_labels_every_row_it_spans(tmp_path):
    merged = '<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p/></w:tc>'
    body = table(row("Hablante", "Intervención"),
                 row(f'<w:tcPr><w:vMerge w:val="restart"/></w:tcPr>{p(r("E"))}', "¿Cómo partió?"),
                 f"<w:tr>{merged}<w:tc>{p(r('¿Y después?'))}</w:tc></w:tr>",
                 row("D2", "Después, bien."))
    got = turns(word_file(tmp_path / "m.docx", body))
    assert [(s, t) for s, _, t in got] == [("E", "¿Cómo partió?"), ("E", "¿Y después?"), ("D2", "Después, bien.")]
