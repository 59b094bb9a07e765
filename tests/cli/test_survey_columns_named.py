"""Issue 16 leftover: a survey table loaded without the survey options is refused naming its real columns.

The remedy used to say ``--survey-id COLUMN --survey-text COLUMN``; it now names the file's columns, guesses which
hold answers, and followed literally it loads the file (CSV, TSV and Excel alike, Python and command line).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

ROWS = [["folio", "escuela", "respuesta_abierta", "comentario final"],
        ["F1", "Norte", "Aprendí a planificar con otras escuelas", "Más tiempo para compartir"],
        ["F2", "Norte", "Que compartir material ahorra tiempo", "Nada más por ahora"],
        ["F3", "Sur", "Mirar juntos los datos de asistencia", "Repetir el taller en marzo"]]


def write(path: Path) -> Path:
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in ROWS:
            book.active.append(row)
        book.save(path)
    else:
        sep = "\t" if path.suffix == ".tsv" else ","
        path.write_text("\n".join(sep.join(r) for r in ROWS) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
def test_survey_table_without_options_names_its_columns_in_cli_words(tmp_path, suffix):
    path = write(tmp_path / f"encuesta{suffix}")
    first = CliRunner().invoke(app, ["load", str(path)])
    assert first.exit_code == 2  # nothing could be read: nothing done
    assert "its columns are folio, escuela, respuesta_abierta, comentario final" in first.output
    assert "COLUMN" not in first.output and "SurveyColumns" not in first.output
    advice = shlex.split(re.search(r"Load it with (.*?) naming", first.output, re.S).group(1))
    assert advice == ["--survey-id", "folio", "--survey-text", "respuesta_abierta", "--survey-text",
                      "comentario final"]
    assert "escuela would be kept as attributes" in first.output
    followed = CliRunner().invoke(app, ["load", str(path), *advice])
    assert followed.exit_code == 0 and "3 responses, 6 answers" in followed.output, followed.output


def test_survey_table_without_options_names_its_columns_in_python_words(tmp_path):
    path = write(tmp_path / "encuesta.csv")
    _, report = qc.load_corpus(path)
    message = report.iloc[0]["message"]
    assert "survey=SurveyColumns(id='folio', text=['respuesta_abierta', 'comentario final'])" in message
    corpus, report = qc.load_corpus(path, survey=qc.SurveyColumns(id="folio",
                                                                  text=["respuesta_abierta", "comentario final"]))
    assert report.n_errors == 0 and len(corpus.segments) == 6


def test_survey_table_with_an_id_but_no_answer_column_names_its_columns(tmp_path):
    folder = tmp_path / "datos"
    folder.mkdir()
    write(folder / "encuesta.csv")
    refused = CliRunner().invoke(app, ["load", str(folder), "--survey-id", "folio"])
    assert refused.exit_code == 2
    assert "has the columns folio, escuela, respuesta_abierta, comentario final" in refused.output
    assert "--survey-text respuesta_abierta" in refused.output
