"""A human decision is never lost to an older workbook, to a schema upgrade, or to a spreadsheet's formula:
re-applying a workbook never reverses what its coder decided later by other means; project files of schema 1
open and migrate; a memo the spreadsheet turned into a formula is recorded as its text and reported."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.project import SCHEMA, SCHEMA_VERSION
from qualcode.review.log import Decision

TRANSCRIPT = ("E: ¿Cómo fue el primer año en la escuela?\n"
              "D1: Me sentí sola, con mucha carga de trabajo y sin apoyo del servicio local.\n"
              "E: ¿Y después?\n"
              "D1: Armamos un equipo de gestión y repartimos el liderazgo con las colegas.\n")
SUGGESTED = ["leadership.workload", "leadership.support.lacking", "leadership.style.distributed"]
X, Y = SUGGESTED[0], SUGGESTED[1]
CODEBOOK = qc.load_codebook("leadership")


def make_project(folder: Path, name: str = "p.qualcode") -> qc.Project:
    (folder / "t").mkdir(parents=True, exist_ok=True)
    (folder / "t" / "entrevista.txt").write_text(TRANSCRIPT, encoding="utf-8")
    corpus, _ = qc.load_corpus(folder / "t")
    project = qc.Project.create(folder / name)
    project.add_corpus(corpus)
    project.add_codebook(CODEBOOK)
    project.add_suggestions(pd.DataFrame({
        "segment_id": first_segment(project), "code_id": SUGGESTED, "method": "keyword", "score": [0.8, 0.6, 0.4],
        "evidence": "", "codebook_version": CODEBOOK.version, "rank": [1, 2, 3]}))
    return project


def first_segment(project: qc.Project) -> str:
    segs = project.segments
    return segs[segs["speaker_role"] == "participant"]["segment_id"].iloc[0]


def fill(path: Path, cells: dict[tuple[str, str], object], target: Path | None = None) -> Path:
    """Set (code of the row, column header) cells of a workbook, in place or into ``target``."""
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, header["_code_id"]).value: r for r in range(2, ws.max_row + 1)}
    for (code, column), value in cells.items():
        ws.cell(rows[code], header[column]).value = value
    book.save(target or path)
    return target or path


def row_of(path: Path, code: str) -> int:
    ws = openpyxl.load_workbook(path).worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, header["_code_id"]).value == code)


def current(project: qc.Project, coder: str = "ana") -> dict[str, tuple[str, str | None]]:
    frame = qc.decisions(project)
    frame = frame[frame["coder"] == coder]
    return {r.code_id: (r.decision, r.memo if isinstance(r.memo, str) else None) for r in frame.itertuples()}


def apply(project: qc.Project, path: Path, coder: str | None = None) -> pd.DataFrame:
    return qc.apply_review(project, qc.read_review_sheet(path), coder=coder)


def cli_apply(project_path: Path, path: Path):  # type: ignore[no-untyped-def]
    from qualcode.cli import app

    return CliRunner().invoke(app, ["review", "apply", str(project_path), str(path)])


def test_applying_an_older_workbook_never_reverses_a_later_decision(tmp_path):
    project = make_project(tmp_path)
    old, new = tmp_path / "rev_ana.xlsx", tmp_path / "rev_ana2.xlsx"
    qc.export_review_sheet(project, project.suggestions, old, coder="ana")
    fill(old, {(X, "decisión"): "sí", (Y, "decisión"): "sí"})
    assert set(apply(project, old)["outcome"]) == {"applied", "blank"}
    assert current(project) == {X: ("accept", None), Y: ("accept", None)}

    # She changes her mind on X in a later workbook.
    qc.export_review_sheet(project, project.suggestions, new, coder="ana")
    fill(new, {(X, "decisión"): "no", (X, "memo"): "muy general"})
    assert (apply(project, new)["outcome"] == "applied").sum() == 1
    assert current(project)[X] == ("reject", "muy general")
    n_log = len(qc.decisions(project, history=True))

    # The older workbook applied again: X is stale (the later reject stands), Y unchanged; nothing appended.
    result = cli_apply(tmp_path / "p.qualcode", old)
    assert result.exit_code == 1, result.output
    assert "1 stale" in result.output
    row = row_of(old, X)
    assert re.search(rf"row {row}: ana decided this again after this workbook was exported \(reject, "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d UTC, from another workbook\); the later decision is kept — "
                     r"re-export to see the current state", result.output), result.output
    report = apply(project, old).set_index("code_id")
    assert report.loc[X, "outcome"] == "stale" and report.loc[Y, "outcome"] == "unchanged"
    assert current(project) == {X: ("reject", "muy general"), Y: ("accept", None)}
    assert len(qc.decisions(project, history=True)) == n_log

    # Editing the SAME workbook and applying it again still works: the later decision came from it.
    fill(new, {(X, "decisión"): "sí", (X, "memo"): "pensándolo mejor, sí"})
    assert apply(project, new).set_index("code_id").loc[X, "outcome"] == "applied"
    assert current(project)[X] == ("accept", "pensándolo mejor, sí")
    fill(new, {(X, "decisión"): "no", (X, "memo"): None})
    assert apply(project, new).set_index("code_id").loc[X, "outcome"] == "applied"
    assert current(project)[X] == ("reject", None)

    # A decision in the notebook after an export: the workbook's row is refused, the notebook's kept.
    third = tmp_path / "rev_ana3.xlsx"
    qc.export_review_sheet(project, project.suggestions, third, coder="ana")
    qc.reject(project, [first_segment(project)], Y, coder="ana", memo="no aplica")
    qc.accept(project, [first_segment(project)], Y, coder="bea")  # another coder's decision is no obstacle
    fill(third, {(Y, "decisión"): "sí", (SUGGESTED[2], "decisión"): "sí"})
    report = apply(project, third).set_index("code_id")
    assert report.loc[Y, "outcome"] == "stale" and report.loc[SUGGESTED[2], "outcome"] == "applied"
    assert "(reject, " in report.loc[Y, "message"] and "in the notebook)" in report.loc[Y, "message"]
    assert current(project)[Y] == ("reject", "no aplica") and current(project)[SUGGESTED[2]] == ("accept", None)
    # bea's workbook is not stale because of ana's decisions either.
    bea = tmp_path / "rev_bea.xlsx"
    qc.export_review_sheet(project, project.suggestions, bea, coder="bea")
    qc.reject(project, [first_segment(project)], X, coder="ana")
    fill(bea, {(X, "decisión"): "sí"})
    assert apply(project, bea).set_index("code_id").loc[X, "outcome"] == "applied"

    # An import after the export is later, whatever creation time the other tool gave it.
    fourth = tmp_path / "rev_ana4.xlsx"
    qc.export_review_sheet(project, project.suggestions, fourth, coder="ana")
    seg = first_segment(project)
    doc = project.segments.set_index("segment_id").loc[seg, "doc_id"]
    project.log.append([Decision.imported(seg, SUGGESTED[2], "ana", doc_id=doc, quote="Me",
                                          span=(0, 2), created_at="2019-03-01T10:00:00+00:00")])
    fill(fourth, {(SUGGESTED[2], "decisión"): "no"})
    report = apply(project, fourth).set_index("code_id")
    assert report.loc[SUGGESTED[2], "outcome"] == "stale"
    assert "imported from another tool's project" in report.loc[SUGGESTED[2], "message"]

    # The log records which workbook each decision came from; other sources record none.
    history = qc.decisions(project, history=True)
    from_sheets = history[history["source"] == "sheet"]
    assert from_sheets["export_id"].notna().all() and from_sheets["export_id"].nunique() == 4
    assert history[history["source"] != "sheet"]["export_id"].isna().all()
    project.close()


def test_a_workbook_exported_before_export_ids_is_checked_by_its_export_time(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev_old.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana")
    book = openpyxl.load_workbook(path)  # as an older qualcode wrote it: no export_id, no log_position
    about = book["about"]
    for r in range(about.max_row, 0, -1):
        if about.cell(r, 1).value in ("export_id", "log_position"):
            about.delete_rows(r)
    book.save(path)
    fill(path, {(X, "decisión"): "sí"})
    assert apply(project, path).set_index("code_id").loc[X, "outcome"] == "applied"
    fill(path, {(X, "decisión"): "no"})  # edited and re-applied: the same old workbook, allowed
    assert apply(project, path).set_index("code_id").loc[X, "outcome"] == "applied"
    assert current(project)[X] == ("reject", None)
    qc.accept(project, [first_segment(project)], X, coder="ana", memo="al final sí")
    report = apply(project, path).set_index("code_id")
    assert report.loc[X, "outcome"] == "stale" and "in the notebook" in report.loc[X, "message"]
    assert current(project)[X] == ("accept", "al final sí")
    project.close()


# Schema 1 as it shipped: today's schema without the columns later versions added.
SCHEMA_1 = re.sub(r",\s*export_id TEXT\);[^\n]*", ");", SCHEMA)
COLUMNS_1 = ["decision_id", "segment_id", "code_id", "coder", "decision", "span_start", "span_end", "doc_id",
             "quote", "memo", "created_at", "source", "method", "score", "codebook_version"]


def test_project_files_of_schema_1_open_and_migrate(tmp_path):
    assert SCHEMA_1 != SCHEMA and SCHEMA_VERSION == 2
    # Real content (corpus, codebook, suggestions, decisions of every kind) written by today's code ...
    project = make_project(tmp_path / "today")
    seg = first_segment(project)
    qc.accept(project, [seg], X, coder="ana", memo="=claro")
    qc.reject(project, [seg], Y, coder="ana")
    qc.add_manual(project, [seg], SUGGESTED[2], coder="bea", spans=[(0, 8)])
    expected = qc.decisions(project, history=True)
    project.close()
    # ... copied into a file of schema 1.
    v1 = tmp_path / "v1.qualcode"
    db = sqlite3.connect(v1)
    db.executescript(SCHEMA_1)
    assert [r[1] for r in db.execute("PRAGMA table_info(decisions)")] == COLUMNS_1
    db.execute("ATTACH DATABASE ? AS today", (str(tmp_path / "today" / "p.qualcode"),))
    for table in ("documents", "segments", "codebooks", "codes", "suggestions", "anchors"):
        db.execute(f"INSERT INTO {table} SELECT * FROM today.{table}")
    db.execute(f"INSERT INTO decisions SELECT {', '.join(COLUMNS_1)} FROM today.decisions")
    db.execute("INSERT INTO meta SELECT * FROM today.meta WHERE key != 'schema_version'")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.commit()
    db.execute("DETACH DATABASE today")
    db.close()
    copy = tmp_path / "v1-copy.qualcode"
    shutil.copy(v1, copy)

    with qc.Project.open(v1) as project:
        assert project.schema_version == 2
        migrated = qc.decisions(project, history=True)
        assert migrated["export_id"].isna().all()
        pd.testing.assert_frame_equal(migrated.drop(columns="export_id"), expected.drop(columns="export_id"))
        # The append-only triggers still hold on the migrated table.
        for sql in ("UPDATE decisions SET export_id = 'x'", "DELETE FROM decisions"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"), project.transaction() as conn:
                conn.execute(sql)
        assert project.query("PRAGMA integrity_check") == [("ok",)]
        # And the new column works: a workbook applied to the migrated file records its export id.
        path = tmp_path / "rev.xlsx"
        qc.export_review_sheet(project, project.suggestions, path, coder="ana")
        fill(path, {(SUGGESTED[2], "decisión"): "sí"})
        assert apply(project, path).set_index("code_id").loc[SUGGESTED[2], "outcome"] == "applied"
        latest = qc.decisions(project, history=True).iloc[-1]
        about = {r[0]: r[1] for r in openpyxl.load_workbook(path)["about"].iter_rows(values_only=True)}
        assert latest["export_id"] == about["export_id"] and len(about["export_id"]) == 32
        project._migrate(1)  # a second process that also saw schema 1 migrates nothing twice
        assert project.schema_version == 2
    with qc.Project.open(v1) as project:  # opened again: already at 2
        assert len(qc.decisions(project, history=True)) == len(expected) + 1
    # The dump keeps the column and load_dump brings it back.
    with qc.Project.open(v1) as project:
        project.dump(tmp_path / "mirror")
        before = qc.decisions(project, history=True)
    with qc.Project.load_dump(tmp_path / "mirror", tmp_path / "back.qualcode") as back:
        pd.testing.assert_series_equal(qc.decisions(back, history=True)["export_id"], before["export_id"])
    # Another copy of the schema-1 file migrates the same way.
    with qc.Project.open(copy) as project:
        assert project.schema_version == 2 and len(qc.decisions(project, history=True)) == len(expected)


def test_a_memo_that_became_a_formula_is_recorded_as_text_and_reported(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana")
    # What Excel and LibreOffice store when a cell is typed starting with = + or -: a formula.
    fill(path, {(X, "decisión"): "sí", (X, "memo"): "=muy general, sin apoyo",
                (Y, "decisión"): "no", (Y, "memo"): "=-demasiado amplio",
                (SUGGESTED[2], "otro código"): "=leadership.resilience"})
    ws = openpyxl.load_workbook(path).worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    assert ws.cell(row_of(path, X), header["memo"]).data_type == "f"
    result = cli_apply(tmp_path / "p.qualcode", path)
    assert result.exit_code == 0, result.output
    for code, what in [(X, "memo"), (Y, "memo"), (SUGGESTED[2], "'other code' cell")]:
        assert f"row {row_of(path, code)}: the {what} is a formula in the spreadsheet; recorded as its text" \
            in result.output
    assert "muy general" not in result.output  # the person's words are recorded, not echoed to the terminal
    now = current(project)
    assert now[X] == ("accept", "=muy general, sin apoyo")
    assert now[Y] == ("reject", "-demasiado amplio")
    assert now[SUGGESTED[2]][0] == "reject" and now["leadership.resilience"][0] == "manual"
    report = apply(project, path).set_index("code_id")  # again: nothing new, still said
    assert set(report["outcome"]) == {"unchanged"}
    assert report["message"].str.contains("is a formula in the spreadsheet; recorded as its text").all()

    # A decision cell that is a formula with no saved value is reported, never silently blank.
    other = tmp_path / "rev2.xlsx"
    qc.export_review_sheet(project, project.suggestions, other, coder="bea")
    fill(other, {(X, "decisión"): '="sí"'})
    report = apply(project, other).set_index("code_id")
    assert report.loc[X, "outcome"] == "refused"
    assert "formula whose value the spreadsheet did not save" in report.loc[X, "message"]

    # A row's own problem is still said when its memo is a formula too (here: a duplicated row).
    third = tmp_path / "rev3.xlsx"
    qc.export_review_sheet(project, project.suggestions, third, coder="carla")
    fill(third, {(X, "decisión"): "sí", (X, "memo"): "=-de nuevo"})
    book = openpyxl.load_workbook(third)
    ws = book.worksheets[0]
    ws.append([c.value for c in ws[row_of(third, X)]])
    book.save(third)
    report = apply(project, third)
    copy = report[report["row"] == ws.max_row].iloc[0]
    assert copy["outcome"] == "unchanged" and copy["message"].startswith(f"duplicate of row {row_of(third, X)}")
    assert "the memo is a formula in the spreadsheet; recorded as its text" in copy["message"]
    assert current(project, "carla")[X] == ("accept", "-de nuevo")
    project.close()
