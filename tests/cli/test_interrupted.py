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
from qualcode.cli import app

runner = CliRunner()

ROOT = Path(qc.__file__).resolve().parents[1]
ROUND = ["fg_cerroazul_diagnostico.txt", "int_d02_intermedia.txt", "int_d07_intermedia.txt",
         "int_pa4_intermediate.txt"]
# The review workbook's facts that differ between two runs of the same round by nature.
VOLATILE = {"exported_at", "project", "project_id", "export_id"}  # differ between two projects (or exports) by design


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

    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "resuming the interrupted round: suggesting for 4 documents added earlier" in result.output
    assert "nothing new to suggest" not in result.output
    assert suggestions_of(project).equals(suggestions_of(reference))
    assert review_workbooks(out) == [out / "revision_ronda1.xlsx"]
    assert workbook_content(out / "revision_ronda1.xlsx") == workbook_content(reference_sheet)

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
        m.setattr("qualcode.batch.export_review_sheet", _disk_full)
        with qc.Project.open(project) as p, pytest.raises(OSError):
            qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, coder="ana", methods=["keyword"])
    assert suggestions_of(project).equals(suggestions_of(reference)) and review_workbooks(out) == []

    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "resuming the interrupted round: its suggestions for 4 documents were stored" in result.output
    assert "suggestions: 130 for 64 segments (keyword 130)" in result.output
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
        m.setattr("qualcode.batch.export_report", _disk_full)
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
        m.setattr("qualcode.batch.export_review_sheet", _disk_full)
        with qc.Project.open(project) as p, pytest.raises(OSError):
            qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, methods=["keyword"], min_score=0.08)
    with qc.Project.open(project) as p:
        assert (p.suggestions["score"] < 0.3).any()
        result = qc.run_round(p, folder, attributes=samples / "attributes.csv", out=out, methods=["keyword"],
                              min_score=0.3)
        assert result.owed == [] and len(result.suggestions) and (result.suggestions["score"] >= 0.3).all()
        assert (p.suggestions["score"] >= 0.3).all()
        assert result.n_review_rows == len(result.suggestions) and p.rounds_in_progress() == []


def test_suggest_takes_documents_off_the_unsuggested_list_in_the_storing_transaction(tmp_path, samples):
    folder = _round_folder(tmp_path, samples)
    project = tmp_path / "study.qualcode"
    assert run("init", project).exit_code == 0
    assert run("add", project, folder, "-q").exit_code == 0
    with qc.Project.open(project) as p:
        assert p.unsuggested == [name.rsplit(".", 1)[0] for name in sorted(ROUND)]
    assert run("suggest", project, "--methods", "keyword", "-d", "int_d02_intermedia", "-q").exit_code == 0
    with qc.Project.open(project) as p:
        assert "int_d02_intermedia" not in p.unsuggested and len(p.unsuggested) == 3
        qc.suggest(p, methods=["keyword"], store=False)
        assert len(p.unsuggested) == 3  # nothing stored: still to suggest
    assert run("suggest", project, "--methods", "keyword", "-q").exit_code == 0
    with qc.Project.open(project) as p:
        assert p.unsuggested == []


# -- the kill-and-resume test: real processes, killed at random points -------------------------------------------

QUERIES = {
    "documents": "SELECT doc_id, sha256, unit, text, attributes, n_segments FROM documents",
    "segments": 'SELECT segment_id, doc_id, start, "end", text, text_sha, speaker, speaker_role FROM segments',
    "codebooks": "SELECT version, codebook_id FROM codebooks",
    "suggestions": "SELECT segment_id, code_id, method, round(score, 4), evidence, spans, codebook_version, rank "
                   "FROM suggestions",
    "anchors": "SELECT count(*) FROM anchors",
}


def _qualcode(*args) -> list[str]:
    return [sys.executable, "-m", "qualcode", *(str(a) for a in args)]


def _env() -> dict:
    # The child processes run this checkout's qualcode, whatever is installed.
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _count(project: Path, table: str) -> int:
    try:
        db = sqlite3.connect(project, timeout=0.05)
        try:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:  # busy: the process is writing
        return -1


def project_state(project: Path) -> tuple[str, dict]:
    """``PRAGMA integrity_check`` and everything a run leaves (no timestamps, no ids, no cache)."""
    db = sqlite3.connect(project)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        state: dict = {k: sorted(db.execute(sql).fetchall(), key=repr) for k, sql in QUERIES.items()}
    finally:
        db.close()
    with qc.Project.open(project) as p:
        current = qc.decisions(p).drop(columns=["decision_id", "created_at"]).astype(str)
        state["decisions"] = sorted(map(tuple, current.values.tolist()))
        state["n_decisions_history"] = len(qc.decisions(p, history=True))
        state["in_progress"] = (p.unsuggested, [r["documents"] for r in p.rounds_in_progress()])
    return integrity, state


class Study:
    """The starting projects, the commands and the end states of uninterrupted runs, built once."""

    def __init__(self, folder: Path, samples: Path) -> None:
        self.folder = folder
        self.transcripts = _round_folder(folder, samples)
        self.attributes = samples / "attributes.csv"
        self.start: dict[str, Path] = {}
        self.end: dict[str, tuple[str, dict]] = {}
        self.sheet: dict[str, dict] = {}
        self.seconds: dict[str, float] = {}
        base = folder / "base.qualcode"
        subprocess.run(_qualcode("init", base), env=_env(), check=True, capture_output=True)
        self.start["round"] = self.start["round_default"] = base
        self._reference("round")
        self._reference("round_default")
        self.filled = folder / "filled.xlsx"
        book = openpyxl.load_workbook(folder / "ref_round" / "out" / "revision_ronda1.xlsx")
        ws = book.worksheets[0]
        header = [c.value for c in ws[1]]
        decision, memo = header.index("decisión") + 1, header.index("memo") + 1
        for r in range(2, ws.max_row + 1):
            ws.cell(r, decision).value = "no" if r % 3 == 0 else "sí"
            if r % 5 == 0:
                ws.cell(r, memo).value = f"nota {r}"
        book.save(self.filled)
        self.start["apply"] = folder / "ref_round" / "p.qualcode"
        self._reference("apply")
        self.start["suggest"] = folder / "ref_apply" / "p.qualcode"
        self._reference("suggest")

    def command(self, kind: str, project: Path, out: Path) -> list[str]:
        if kind.startswith("round"):
            methods = ["--methods", "keyword"] if kind == "round" else []
            return _qualcode("round", project, self.transcripts, "-a", self.attributes, "--out", out,
                             "--coder", "ana", *methods, "-q")
        if kind == "apply":
            return _qualcode("review", "apply", project, self.filled)
        return _qualcode("suggest", project, "-q")   # the default methods, and the learned coder (decisions exist)

    def _reference(self, kind: str) -> None:
        folder = self.folder / f"ref_{kind}"
        folder.mkdir()
        project = folder / "p.qualcode"
        shutil.copy(self.start[kind], project)
        t0 = time.monotonic()
        done = subprocess.run(self.command(kind, project, folder / "out"), env=_env(), capture_output=True, text=True)
        self.seconds[kind] = time.monotonic() - t0
        assert done.returncode == 0, done.stdout + done.stderr
        self.end[kind] = project_state(project)
        assert self.end[kind][0] == "ok"
        if kind.startswith("round"):
            self.sheet[kind] = workbook_content(folder / "out" / "revision_ronda1.xlsx")


def _wait_for(condition, proc: subprocess.Popen, limit: float = 180.0) -> None:
    t0 = time.monotonic()
    while proc.poll() is None and not condition() and time.monotonic() - t0 < limit:
        time.sleep(0.01)


def _trial(study: Study, folder: Path, kind: str, when: str, delay: float, sig: int) -> dict:
    """Start ``kind``, stop it at a random point, check what is left, re-run it, compare with the reference."""
    folder.mkdir()
    project, out = folder / "p.qualcode", folder / "out"
    shutil.copy(study.start[kind], project)
    before = {t: _count(project, t) for t in ("documents", "suggestions", "decisions", "cache")}
    conditions = {
        "at once": lambda: True,
        "documents added": lambda: _count(project, "documents") > before["documents"],
        "suggestions stored": lambda: _count(project, "suggestions") > before["suggestions"],
        "review workbook written": lambda: bool(review_workbooks(out)),
        "decisions stored": lambda: _count(project, "decisions") > before["decisions"],
        "embeddings cached": lambda: _count(project, "cache") > before["cache"],
    }
    proc = subprocess.Popen(study.command(kind, project, out), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    _wait_for(conditions[when], proc)
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < delay:
        time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.communicate()
    trial = {"kind": kind, "when": when, "delay": round(delay, 2), "signal": signal.Signals(sig).name,
             "killed": killed, "rc": proc.returncode}
    integrity, left = project_state(project)
    assert integrity == "ok", trial
    trial["left"] = {"documents": len(left["documents"]), "suggestions": len(left["suggestions"]),
                     "decisions": left["n_decisions_history"], "round in progress": bool(left["in_progress"][1]),
                     "review workbooks": len(review_workbooks(out))}

    again = subprocess.run(study.command(kind, project, out), env=_env(), capture_output=True, text=True)
    assert again.returncode == 0, (trial, again.stdout, again.stderr)
    integrity, final = project_state(project)
    assert integrity == "ok", trial
    assert final == study.end[kind][1], trial
    if kind.startswith("round"):
        # The re-run says what it finished.
        if trial["left"]["documents"] == 0:
            expected = "documents: 4 added"
        elif trial["left"]["suggestions"] == 0:
            expected = "resuming the interrupted round: suggesting for 4 documents added earlier"
        elif trial["left"]["round in progress"] and not trial["left"]["review workbooks"]:
            expected = "resuming the interrupted round: its suggestions for 4 documents were stored"
        elif trial["left"]["round in progress"]:
            expected = "was already written and is kept as it is"
        else:
            expected = "nothing new to suggest"
        assert expected in again.stdout, (trial, again.stdout)
        # One review workbook, whoever wrote it, holding what the uninterrupted run's holds; and the report.
        sheets = review_workbooks(out)
        assert len(sheets) == 1, (trial, sheets)
        assert workbook_content(sheets[0]) == study.sheet[kind], trial
        assert (out / "informe.xlsx").exists(), trial
    return trial


@pytest.mark.slow
def test_killed_commands_resume_to_the_uninterrupted_state(tmp_path, samples):
    study = Study(tmp_path, samples)
    rng = random.Random(14)
    plans = []
    # 'round' with the keyword coder: anywhere in the run, and just after each of its saves.
    for when, n, spread in (("at once", 5, None), ("documents added", 2, 0.4), ("suggestions stored", 2, 0.25),
                            ("review workbook written", 2, 0.15)):
        for _ in range(n):
            delay = rng.uniform(0.05, 0.95) * study.seconds["round"] if spread is None else rng.uniform(0, spread)
            plans.append(("round", when, delay))
    # 'round' with the default methods (the embedding model loads and encodes between the two saves).
    plans.append(("round_default", "documents added", rng.uniform(0, 0.6) * study.seconds["round_default"]))
    for _ in range(3):
        plans.append(("apply", "at once", rng.uniform(0.05, 0.95) * study.seconds["apply"]))
    for _ in range(2):
        plans.append(("apply", "decisions stored", rng.uniform(0, 0.1)))
    for _ in range(3):
        plans.append(("suggest", "at once", rng.uniform(0.05, 0.95) * study.seconds["suggest"]))
    for _ in range(2):
        plans.append(("suggest", "embeddings cached", rng.uniform(0, 0.5)))
    signals = [signal.SIGINT if rng.random() < 0.3 else signal.SIGKILL for _ in plans]

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(_trial, study, tmp_path / f"trial_{i:02d}_{kind}", kind, when, delay, sig)
                   for i, ((kind, when, delay), sig) in enumerate(zip(plans, signals, strict=True))]
        trials = [f.result() for f in futures]
    for t in trials:
        print(t)
    # On a loaded machine a run may end before its random kill point: add trials (bounded) until 20 were stopped.
    extra = 0
    while sum(t["killed"] for t in trials) < 20 and extra < 16:
        kind = ("round", "apply", "suggest")[extra % 3]
        delay = rng.uniform(0.05, 0.5) * study.seconds[kind]
        trials.append(_trial(study, tmp_path / f"extra_{extra:02d}_{kind}", kind, "at once", delay, signal.SIGKILL))
        extra += 1
    killed = [t for t in trials if t["killed"]]
    assert len(killed) >= 20, f"only {len(killed)} of {len(trials)} runs were stopped before they ended"
    assert {t["signal"] for t in killed} == {"SIGINT", "SIGKILL"}
    # The windows that lost work before: stopped after adding the documents and before the workbook was whole.
    rounds = [t["left"] for t in killed if t["kind"].startswith("round")]
    assert any(r["documents"] and not r["suggestions"] for r in rounds), rounds
    assert any(r["suggestions"] and r["round in progress"] for r in rounds), rounds


def test_round_says_when_documents_outside_it_still_have_no_suggestions(tmp_path, samples):
    folder = _round_folder(tmp_path, samples)
    other = tmp_path / "r2"
    other.mkdir()
    shutil.copy(samples / "transcripts" / "int_d02_final.txt", other)
    project = tmp_path / "study.qualcode"
    assert run("init", project).exit_code == 0
    assert run("add", project, folder, "-q").exit_code == 0
    result = run("round", project, other, "--out", tmp_path / "out", "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "documents: 1 added" in result.output and "resuming" not in result.output
    assert "4 documents added earlier are not in this round and have no suggestions yet" in result.output
    with qc.Project.open(project) as p:
        assert len(p.unsuggested) == 4 and p.rounds_in_progress() == []
