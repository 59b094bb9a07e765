"""The bad-input catalogue (T1–T11): each case is handled or refused clearly, and the rest of the batch loads."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import AttributesError, NoSpeakerLabelsWarning

GOOD = "ENTREVISTADORA: ¿Cómo se sintió este año?\nD1: Al principio muy sola, la verdad.\n"


def load(tmp_path, **kwargs):
    return qc.load_corpus(tmp_path, **kwargs)


def status(report, name):
    rows = report[report["path"].str.endswith(name)]
    assert len(rows) == 1, report
    return rows.iloc[0]


# T1 ---------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"  \n\n\t  \r\n"])
def test_t1_empty_file_is_reported_and_the_rest_loads(tmp_path, write, content):
    write("buena.txt", GOOD)
    write("vacia.txt", content)
    corpus, report = load(tmp_path)
    row = status(report, "vacia.txt")
    assert row["status"] == "error" and row["error"] == "EmptyDocumentError"
    assert "vacia.txt" in row["message"] and "empty" in row["message"]
    assert list(corpus.documents["doc_id"]) == ["buena"]


# T2 ---------------------------------------------------------------------------
def test_t2_image_renamed_txt_is_refused(tmp_path, write):
    write("buena.txt", GOOD)
    write("foto.txt", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 20)
    corpus, report = load(tmp_path)
    row = status(report, "foto.txt")
    assert row["error"] == "BinaryFileError" and "JPEG image" in row["message"]
    assert len(corpus.documents) == 1


# T3 ---------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_t3_windows_1252_and_latin1_decode_without_mojibake(tmp_path, write, encoding):
    text = "ENTREVISTADORA: ¿Qué pasó con la niña?\nD1: ¡Año difícil! Acción, compañía, pequeñitos.\n"
    write("cp.txt", text, encoding=encoding)
    corpus, report = load(tmp_path)
    assert report.n_errors == 0
    assert list(corpus.segments["text"]) == ["¿Qué pasó con la niña?", "¡Año difícil! Acción, compañía, pequeñitos."]
    assert "Ã" not in corpus.text("cp")


# T4 ---------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le"])
@pytest.mark.parametrize("newline", ["\r\n", "\r", "mixed"])
def test_t4_bom_utf16_and_line_endings(tmp_path, write, encoding, newline):
    lines = ["E: ¿Cómo fue?", "D1: Bien.", "Seguimos.", "E: Ya."]
    if newline == "mixed":
        text = lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r" + lines[3] + "\r\n"
    else:
        text = newline.join(lines) + newline
    write("t4.txt", text, encoding=encoding)
    corpus, report = load(tmp_path)
    assert report.n_errors == 0
    assert list(corpus.segments["text"]) == ["¿Cómo fue?", "Bien.\nSeguimos.", "Ya."]
    assert "\r" not in corpus.text("t4") and "\ufeff" not in corpus.text("t4")


# T5 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "interviewer, participant",
    [("ENTREVISTADORA:", "D1:"), ("Entrevistador/a:", "Directora 3 (00:02:11):"), ("E:", "D1:"),
     ("[00:01:02] Speaker 1:", "[00:01:09] Speaker 2:"), ("**Moderadora**:", "**Directora 3**:"),
     ("Entrevistadora:\n", "Directora 3:\n")],
)
def test_t5_speaker_label_variants_load_as_turns(tmp_path, write, interviewer, participant):
    sep = "" if interviewer.endswith("\n") else " "
    write("t5.txt", f"{interviewer}{sep}¿Cómo fue?\n{participant}{sep}Bien, harto trabajo.\n")
    corpus, _ = load(tmp_path)
    segs = corpus.segments
    assert list(segs["text"]) == ["¿Cómo fue?", "Bien, harto trabajo."]
    assert segs["speaker_role"].iloc[1] == "participant"
    if "Speaker 1" not in interviewer:
        assert segs["speaker_role"].iloc[0] == "interviewer"


# T6 ---------------------------------------------------------------------------
def test_t6_no_labels_reads_one_speaker_with_a_warning(tmp_path, write):
    write("sin.txt", "Escribo esto como reflexión.\n\nEl equipo cambió mucho este año.\n")
    with pytest.warns(NoSpeakerLabelsWarning, match="sin.txt: no speaker labels"):
        corpus, report = load(tmp_path)
    row = status(report, "sin.txt")
    assert row["status"] == "warning" and "no speaker labels" in row["message"]
    assert "speakers=[" in row["message"] and "--speakers" in row["message"]
    assert len(corpus.segments) == 2 and set(corpus.segments["speaker_role"]) == {"participant"}


def test_t6_label_like_line_inside_speech_stays_speech(tmp_path, write):
    write("nota.txt", "E: ¿Qué pasó?\nPA2: Se cortó.\nNota: se corta el audio unos segundos.\nSeguimos.\nE: Ya.\n")
    corpus, _ = load(tmp_path)
    assert list(corpus.segments["speaker"]) == ["E", "PA2", "E"]
    assert "Nota: se corta el audio" in corpus.segments["text"].iloc[1]


# T7 ---------------------------------------------------------------------------
def test_t7_truncated_docx_is_reported(tmp_path, write, make_docx):
    good = make_docx(tmp_path / "buena.docx", ["E: ¿Partimos?", "D1: Sí."])
    write("rota.docx", good.read_bytes()[: len(good.read_bytes()) // 2])
    corpus, report = load(tmp_path)
    row = status(report, "rota.docx")
    assert row["error"] == "TranscriptFormatError" and "damaged" in row["message"]
    assert list(corpus.documents["doc_id"]) == ["buena"]


def test_t7_zip_that_is_not_a_word_file_is_reported(tmp_path, write):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hola.txt", "no soy word")
    write("falsa.docx", buffer.getvalue())
    _, report = load(tmp_path)
    assert status(report, "falsa.docx")["error"] == "TranscriptFormatError"


def test_t7_old_binary_doc_renamed_docx_says_save_as_docx(tmp_path, write):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "WordDocument".encode("utf-16-le") + b"\x00" * 1000
    write("vieja.docx", ole)
    _, report = load(tmp_path)
    row = status(report, "vieja.docx")
    assert row["error"] == "TranscriptFormatError" and "old binary Word file (.doc)" in row["message"]


def test_t7_password_protected_xlsx_is_refused(tmp_path):
    import openpyxl
    from msoffcrypto.format.ooxml import OOXMLFile

    book = openpyxl.Workbook()
    book.active.append(["id", "respuesta"])
    book.active.append(["T1", "Me llevo ideas."])
    plain = io.BytesIO()
    book.save(plain)
    plain.seek(0)
    with open(tmp_path / "encuesta.xlsx", "wb") as out:
        OOXMLFile(plain).encrypt("secreto", out)
    _, report = load(tmp_path, survey=qc.SurveyColumns(id="id", text=["respuesta"]))
    row = status(report, "encuesta.xlsx")
    assert row["error"] == "ProtectedFileError" and "password-protected" in row["message"]


# T8 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, content, line",
    [
        ("sin_cabecera.vtt", "00:00:01.000 --> 00:00:02.000\n<v E>Hola\n", 1),
        ("mala_hora.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v E>Hola\n\n00:0x:03.000 --> 00:00:04.000\n<v D1>Sí\n", 6),
        ("mala.srt", "1\n00:00:01,000 --> 00:00:02,000\nE: Hola\n\n2\n00:00:03 --> 00:00:04,000\nD1: Sí\n", 6),
    ],
)
def test_t8_malformed_subtitles_fail_with_line_number(tmp_path, write, name, content, line):
    write("buena.txt", GOOD)
    write(name, content)
    corpus, report = load(tmp_path)
    row = status(report, name)
    assert row["error"] == "SubtitleFormatError" and row["line"] == line
    assert f"{name}:{line}" in row["message"]
    assert len(corpus.documents) == 1


def test_t8_empty_cues_and_overlaps_load_with_a_warning(tmp_path, write):
    write("solapa.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v E>Hola\n\n"
                        "00:00:04.000 --> 00:00:06.000\n<v D1>Sí\n\n00:00:07.000 --> 00:00:08.000\n\n")
    corpus, report = load(tmp_path)
    row = status(report, "solapa.vtt")
    assert row["status"] == "warning" and "line 6" in row["message"] and "line 9" in row["message"]
    assert list(corpus.segments["text"]) == ["Hola", "Sí"]


# T9 ---------------------------------------------------------------------------
def test_t9_two_files_with_the_same_id_report_the_second(tmp_path, write):
    write("d02.txt", GOOD)
    write("d02.docx", b"")  # never read: the id clash is found first
    _corpus, report = load(tmp_path)
    row = status(report, "d02.txt")
    assert row["error"] == "DuplicateDocumentError" and "d02.docx" in row["message"]
    assert "doc_id='name'" in row["message"]
    both, _report2 = qc.load_corpus([tmp_path / "d02.txt"], doc_id="name")
    assert list(both.documents["doc_id"]) == ["d02.txt"]


def test_t9_file_names_with_accents_and_spaces_get_nfc_ids(tmp_path, write):
    decomposed = "Entrevista Jose\u0301 María final.txt"
    write(decomposed, GOOD)
    corpus, report = load(tmp_path)
    assert report.n_errors == 0
    assert list(corpus.documents["doc_id"]) == ["Entrevista José María final"]


# T10 --------------------------------------------------------------------------
def attributes_case(tmp_path, write, sheet: str, **kwargs):
    write("t/d01.txt", GOOD)
    write("t/d02.txt", GOOD)
    path = write("attrs.csv", sheet)
    return qc.load_corpus(tmp_path / "t", attributes=path, **kwargs)


def test_t10_missing_key_column_lists_the_expected_ones(tmp_path, write):
    with pytest.raises(AttributesError) as info:
        attributes_case(tmp_path, write, "docid,role\nd01,principal\n")
    message = str(info.value)
    assert "attrs.csv" in message and "doc_id" in message and "did you mean 'docid'" in message
    assert list(info.value.issues.columns) == ["row", "column", "problem"]


def test_t10_misspelled_required_column_is_named(tmp_path, write):
    with pytest.raises(AttributesError, match=r"'district' is missing.*did you mean 'distrct'"):
        attributes_case(tmp_path, write, "doc_id,distrct\nd01,Cerro Azul\nd02,Las Acacias\n",
                        required_attributes=["district"])


def test_t10_misspelled_optional_column_is_warned(tmp_path, write):
    # ("rol" is the Spanish header of the role, not a misspelling: see tests/test_own_study.py.)
    _, report = attributes_case(tmp_path, write, "doc_id,rolle\nd01,principal\nd02,principal\n")
    assert report["message"].str.contains("'rolle' looks like a misspelling of 'role'").any()


def test_t10_rows_without_documents_and_documents_without_rows_are_reported(tmp_path, write):
    corpus, report = attributes_case(tmp_path, write, "doc_id,role\nd01,principal\nd99,principal\n")
    warnings = report[report["status"] == "warning"]["message"]
    assert warnings.str.contains("row 3: document 'd99' is not in the corpus").any()
    assert warnings.str.contains("no row for document 'd02'").any()
    docs = corpus.documents.set_index("doc_id")
    assert docs.loc["d01", "role"] == "principal" and pd.isna(docs.loc["d02", "role"])


def test_t10_conflicting_duplicate_rows_are_an_error_listing_rows(tmp_path, write):
    with pytest.raises(AttributesError, match=r"rows \[2, 4\]"):
        attributes_case(tmp_path, write, "doc_id,role\nd01,principal\nd02,principal\nd01,supporting professional\n")


def test_t10_identical_duplicate_rows_are_kept_once_with_a_warning(tmp_path, write):
    corpus, report = attributes_case(tmp_path, write, "doc_id,role\nd01,principal\nd01,principal\nd02,principal\n")
    assert report["message"].str.contains("repeat the same row").any()
    assert corpus.documents["role"].tolist() == ["principal", "principal"]


def test_t10_semicolon_csv_from_spanish_excel(tmp_path, write):
    write("t/d01.txt", GOOD)
    path = write("attrs.csv", "archivo;rol;comuna;ronda\r\nd01.txt;directora;Peñalolén;1\r\n", encoding="cp1252")
    corpus, report = qc.load_corpus(tmp_path / "t", attributes=path)
    assert report.n_errors == 0
    row = corpus.segments.iloc[1]
    assert (row["rol"], row["comuna"], row["ronda"]) == ("directora", "Peñalolén", 1)


def test_t10_attributes_from_xlsx_keyed_by_file_name(tmp_path, write):
    import openpyxl

    write("t/d01.txt", GOOD)
    book = openpyxl.Workbook()
    book.active.append(["file", "stage", "round"])
    book.active.append([None, None, None])
    book.active.append(["d01.txt", "final", 2])
    book.save(tmp_path / "attrs.xlsx")
    corpus, report = qc.load_corpus(tmp_path / "t", attributes=tmp_path / "attrs.xlsx")
    assert report.n_errors == 0 and corpus.documents.loc[0, "stage"] == "final"
    assert corpus.documents.loc[0, "round"] == 2


# T11 --------------------------------------------------------------------------
def test_t11_very_long_line_and_large_transcript(tmp_path, write):
    long_line = "D1: " + "palabra " * 250_000  # one 2 MB line
    turns = "".join(f"E: ¿Pregunta {i}?\nD1: Respuesta número {i} sobre el trabajo en red.\n" for i in range(50_000))
    write("larga.txt", long_line + "\n" + turns)
    corpus, report = load(tmp_path)
    assert report.n_errors == 0
    assert len(corpus.segments) == 100_001
    first = corpus.segments.iloc[0]
    assert first["end"] - first["start"] == len("palabra " * 250_000) - 1
