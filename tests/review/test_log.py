"""The decision log's owner: typed rows, writes that read back only themselves, span identity, REFI-QDA spans."""

from __future__ import annotations

import dataclasses
import zipfile

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ParameterError
from qualcode.review.decisions import undecided
from qualcode.review.log import DECISION_COLUMNS, Decision

CODE = "collaboration.isolation"


def first_participant(project):
    segs = project.segments
    return segs[segs["speaker_role"] == "participant"].iloc[0]


def test_decision_rows_are_typed_frozen_and_checked():
    row = Decision.accept("s1", CODE, " ana ", doc_id="d", quote="sola", method="keyword", score=0.7)
    assert (row.decision, row.coder, row.span, row.key) == ("accept", "ana", (0, None), ("s1", CODE, "ana"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.decision = "reject"  # type: ignore[misc]
    part = Decision.manual("s1", CODE, "ana", doc_id="d", quote="so", span=(0, 2), memo="")
    assert part.span == (0, 2) and part.memo is None and part.source == "notebook"
    imported = Decision.imported("s1", CODE, "ana", doc_id="d", quote="so", span=(0, 2), created_at="2020-01-01")
    assert (imported.decision, imported.source, imported.created_at) == ("manual", "import", "2020-01-01")
    with pytest.raises(ParameterError, match="coder"):
        Decision.reject("s1", CODE, "  ", doc_id="d", quote="x")
    with pytest.raises(ParameterError, match="empty or negative"):
        Decision.manual("s1", CODE, "ana", doc_id="d", quote="", span=(5, 5))
    with pytest.raises(ParameterError, match="source"):
        Decision.accept("s1", CODE, "ana", doc_id="d", quote="x", source="email")


def test_a_write_returns_its_rows_exactly_as_the_log_reads_them_back(project):
    seg = first_participant(project)
    rows = pd.DataFrame({"segment_id": [seg["segment_id"]], "code_id": [CODE], "method": ["keyword"],
                         "score": [0.8125], "codebook_version": [project.codebook().version]})
    written = [qc.accept(project, rows, coder="ana", memo="soledad"),
               qc.add_manual(project, [seg["segment_id"]], "leadership.workload", coder="ana",
                             spans=[(seg["start"] + 3, seg["start"] + 9)]),
               qc.reject(project, [seg["segment_id"]], CODE, coder="luis")]
    history = qc.decisions(project, history=True)
    together = pd.concat(written, ignore_index=True)
    assert list(together.columns) == DECISION_COLUMNS
    # Same values; text columns' dtypes follow their content (str, or object when all empty), as read_sql's do.
    def plain(frame):
        return frame.astype(object).where(frame.notna(), None)

    pd.testing.assert_frame_equal(plain(together), plain(history))
    assert {c: str(together[c].dtype) for c in ("decision_id", "start", "end", "score")} == \
        {c: str(history[c].dtype) for c in ("decision_id", "start", "end", "score")}
    assert together.loc[1, "start"] == seg["start"] + 3 and together.loc[1, "quote"] == seg["text"][3:9]


def test_spans_are_given_in_document_offsets_and_stored_from_the_segments_start(project):
    seg = first_participant(project)
    sid, at, end = seg["segment_id"], int(seg["start"]), int(seg["end"])
    qc.add_manual(project, [sid, sid, sid], CODE, coder="ana", spans=[(at + 3, at + 9), (at, end), (at + 3, end)])
    stored = project.query("SELECT span_start, span_end, quote FROM decisions ORDER BY decision_id")
    text = seg["text"]
    # The log's stored form is what it always was: from the segment's start, no end for the whole segment.
    assert [tuple(r) for r in stored] == [(3, 9, text[3:9]), (0, None, text), (3, end - at, text[3:])]
    current = qc.decisions(project)
    wanted = [(at + 3, at + 9), (at, end), (at + 3, end)]
    assert sorted(zip(current["start"], current["end"], strict=True)) == sorted(wanted)


def test_several_spans_of_one_code_by_one_coder_in_one_segment_are_all_current(project):
    seg = first_participant(project)
    sid, at = seg["segment_id"], seg["start"]
    qc.add_manual(project, [sid, sid], CODE, coder="ana", spans=[(at, at + 5), (at + 10, at + 20)])
    qc.add_manual(project, [sid], CODE, coder="ana", spans=[(at + 10, at + 20)], memo="same span again: replaces")
    current = qc.decisions(project)
    assert sorted(zip(current["start"] - seg["start"], current["end"] - seg["start"], strict=True)) == [(0, 5), (10, 20)]
    assert current.set_index("start").loc[seg["start"] + 10, "memo"] == "same span again: replaces"
    quotes = qc.coded_quotes(project)
    assert sorted(quotes["quote_now"]) == sorted([seg["text"][0:5], seg["text"][10:20]])


def test_a_reject_replaces_every_span_of_the_code_and_a_later_coding_replaces_the_reject(project):
    seg = first_participant(project)
    sid, at = seg["segment_id"], seg["start"]
    qc.add_manual(project, [sid, sid], CODE, coder="ana", spans=[(at, at + 5), (at + 10, at + 20)])
    qc.add_manual(project, [sid], "leadership.workload", coder="ana", spans=[(at, at + 5)])
    qc.add_manual(project, [sid], CODE, coder="luis", spans=[(at, at + 5)])
    qc.reject(project, [sid], CODE, coder="ana", memo="no es soledad")
    current = qc.decisions(project)
    mine = current[(current["coder"] == "ana") & (current["code_id"] == CODE)]
    assert list(mine["decision"]) == ["reject"]
    # Other codes of the coder, and other coders' spans of the code, are untouched.
    assert len(current[current["code_id"] == "leadership.workload"]) == 1
    assert len(current[current["coder"] == "luis"]) == 1
    qc.add_manual(project, [sid], CODE, coder="ana", spans=[(at + 10, at + 20)])
    current = qc.decisions(project)
    mine = current[(current["coder"] == "ana") & (current["code_id"] == CODE)]
    assert list(mine["decision"]) == ["manual"] and int(mine["start"].iloc[0]) == seg["start"] + 10
    # accept and a whole-segment manual cover the same span: the later one replaces the other.
    qc.accept(project, [sid], CODE, coder="ana")
    qc.add_manual(project, [sid], CODE, coder="ana")
    mine = qc.decisions(project, coder="ana")
    mine = mine[mine["code_id"] == CODE]
    assert sorted(mine["decision"]) == ["manual", "manual"] and len(qc.decisions(project, history=True)) == 8


def test_undecided_reads_the_decisions_of_the_rows_segments(project):
    segs = project.segments
    ids = list(segs[segs["speaker_role"] == "participant"]["segment_id"][:3])
    rows = pd.DataFrame({"segment_id": ids * 2, "code_id": [CODE] * 3 + ["leadership.workload"] * 3})
    start = int(segs.set_index("segment_id").loc[ids[0], "start"])
    qc.add_manual(project, ids[:1], CODE, coder="ana", spans=[(start, start + 4)])
    qc.reject(project, ids[1:2], "leadership.workload", coder="ana")
    qc.accept(project, ids[2:3], CODE, coder="luis")
    todo = undecided(project, rows, "ana")
    assert list(todo.index) == [1, 2, 3, 5]


QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="otra herramienta" origin="hand-written">
  <Users><User guid="{U}" name="camila"/></Users>
  <CodeBook><Codes><Code guid="{C}" name="Soledad" isCodable="true"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="{S}" name="entrevista.txt">
      <PlainTextContent>{text}</PlainTextContent>
      <PlainTextSelection guid="{A}" startPosition="{a0}" endPosition="{a1}">
        <Coding guid="{CA}" creatingUser="{U}" creationDateTime="2024-03-01T10:00:00Z">
          <CodeRef targetGUID="{C}"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="{B}" startPosition="{b0}" endPosition="{b1}">
        <Coding guid="{CB}" creatingUser="{U}" creationDateTime="2024-03-01T10:05:00Z">
          <CodeRef targetGUID="{C}"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""


def test_refi_qda_import_keeps_two_selections_of_one_code_in_one_turn(tmp_path):
    text = "E: ¿Cómo fue el primer año?\nD1: Me sentí sola al principio. Después armamos un equipo y ya no.\n"
    first, second = "Me sentí sola", "ya no"
    a0, b0 = text.index(first), text.index(second)
    guids = {k: f"{i:08d}-0000-4000-8000-000000000000" for i, k in enumerate(["U", "C", "S", "A", "B", "CA", "CB"])}
    qde = QDE.format(text=text, a0=a0, a1=a0 + len(first), b0=b0, b1=b0 + len(second), **guids)
    with zipfile.ZipFile(tmp_path / "otra.qdpx", "w") as archive:
        archive.writestr("project.qde", qde)
    project = qc.import_refi_qda(tmp_path / "otra.qdpx", tmp_path / "p.qualcode")
    quotes = qc.coded_quotes(project)
    assert sorted(quotes["quote_now"]) == sorted([first, second]) and set(quotes["coder"]) == {"camila"}
    assert len(quotes["segment_id"].unique()) == 1
    current = qc.decisions(project)
    assert sorted(current["created_at"]) == ["2024-03-01T10:00:00Z", "2024-03-01T10:05:00Z"]
    assert set(current["source"]) == {"import"}
    # And back out: both selections are written again.
    qc.export_refi_qda(project, tmp_path / "back.qdpx")
    assert zipfile.ZipFile(tmp_path / "back.qdpx").read("project.qde").decode().count("<PlainTextSelection ") == 2


def test_staleness_check_reads_iso_times_without_guessing_a_format_per_row(monkeypatch):
    """Applying a workbook read each row's times with ``pd.to_datetime``, which guesses the format every call
    (2.5 ms a row, the largest cost of ``review apply`` beside reading the sheet; issue 20)."""
    import pandas as pd

    from qualcode.review import log

    book = log.Workbook("5e0c", "2026-11-30T18:02:00+00:00")  # an older workbook: times are compared
    histories = [[{"decision_id": i, "export_id": None, "created_at": stamp}]
                 for i, stamp in enumerate(["2026-11-30T18:01:59+00:00", "2026-11-30T20:02:01+02:00",
                                            "2026-11-30T18:02:01", "2026-11-30 18:02:00.5+00:00",
                                            "2026-11-30T17:03:00-01:00", "2026-11-30"] * 300)]
    expected = [pd.to_datetime(h[0]["created_at"], utc=True) > pd.Timestamp("2026-11-30T18:02:00Z")
                for h in histories]

    def guessing(*args, **kwargs):
        raise AssertionError("pd.to_datetime called on an ISO time")

    monkeypatch.setattr(log.pd, "to_datetime", guessing)
    later = [book.later_than_export(h) is not None for h in histories]
    assert later == expected and sum(later) == 4 * 300
    monkeypatch.undo()
    # A time in another form is still read as pandas reads it; an unreadable one keeps the decision.
    assert book.later_than_export([{"decision_id": 1, "export_id": None, "created_at": "Nov 30 2026 19:00"}])
    assert book.later_than_export([{"decision_id": 1, "export_id": None, "created_at": "unreadable"}])
    assert not book.later_than_export([{"decision_id": 1, "export_id": None, "created_at": "Nov 30 2026 17:00"}])
