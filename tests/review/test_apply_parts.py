"""A review workbook read and applied in bounded memory (issue 20): the rows checked and written in parts of whole
segments, all parts in one transaction; read keeping only the columns apply needs."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ParameterError
from qualcode.io import safe
from qualcode.project import text_hash
from qualcode.review import sheet as review_sheet
from qualcode.review.log import Decision, DecisionLog

REVIEW_COLUMNS = ["row", "segment_id", "text_sha", "code_id", "decision", "other_code", "memo", "method", "score",
                  "problem", "decision_problem", "remark"]


def review_of(project: qc.Project, n: int, *, coder: str = "ana", order: str = "segment",
              seed: int = 0) -> pd.DataFrame:
    """A read review sheet of ``n`` suggestion rows (what read_review_sheet returns), every other one accepted.

    ``order="segment"``: a segment's rows together (as exported in reading order); ``"code"``: code by code, so
    a segment's rows lie far apart; ``"shuffled"``: any order.
    """
    segs = project.segments
    part = segs[segs["speaker_role"] == "participant"]
    codes = [c.id for c in project.codebook() if "." in c.id]
    pairs = [(seg, text, code) for seg, text in zip(part["segment_id"], part["text"], strict=True) for code in codes]
    assert len(pairs) >= n, f"the sample project has only {len(pairs)} (segment, code) pairs"
    pairs = pairs[:n]
    if order == "code":
        pairs.sort(key=lambda p: codes.index(p[2]))  # stable: the segments in the same order for each code
    elif order == "shuffled":
        pairs = [pairs[i] for i in np.random.default_rng(seed).permutation(n)]
    frame = pd.DataFrame({
        "row": pd.array(range(2, n + 2), dtype="Int64"),
        "segment_id": [p[0] for p in pairs], "text_sha": [text_hash(p[1]) for p in pairs],
        "code_id": [p[2] for p in pairs], "decision": ["accept" if i % 2 else "reject" for i in range(n)],
        "other_code": None, "memo": None, "method": "keyword", "score": pd.array([0.5] * n, dtype="Float64"),
        "problem": None, "decision_problem": None, "remark": None})
    for column in REVIEW_COLUMNS:
        if column not in ("row", "score"):
            frame[column] = frame[column].astype("string")
    frame.attrs.update({"path": None, "coder": coder, "project_id": project.project_id, "export_id": f"x-{coder}",
                        "exported_at": "2026-12-01T00:00:00+00:00", "log_position": 0})
    return frame


def log_rows(project: qc.Project) -> list[tuple]:
    """The decision log without ids and times: what was decided, in log order."""
    return project.query("SELECT segment_id, code_id, coder, decision, span_start, span_end, memo, method, score, "
                         "export_id FROM decisions ORDER BY decision_id")


def traced_peak(fn) -> int:  # type: ignore[no-untyped-def]
    """Bytes allocated at the peak of ``fn()`` beyond what it returns (its result is what the caller asked for)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        kept, peak = tracemalloc.get_traced_memory()
        del result
        return peak - kept
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # ~3 s: two workbooks applied under tracemalloc
def test_review_apply_memory_does_not_grow_with_rows(project, monkeypatch):
    # Parts of 125 rows: 500 and 2,000 rows are 4 and 16 parts. Beyond the outcome table it returns, apply's
    # memory is one part's: on main (the whole workbook at once: row dicts, every segment's text, every decision)
    # it grew in proportion to the rows.
    monkeypatch.setattr(review_sheet, "APPLY_PART_ROWS", 125, raising=False)
    small, big = review_of(project, 500, coder="ana"), review_of(project, 2000, coder="ben")
    qc.apply_review(project, review_of(project, 10, coder="cy"))  # imports and caches: not counted below
    peak_small = traced_peak(lambda: qc.apply_review(project, small))
    peak_big = traced_peak(lambda: qc.apply_review(project, big))
    assert project.query("SELECT count(*) FROM decisions WHERE coder IN ('ana', 'ben')")[0][0] == 2500
    growth = (peak_big - peak_small) / (3 * peak_small)  # 1.0: in proportion to the rows
    assert growth < 0.25, (peak_small, peak_big, growth)  # here ~0.05; main ~1.05


def test_review_apply_error_in_a_later_part_leaves_the_project_unchanged(project, monkeypatch):
    monkeypatch.setattr(review_sheet, "APPLY_PART_ROWS", 20)
    review = review_of(project, 120)  # 57 codes: three segments of 57, 57 and 6 rows, a part each
    # A memo with a lone surrogate (half of an emoji some program cut) on a row of the second part: a
    # ParameterError when its decision is built, after the first part was written in the transaction.
    second = review["segment_id"].iloc[60]
    review["memo"] = review["memo"].astype(object)  # pandas' string type cannot hold it; a frame made by hand can
    review.loc[review["segment_id"] == second, "memo"] = "bien \ud83d"
    parts = []
    real = DecisionLog._append_part

    def spy(self, db, decisions, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts.append(len(decisions))
        return real(self, db, decisions, *args, **kwargs)

    monkeypatch.setattr(DecisionLog, "_append_part", spy)
    before = log_rows(project)
    with pytest.raises(ParameterError, match="lone surrogate"):
        qc.apply_review(project, review)
    assert parts == [57]  # the first part was written before the error
    assert log_rows(project) == before  # and nothing of it is kept
    # With the memo fixed, the same workbook applies whole.
    review["memo"] = review["memo"].map(lambda memo: memo.replace("\ud83d", "") if isinstance(memo, str) else memo)
    report = qc.apply_review(project, review)
    assert set(report["outcome"]) == {"applied"}
    assert len(log_rows(project)) == len(before) + 120


@pytest.mark.parametrize("order", ["code", "shuffled"])
def test_review_apply_in_parts_gives_the_outcomes_and_log_of_one_part(tmp_path, sample_corpus, study_codebook,
                                                                      monkeypatch, order):
    def fresh(name: str) -> qc.Project:
        p = qc.Project.create(tmp_path / name)
        p.add_corpus(sample_corpus)
        p.add_codebook(study_codebook)
        return p

    whole, parted = fresh("whole.qualcode"), fresh("parted.qualcode")
    review = review_of(whole, 300, order=order, seed=3)
    # What crosses part boundaries: a duplicated row, two rows that disagree on one code, another code chosen
    # on a far row of the same segment, a blank row, a stale row (decided in the notebook after the export).
    seg = review["segment_id"].iloc[0]
    first_code = review["code_id"].iloc[0]
    far = review.index[review["segment_id"] == seg][-1]
    assert far > 20  # in another part than row 2
    review.loc[far, ["decision", "other_code"]] = [pd.NA, first_code]  # chooses what row 2 rejects
    review = pd.concat([review, review.iloc[[0]]], ignore_index=True)
    review.loc[len(review) - 1, ["row", "problem"]] = [len(review) + 1, "duplicate of row 2 (taken once)"]
    review.loc[review.index[5], "decision"] = pd.NA
    review.loc[review.index[7], "other_code"] = "not a code"
    stale = review.iloc[11]
    for p in (whole, parted):
        p.log.append([Decision.reject(stale["segment_id"], stale["code_id"], "ana", doc_id="d", quote="q",
                                      source="notebook")])
    review["row"] = review["row"].astype("Int64")
    monkeypatch.setattr(review_sheet, "APPLY_PART_ROWS", 10**9)
    expected = qc.apply_review(whole, review)
    monkeypatch.setattr(review_sheet, "APPLY_PART_ROWS", 7)
    review.attrs["project_id"] = parted.project_id
    got = qc.apply_review(parted, review)
    pd.testing.assert_frame_equal(got, expected)
    assert set(expected["outcome"]) >= {"applied", "refused", "partial", "blank", "stale", "unchanged"}
    assert "disagree" in expected.loc[0, "message"]
    assert sorted(log_rows(parted), key=repr) == sorted(log_rows(whole), key=repr)
    # Applied again, in parts: nothing changes.
    again = qc.apply_review(parted, review)
    assert not again["outcome"].eq("applied").any() and again["decisions"].eq("").all()
    assert sorted(log_rows(parted), key=repr) == sorted(log_rows(whole), key=repr)
    whole.close()
    parted.close()


def _sheet(path: Path, quote: str, n: int) -> Path:
    """A filled review workbook of ``n`` rows whose quote and question cells hold ``quote``."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["n°", "cita", "pregunta previa", "código", "decisión", "otro código", "memo", "puntaje", "método",
               "_segment_id", "_text_sha", "_code_id"])
    for i in range(n):
        ws.append([i + 1, quote, quote, "c.x", "sí" if i % 2 else "no", None, "=-muy general" if i == 3 else None,
                   0.5, "keyword", f"s{i}", f"h{i}", "c.x"])
    about = book.create_sheet("about")
    for key, value in [("format", "qualcode-review-1"), ("coder", "ana"), ("project_id", "p1")]:
        about.append([key, value])
    book.save(path)
    return path


@pytest.mark.slow  # ~2.5 s: two workbooks written and read under tracemalloc
def test_read_review_sheet_keeps_only_the_columns_apply_needs(tmp_path, monkeypatch):
    # Quotes and questions of 3,000 characters in 500 rows are 3 MB of text: reading keeps none of it. What is
    # measured is the reading from the opened workbook on: the archive policy's copy of the workbook goes to disk
    # here (it stays in memory up to SPOOL_BYTES) and its check reads 4 MiB pieces, bounds of their own.
    monkeypatch.setattr(safe, "SPOOL_BYTES", 1)
    opened = review_sheet.open_workbook

    def open_workbook(*args, **kwargs):  # type: ignore[no-untyped-def]
        book = opened(*args, **kwargs)
        tracemalloc.reset_peak()
        return book

    monkeypatch.setattr(review_sheet, "open_workbook", open_workbook)
    short = _sheet(tmp_path / "short.xlsx", "sí", 500)
    long = _sheet(tmp_path / "long.xlsx", "palabra " * 375, 500)
    qc.read_review_sheet(short)  # imports: not counted
    frames: dict[str, pd.DataFrame] = {}
    peaks = {name: traced_peak(lambda p=path, name=name: frames.setdefault(name, qc.read_review_sheet(p)))
             for name, path in (("short", short), ("long", long))}
    assert peaks["long"] - peaks["short"] < 2**19, peaks  # keeping every cell (main): +3 MB
    frames["long"].attrs["path"] = frames["short"].attrs["path"]
    pd.testing.assert_frame_equal(frames["long"], frames["short"])
    read = frames["short"]
    assert list(read.columns) == REVIEW_COLUMNS
    assert read["row"].dtype == "Int64" and read["score"].dtype == "Float64"
    assert all(read[c].dtype == "string" for c in REVIEW_COLUMNS if c not in ("row", "score"))
    assert read["decision"].iloc[:4].tolist() == ["reject", "accept", "reject", "accept"]
    assert read.loc[3, "memo"] == "-muy general"
    assert "formula" in read.loc[3, "remark"]
    assert read["row"].iloc[-1] == 501 and read["segment_id"].iloc[-1] == "s499"
