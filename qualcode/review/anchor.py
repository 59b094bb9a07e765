"""Re-anchoring: when a corrected transcript replaces an older one, decisions follow their words.

Segment ids depend on a segment's text, so a corrected typo or an added
paragraph changes only the ids of the segments it touches. Decisions on
those segments are moved to where their words are now: first by exact
match (the occurrence nearest the old position), then by fuzzy match
(rapidfuzz) among the document's new segments. What cannot be found is
recorded as an orphan. Every move is appended to the ``anchors`` table; the
decision log itself is never rewritten.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from types import ModuleType

import pandas as pd

from ..spans import Span, to_document, to_log

__all__ = ["ANCHORED_COLUMNS", "FUZZY_THRESHOLD", "LATEST_ANCHOR_JOIN", "current_anchor_sql", "reanchor"]

# rapidfuzz similarity (0–100) a corrected segment must reach to carry a decision.
FUZZY_THRESHOLD = 80.0

# Where a decision (``d``) is anchored now: its latest row in ``anchors`` (``a``), or where it was written.
# Shared with the decision log's views (review/log.py), so both read anchors the same way.
ANCHORED_COLUMNS = """
           CASE WHEN a.anchor_id IS NULL THEN d.segment_id ELSE a.segment_id END AS segment_id,
           CASE WHEN a.anchor_id IS NULL THEN d.span_start ELSE a.span_start END AS span_start,
           CASE WHEN a.anchor_id IS NULL THEN d.span_end ELSE a.span_end END AS span_end,
           CASE WHEN a.anchor_id IS NULL THEN 'original' WHEN a.segment_id IS NULL THEN 'orphan'
                ELSE a.method END AS anchor"""
LATEST_ANCHOR_JOIN = """
    LEFT JOIN anchors a
        ON a.anchor_id = (SELECT max(x.anchor_id) FROM anchors x WHERE x.decision_id = d.decision_id)"""

current_anchor_sql = f"SELECT d.decision_id, {ANCHORED_COLUMNS} FROM decisions d {LATEST_ANCHOR_JOIN}"


def reanchor(db: sqlite3.Connection, gone: dict[str, int], segments: pd.DataFrame, text: str,
             now: str) -> tuple[int, int]:
    """Move decisions anchored on the ``gone`` segments (id → old start) into ``segments``.

    Runs inside the caller's transaction. Returns ``(moved, orphaned)``.
    """
    from rapidfuzz import fuzz

    marks = ", ".join("?" * len(gone))
    rows = db.execute(
        f"SELECT c.decision_id, c.segment_id, c.span_start, d.quote FROM ({current_anchor_sql}) c "
        f"JOIN decisions d USING (decision_id) WHERE c.segment_id IN ({marks})", list(gone)).fetchall()
    segs = segments.sort_values("start")
    starts = segs["start"].astype(int).tolist()
    ends = segs["end"].astype(int).tolist()
    ids = segs["segment_id"].tolist()
    texts = segs["text"].tolist()
    moved = orphaned = 0
    for decision_id, old_segment, span_start, quote in rows:
        old_pos, _ = to_document((span_start or 0, span_start or 0), gone[old_segment])  # where its words began
        target = _exact(text, quote, old_pos, starts, ends)
        method, similarity = "exact", 100.0
        if target is None:
            target, similarity = _fuzzy(quote, texts, starts, old_pos, fuzz)
            method = "fuzzy"
        if target is None:
            db.execute("INSERT INTO anchors(decision_id, segment_id, span_start, span_end, method, similarity, "
                       "moved_at) VALUES (?, NULL, NULL, NULL, 'orphan', ?, ?)", (decision_id, similarity, now))
            orphaned += 1
            continue
        index, span = target
        rel_start, rel_end = to_log(span, (starts[index], ends[index]))
        db.execute("INSERT INTO anchors(decision_id, segment_id, span_start, span_end, method, similarity, moved_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (decision_id, ids[index], rel_start, rel_end, method, similarity, now))
        moved += 1
    return moved, orphaned


def _exact(text: str, quote: str, old_pos: int, starts: list[int], ends: list[int]) -> tuple[int, Span] | None:
    """The segment (index) holding the occurrence of ``quote`` in ``text`` nearest ``old_pos``, and its span."""
    if not quote:
        return None
    best = None
    pos = text.find(quote)
    while pos != -1:
        if best is None or abs(pos - old_pos) < abs(best - old_pos):
            best = pos
        pos = text.find(quote, pos + 1)
    if best is None:
        return None
    index = bisect_right(starts, best) - 1
    if index < 0 or best + len(quote) > ends[index]:
        return None  # the words now straddle two segments: leave it to the fuzzy pass
    return index, (best, best + len(quote))


def _fuzzy(quote: str, texts: list[str], starts: list[int], old_pos: int,
           fuzz: ModuleType) -> tuple[tuple[int, Span] | None, float]:
    """The segment (index) most like ``quote`` and the span (document offsets) that matches, with its score."""
    best: tuple[float, int, int, int, int] | None = None  # score, -distance, index, start, end
    for index, candidate in enumerate(texts):
        if abs(len(candidate) - len(quote)) > max(len(quote), 40) and len(candidate) < len(quote):
            continue
        if len(candidate) <= len(quote) * 1.5:
            score = fuzz.ratio(quote, candidate)
            span = (0, len(candidate))
        else:
            alignment = fuzz.partial_ratio_alignment(quote, candidate)
            score = alignment.score
            span = (alignment.dest_start, alignment.dest_end)
        key = (score, -abs(starts[index] - old_pos), index, *span)
        if best is None or key > best:
            best = key
    if best is None or best[0] < FUZZY_THRESHOLD:
        return None, (best[0] if best else 0.0)
    return (best[2], to_document((best[3], best[4]), starts[best[2]])), best[0]
