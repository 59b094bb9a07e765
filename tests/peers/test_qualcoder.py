"""qualcode ↔ QualCoder 4.0 through REFI-QDA, with QualCoder's own importer and exporter (the real client).

Two projects go out as ``.qdpx`` (and the codebook as ``.qdc``): qualcode's demo project (``qualcode demo``)
and a small one built here from ``data_samples/`` with two coders, coding memos, a transcript with emoji and
CRLF line ends, sub-segment spans, two coders' identical codings and per-document values that differ within a
participant. QualCoder imports them (``tests/peers/qualcoder/driver``, headless Qt); its project database is
checked for what arrived; QualCoder exports them again and qualcode imports that back, which is compared with
the original. Each test checks one thing, so a failure says exactly what was lost.

Needs QualCoder's environment, ``.venv-qualcoder`` (``make qualcoder-venv``; another interpreter with
``QUALCODE_QUALCODER_PYTHON``), and Qt's system libraries (``.ci/run`` installs them). CI sets
``QUALCODE_REQUIRE_QUALCODER=1``: there a missing environment is a failure, not a skip.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode.schemas import coded

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
PEER = ROOT / "tests" / "peers" / "qualcoder"
DRIVER = PEER / "driver" / "qc_drive.py"
QC_PYTHON = Path(os.environ.get("QUALCODE_QUALCODER_PYTHON") or ROOT / ".venv-qualcoder" / "bin" / "python")
# CI sets QUALCODE_REQUIRE_QUALCODER=1: there a missing QualCoder environment fails the tests instead of skipping.
REQUIRED = os.environ.get("QUALCODE_REQUIRE_QUALCODER") == "1"
# One QualCoder run (start Qt, import or export a project) takes 5-30 s on 2 cores, the first one longer while
# Python compiles QualCoder's modules; 5 minutes means it hangs (a modal dialog the driver does not answer).
DRIVE_TIMEOUT_S = 300
# The demo (two rounds of suggestions and reviews) takes about 30 s on 2 cores.
DEMO_TIMEOUT_S = 900
LANG = "es"  # the code names qualcode writes (the other tools show one label)
# Message boxes QualCoder always shows on a project import: the steps, the "experimental" notice and, on a fresh
# configuration, the AI question. Any other box is something it had to say about the file.
USUAL_BOXES = ("REFI-QDA import steps:", "REFI-QDA Project import: REFI-QDA PROJECT IMPORT EXPERIMENTAL",
               "AI Integration:", "Codebook imported:", "Project exported:", "Codebook exported:")
# Columns of the documents table that are qualcode's own, not the study's attributes.
DECLARED = {"doc_id", "source_path", "format", "encoding", "language", "sha256", "n_turns", "n_segments", "n_words",
            "labelled", "text", "unit", "added_at", "updated_at"}

pytestmark = pytest.mark.slow

# Losses of qualcode's own export or import known to fail: (test, project) → why. Each becomes a strict xfail,
# so a fix that lands makes it pass loudly. Every loss issue 18 found is fixed: none is left.
KNOWN_ISSUES: dict[tuple[str, str], str] = {}

@pytest.fixture(autouse=True)
def _known_issue(request):
    params = getattr(request.node, "callspec", None)
    project = params.params.get("trip") if params is not None else None
    reason = KNOWN_ISSUES.get((request.node.originalname, project))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def _missing() -> str | None:
    """Why QualCoder cannot run here (None when it can): checked once, in the fixture, not at collection."""
    if not QC_PYTHON.exists():
        return f"no QualCoder environment at {QC_PYTHON} (run 'make qualcoder-venv')"
    probe = subprocess.run([str(QC_PYTHON), "-c", "from PyQt6 import QtMultimedia, QtWidgets; import qtawesome"],
                           env=_env(Path(tempfile.gettempdir())), capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        tail = (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"QualCoder's Qt does not start ({tail}); .ci/run installs Qt's system libraries"
    return None


def _env(home: Path) -> dict[str, str]:
    """A clean environment for one QualCoder run: its own HOME (settings, log), offscreen Qt, no bytecode files."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
            "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(DRIVER.parent), "PYTHONDONTWRITEBYTECODE": "1",
            "QUALCODER_SRC": str(PEER / "src")}


@dataclass
class Run:
    """One QualCoder command: its exit status, what it printed (action log, message boxes), its own log file."""

    command: str
    returncode: int
    output: str
    log: str

    @property
    def boxes(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith(("[MessageBox]", "[QMessageBox]",
                                                                              "[QDialog]"))]

    def problems(self) -> list[str]:
        """Everything that says QualCoder did not take the file as it is."""
        found = []
        if self.returncode != 0:
            found.append(f"exit status {self.returncode}")
        for line in self.log.splitlines():
            if "Traceback" in line or "Uncaught exception" in line or "Error" in line:
                found.append(f"QualCoder.log: {line.strip()}")
        for box in self.boxes:
            text = box.split("] ", 1)[1]
            if not text.startswith(USUAL_BOXES) or "rror" in text:
                found.append(f"message box: {text[:300]}")
        found += [f"action log: {line.strip()}" for line in self.output.splitlines()
                  if "Duplicated" in line or "rror" in line]
        return found

    def describe(self) -> str:
        tail = "\n".join(self.output.splitlines()[-40:])
        return f"QualCoder {self.command} (exit {self.returncode}):\n{tail}\n--- QualCoder.log ---\n{self.log[-3000:]}"


def _drive(command: str, source: Path, target: Path, work: Path) -> Run:
    """Run QualCoder's menu action ``command`` headless on ``source`` → ``target`` with a fresh HOME."""
    home = Path(tempfile.mkdtemp(prefix="qc-home-", dir=work))
    try:
        done = subprocess.run([str(QC_PYTHON), str(DRIVER), command, str(source), str(target)], cwd=work,
                              env=_env(home), capture_output=True, text=True, timeout=DRIVE_TIMEOUT_S)
        output, returncode = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as timeout:
        output, returncode = f"timed out after {DRIVE_TIMEOUT_S} s\n{timeout.stdout or ''}{timeout.stderr or ''}", -1
    log_file = home / ".qualcoder" / "QualCoder.log"
    log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    return Run(command, returncode, output, log)


@dataclass
class Trip:
    """One project's way out to QualCoder and back, with everything the tests compare."""

    name: str
    codebook: qc.Codebook
    documents: pd.DataFrame
    codings: pd.DataFrame  # qualcode's current codings: doc_id, start, end, code_id, coder, memo
    qdpx: Path
    imported: Run
    db: Path
    exported: Run | None = None
    qc_qdpx: Path | None = None
    back: qc.Project | None = None
    back_error: str | None = None
    back_warnings: list[str] = field(default_factory=list)

    @property
    def texts(self) -> dict[str, str]:
        return dict(zip(self.documents["doc_id"], self.documents["text"], strict=True))

    @property
    def attributes(self) -> list[str]:
        return [c for c in self.documents.columns if c not in DECLARED]

    def names(self) -> dict[str, str]:
        """code id → the name QualCoder shows (what qualcode's export writes)."""
        other = "en" if LANG == "es" else "es"
        return {c.id: c.label.get(LANG) or c.label.get(other) or c.id for c in self.codebook}

    def query(self, sql: str) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchall()

    def require_import(self) -> None:
        if not self.db.exists():
            pytest.fail(f"QualCoder made no project database.\n{self.imported.describe()}")

    def require_back(self) -> qc.Project:
        if self.back is None:
            detail = self.exported.describe() if self.exported is not None else self.imported.describe()
            pytest.fail(f"nothing came back from QualCoder: {self.back_error}\n{detail}")
        return self.back


def _current_codings(project: qc.Project) -> pd.DataFrame:
    rows = coded(qc.decisions(project))
    return rows[["doc_id", "start", "end", "code_id", "coder", "memo"]].reset_index(drop=True)


def _round_trip(name: str, project_path: Path, work: Path, for_tool: str | None = None) -> Trip:
    """Export a qualcode project, import it into QualCoder, export it from QualCoder, import that into qualcode."""
    with qc.Project.open(project_path) as project:
        qdpx = qc.export_refi_qda(project, work / f"{name}.qdpx", lang=LANG, for_tool=for_tool)
        trip_codebook, documents, codings = project.codebook(), project.documents.copy(), _current_codings(project)
    base = work / f"qc_{name}"
    imported = _drive("import-qdpx", qdpx, base, work)
    trip = Trip(name, trip_codebook, documents, codings, qdpx, imported, Path(f"{base}.qda") / "data.qda")
    if not trip.db.exists():
        trip.back_error = "QualCoder's import made no project"
        return trip
    out = work / f"qc_{name}_export"
    out.mkdir()
    trip.exported = _drive("export-qdpx", Path(f"{base}.qda"), out, work)
    written = sorted(out.glob("*.qdpx"))
    if not written:
        trip.back_error = "QualCoder's export wrote no .qdpx"
        return trip
    trip.qc_qdpx = written[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            trip.back = qc.import_refi_qda(trip.qc_qdpx, work / f"{name}_back.qualcode")
        except qc.QualcodeError as error:
            trip.back_error = f"qualcode could not import QualCoder's export: {error}"
    trip.back_warnings = [str(w.message) for w in caught]
    return trip


def _demo_project(work: Path) -> Path:
    """qualcode's demo project, made by ``qualcode demo`` as a user runs it."""
    out = work / "demo"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "qualcode", "demo", "--out", str(out)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=DEMO_TIMEOUT_S)
    assert done.returncode == 0, f"qualcode demo failed:\n{done.stdout}\n{done.stderr}"
    return out / "estudio.qualcode"


EMOJI_DOC = "int_d07_intermedia"
# Both interviews of D02 (stage, round and date differ: per-document values), one in English, and one whose
# file is rewritten below in UTF-8 with CRLF line ends and emoji (one outside the BMP, one ZWJ sequence).
RICH_FILES = ["int_d02_intermedia.txt", "int_d02_final.txt", "int_pa4_intermediate.txt", f"{EMOJI_DOC}.txt"]


def _rich_project(work: Path) -> Path:
    """Two coders (the sample's codings, with their memos), emoji, CRLF, sub-segment spans, tricky memos."""
    folder = work / "rich_files"
    folder.mkdir()
    for name in RICH_FILES[:-1]:
        shutil.copy(SAMPLES / "transcripts" / name, folder / name)
    text = (SAMPLES / "transcripts" / f"{EMOJI_DOC}.txt").read_bytes().decode("cp1252")
    text = text.replace("Bien, bien. Cansada, pero bien.", "Bien 🙂, bien. Cansada 😮‍💨, pero bien 👩‍🏫.")
    (folder / f"{EMOJI_DOC}.txt").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    attributes = pd.read_csv(SAMPLES / "attributes.csv", dtype=str)
    wanted = {Path(f).stem for f in RICH_FILES}
    attributes[attributes["doc_id"].isin(wanted)].to_csv(folder / "attributes.csv", index=False)
    path = work / "rich.qualcode"
    corpus, _ = qc.load_corpus([folder / f for f in RICH_FILES], attributes=folder / "attributes.csv")
    with qc.Project.create(path) as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        segments = project.segments.set_index("segment_id")
        for coder in ("ana", "luis"):
            gold = pd.read_csv(SAMPLES / "coding" / f"{coder}.csv", dtype=str, keep_default_na=False)
            gold = gold[gold["segment_id"].isin(segments.index)]
            for row in gold.itertuples():
                qc.add_manual(project, [row.segment_id], [row.code_id], coder=coder, memo=row.memo or None)
        # The turn with the emoji: both coders code the same words (after the emoji) with the same code, each with
        # a memo; ana codes a second, separate span of that code in the same turn.
        turn = project.segments[(project.segments["doc_id"] == EMOJI_DOC)
                                & project.segments["text"].str.contains("Cansada 😮‍💨")].iloc[0]
        doc_text = project.documents.set_index("doc_id").at[EMOJI_DOC, "text"]
        first = doc_text.index("Cansada 😮‍💨, pero bien 👩‍🏫", turn.start)
        span1 = (first, first + len("Cansada 😮‍💨, pero bien 👩‍🏫"))
        second = doc_text.index("la cámara apagada", turn.start)
        span2 = (second, second + len("la cámara apagada"))
        code = "leadership.workload.time"
        qc.add_manual(project, [turn.segment_id], [code], coder="ana", spans=[span1],
                      memo='cansancio 😮‍💨: "agotada" <sic> & con\nsalto de línea')
        qc.add_manual(project, [turn.segment_id], [code], coder="luis", spans=[span1], memo="lo mismo, otra memo 👀")
        qc.add_manual(project, [turn.segment_id], [code], coder="ana", spans=[span2], memo="cámara apagada")
    return path


@pytest.fixture(scope="module")
def work():
    missing = _missing()
    if missing is not None:
        if REQUIRED:
            pytest.fail(f"the QualCoder test cannot run: {missing}")
        pytest.skip(missing)
    # In memory where the machine has it: QualCoder commits after every row it inserts, and on a disk each commit
    # waits for the write to reach it (minutes for a project; seconds in memory).
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="qualcode-qualcoder-", dir=shm if os.access(shm, os.W_OK) else None))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module", params=["demo", "rich"])
def trip(request, work) -> Trip:
    """One project's whole trip, made once per module: qualcode → QualCoder → qualcode."""
    folder = work / request.param
    folder.mkdir()
    project = _demo_project(folder) if request.param == "demo" else _rich_project(folder)
    result = _round_trip(request.param, project, folder)
    yield result
    if result.back is not None:
        result.back.close()


@dataclass
class CodebookTrip:
    codebook: qc.Codebook
    qdc: Path
    imported: Run
    db: Path
    exported: Run | None
    back: qc.Codebook | None
    back_error: str | None


@pytest.fixture(scope="module")
def codebook_trip(work) -> CodebookTrip:
    """The study codebook as ``.qdc`` → QualCoder's codebook import → QualCoder's codebook export → qualcode."""
    folder = work / "codebook"
    folder.mkdir()
    codebook = qc.load_codebook("nic_study")
    qdc = folder / "nic_study.qdc"
    qc.save_codebook(codebook, qdc, lang=LANG)
    imported = _drive("import-qdc", qdc, folder / "qc_codebook", folder)
    db = folder / "qc_codebook.qda" / "data.qda"
    exported = back = error = None
    if db.exists():
        out = folder / "export"
        out.mkdir()
        exported = _drive("export-qdc", folder / "qc_codebook.qda", out, folder)
        written = sorted(out.glob("*.qdc"))
        if written:
            try:
                back = qc.load_codebook(written[0])
            except qc.QualcodeError as e:
                error = f"qualcode could not read QualCoder's .qdc: {e}"
        else:
            error = "QualCoder's codebook export wrote no .qdc"
    else:
        error = "QualCoder's codebook import made no project"
    return CodebookTrip(codebook, qdc, imported, db, exported, back, error)


# --- helpers for the comparisons -----------------------------------------------------------------------------------


def _differ(what: str, expected: Counter | set, got: Counter | set, limit: int = 8) -> str:
    missing = list((Counter(expected) - Counter(got)).elements())
    extra = list((Counter(got) - Counter(expected)).elements())
    return (f"{what}: {len(missing)} missing, {len(extra)} unexpected (of {sum(Counter(expected).values())}).\n"
            f"missing e.g. {missing[:limit]}\nunexpected e.g. {extra[:limit]}")


def _note(value: object) -> str | None:
    """A memo as text, None when there is none (pandas reads a missing one as NaN, QualCoder stores '')."""
    return value if isinstance(value, str) and value else None


def _absent(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _same(a: object, b: object) -> bool:
    """Attribute values as the tools store them: text, or numbers written as "2" or "2.0"."""
    if _absent(a) or _absent(b):
        return _absent(a) and _absent(b)
    sa, sb = str(a).strip(), str(b).strip()
    if sa == sb:
        return True
    try:
        return float(sa) == float(sb)
    except ValueError:
        return False


def _qc_codings(trip: Trip) -> pd.DataFrame:
    rows = trip.query("SELECT s.name, n.name, t.pos0, t.pos1, t.seltext, t.owner, ifnull(t.memo, '') FROM code_text t "
                      "JOIN source s ON s.id = t.fid LEFT JOIN code_name n ON n.cid = t.cid")
    return pd.DataFrame(rows, columns=["doc", "code", "start", "end", "seltext", "owner", "memo"])


def _qc_parent_names(db: Path) -> dict[str, str | None]:
    """QualCoder's code name → the name of its parent (a code, through supercid, or a category)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        codes = {cid: (name, catid, supercid) for cid, name, catid, supercid in
                 con.execute("SELECT cid, name, catid, supercid FROM code_name")}
        cats = dict(con.execute("SELECT catid, name FROM code_cat").fetchall())
    parents: dict[str, str | None] = {}
    for name, catid, supercid in codes.values():
        if supercid is not None:
            parents[name] = codes[supercid][0] if supercid in codes else f"<missing code {supercid}>"
        elif catid is not None:
            parents[name] = cats.get(catid, f"<missing category {catid}>")
        else:
            parents[name] = None
    return parents


def _expected_parents(codebook: qc.Codebook, names: dict[str, str]) -> dict[str, str | None]:
    return {names[c.id]: (names[c.parent_id] if c.parent_id else None) for c in codebook}


# --- qualcode → QualCoder: what QualCoder's own importer holds -----------------------------------------------------


def test_qualcoder_imports_the_project_without_error(trip):
    trip.require_import()
    problems = trip.imported.problems()
    leftover = sorted(str(p) for p in trip.qdpx.parent.glob("*_temporary"))
    assert not problems and not leftover, (
        f"QualCoder's import of qualcode's {trip.name} project: {problems}; temporary folders left: {leftover}\n"
        f"{trip.imported.describe()}")


def test_qualcoder_gets_every_source_with_its_exact_text(trip):
    trip.require_import()
    got = dict(trip.query("SELECT name, fulltext FROM source"))
    assert set(got) == set(trip.texts), _differ("sources", set(trip.texts), set(got))
    wrong = [doc for doc, text in trip.texts.items() if got[doc] != text]
    assert not wrong, f"QualCoder holds another text for {wrong}"


def test_qualcoder_gets_every_code_with_its_hierarchy(trip):
    trip.require_import()
    expected = _expected_parents(trip.codebook, trip.names())
    got = _qc_parent_names(trip.db)
    assert Counter(expected) == Counter(got), _differ("codes", set(expected), set(got))
    moved = {name: (parent, got[name]) for name, parent in expected.items() if got[name] != parent}
    assert not moved, f"codes under another parent (expected, QualCoder): {moved}"


def test_qualcoder_gets_every_coding_at_its_exact_text(trip):
    """Each coded span of qualcode is a coding in QualCoder, of the same code, at the same characters."""
    trip.require_import()
    got = _qc_codings(trip)
    names, texts = trip.names(), trip.texts
    expected = {(r.doc_id, names[r.code_id], int(r.start), int(r.end)) for r in trip.codings.itertuples()}
    have = set(zip(got["doc"], got["code"], got["start"], got["end"], strict=True))
    assert have == expected, _differ("codings (document, code, start, end)", expected, have)
    wrong = [(r.doc, r.start, r.end, r.seltext[:40], texts[r.doc][r.start:r.end][:40]) for r in got.itertuples()
             if r.seltext != texts[r.doc][r.start:r.end]]
    assert not wrong, f"QualCoder's coded text differs from qualcode's text at those offsets: {wrong[:5]}"


def test_qualcoder_gets_each_coders_codings(trip):
    """Every coder's coding arrives as that coder's (owner), none merged with another coder's identical one."""
    trip.require_import()
    got = _qc_codings(trip)
    names = trip.names()
    expected = Counter((r.doc_id, names[r.code_id], int(r.start), int(r.end), r.coder)
                       for r in trip.codings.itertuples())
    have = Counter(zip(got["doc"], got["code"], got["start"], got["end"], got["owner"], strict=True))
    assert have == expected, (f"owners in QualCoder: {sorted(set(got['owner']))}, coders in qualcode: "
                              f"{sorted(set(trip.codings['coder']))}\n"
                              + _differ("codings (document, code, start, end, coder)", expected, have))


def test_qualcoder_gets_every_coding_memo(trip):
    trip.require_import()
    got = _qc_codings(trip)
    names = trip.names()
    expected = Counter((r.doc_id, names[r.code_id], int(r.start), int(r.end), r.memo)
                       for r in trip.codings.itertuples() if _note(r.memo))
    have = Counter((r.doc, r.code, r.start, r.end, r.memo) for r in got.itertuples() if _note(r.memo))
    assert have == expected, _differ("coding memos (document, code, start, end, memo)", expected, have)


def test_qualcoder_gets_every_case(trip):
    trip.require_import()
    participants = set(trip.documents["participant"].dropna()) if "participant" in trip.documents else set()
    assert participants, "the test's projects have a participant column"
    got = {name for (name,) in trip.query("SELECT name FROM cases")}
    assert got == participants, _differ("cases", participants, got)


def test_qualcoder_gets_every_document_value(trip):
    """Each document's attribute value is in QualCoder: as a variable of that file, or of its case (participant)."""
    trip.require_import()
    file_values = {(doc, name): value for doc, name, value in trip.query(
        "SELECT s.name, a.name, a.value FROM attribute a JOIN source s ON s.id = a.id WHERE a.attr_type = 'file'")}
    case_values = {(case, name): value for case, name, value in trip.query(
        "SELECT c.name, a.name, a.value FROM attribute a JOIN cases c ON c.caseid = a.id WHERE a.attr_type = 'case'")}
    lost = []
    for _, doc in trip.documents.iterrows():
        for attribute in trip.attributes:
            value = doc[attribute]
            if _absent(value):
                continue
            on_file = (doc["doc_id"], attribute) in file_values and _same(file_values[doc["doc_id"], attribute], value)
            on_case = ((doc["participant"], attribute) in case_values
                       and _same(case_values[doc["participant"], attribute], value))
            if not (on_file or on_case):
                lost.append((doc["doc_id"], attribute, str(value), file_values.get((doc["doc_id"], attribute)),
                             case_values.get((doc["participant"], attribute))))
    assert not lost, (f"{len(lost)} document values not found (document, attribute, value, QualCoder's file value, "
                      f"its case value): {lost[:8]}")


def test_qualcoder_shows_per_document_values_as_file_variables(trip):
    """A value that differs between one participant's documents (stage, round, date) is a file variable."""
    trip.require_import()
    docs = trip.documents
    varying = sorted(a for a in trip.attributes
                     if (docs.groupby("participant")[a].nunique(dropna=True) > 1).any())
    assert varying, "the test's projects have per-document values"
    kinds = dict(trip.query("SELECT name, caseOrFile FROM attribute_type"))
    wrong = {a: kinds.get(a, "<missing>") for a in varying if kinds.get(a) != "file"}
    assert not wrong, (f"per-document variables QualCoder files as case variables (hidden from its file manager): "
                       f"{wrong}")


def test_qualcoder_gets_the_codebook_qdc(codebook_trip):
    if not codebook_trip.db.exists():
        pytest.fail(f"QualCoder made no project.\n{codebook_trip.imported.describe()}")
    other = "en" if LANG == "es" else "es"
    names = {c.id: c.label.get(LANG) or c.label.get(other) or c.id for c in codebook_trip.codebook}
    expected = _expected_parents(codebook_trip.codebook, names)
    got = _qc_parent_names(codebook_trip.db)
    assert got == expected, _differ("codes with their parents", set(expected.items()), set(got.items()))
    problems = codebook_trip.imported.problems()
    assert not problems, f"{problems}\n{codebook_trip.imported.describe()}"


# --- qualcode → QualCoder → qualcode: what comes back -----------------------------------------------------------


def test_qualcoder_exports_the_project_without_error(trip):
    trip.require_import()
    if trip.exported is None:
        pytest.fail(f"QualCoder's export did not run: {trip.back_error}")
    problems = trip.exported.problems()
    assert trip.qc_qdpx is not None and not problems, f"{problems}\n{trip.exported.describe()}"


def test_roundtrip_qualcode_reads_qualcoders_export_without_warnings(trip):
    trip.require_back()
    assert not trip.back_warnings, f"qualcode's import of QualCoder's export warned: {trip.back_warnings}"


def test_roundtrip_keeps_every_document(trip):
    back = trip.require_back()
    got = dict(zip(back.documents["doc_id"], back.documents["text"], strict=True))
    assert set(got) == set(trip.texts), _differ("documents", set(trip.texts), set(got))
    wrong = [doc for doc, text in trip.texts.items() if got[doc] != text]
    assert not wrong, f"documents whose text changed on the way: {wrong}"


def test_roundtrip_keeps_the_codebook(trip):
    back = trip.require_back()
    expected = {(c.id, c.parent_id, c.label.get(LANG)) for c in trip.codebook}
    got = {(c.id, c.parent_id, c.label.get(LANG)) for c in back.codebook()}
    assert got == expected, _differ("codes (id, parent, label)", expected, got)


def test_roundtrip_keeps_every_coding_at_its_exact_text(trip):
    back = trip.require_back()
    texts = trip.texts
    expected = {(r.doc_id, r.code_id, int(r.start), int(r.end)) for r in trip.codings.itertuples()}
    got_rows = _current_codings(back)
    got = {(r.doc_id, r.code_id, int(r.start), int(r.end)) for r in got_rows.itertuples()}
    assert got == expected, _differ("codings (document, code, start, end)", expected, got)
    back_texts = dict(zip(back.documents["doc_id"], back.documents["text"], strict=True))
    wrong = [(d, s, e) for d, _, s, e in got if back_texts[d][s:e] != texts[d][s:e]]
    assert not wrong, f"codings on other words than qualcode's: {wrong[:5]}"


def test_roundtrip_keeps_each_coders_codings(trip):
    back = trip.require_back()
    expected = Counter((r.doc_id, r.code_id, int(r.start), int(r.end), r.coder) for r in trip.codings.itertuples())
    got = Counter((r.doc_id, r.code_id, int(r.start), int(r.end), r.coder) for r in _current_codings(back).itertuples())
    assert got == expected, _differ("codings (document, code, start, end, coder)", expected, got)


def test_roundtrip_keeps_every_memo(trip):
    back = trip.require_back()
    expected = Counter((r.doc_id, r.code_id, int(r.start), int(r.end), r.memo)
                       for r in trip.codings.itertuples() if _note(r.memo))
    got = Counter((r.doc_id, r.code_id, int(r.start), int(r.end), r.memo)
                  for r in _current_codings(back).itertuples() if _note(r.memo))
    assert got == expected, _differ("memos (document, code, start, end, memo)", expected, got)


def test_roundtrip_keeps_every_attribute(trip):
    back = trip.require_back()
    got = back.documents.set_index("doc_id")
    lost = []
    for _, doc in trip.documents.iterrows():
        for attribute in trip.attributes:
            value = doc[attribute]
            if _absent(value):
                continue
            known = attribute in got.columns and doc["doc_id"] in got.index
            back_value = got.at[doc["doc_id"], attribute] if known else "<missing>"
            if not _same(value, back_value):
                lost.append((doc["doc_id"], attribute, str(value), str(back_value)))
    assert not lost, f"{len(lost)} attribute values lost or changed (document, attribute, was, now): {lost[:8]}"


def test_roundtrip_codebook_qdc(codebook_trip):
    if codebook_trip.back is None:
        pytest.fail(f"{codebook_trip.back_error}\n"
                    f"{(codebook_trip.exported or codebook_trip.imported).describe()}")
    expected = {(c.id, c.parent_id, c.label.get(LANG)) for c in codebook_trip.codebook}
    got = {(c.id, c.parent_id, c.label.get(LANG)) for c in codebook_trip.back}
    assert got == expected, _differ("codes (id, parent, label)", expected, got)


def test_roundtrip_keeps_the_codebook_title(trip):
    """QualCoder drops qualcode's Set but keeps the project's description (its project memo): the title is read
    back from there (in the export's language, the one QualCoder shows)."""
    back = trip.require_back()
    assert trip.query("SELECT memo FROM project")[0][0].startswith("Libro de códigos: ")
    assert back.codebook().id == trip.codebook.id
    assert back.codebook().title[LANG] == trip.codebook.title[LANG]
    assert qc.imported_notes(back).empty, "the codebook's summary is no project memo"


def test_roundtrip_brings_each_attribute_back_once(trip):
    """A participant-level value is on the case and on each document: it comes back once, as one column."""
    back = trip.require_back()
    got = [c for c in back.documents.columns if c not in DECLARED]
    assert sorted(got) == sorted(trip.attributes), _differ("attribute columns", set(trip.attributes), set(got))
    report = qc.import_report(back)
    assert not report["outcome"].isin(["renamed", "not imported"]).any(), report.to_string()


# --- participant-level values for QualCoder users (export_refi_qda(for_tool="qualcoder")) ------------------------


@pytest.fixture(scope="module")
def qualcoder_trip(work) -> Trip:
    """The rich project written for QualCoder: participant-level values on each document only."""
    folder = work / "for_qualcoder"
    folder.mkdir()
    result = _round_trip("for_qualcoder", _rich_project(folder), folder, for_tool="qualcoder")
    yield result
    if result.back is not None:
        result.back.close()


def test_qualcoder_users_filter_documents_by_participant_level_values(qualcoder_trip):
    """QualCoder's file attributes (what its reports filter files by) hold every value; its filter query (from
    report_attributes.select_attributes_file_ids) finds exactly the participant's documents."""
    trip = qualcoder_trip
    trip.require_import()
    assert not trip.imported.problems(), trip.imported.describe()
    kinds = dict(trip.query("SELECT name, caseOrFile FROM attribute_type"))
    assert kinds and set(kinds.values()) == {"file"}, kinds
    docs = trip.documents
    for attribute in ["participant", "district"]:
        for value, group in docs.groupby(attribute):
            found = {name for (name,) in trip.query(
                "SELECT s.name FROM attribute a JOIN source s ON s.id = a.id WHERE a.name = ? AND a.value = ? "
                "AND a.attr_type = 'file'".replace("?", "'{}'").format(attribute, value))}
            assert found == set(group["doc_id"]), (attribute, value, found)
    assert {name for (name,) in trip.query("SELECT name FROM cases")} == set(docs["participant"].dropna())


def test_qualcoder_trip_for_qualcoder_brings_every_value_back_once(qualcoder_trip):
    back = qualcoder_trip.require_back()
    got = back.documents.set_index("doc_id")
    lost = [(d.doc_id, a) for d in qualcoder_trip.documents.itertuples() for a in qualcoder_trip.attributes
            if not _same(getattr(d, a), got.at[d.doc_id, a] if a in got.columns else "<missing>")]
    assert not lost, lost
    extra = [c for c in back.documents.columns if c not in DECLARED and c not in qualcoder_trip.attributes]
    assert not extra, extra


# --- imported notes: qualcode → QualCoder → qualcode ----------------------------------------------------------------

NOTE_GUID = "60000000-0000-0000-0000-00000000000"
NOTES_TEXT = "Entrevistadora: Hola\nAna: Confío en mis colegas 🙂. Compartimos materiales.\n"


def _notes_project(work: Path) -> Path:
    """A project imported from a hand-made .qdpx with a memo in every place (journal with non-ASCII, annotations
    in two forms and one over a coding, source, case, code and project memos, a note with no date)."""
    t = NOTES_TEXT
    a, b = t.index("Confío"), t.index("Confío") + len("Confío en mis colegas")
    c, d = t.index("Compartimos"), t.index("Compartimos") + len("Compartimos")
    ns, user, code, source = ("urn:QDA-XML:project:1.0", "10000000-0000-0000-0000-000000000001",
                              "20000000-0000-0000-0000-000000000001", "30000000-0000-0000-0000-000000000001")
    qde = (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{ns}" name="notas" origin="hand-made test">'
           f'<Users><User guid="{user}" name="ana"/></Users>'
           f'<CodeBook><Codes><Code guid="{code}" name="Confianza" isCodable="true"><NoteRef targetGUID="{NOTE_GUID}5"/>'
           '</Code></Codes></CodeBook>'
           '<Variables><Variable guid="90000000-0000-0000-0000-000000000001" name="participant" typeOfVariable="Text"/>'
           '</Variables>'
           '<Cases><Case guid="80000000-0000-0000-0000-000000000001" name="D1"><Description>memo del caso</Description>'
           '<VariableValue><VariableRef targetGUID="90000000-0000-0000-0000-000000000001"/><TextValue>D1</TextValue>'
           f'</VariableValue><SourceRef targetGUID="{source}"/></Case></Cases>'
           f'<Sources><TextSource guid="{source}" name="entrevista" plainTextPath="internal://{source}.txt">'
           '<Description>memo del documento</Description>'
           f'<PlainTextSelection guid="40000000-0000-0000-0000-000000000001" name="" startPosition="{a}" '
           f'endPosition="{b}" creatingUser="{user}" creationDateTime="2024-03-15T10:00:00Z">'
           f'<Coding guid="50000000-0000-0000-0000-000000000001" creatingUser="{user}"><CodeRef targetGUID="{code}"/>'
           '</Coding></PlainTextSelection>'
           f'<PlainTextSelection guid="40000000-0000-0000-0000-000000000002" name="" startPosition="{a}" '
           f'endPosition="{a + 6}" creatingUser="{user}" creationDateTime="2024-03-15T10:00:00Z">'
           '<Description>anotación sobre una codificación</Description></PlainTextSelection>'
           f'<PlainTextSelection guid="40000000-0000-0000-0000-000000000003" name="" startPosition="{c}" '
           f'endPosition="{d}"><Description>anotación sin fecha</Description></PlainTextSelection>'
           '</TextSource></Sources>'
           f'<Notes><Note guid="{NOTE_GUID}1" name="Diario ñandú" creatingUser="{user}" '
           f'creationDateTime="2024-03-16T09:00:00Z" plainTextPath="internal://{NOTE_GUID}1.txt"/>'
           f'<Note guid="{NOTE_GUID}2" name="Memo del proyecto"><PlainTextContent>memo del proyecto</PlainTextContent>'
           f'</Note><Note guid="{NOTE_GUID}5" name="Confianza"><PlainTextContent>memo del código</PlainTextContent>'
           f'</Note></Notes><NoteRef targetGUID="{NOTE_GUID}2"/></Project>')
    path = work / "notas.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr(f"sources/{source}.txt", t)
        archive.writestr(f"sources/{NOTE_GUID}1.txt", "Día 1: ¿qué aprendí? — «confianza» 🙂")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qc.QualcodeWarning)
        qc.import_refi_qda(path, work / "notas.qualcode").close()
    return work / "notas.qualcode"


@pytest.fixture(scope="module")
def notes_trip(work) -> Trip:
    folder = work / "notes"
    folder.mkdir()
    project = _notes_project(folder)
    result = _round_trip("notes", project, folder)
    with qc.Project.open(project) as original:
        result.notes = qc.imported_notes(original)  # type: ignore[attr-defined]
    yield result
    if result.back is not None:
        result.back.close()


def test_qualcoder_gets_every_imported_note(notes_trip):
    """Journals (and project and code memos, which QualCoder keeps as journals), annotations, the source memo and
    the case memo arrive where QualCoder keeps them, with their authors."""
    trip = notes_trip
    trip.require_import()
    assert not trip.imported.problems(), f"{trip.imported.problems()}\n{trip.imported.describe()}"
    journals = {name: (entry, owner) for name, entry, owner in trip.query("SELECT name, jentry, owner FROM journal")}
    assert journals == {"Diario ñandú": ("Día 1: ¿qué aprendí? — «confianza» 🙂", "ana"),
                        "Memo del proyecto": ("memo del proyecto", "default"),
                        "Confianza": ("memo del código", "default")}
    a = NOTES_TEXT.index("Confío")
    c = NOTES_TEXT.index("Compartimos")
    annotations = set(trip.query("SELECT pos0, pos1, memo, owner FROM annotation"))
    assert annotations == {(a, a + 6, "anotación sobre una codificación", "ana"),
                           (c, c + len("Compartimos"), "anotación sin fecha", "default")}
    assert trip.query("SELECT memo FROM source") == [("memo del documento",)]
    assert trip.query("SELECT name, memo FROM cases") == [("D1", "memo del caso")]
    assert len(trip.query("SELECT * FROM code_text")) == 1  # the coding under the annotation is still there


def test_roundtrip_keeps_every_imported_note(notes_trip):
    """Back in qualcode every note's text comes back; annotations, source and case memos of the same kind, on the
    same words; project and code memos as journals (QualCoder has no other place for them: README)."""
    back = notes_trip.require_back()
    before = notes_trip.notes  # type: ignore[attr-defined]
    after = qc.imported_notes(back)
    assert sorted(after["text"]) == sorted(before["text"])
    kind_now = dict(zip(after["text"], after["kind"], strict=True))
    expected = {t: ("journal" if k in ("project memo", "code memo") else k)
                for t, k in zip(before["text"], before["kind"], strict=True)}
    assert kind_now == expected
    spans = {(r.text, r.start, r.end) for r in after.itertuples() if r.kind == "annotation"}
    assert spans == {(r.text, r.start, r.end) for r in before.itertuples() if r.kind == "annotation"}


def _trial_builder():
    """The trial's hand-made file builder (tests/export/test_refi_trial_cases.py), loaded by path: tests are not a
    package, and one builder keeps the fast and the QualCoder tests on the same input."""
    path = Path(__file__).parents[1] / "export" / "test_refi_trial_cases.py"
    spec = importlib.util.spec_from_file_location("refi_trial_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.trial_qdpx


@pytest.fixture(scope="module")
def trial_trip(work) -> Trip:
    folder = work / "trial"
    folder.mkdir()
    source = _trial_builder()(folder / "hand_made.qdpx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qc.QualcodeWarning)
        qc.import_refi_qda(source, folder / "trial.qualcode").close()
    result = _round_trip("trial", folder / "trial.qualcode", folder, for_tool="qualcoder")
    with qc.Project.open(folder / "trial.qualcode") as original:
        result.notes = qc.imported_notes(original)  # type: ignore[attr-defined]
    yield result
    if result.back is not None:
        result.back.close()


def test_trial_source_memos_cases_and_notes_survive_qualcoder(trial_trip):
    """The trial's file (cases, one without a memo; a source memo as Description and one as a named note; an
    undated note) through QualCoder, written ``--qdpx-for qualcoder``: QualCoder gets both cases, the source's memo and the second source memo (as a
    journal, from its text file); back in qualcode every note's text and every case are there."""
    trip = trial_trip
    trip.require_import()
    assert sorted(n for (n,) in trip.query("SELECT name FROM cases")) == ["María González", "Pedro Ramírez"]
    memos = dict(trip.query("SELECT name, memo FROM source"))
    assert memos["ent_maria"] == "Memo de fuente: hecha en la escuela de María."
    journals = dict(trip.query("SELECT name, jentry FROM journal"))
    assert journals.get("Nota de fuente") == "Audio con ruido; María habló bajo."
    assert journals.get("Nota sin fecha") == "Nota sin fecha de Rosa."
    back = trip.require_back()
    assert sorted(qc.imported_notes(back)["text"]) == sorted(trip.notes["text"])  # type: ignore[attr-defined]
    participants = dict(zip(back.documents["doc_id"], back.documents["participant"], strict=True))
    assert participants["ent_pedro"] == "Pedro Ramírez" and participants["ent_maria"] == "María González"
