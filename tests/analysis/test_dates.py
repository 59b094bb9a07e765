"""Dates in attribute columns are read as dates, and saturation orders by them and says how (issue 17 item 2)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import qualcode as qc
from qualcode.io.dates import read_dates


@pytest.mark.parametrize(("values", "expected", "order", "guessed"), [
    (["15/03/2024", "02/04/2024", "09/12/2023"], ["2024-03-15", "2024-04-02", "2023-12-09"], "day first", False),
    (["15-03-2024", "02-04-2024"], ["2024-03-15", "2024-04-02"], "day first", False),
    (["15.03.2024", "2.4.24"], ["2024-03-15", "2024-04-02"], "day first", False),
    (["03/15/2024", "04/02/2024"], ["2024-03-15", "2024-04-02"], "month first", False),
    (["03/04/2024", "05/06/2024"], ["2024-04-03", "2024-06-05"], "day first", True),
    (["2024-03-15", "2023-12-09T10:30"], ["2024-03-15", "2023-12-09"], "iso", False),
    ([dt.date(2024, 3, 15), dt.datetime(2023, 12, 9, 9, 0), "15/01/2024"], ["2024-03-15", "2023-12-09", "2024-01-15"],
     "day first", False),
    (["15/03/2024", None, "", float("nan")], ["2024-03-15", None, None, None], "day first", False),
])
def test_date_columns_read_as_dates_day_first_unless_proven_otherwise(values, expected, order, guessed):
    column = read_dates(values)
    assert column is not None
    got = [None if pd.isna(d) else d.date().isoformat() for d in column.dates]
    assert got == expected and column.order == order and column.guessed is guessed


@pytest.mark.parametrize("values", [["marzo 2024", "15/03/2024"], ["31/02/2024"], ["15/03/2024", "03/15/2024"],
                                    ["ronda 1", "ronda 2"], [None, ""], ["1", "2"]])
def test_columns_that_are_not_mostly_dates_stay_text(values):
    assert read_dates(values) is None


@pytest.mark.parametrize("values, unreadable", [
    (["15/03/2024", "pendiente", "02/04/2024", "09/12/2023"], ["pendiente"]),
    (["09/12/2023", "2023-12-14", "3 de enero de 2024", "sin fecha", "", "15/01/2024"],
     ["3 de enero de 2024", "sin fecha"]),
    (["15/03/2024", "31/02/2024", "02/04/2024"], ["31/02/2024"]),
])
def test_a_date_column_with_a_few_cells_that_are_no_date_is_still_ordered_by_date(values, unreadable):
    # Issue 17 trial: one 'pendiente' among dd/mm/yyyy dates made saturation order every interview as text.
    column = read_dates(values)
    assert column is not None and column.unreadable == unreadable
    readable = column.dates.dropna()
    assert len(readable) == sum(1 for v in values if v and v not in unreadable)
    assert column.dates[[v in unreadable for v in values]].isna().all()


def _codings(dates):
    rows = []
    for i, date in enumerate(dates):
        rows += [(f"d{i}", f"c{i}", date)]  # each document brings one new code
    return pd.DataFrame(rows, columns=["doc_id", "code_id", "Fecha"])


def test_saturation_orders_day_first_dates_by_date_not_as_text():
    # team-study 05: 02/04/2024 sorted before 09/12/2023 as text.
    codings = _codings(["02/04/2024", "09/12/2023", "15/03/2024", "20/01/2024"])
    order = qc.first_appearance(codings, order="Fecha")["doc_id"].tolist()
    assert order == ["d1", "d3", "d2", "d0"]
    verdict = qc.saturation(codings, order="Fecha", lang="es")
    assert verdict["order"].iloc[0] == "por Fecha (fechas dd/mm/aaaa, día primero)"


def test_saturation_says_when_the_date_reading_is_a_guess_and_which_documents_have_none():
    codings = _codings(["03/04/2024", None, "01/02/2024"])
    how = qc.saturation(codings, order="Fecha")["order"].iloc[0]
    assert "a guess" in how and "03/04/2024" in how and "1 document(s) without Fecha last" in how
    assert qc.first_appearance(codings, order="Fecha")["doc_id"].tolist() == ["d2", "d0", "d1"]


def test_report_says_which_order_saturation_used_when_the_date_column_is_missing(tmp_path, samples):
    corpus, _ = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt")
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        segs = list(project.segments.query("speaker_role == 'participant'")["segment_id"][:2])
        qc.add_manual(project, segs, "improvement_science.pdsa.plan", coder="ana")
        tables = qc.export_report(project, tmp_path / "r.xlsx", charts=False, lang="en")
    assert tables["Saturation"]["order"].str.endswith("(no column date)").all()


def test_saturation_orders_by_date_with_a_cell_that_is_no_date_and_says_so():
    # Issue 17 trial: one 'pendiente' made `qualcode saturation` order every interview as text, saying "by Fecha".
    codings = _codings(["15/03/2024", "pendiente", "02/04/2024", "09/12/2023"]).rename(columns={"date": "Fecha"})
    first = qc.first_appearance(codings, order="Fecha")
    assert first["doc_id"].tolist() == ["d3", "d0", "d2", "d1"]
    verdict = qc.saturation(codings, order="Fecha", lang="es")
    assert "1 documento(s) con una fecha ilegible ('pendiente') al final" in verdict["order"].iloc[0]
    mixed = _codings(["15/03/2024", "03/15/2024", "02/04/2024"])
    assert "as text" in qc.saturation(mixed, order="date")["order"].iloc[0]
