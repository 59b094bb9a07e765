"""An interrupted command is finished by running it again: the end state is that of an uninterrupted run.

The fast tests reach each point where a ``qualcode round`` can stop (after adding the documents, after storing
the suggestions, after writing the review workbook) deterministically; the slow test kills real processes at
random points of ``round``, ``review apply`` and ``suggest`` and compares every re-run with a reference run.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import _register, app

_register()
runner = CliRunner()

ROOT = Path(qc.__file__).resolve().parents[1]
ROUND = ["fg_cerroazul_diagnostico.txt", "int_d02_intermedia.txt", "int_d07_intermedia.txt",
         "int_pa4_intermediate.txt"]
# The review workbook's facts that differ between two runs of the same round by nature.
VOLATILE = {"exported_at", "project"}


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _round_folder(tmp_path: Path, samples: Path) -> Path:
    folder = tmp_path / "r1"
    folder.mkdir(exist_ok=True)
    for name in ROUND:
        shutil.copy(samples / "transcripts" / name, folder / name)
    return folder


def workbook_content(path: Path) -> dict:
    """Every cell of every sheet (hidden ones too), without the export time and the project's path."""
    book = openpyxl.load_workbook(path)
    content = {}
    for ws in book.worksheets:
        rows = [tuple(c.value for c in row) for row in ws.iter_rows()]
        if ws.title == "about":
            rows = [r for r in rows if r[0] not in VOLATILE]
        content[ws.title] = rows
    return content


def review_workbooks(folder: Path) -> list[Path]:
    """The review workbooks in ``folder`` (not the report, not a temporary file of an interrupted write)."""
    return sorted(p for p in folder.glob("revision_*.xlsx") if not p.name.startswith("."))


def suggestions_of(path: Path):
    with qc.Project.open(path) as p:
        return p.suggestions.drop(columns="created_at")


def _reference(tmp_path: Path, samples: Path, folder: Path) -> tuple[Path, Path]:
    """An uninterrupted round: its project and its review workbook."""
    project, out = tmp_path / "reference.qualcode", tmp_path / "reference_out"
    assert run("init", project).exit_code == 0
    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    return project, out / "revision_ronda1.xlsx"


def test_round_rerun_after_interruption_finishes_the_round(tmp_path, samples):
    # hostile case 01: 'qualcode add' leaves exactly what a round killed after its add transaction leaves.
    folder = _round_folder(tmp_path, samples)
    reference, reference_sheet = _reference(tmp_path, samples, folder)
    project, out = tmp_path / "study.qualcode", tmp_path / "out"
    assert run("init", project).exit_code == 0
    assert run("add", project, folder, "-a", samples / "attributes.csv", "-q").exit_code == 0
    with qc.Project.open(project) as p:
        assert p.unsuggested == [name.rsplit(".", 1)[0] for name in sorted(ROUND)]

    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "resuming the interrupted round: suggesting for 4 documents added earlier" in result.output
    assert "nothing new to suggest" not in result.output
    assert suggestions_of(project).equals(suggestions_of(reference))
    assert review_workbooks(out) == [out / "revision_ronda1.xlsx"]
    assert workbook_content(out / "revision_ronda1.xlsx") == workbook_content(reference_sheet)
    with qc.Project.open(project) as p:
        assert p.unsuggested == [] and p.rounds_in_progress() == []

    # Finished: one more run is an ordinary re-run, which changes nothing and writes no second workbook.
    again = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                "--methods", "keyword", "-q")
    assert again.exit_code == 0 and "nothing new to suggest" in again.output and "resuming" not in again.output
    assert review_workbooks(out) == [out / "revision_ronda1.xlsx"]


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_round_rerun_writes_the_review_workbook_an_interrupted_run_owed(tmp_path, samples, monkeypatch):
    # Stopped after storing the suggestions, before the review workbook (here: the disk was full).
    folder = _round_folder(tmp_path, samples)
    reference, reference_sheet = _reference(tmp_path, samples, folder)
    project, out = tmp_path / "study.qualcode", tmp_path / "out"
    assert run("init", project).exit_code == 0
    with monkeypatch.context() as m:
        m.setattr("qualcode.review.sheet.export_review_sheet", _disk_full)
        with qc.Project.open(project) as p, pytest.raises(OSError):
            qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, coder="ana", methods=["keyword"])
    assert suggestions_of(project).equals(suggestions_of(reference)) and review_workbooks(out) == []

    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "resuming the interrupted round: its suggestions for 4 documents were stored" in result.output
    assert "suggestions: 134 for 64 segments (keyword 134)" in result.output
    assert suggestions_of(project).equals(suggestions_of(reference))
    assert review_workbooks(out) == [out / "revision_ronda1.xlsx"]
    assert workbook_content(out / "revision_ronda1.xlsx") == workbook_content(reference_sheet)
    with qc.Project.open(project) as p:
        assert p.rounds_in_progress() == []


def test_round_rerun_keeps_the_review_workbook_an_interrupted_run_wrote(tmp_path, samples, monkeypatch):
    # Stopped after writing the review workbook, while writing the report; meanwhile the coder starts on it.
    folder = _round_folder(tmp_path, samples)
    _, reference_sheet = _reference(tmp_path, samples, folder)
    project, out = tmp_path / "study.qualcode", tmp_path / "out"
    assert run("init", project).exit_code == 0
    with monkeypatch.context() as m:
        m.setattr("qualcode.export.export_report", _disk_full)
        with qc.Project.open(project) as p, pytest.raises(OSError):
            qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, coder="ana", methods=["keyword"])
    sheet = out / "revision_ronda1.xlsx"
    assert workbook_content(sheet) == workbook_content(reference_sheet)
    book = openpyxl.load_workbook(sheet)
    column = [c.value for c in book.worksheets[0][1]].index("decisión") + 1
    book.worksheets[0].cell(2, column).value = "sí"
    book.save(sheet)
    filled = sheet.read_bytes()

    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert f"{sheet.absolute()} was already written and is kept as it is" in result.output
    assert sheet.read_bytes() == filled and review_workbooks(out) == [sheet]
    assert (out / "informe.xlsx").exists()
    with qc.Project.open(project) as p:
        assert p.rounds_in_progress() == []


def test_round_rerun_with_other_options_suggests_the_interrupted_documents_again(tmp_path, samples, monkeypatch):
    # The stored suggestions were made with another threshold: the re-run's workbook follows the re-run's options.
    folder = _round_folder(tmp_path, samples)
    project, out = tmp_path / "study.qualcode", tmp_path / "out"
    assert run("init", project).exit_code == 0
    with monkeypatch.context() as m:
        m.setattr("qualcode.review.sheet.export_review_sheet", _disk_full)
        with qc.Project.open(project) as p, pytest.raises(OSError):
            qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, methods=["keyword"], min_score=0.4)
    with qc.Project.open(project) as p:
        assert (p.suggestions["score"] < 0.6).any()
        result = qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, methods=["keyword"],
                              min_score=0.6)
        assert result.owed == [] and len(result.suggestions) and (result.suggestions["score"] >= 0.6).all()
        assert (p.suggestions["score"] >= 0.6).all()
        assert result.n_review_rows == len(result.suggestions) and p.rounds_in_progress() == []


def test_suggest_takes_documents_off_the_unsuggested_list_in_the_storing_transaction(tmp_path, samples):
    folder = _round_folder(tmp_path, samples)
    project = tmp_path / "study.qualcode"
    assert run("init", project).exit_code == 0
    assert run("add", project, folder, "-q").exit_code == 0
    assert run("suggest", project, "--methods", "keyword", "-d", "int_d02_intermedia", "-q").exit_code == 0
    with qc.Project.open(project) as p:
        assert "int_d02_intermedia" not in p.unsuggested and len(p.unsuggested) == 3
        qc.suggest(p, methods=["keyword"], store=False)
        assert len(p.unsuggested) == 3  # nothing stored: still to suggest
    assert run("suggest", project, "--methods", "keyword", "-q").exit_code == 0
    with qc.Project.open(project) as p:
        assert p.unsuggested == []
