"""Applying a review workbook: net effect per segment and code, idempotent (also across processes), labels in
"otro código", the suggestion's method and score kept, another project's workbook refused once, CLI words."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import qualcode as qc
from qualcode.errors import ReviewSheetError
from qualcode.review.sheet import normalize_decision

TRANSCRIPT = ("E: ¿Cómo fue el primer año en la escuela?\n"
              "D1: Me sentí sola, con mucha carga de trabajo y sin apoyo del servicio local.\n"
              "E: ¿Y después?\n"
              "D1: Armamos un equipo de gestión y repartimos el liderazgo con las colegas.\n")
SUGGESTED = ["leadership.workload", "leadership.support.lacking", "leadership.style.distributed"]
ELSEWHERE = "leadership.resilience"  # never suggested: only reachable as "otro código"
CODEBOOK = qc.load_codebook("leadership")
LABELS = {c.id: c.label for c in CODEBOOK}


def make_project(folder: Path, name: str = "p.qualcode") -> qc.Project:
    (folder / "t").mkdir(parents=True, exist_ok=True)
    (folder / "t" / "entrevista.txt").write_text(TRANSCRIPT, encoding="utf-8")
    corpus, _ = qc.load_corpus(folder / "t")
    project = qc.Project.create(folder / name)
    project.add_corpus(corpus)
    project.add_codebook(CODEBOOK)
    segs = project.segments
    first = segs[segs["speaker_role"] == "participant"]["segment_id"].iloc[0]
    project.add_suggestions(pd.DataFrame({
        "segment_id": first, "code_id": SUGGESTED, "method": ["keyword", "embedding", "keyword"],
        "score": [0.8123456, 0.55, 0.4321], "evidence": "", "codebook_version": CODEBOOK.version, "rank": [1, 2, 3]}))
    return project


def fill(template: Path, target: Path, cells: dict[tuple[str, str], object]) -> Path:
    """Copy a workbook, setting (code of the row, column header) cells."""
    book = openpyxl.load_workbook(template)
    ws = book.worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    rows = {ws.cell(r, header["_code_id"]).value: r for r in range(2, ws.max_row + 1)}
    for (code, column), value in cells.items():
        ws.cell(rows[code], header[column]).value = value
    book.save(target)
    return target


def state(project: qc.Project, coder: str) -> dict[str, list[tuple]]:
    current = qc.decisions(project, coder=coder)
    out: dict[str, list[tuple]] = {}
    for r in current.itertuples():
        memo = r.memo if isinstance(r.memo, str) else None
        out.setdefault(r.code_id, []).append((r.decision, int(r.start), int(r.end), memo))
    return {k: sorted(v, key=str) for k, v in out.items()}


# -- the rule, written independently of the code: what a workbook's rows on one segment mean -----------------
def net_intent(rows: list[tuple[str, str | None, str | None, str | None]]) -> dict[str, tuple[str, str | None]]:
    """rows: (code, decision accept/reject/None, other code id or None, memo) → code → (kind, memo)."""
    said: dict[str, list[tuple[str, str | None]]] = {}
    for code, decision, other, memo in rows:
        if decision:
            said.setdefault(code, []).append((decision, memo))
        if other == code:
            said.setdefault(code, []).append(("accept", memo))
        elif other:
            if decision is None:
                said.setdefault(code, []).append(("reject", memo))
            said.setdefault(other, []).append(("manual", memo))
    net = {}
    for code, items in said.items():
        positive = [i for i in items if i[0] != "reject"]
        negative = [i for i in items if i[0] == "reject"]
        if positive and negative:
            continue  # the rows disagree: nothing recorded for this code
        kind = "reject" if negative else ("accept" if any(k == "accept" for k, _ in positive) else "manual")
        memo = " | ".join(dict.fromkeys(m for _, m in (negative or positive) if m)) or None
        net[code] = (kind, memo)
    return net


def expected(before: dict[str, list[tuple]], net: dict[str, tuple[str, str | None]], whole: tuple[int, int]):
    after = {k: list(v) for k, v in before.items()}
    for code, (kind, memo) in net.items():
        if kind == "reject":
            after[code] = [("reject", *whole, memo)]
        else:
            kept = [r for r in after.get(code, []) if r[0] != "reject" and (r[1], r[2]) != whole]
            after[code] = [*kept, (kind, *whole, memo)]
    return {k: sorted(v, key=str) for k, v in after.items()}


OTHER = st.sampled_from(["none", "own", "sibling", "elsewhere_id", "elsewhere_label_es", "elsewhere_label_en"])
ROW = st.tuples(st.sampled_from([None, "sí", "no"]), OTHER, st.sampled_from([None, "memo 1", "memo 2"]))
PRIOR = st.lists(st.tuples(st.sampled_from(["accept", "reject", "manual", "span"]),
                           st.sampled_from([*SUGGESTED, ELSEWHERE])), max_size=2)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("apply")
    project = make_project(folder)
    template = folder / "template.xlsx"
    qc.export_review_sheet(project, project.suggestions, template, coder="ana")
    segs = project.segments
    seg = segs[segs["speaker_role"] == "participant"].iloc[0]
    yield {"project": project, "template": template, "folder": folder, "segment": seg, "n": itertools.count()}
    project.close()


CASES = {"codes": st.permutations(SUGGESTED).flatmap(lambda p: st.integers(1, 3).map(lambda n: p[:n])),
         "rows": st.lists(ROW, min_size=3, max_size=3), "prior": PRIOR}
QUICK = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


@QUICK
@given(**CASES)
def test_reapplying_a_workbook_changes_nothing_whatever_its_rows_on_one_segment_say(shared, codes, rows, prior):
    check_apply_twice(shared, codes, rows, prior)


@pytest.mark.slow
@settings(QUICK, max_examples=500)
@given(**CASES)
def test_reapplying_a_workbook_changes_nothing_many_more_combinations(shared, codes, rows, prior):
    check_apply_twice(shared, codes, rows, prior)


def check_apply_twice(shared, codes, rows, prior):
    """Accept / reject / other code (own, a sibling's, another, by label) / memo on 1-3 rows of one segment,
    after 0-2 earlier decisions: the first apply gives the net intent, the next ones add nothing."""
    project, seg = shared["project"], shared["segment"]
    coder = f"coder{next(shared['n'])}"  # a fresh coder per example: independent states in one project
    sid = seg["segment_id"]
    for kind, code in prior:
        if kind == "span":
            qc.add_manual(project, [sid], code, coder=coder, spans=[(seg["start"], seg["start"] + 5)], memo="antes")
        else:
            getattr(qc, "add_manual" if kind == "manual" else kind)(project, [sid], code, coder=coder)
    # The earlier decisions are in the log when the workbook is exported: decisions made after the export
    # by other means are not reversed by it (test_applying_an_older_workbook_never_reverses_a_later_decision).
    template = shared["folder"] / f"{coder}-template.xlsx"
    qc.export_review_sheet(project, project.suggestions, template, coder=coder)
    cells, meant = {}, []
    for i, (code, (decision, other, memo)) in enumerate(zip(codes, rows, strict=False)):  # rows: always 3, used for 1-3 codes
        sibling = codes[(i + 1) % len(codes)] if len(codes) > 1 else ELSEWHERE
        typed, other_id = {
            "none": (None, None), "own": (code, code), "sibling": (sibling, sibling),
            "elsewhere_id": (ELSEWHERE, ELSEWHERE),
            "elsewhere_label_es": (LABELS[ELSEWHERE]["es"].upper().replace("Ó", "O"), ELSEWHERE),
            "elsewhere_label_en": (f"  {LABELS[ELSEWHERE]['en'].lower()} ", ELSEWHERE)}[other]
        cells.update({(code, "decisión"): decision, (code, "otro código"): typed, (code, "memo"): memo})
        meant.append((code, normalize_decision(decision), other_id, memo))
    meant.sort(key=lambda row: SUGGESTED.index(row[0]))  # the workbook's row order (memos are joined in it)
    path = fill(template, shared["folder"] / f"{coder}.xlsx", cells)
    before = state(project, coder)
    n_before = len(qc.decisions(project, history=True))
    first = qc.apply_review(project, qc.read_review_sheet(path), coder=coder)
    whole = (int(seg["start"]), int(seg["end"]))
    assert state(project, coder) == expected(before, net_intent(meant), whole)
    n_after = len(qc.decisions(project, history=True))
    for _ in range(2):
        again = qc.apply_review(project, qc.read_review_sheet(path), coder=coder)
        assert len(qc.decisions(project, history=True)) == n_after
        assert state(project, coder) == expected(before, net_intent(meant), whole)
        assert not (again["outcome"] == "applied").any() and "".join(again["decisions"]) == ""
    appended = qc.decisions(project, history=True).iloc[n_before:]
    assert not appended["code_id"].duplicated().any()  # the net effect: at most one decision per code
    disagree = first["message"].str.contains("disagree")
    assert set(first.loc[disagree, "outcome"]) <= {"partial", "refused"}


def test_accept_x_and_x_as_other_code_on_a_sibling_row_is_one_accept_once(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana")
    x, y = SUGGESTED[0], SUGGESTED[1]
    fill(path, path, {(x, "decisión"): "sí", (y, "decisión"): "no", (y, "otro código"): x})
    reports = [qc.apply_review(project, qc.read_review_sheet(path)) for _ in range(3)]
    history = qc.decisions(project, history=True)
    assert sorted(zip(history["code_id"], history["decision"], strict=True)) == sorted([(x, "accept"), (y, "reject")])
    assert list(reports[0]["outcome"][:2]) == ["applied", "applied"]
    assert all(set(r["outcome"]) <= {"unchanged", "blank"} for r in reports[1:])


def test_rows_that_reject_and_choose_one_code_are_reported_and_the_rest_recorded(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana")
    x, y = SUGGESTED[0], SUGGESTED[1]
    fill(path, path, {(x, "decisión"): "no", (y, "decisión"): "no", (y, "otro código"): x})
    report = qc.apply_review(project, qc.read_review_sheet(path)).set_index("code_id")
    assert report.loc[x, "outcome"] == "refused" and "disagree on code" in report.loc[x, "message"]
    assert report.loc[y, "outcome"] == "partial" and report.loc[y, "decisions"] == "reject"
    current = qc.decisions(project)
    assert list(zip(current["code_id"], current["decision"], strict=True)) == [(y, "reject")]


WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import qualcode as qc
    project_path, sheet, go, ready = sys.argv[1:5]
    project = qc.Project.open(project_path)
    review = qc.read_review_sheet(sheet)
    Path(ready).touch()
    while not Path(go).exists():   # both processes are ready: start together
        time.sleep(0.001)
    report = qc.apply_review(project, review)
    print(",".join(report["outcome"]))
""")


def test_two_processes_applying_one_workbook_at_once_add_it_once(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana")
    fill(path, path, {(SUGGESTED[0], "decisión"): "sí", (SUGGESTED[1], "otro código"): ELSEWHERE,
                      (SUGGESTED[2], "decisión"): "no", (SUGGESTED[2], "memo"): "no es distribuido"})
    project.close()
    go, ready = tmp_path / "go", [tmp_path / "ready1", tmp_path / "ready2"]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path / "p.qualcode"), str(path), str(go),
                               str(flag)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for flag in ready]
    deadline = time.time() + 120
    while not all(flag.exists() for flag in ready) and time.time() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    history = qc.decisions(qc.Project.open(tmp_path / "p.qualcode"), history=True)
    assert len(history) == 4 and not history.duplicated(["segment_id", "code_id", "decision"]).any()
    applied = sorted(out.strip() for out, _ in outputs)
    assert "applied" not in applied[0] or "applied" not in applied[1]


def test_a_workbook_from_another_project_is_refused_once_clearly(tmp_path):
    a = make_project(tmp_path / "a", "estudio.qualcode")
    b = make_project(tmp_path / "b", "estudio.qualcode")  # the same transcripts: only the id tells them apart
    path = tmp_path / "a" / "rev.xlsx"
    qc.export_review_sheet(a, a.suggestions, path, coder="ana")
    fill(path, path, {(SUGGESTED[0], "decisión"): "sí"})
    with pytest.raises(ReviewSheetError, match="exported from another project") as caught:
        qc.apply_review(b, qc.read_review_sheet(path))
    assert "re-export from this one" in str(caught.value) and str(tmp_path / "a") in str(caught.value)
    assert qc.decisions(b, history=True).empty
    b.close()
    from qualcode.cli import app

    result = CliRunner().invoke(app, ["review", "apply", str(tmp_path / "b" / "estudio.qualcode"), str(path)])
    assert result.exit_code == 2 and result.output.count("exported from another project") == 1  # once, nothing done
    b = qc.Project.open(tmp_path / "b" / "estudio.qualcode")
    assert qc.decisions(b, history=True).empty
    assert list(qc.apply_review(a, qc.read_review_sheet(path))["outcome"]) == ["applied", "blank", "blank"]


def _without_project_id(path: Path) -> Path:
    book = openpyxl.load_workbook(path)
    about = book["about"]
    for row in range(about.max_row, 0, -1):
        if about.cell(row, 1).value == "project_id":
            about.delete_rows(row)
    book.save(path)
    return path


def test_old_workbooks_without_a_project_id_still_apply_and_a_foreign_one_is_refused_once(tmp_path):
    a = make_project(tmp_path / "a")
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(a, a.suggestions, path, coder="ana")
    fill(path, path, {(SUGGESTED[0], "decisión"): "sí"})
    _without_project_id(path)
    assert qc.read_review_sheet(path).attrs["project_id"] is None
    assert qc.apply_review(a, qc.read_review_sheet(path))["outcome"].iloc[0] == "applied"
    folder = tmp_path / "other"
    (folder / "t").mkdir(parents=True)
    (folder / "t" / "x.txt").write_text("E: ¿Hola?\nD1: Otra escuela, otra historia.\n", encoding="utf-8")
    other = qc.Project.create(folder / "p.qualcode")
    other.add_corpus(qc.load_corpus(folder / "t")[0])
    other.add_codebook(CODEBOOK)
    with pytest.raises(ReviewSheetError, match="none of the workbook's 3 rows is a segment"):
        qc.apply_review(other, qc.read_review_sheet(path))


def test_other_code_takes_a_label_in_either_language_or_an_id_and_an_unclear_cell_keeps_the_rows_decision(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana", lang="en")
    fill(path, path, {(SUGGESTED[0], "other code"): "estres y BIENESTAR",        # Spanish label, any case/accent
                      (SUGGESTED[1], "other code"): "Resilience after crises",  # English label
                      (SUGGESTED[2], "decision"): "no",
                      (SUGGESTED[2], "other code"): "Liderasgo jerarquico"})     # a typo: reported
    report = qc.apply_review(project, qc.read_review_sheet(path)).set_index("code_id")
    assert report.loc[SUGGESTED[0], "decisions"] == "reject+manual"
    assert report.loc[SUGGESTED[1], "decisions"] == "reject+manual"
    unclear = report.loc[SUGGESTED[2]]
    assert unclear["outcome"] == "partial" and unclear["decisions"] == "reject"
    assert "'Liderasgo jerarquico'" in unclear["message"] and "leadership.style.hierarchical" in unclear["message"]
    current = qc.decisions(project)
    manual = current[current["decision"] == "manual"]
    assert sorted(manual["code_id"]) == ["leadership.resilience", "leadership.workload.stress"]
    assert sorted(current.loc[current["decision"] == "reject", "code_id"]) == sorted(SUGGESTED)


def test_decisions_applied_from_a_workbook_keep_the_suggestions_method_and_score(tmp_path):
    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path, coder="ana")
    fill(path, path, {(SUGGESTED[0], "decisión"): "sí", (SUGGESTED[1], "decisión"): "no",
                      (SUGGESTED[2], "otro código"): ELSEWHERE})
    qc.apply_review(project, qc.read_review_sheet(path))
    current = qc.decisions(project).set_index(["code_id", "decision"])
    stored = project.suggestions.set_index("code_id")
    for code, kind in [(SUGGESTED[0], "accept"), (SUGGESTED[1], "reject"), (SUGGESTED[2], "reject")]:
        assert current.loc[(code, kind), "method"] == stored.loc[code, "method"]
        assert current.loc[(code, kind), "score"] == stored.loc[code, "score"]  # exact, not the sheet's rounding
    assert pd.isna(current.loc[(ELSEWHERE, "manual"), "method"])


def test_review_apply_without_a_coder_answers_in_cli_words(tmp_path):
    from qualcode.cli import app

    project = make_project(tmp_path)
    path = tmp_path / "rev.xlsx"
    qc.export_review_sheet(project, project.suggestions, path)  # no coder
    fill(path, path, {(SUGGESTED[0], "decisión"): "sí"})
    result = CliRunner().invoke(app, ["review", "apply", str(tmp_path / "p.qualcode"), str(path)])
    assert result.exit_code == 2
    assert f"qualcode review apply {tmp_path / 'p.qualcode'} {path} --coder ana" in result.output
    assert "apply_review(" not in result.output and qc.decisions(project, history=True).empty
    with pytest.raises(ReviewSheetError, match=r"apply_review\(\.\.\., coder='ana'\)"):
        qc.apply_review(project, qc.read_review_sheet(path))


def test_a_memo_with_a_lone_surrogate_is_a_parameter_error_naming_it(tmp_path, samples):
    # hostile trial: a memo holding "\ud800" ended in a raw UnicodeEncodeError from the log (Python API).
    import qualcode as qc
    from qualcode.errors import ParameterError

    corpus, _ = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt")
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        segment = project.segments["segment_id"].iloc[1]
        with pytest.raises(ParameterError, match="memo 'nota \\\\ud800' holds a lone surrogate"):
            qc.add_manual(project, [segment], "collaboration", coder="ana", memo="nota \ud800")
        assert qc.decisions(project).empty
