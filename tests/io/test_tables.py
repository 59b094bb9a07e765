from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.errors import InputFileError
from qualcode.io.tables import read_table

SURVEY = (
    "ticket_id,participant,workshop,q1,q2\n"
    'T001,D01,1,"Me llevo la idea de medir, aunque sea poco.",Tiempo.\n'
    'T002,D02,1,"Que no estoy sola.\nLo dijo la tía Gloria: ""somos red"".",\n'
    "T003,PA1,2,,-\n"
)


def test_load_corpus_reads_survey_answers_one_segment_per_answer(tmp_path, write):
    write("tickets.csv", SURVEY)
    corpus, report = qc.load_corpus(tmp_path / "tickets.csv",
                                    survey=qc.SurveyColumns(id="ticket_id", text=["q1", "q2"], speaker="participant"))
    assert report.n_errors == 0
    segs = corpus.segments
    assert list(segs["doc_id"]) == ["tickets#T001", "tickets#T001", "tickets#T002", "tickets#T003"]
    assert list(segs["field"]) == ["q1", "q2", "q1", "q2"]
    assert segs["text"].iloc[2] == 'Que no estoy sola.\nLo dijo la tía Gloria: "somos red".'
    assert list(segs["speaker"]) == ["D01", "D01", "D02", "PA1"]
    assert list(segs["workshop"]) == [1, 1, 1, 2]
    for doc_id, start, end, text in segs[["doc_id", "start", "end", "text"]].itertuples(index=False):
        assert corpus.text(doc_id)[start:end] == text


def test_load_corpus_survey_with_unknown_column_names_the_close_one(tmp_path, write):
    write("tickets.csv", SURVEY)
    _, report = qc.load_corpus(tmp_path / "tickets.csv", survey=qc.SurveyColumns(id="ticket", text=["q1"]))
    assert report.n_errors == 1
    assert "did you mean 'ticket_id'" in report["message"].iloc[0]


def test_load_corpus_refuses_a_csv_without_survey_columns(tmp_path, write):
    write("tickets.csv", SURVEY)
    _, report = qc.load_corpus(tmp_path / "tickets.csv")
    assert report["error"].iloc[0] == "UnsupportedFormatError" and "SurveyColumns" in report["message"].iloc[0]


def test_read_table_keeps_row_numbers_and_text_cells(tmp_path, write):
    path = write("a.csv", "doc_id;round\n\nd01;01\nd02;2\n")
    frame = read_table(path)
    assert list(frame.index) == [3, 4]
    assert list(frame["round"]) == ["01", "2"]


def test_read_table_refuses_other_suffixes(tmp_path, write):
    with pytest.raises(InputFileError, match=r"\.ods"):
        read_table(write("a.ods", "x"))


def test_read_table_counts_lines_of_multiline_cells(tmp_path, write):
    frame = read_table(write("m.csv", 'id,text\nT1,"dos\nlíneas"\nT2,una\n'))
    assert list(frame.index) == [2, 4]


def test_read_table_names_the_row_with_too_many_cells(tmp_path, write):
    with pytest.raises(InputFileError, match=r"m.csv:3: this row has 3 cells"):
        read_table(write("m.csv", "id,text\nT1,bien\nT2,mal,extra\n"))


# Excel "Unicode Text" and other delimited exports (issue 16, kind 6) ----------------------------

from pathlib import Path  # noqa: E402

from qualcode.io.encoding import read_text  # noqa: E402
from qualcode.io.tables import read_attributes, sniff_table  # noqa: E402

REAL = Path(__file__).parents[1] / "data" / "real"
TICKETS = qc.SurveyColumns(id="ticket_id", text=["q1_aprendizaje", "q2_dificultad"], speaker="participante")
EXPECTED = [
    ("encuesta#T01", "D1", "q1_aprendizaje", "Que los datos, aunque sean pocos, ordenan la conversación."),
    ("encuesta#T01", "D1", "q2_dificultad", "El tiempo; siempre el tiempo."),
    ("encuesta#T02", "D2", "q1_aprendizaje", 'Aprendí a preguntar "¿por qué?" cinco veces.\nY a no culpar a las familias.'),
    ("encuesta#T02", "D2", "q2_dificultad", "Conectarme desde el celular, se cortaba."),
    ("encuesta#T03", "D3", "q1_aprendizaje", "-"),
    ("encuesta#T03", "D3", "q2_dificultad", "Nada, todo bien."),
    ("encuesta#T04", "D4", "q1_aprendizaje", "=Mejor que el año pasado"),
    ("encuesta#T04", "D4", "q2_dificultad", "Que la reunión fue un viernes a las 17:00, con 30°."),
]


def _answers(path, survey=TICKETS):
    corpus, report = qc.load_corpus(path, survey=survey)
    assert report.n_errors == 0, report["message"].tolist()
    segs = corpus.segments
    for doc_id, start, end, text in segs[["doc_id", "start", "end", "text"]].itertuples(index=False):
        assert corpus.text(doc_id)[start:end] == text
    got = [(d.replace("encuesta_unicode", "encuesta"), s, f, t)
           for d, s, f, t in segs[["doc_id", "speaker", "field", "text"]].itertuples(index=False)]
    return corpus, report, got


def test_excel_unicode_text_saved_as_txt_with_survey_is_read_as_the_survey():
    corpus, report, got = _answers(REAL / "encuesta_unicode.txt")
    assert got == EXPECTED
    assert list(corpus.segments["speaker_role"].unique()) == ["participant"]
    assert list(corpus.documents["comuna"]) == ["La Pintana", "Puente Alto", "San Bernardo", "La Florida"]
    assert report.iloc[0]["message"] == "4 responses, 8 answers"


def test_excel_unicode_text_big_endian_and_tsv_are_read_as_the_survey(tmp_path):
    text = (REAL / "encuesta_unicode.txt").read_bytes().decode("utf-16")
    (tmp_path / "encuesta.txt").write_bytes(b"\xfe\xff" + text.encode("utf-16-be"))
    (tmp_path / "encuesta.tsv").write_bytes(text.encode("utf-8"))
    for name in ("encuesta.txt", "encuesta.tsv"):
        assert _answers(tmp_path / name)[2] == EXPECTED


def test_excel_semicolon_csv_in_windows_1252_with_commas_in_answers_is_read(write):
    def cell(text):  # as Excel writes it: quoted only when it must be
        return f'"{text.replace(chr(34), 2 * chr(34))}"' if any(c in text for c in '\n";') else text

    rows = ["ticket_id;participante;comuna;q1_aprendizaje;q2_dificultad"]
    for ticket, speaker, _, answer in EXPECTED[::2]:
        second = next(t for d, _, f, t in EXPECTED if d == ticket and f == "q2_dificultad")
        rows.append(f"{ticket.split('#')[1]};{speaker};Ñuñoa;{cell(answer)};{cell(second)}")
    path = write("encuesta.csv", "\r\n".join(rows) + "\r\n", encoding="cp1252")
    assert _answers(path)[2] == EXPECTED


def test_excel_tab_table_saved_as_txt_without_survey_says_to_pass_survey():
    with pytest.warns(qc.errors.NoSpeakerLabelsWarning):
        _, report = qc.load_corpus(REAL / "encuesta_unicode.txt")
    row = report.iloc[0]
    assert row["status"] == "warning"
    assert ("encuesta_unicode.txt: looks like a table, not a transcript (tab-separated, 4 rows, columns ticket_id, "
            "participante, comuna, q1_aprendizaje, q2_dificultad); to read it as survey answers, load it with "
            "survey=SurveyColumns(id='ticket_id', text=['q1_aprendizaje', 'q2_dificultad'])") in row["message"]
    assert "speakers=" not in row["message"]  # naming speakers would not help a table


def test_excel_survey_txt_next_to_transcripts_only_the_table_is_read_as_survey(tmp_path, write):
    (tmp_path / "encuesta.txt").write_bytes((REAL / "encuesta_unicode.txt").read_bytes())
    write("d01.txt", "E: ¿Qué aprendió?\tHola\n\nD1: Que los datos ordenan, aunque sean pocos.\n")
    corpus, report = qc.load_corpus(tmp_path, survey=TICKETS)
    assert report.n_errors == 0
    assert sorted(corpus.documents["format"]) == ["csv"] * 4 + ["txt"]
    assert list(corpus.segments.query("doc_id == 'd01'")["speaker"]) == ["E", "D1"]


def test_excel_survey_csv_with_a_pasted_cp1252_cell_names_the_line(write):
    data = "ticket_id,q1\nT1,Peñalolén\nT2,".encode() + "Después".encode("cp1252") + b"\n"
    path = write("mix.csv", data)
    _, report = qc.load_corpus(path, survey=qc.SurveyColumns(id="ticket_id", text=["q1"]))
    assert report.iloc[0]["status"] == "warning"
    assert "mix.csv, line 3: not UTF-8 (other lines are)" in report.iloc[0]["message"]


def test_excel_sniff_table_never_takes_a_shipped_transcript_for_a_table():
    folder = Path(__file__).parents[2] / "data_samples" / "transcripts"
    paths = [p for p in folder.iterdir() if p.suffix in (".txt", ".md", ".vtt", ".srt")]
    assert paths
    for path in paths:
        assert sniff_table(read_text(path)[0]) is None, path.name


def test_excel_unicode_text_with_a_misspelt_survey_column_names_the_close_one():
    _, report = qc.load_corpus(REAL / "encuesta_unicode.txt",
                               survey=qc.SurveyColumns(id="ticket_id", text=["q1_aprendisaje"]))
    assert report.iloc[0]["error"] == "InputFileError"
    assert "did you mean 'q1_aprendizaje'" in report.iloc[0]["message"]


def test_excel_attributes_sheet_with_a_pasted_cp1252_cell_names_the_line(write):
    data = "doc_id;district\nd01;Peñalolén\nd02;".encode() + "Ñuñoa".encode("cp1252") + b"\n"
    frame, warnings = read_attributes(write("attrs.csv", data))
    assert list(frame["district"]) == ["Peñalolén", "Ñuñoa"]
    assert any("attrs.csv, line 3: not UTF-8 (other lines are)" in w for w in warnings)


def test_excel_transcript_with_tabs_after_labels_is_not_taken_for_a_table(write):
    path = write("tabs.txt", "E:\t¿Cómo partió?\nD1:\tCon miedo.\nE:\t¿Y ahora?\nD1:\tMejor.\n")
    corpus, report = qc.load_corpus(path)
    assert report.iloc[0]["status"] == "ok" and "table" not in report.iloc[0]["message"]
    assert list(corpus.segments["speaker"]) == ["E", "D1", "E", "D1"]


def test_survey_remedy_followed_literally_reads_every_answer_column(tmp_path):
    # Short answers ("Nada", "Más tiempo") are answers too: a remedy that names only the longest column loses them.
    path = tmp_path / "encuesta.txt"
    path.write_text("id\tcomuna\tpregunta1\tpregunta2\n"
                    "R01\tMaipú\tMe gustó mucho el taller de hoy\tNada\n"
                    "R02\tMaipú\tAprendí a medir\tMás tiempo\n"
                    "R03\tLa Florida\tNo sé bien\tOtra sesión\n", encoding="utf-16")
    with pytest.warns(qc.errors.NoSpeakerLabelsWarning):
        _, report = qc.load_corpus(path)
    message = report.iloc[0]["message"]
    assert "text=['pregunta1', 'pregunta2']" in message and "comuna would be kept as attributes" in message
    corpus, _ = qc.load_corpus(path, survey=qc.SurveyColumns(id="id", text=["pregunta1", "pregunta2"]))
    assert len(corpus.segments) == 6
    assert set(corpus.documents["comuna"]) == {"Maipú", "La Florida"}
