"""The decision log's owner: typed, frozen decision rows, appended in one transaction, and the current view.

Every human decision is a :class:`Decision`, built with a named constructor
(:meth:`Decision.accept`, :meth:`Decision.reject`, :meth:`Decision.manual`,
:meth:`Decision.imported`), and appended by the project's
:class:`DecisionLog` (``project.log``) to the ``decisions`` table; nothing is
ever updated or deleted. A write reads back only the rows it wrote and, when
asked to skip what is already current, only the keys concerned, so its cost
does not grow with the length of the log.

Identity, and changing your mind
--------------------------------
A decision is about one code on one segment by one coder, and covers a span
of the segment (the whole segment for accepting or rejecting a suggestion;
any span for coding by hand or importing another tool's codings). The
*current* view follows four rules, in log order:

1. A decision on the same span replaces the earlier one (accept, reject and a
   whole-segment manual coding all cover the whole segment).
2. Codings of different spans coexist: several spans of one code by one coder
   in one segment (as ATLAS.ti, NVivo or MAXQDA projects have) are all current.
3. A reject of the code on the segment replaces *all* that coder's earlier
   spans of the code there: "this code does not apply here".
4. A later accept or manual coding of the code on the segment replaces an
   earlier reject.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ParameterError, ProjectError
from ..schemas import DECISION_KINDS, DecisionKind, check, check_decision_kind, columns
from ..spans import from_log, to_log
from ..spans import validate as validate_span
from .anchor import ANCHORED_COLUMNS, LATEST_ANCHOR_JOIN, reanchor

if TYPE_CHECKING:
    from ..project import Project

__all__ = ["DECISION_COLUMNS", "SOURCES", "Decision", "DecisionLog", "Workbook", "chunks", "current_view", "sql_value",
           "utc_now"]

Kind = DecisionKind
KINDS = DECISION_KINDS
SOURCES = ("notebook", "sheet", "import", "cli", "widget")
DECISION_COLUMNS = columns("decisions")
_STORED = ("segment_id", "code_id", "coder", "decision", "span_start", "span_end", "doc_id", "quote", "memo",
           "created_at", "source", "method", "score", "codebook_version", "export_id")
_KEY = ["segment_id", "code_id", "coder"]
_CHUNK = 400  # segment ids per query (twice in one statement, under SQLite's bound-parameter limit)


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Decision:
    """One human decision, as stored in the log (a row of the ``decisions`` table).

    Build it with a named constructor; a :class:`DecisionLog` appends it.

    Attributes
    ----------
    segment_id, code_id, coder : str
        What was decided, on which segment, by whom.
    decision : {"accept", "reject", "manual"}
    doc_id : str
    quote : str
        The words decided on, as they read then (used to re-anchor).
    span_start, span_end : int, int or None
        The coded span as the log stores it: offsets within the segment,
        ``span_end`` ``None``: to the segment's end (convert with
        :func:`qualcode.spans.to_log` / :func:`~qualcode.spans.from_log`;
        every public table gives document offsets).
    memo, source, method, score, codebook_version, created_at
        As in the table; ``created_at`` ``None`` is stamped when appended.
    export_id : str or None
        The export id of the review workbook the decision was applied from
        (``source="sheet"``); ``None`` for every other source.

    Examples
    --------
    >>> d = Decision.manual("9f2c", "trust", "ana", doc_id="d1", quote="confío", span=(4, 10))
    >>> d.decision, d.span, d.key
    ('manual', (4, 10), ('9f2c', 'trust', 'ana'))
    """

    segment_id: str
    code_id: str
    coder: str
    decision: Kind
    doc_id: str
    quote: str
    span_start: int = 0
    span_end: int | None = None
    memo: str | None = None
    source: str = "notebook"
    method: str | None = None
    score: float | None = None
    codebook_version: str | None = None
    created_at: str | None = None
    export_id: str | None = None

    def __post_init__(self) -> None:
        check_decision_kind(self.decision)
        if not isinstance(self.coder, str) or not self.coder.strip():
            raise ParameterError("coder must be a non-empty name (a person, or a method such as 'model').")
        if self.source not in SOURCES:
            raise ParameterError(f"source must be one of {SOURCES}, not {self.source!r}.")
        if self.span_start < 0 or (self.span_end is not None and self.span_end <= self.span_start):
            raise ParameterError(f"span ({self.span_start}, {self.span_end}) is empty or negative.")
        for name in ("coder", "memo"):
            value = getattr(self, name)
            # A lone surrogate (half of an emoji cut by some other program) is no character: the project file
            # (UTF-8) cannot hold it, and a raw UnicodeEncodeError would say nothing of where it came from.
            found = _SURROGATE.search(value) if isinstance(value, str) else None
            if found is not None:
                raise ParameterError(f"{name} {value!r} holds a lone surrogate ({found[0]!r}), half of a character "
                                     "that some program cut; remove it or write it again.")
        object.__setattr__(self, "coder", self.coder.strip())
        object.__setattr__(self, "memo", self.memo or None)  # "" and None are the same: no memo

    # -- named constructors -------------------------------------------------------------
    @classmethod
    def accept(cls, segment_id: str, code_id: str, coder: str, *, doc_id: str, quote: str,
               memo: str | None = None, source: str = "notebook", method: str | None = None,
               score: float | None = None, codebook_version: str | None = None,
               export_id: str | None = None) -> Decision:
        """The coder accepts ``code_id`` on the whole segment (a suggestion's method and score kept)."""
        return cls(segment_id, code_id, coder, "accept", doc_id, quote, memo=memo, source=source, method=method,
                   score=score, codebook_version=codebook_version, export_id=export_id)

    @classmethod
    def reject(cls, segment_id: str, code_id: str, coder: str, *, doc_id: str, quote: str,
               memo: str | None = None, source: str = "notebook", method: str | None = None,
               score: float | None = None, codebook_version: str | None = None,
               export_id: str | None = None) -> Decision:
        """The coder rejects ``code_id`` on the segment: it replaces all their spans of that code there."""
        return cls(segment_id, code_id, coder, "reject", doc_id, quote, memo=memo, source=source, method=method,
                   score=score, codebook_version=codebook_version, export_id=export_id)

    @classmethod
    def manual(cls, segment_id: str, code_id: str, coder: str, *, doc_id: str, quote: str,
               span: tuple[int, int | None] | None = None, memo: str | None = None, source: str = "notebook",
               codebook_version: str | None = None, export_id: str | None = None) -> Decision:
        """The coder codes ``span`` of the segment (default: all of it) by hand; ``quote`` is the span's words.

        ``span`` is in the log's stored form, ``(span_start, span_end)``
        within the segment (:func:`qualcode.spans.to_log` makes it from
        document offsets).
        """
        start, end = span if span is not None else (0, None)
        return cls(segment_id, code_id, coder, "manual", doc_id, quote, span_start=int(start),
                   span_end=None if end is None else int(end), memo=memo, source=source,
                   codebook_version=codebook_version, export_id=export_id)

    @classmethod
    def imported(cls, segment_id: str, code_id: str, coder: str, *, doc_id: str, quote: str,
                 span: tuple[int, int | None] | None, created_at: str | None, memo: str | None = None,
                 codebook_version: str | None = None) -> Decision:
        """A coding read from another tool's project: manual, ``source="import"``, its own creation time."""
        return replace(cls.manual(segment_id, code_id, coder, doc_id=doc_id, quote=quote, span=span, memo=memo,
                                  source="import", codebook_version=codebook_version), created_at=created_at or None)

    # -- identity -----------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, str, str]:
        """``(segment_id, code_id, coder)``: what an accept or a reject is about."""
        return (self.segment_id, self.code_id, self.coder)

    @property
    def span(self) -> tuple[int, int | None]:
        """``(span_start, span_end)`` within the segment; several spans of one key may be current."""
        return (self.span_start, self.span_end)

    def _stored(self, now: str) -> tuple:
        values = {name: getattr(self, name) for name in _STORED}
        values["created_at"] = self.created_at or now
        return tuple(values[name] for name in _STORED)


@dataclass(frozen=True)
class Workbook:
    """The review workbook decisions are applied from: what the staleness check needs.

    Attributes
    ----------
    export_id : str
        The workbook's export id (the hidden ``about`` sheet's ``export_id``;
        for workbooks of older qualcode versions, built from the project id
        and ``exported_at``); recorded with each decision applied from it.
    exported_at : str or None
        When it was exported (ISO 8601).
    log_position : int or None
        The highest decision id in the log when it was exported (``None`` for
        older workbooks: ``exported_at`` is compared with ``created_at`` then).

    Examples
    --------
    >>> book = Workbook("5e0c", "2026-11-30T18:02:00+00:00", 3)
    >>> book.later_than_export([{"decision_id": 3, "export_id": None}, {"decision_id": 4, "export_id": "5e0c"}])
    >>> book.later_than_export([{"decision_id": 5, "export_id": None, "decision": "reject"}])["decision_id"]
    5
    """

    export_id: str
    exported_at: str | None = None
    log_position: int | None = None

    def later_than_export(self, history: Sequence[dict]) -> dict | None:
        """The latest of ``history`` (a key's decisions) made after the export by anything but this workbook."""
        exported = _instant(self.exported_at)
        found = None
        for row in history:
            if isinstance(row.get("export_id"), str) and row["export_id"] == self.export_id:
                continue  # this very workbook, applied earlier: editing and re-applying it is allowed
            if self.log_position is not None:
                after = int(row["decision_id"]) > self.log_position
            elif exported is not None:
                made = _instant(row.get("created_at"))
                after = made is None or made > exported  # an unreadable time: keep the decision, never reverse it
            else:
                after = False  # nothing tells when the workbook was made: as before this check existed
            if after and (found is None or int(row["decision_id"]) > int(found["decision_id"])):
                found = row
        return found


def _instant(value: object) -> pd.Timestamp | None:
    """The UTC instant ``value`` (a time as written in the log or a workbook) names; ``None`` if none.

    ISO 8601 (what qualcode writes) is read directly: ``pd.to_datetime`` on one string guesses its format
    each time, 2.5 ms per row of a review workbook applied (issue 20); anything else is left to it.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        stamp = pd.to_datetime(value, utc=True, errors="coerce")
        return None if pd.isna(stamp) else stamp
    return pd.Timestamp(moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None
                        else moment.astimezone(timezone.utc))


def current_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The current decisions of a log frame (columns of :data:`DECISION_COLUMNS`, in log order).

    Applies the rules of the module docstring: orphans are left out; per
    (segment, code, coder), a reject replaces everything before it and is
    replaced by anything after it; per span, the latest decision stands.
    """
    frame = frame[frame["anchor"] != "orphan"]
    if frame.empty:
        return frame.reset_index(drop=True)
    groups = [frame[k] for k in _KEY]
    ids = frame["decision_id"].astype("int64")
    last_reject = ids.where(frame["decision"].eq("reject")).groupby(groups).transform("max")
    frame = frame[last_reject.isna() | (ids >= last_reject)]
    ids = frame["decision_id"].astype("int64")
    last = ids.groupby([frame[k] for k in _KEY]).transform("max")
    frame = frame[frame["decision"].ne("reject") | ids.eq(last)]
    return frame.drop_duplicates([*_KEY, "start", "end"], keep="last").reset_index(drop=True)


_VIEW = f"""
    SELECT c.decision_id, c.segment_id, c.code_id, c.coder, c.decision,
           -- qualcode.spans.from_log, in SQL: the view is read in one query
           s.start + c.span_start AS start,
           CASE WHEN c.span_end IS NULL THEN s."end" ELSE s.start + c.span_end END AS "end",
           c.memo, c.created_at, c.source, c.doc_id, c.quote, c.method, c.score, c.codebook_version, c.anchor,
           c.export_id
    FROM (
        SELECT d.decision_id, d.code_id, d.coder, d.decision, d.memo, d.created_at, d.source, d.doc_id, d.quote,
               d.method, d.score, d.codebook_version, d.export_id, {ANCHORED_COLUMNS}
        FROM decisions d {LATEST_ANCHOR_JOIN}
        {{where}}
    ) c
    LEFT JOIN segments s ON s.segment_id = c.segment_id
    ORDER BY c.decision_id
"""
# Decisions anchored now on some segments: written there and never moved, or moved there.
_ON_SEGMENTS = """WHERE d.decision_id IN (
        SELECT decision_id FROM decisions WHERE segment_id IN ({marks})
        UNION SELECT decision_id FROM anchors WHERE segment_id IN ({marks}))"""


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("start", "end", "decision_id"):
        frame[column] = frame[column].astype("Int64")
    frame["score"] = frame["score"].astype("Float64")
    return frame[DECISION_COLUMNS]


def utc_now() -> str:
    """The current time as the project stores it: ISO 8601 in UTC, to the microsecond.

    Examples
    --------
    >>> utc_now().endswith("+00:00")
    True
    """
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def sql_value(value: Any) -> Any:
    """A table cell as sqlite3 stores it: NumPy/pandas scalars to plain Python, NA to None.

    Examples
    --------
    >>> import numpy as np
    >>> sql_value(np.int64(3)), sql_value(pd.NA), sql_value("x")
    (3, None, 'x')
    """
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def chunks(items: Sequence[str]) -> Iterable[list[str]]:
    """``items`` in lists short enough to bind twice in one SQL statement (SQLite limits bound parameters).

    Examples
    --------
    >>> [len(c) for c in chunks([str(i) for i in range(1000)])]
    [400, 400, 200]
    """
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


class DecisionLog:
    """The owner of a project's decision log (get it as ``project.log``).

    Reads and writes go through the project's transaction and query methods;
    nothing else in qualcode writes to the ``decisions`` table.

    Examples
    --------
    >>> log = project.log  # doctest: +SKIP
    >>> rows = log.prepare("accept", suggestions.head(3), coder="ana")  # doctest: +SKIP
    >>> log.append(rows)  # doctest: +SKIP
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def reanchor(self, db: sqlite3.Connection, gone: dict[str, int], segments: pd.DataFrame, text: str,
                 now: str) -> tuple[int, int]:
        """Move the decisions anchored on the ``gone`` segments of a changed document to where their words are now.

        The log owns the ``anchors`` table too: :meth:`Project.add_corpus` calls
        this inside its own transaction (``db``) when a document's text
        changes. See :func:`qualcode.review.anchor.reanchor`.

        Returns
        -------
        (int, int)
            Decisions moved, decisions orphaned.
        """
        return reanchor(db, gone, segments, text, now)

    # -- building decisions ---------------------------------------------------------------
    def code_ids(self) -> set[str]:
        """The code ids of the project's current codebook.

        Raises
        ------
        ProjectError
            If the project has no codebook.
        """
        project = self.project
        rows = project.query("SELECT version FROM codebooks ORDER BY seq DESC LIMIT 1")
        if not rows:
            raise ProjectError(f"{project.path}: add a codebook before recording decisions "
                               "(project.add_codebook(qc.load_codebook(...))).", path=project.path)
        return {r[0] for r in project.query("SELECT code_id FROM codes WHERE version = ?", [rows[0][0]])}

    def current_version(self) -> str:
        """The version of the project's current codebook."""
        rows = self.project.query("SELECT version FROM codebooks ORDER BY seq DESC LIMIT 1")
        return str(rows[0][0]) if rows else ""

    def segments(self, segment_ids: Iterable[str]) -> dict[str, tuple[str, str, int, int]]:
        """``segment_id → (doc_id, text, start, end)`` for the given ids that are in the project."""
        out: dict[str, tuple[str, str, int, int]] = {}
        for chunk in chunks(sorted(set(segment_ids))):
            marks = ", ".join("?" * len(chunk))
            out.update({r[0]: (r[1], r[2], int(r[3]), int(r[4])) for r in self.project.query(
                f'SELECT segment_id, doc_id, text, start, "end" FROM segments WHERE segment_id IN ({marks})', chunk)})
        return out

    def prepare(self, kind: Kind, rows: pd.DataFrame | Sequence[str] | str,
                code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
                source: str = "notebook", spans: Sequence[tuple[int, int] | None] | None = None,
                memos: Sequence[str | None] | None = None) -> list[Decision]:
        """Check decisions and build them, without writing anything.

        Parameters
        ----------
        kind : {"accept", "reject", "manual"}
        rows : DataFrame or sequence of segment ids
            Suggestion rows (``segment_id``, ``code_id``, optionally
            ``method``, ``score``, ``codebook_version``), or segment ids with ``code_ids``.
        spans : sequence of (start, end) or None, optional
            One per row: document offsets (like ``segments.start``/``end``)
            inside the row's segment (``None``: all of it). Stored relative to
            the segment (:func:`qualcode.spans.to_log`).
        memos : sequence of str or None, optional
            One memo per row (instead of ``memo`` for all).

        Returns
        -------
        list of Decision

        Raises
        ------
        ParameterError
            For an empty coder name, unknown segments or codes (all listed), or a
            span outside its segment.
        ProjectError
            If the project has no codebook.
        """
        check_decision_kind(kind)
        if not isinstance(coder, str) or not coder.strip():
            raise ParameterError("coder must be a non-empty name (a person, or a method such as 'model').")
        if source not in SOURCES:
            raise ParameterError(f"source must be one of {SOURCES}, not {source!r}.")
        frame = _pairs(rows, code_ids)
        if frame.empty:
            return []
        segments = self.segments(frame["segment_id"])
        unknown = sorted(set(frame["segment_id"]) - set(segments))
        if unknown:
            raise ParameterError(f"{len(unknown)} segment id(s) are not in the project, e.g. {unknown[:5]}; "
                                 "add the corpus first (project.add_corpus) or check the ids.")
        codes = self.code_ids()
        bad_codes = sorted(set(frame["code_id"]) - codes)
        if bad_codes:
            raise ParameterError(f"code id(s) {bad_codes} are not in the project's codebook "
                                 f"(version {self.current_version()}); see project.codes.")
        if spans is not None and len(spans) != len(frame):
            raise ParameterError(f"{len(frame)} rows but {len(spans)} spans; spans= is a list with one (start, end) "
                                 f"pair per row, e.g. spans=[(120, 164)] for one row.")
        if memos is not None and len(memos) != len(frame):
            raise ParameterError(f"{len(frame)} rows but {len(memos)} memos.")
        version = self.current_version()
        out = []
        for i, row in enumerate(frame.to_dict("records")):
            doc_id, text, seg_start, seg_end = segments[row["segment_id"]]
            span_start, span_end = 0, None
            if spans is not None and spans[i] is not None:
                span = validate_span(spans[i], (seg_start, seg_end), what=f"span of row {i}",
                                     where=f"segment {row['segment_id']}")
                span_start, span_end = to_log(span, (seg_start, seg_end))
            note = memos[i] if memos is not None else memo
            out.append(Decision(row["segment_id"], row["code_id"], coder, kind, doc_id,
                                text[span_start:span_end], span_start=span_start, span_end=span_end,
                                memo=note or None, source=source, method=sql_value(row.get("method")),
                                score=sql_value(row.get("score")),
                                codebook_version=sql_value(row.get("codebook_version")) or version))
        return out

    # -- writing ----------------------------------------------------------------------------
    def append(self, decisions: Sequence[Decision]) -> pd.DataFrame:
        """Append decisions in one transaction; return them as rows of the log (columns of :data:`DECISION_COLUMNS`).

        Only the appended rows are read back: the cost does not depend on the log's length.
        """
        return self.append_changes(decisions, skip_current=False)[0]

    def append_changes(self, decisions: Sequence[Decision], *,
                       skip_current: bool = True) -> tuple[pd.DataFrame, list[bool]]:
        """Append the decisions that change the current view, in one transaction.

        What is current is read *inside* the write transaction (``BEGIN
        IMMEDIATE``), for the keys concerned only: two processes appending the
        same decisions at once add them once. A decision is already current
        when its coder's current decision on that span of that code is the
        same (kind and memo); a reject, when it is the code's only current
        decision on the segment.

        Returns
        -------
        (DataFrame, list of bool)
            The appended rows, and for each given decision whether it was appended.
        """
        frame, outcomes, _ = self._append(list(decisions), skip_current=skip_current, workbook=None)
        return frame, [o == "applied" for o in outcomes]

    def append_from_workbook(self, decisions: Sequence[Decision],
                             workbook: Workbook) -> tuple[pd.DataFrame, list[str], list[dict | None]]:
        """Append a review workbook's decisions that change the current view and are not stale, in one transaction.

        Like :meth:`append_changes`, and besides: a decision whose (segment,
        code) its coder decided again *after the workbook was exported*, by
        anything but this same workbook (another workbook, the notebook, the
        widget, an import), is stale and not appended: applying an older
        workbook never reverses a later decision, while editing a workbook
        and applying it again still works. Both checks read the log inside the
        write transaction.

        Parameters
        ----------
        decisions : sequence of Decision
            Built with ``source="sheet"`` and ``export_id=workbook.export_id``.
        workbook : Workbook
            The export's id and when it was exported.

        Returns
        -------
        (DataFrame, list of str, list of dict or None)
            The appended rows; per decision its outcome (``applied``,
            ``unchanged`` or ``stale``); per decision, for a stale one, the
            later decision that stands (``decision``, ``created_at``,
            ``source``, ``export_id``), else ``None``.

        Examples
        --------
        >>> book = Workbook(export_id="5e0c…", exported_at="2026-11-30T18:02:00+00:00", log_position=41)
        >>> frame, outcomes, later = project.log.append_from_workbook(rows, book)  # doctest: +SKIP
        """
        return self._append(list(decisions), skip_current=True, workbook=workbook)

    @contextmanager
    def appending(self, workbook: Workbook | None = None) -> Iterator[Callable[[Sequence[Decision]],
                                                                            tuple[list[str], list[dict | None]]]]:
        """Append decisions part by part, every part in one transaction: all of them are kept, or none.

        Yields a function that takes one part's decisions and appends those that
        change the current view and, with a ``workbook``, are not stale (as
        :meth:`append_from_workbook`; without one, as :meth:`append_changes`),
        returning per decision its outcome (``applied``, ``unchanged`` or
        ``stale``) and, for a stale one, the later decision that stands. Each
        part's check reads the log inside the transaction, which begins with the
        first part that holds a decision and commits when the block ends; an
        error anywhere in the block rolls every part back. A caller holds one
        part at a time, so memory follows the part, not the whole (issue 20).

        Examples
        --------
        >>> with project.log.appending(book) as append:  # doctest: +SKIP
        ...     for part in parts:
        ...         outcomes, later = append(part)
        """
        now = utc_now()
        with ExitStack() as stack:
            db: sqlite3.Connection | None = None

            def append(decisions: Sequence[Decision]) -> tuple[list[str], list[dict | None]]:
                nonlocal db
                part = list(decisions)
                if not part:
                    return [], []
                if db is None:
                    db = stack.enter_context(self.project.transaction())
                outcomes, later, _, _ = self._append_part(db, part, now, skip_current=True, workbook=workbook)
                return outcomes, later

            yield append

    def _append(self, decisions: list[Decision], *, skip_current: bool,
                workbook: Workbook | None) -> tuple[pd.DataFrame, list[str], list[dict | None]]:
        if not decisions:
            return pd.DataFrame(columns=DECISION_COLUMNS), [], []
        now = utc_now()
        with self.project.transaction() as db:
            outcomes, later, chosen, places = self._append_part(db, decisions, now, skip_current=skip_current,
                                                                workbook=workbook)
            if chosen:
                # One writer at a time (BEGIN IMMEDIATE) and AUTOINCREMENT: the new ids are consecutive.
                last = db.execute("SELECT max(decision_id) FROM decisions").fetchone()[0]
        if not chosen:
            return pd.DataFrame(columns=DECISION_COLUMNS), outcomes, later
        first = last - len(chosen) + 1
        records = []
        for offset, d in enumerate(chosen):
            start, end = _absolute(d, places)
            records.append({"decision_id": first + offset, "segment_id": d.segment_id, "code_id": d.code_id,
                            "coder": d.coder, "decision": d.decision, "start": start, "end": end, "memo": d.memo,
                            "created_at": d.created_at or now, "source": d.source, "doc_id": d.doc_id,
                            "quote": d.quote, "method": d.method, "score": d.score,
                            "codebook_version": d.codebook_version, "anchor": "original",
                            "export_id": d.export_id})
        return _typed(pd.DataFrame(records, columns=DECISION_COLUMNS)), outcomes, later

    def _append_part(self, db: sqlite3.Connection, decisions: list[Decision], now: str, *, skip_current: bool,
                     workbook: Workbook | None
                     ) -> tuple[list[str], list[dict | None], list[Decision], dict[str, tuple[int, int]]]:
        """Inside the caller's transaction: check ``decisions`` against the log and insert those that apply.

        Returns per decision its outcome and later decision (as :meth:`append_from_workbook`), the decisions
        inserted (in order) and the places of their segments.
        """
        later: list[dict | None] = [None] * len(decisions)
        places = self._places(db, {d.segment_id for d in decisions})
        missing = sorted({d.segment_id for d in decisions} - set(places))
        if missing:
            raise ParameterError(f"{len(missing)} segment id(s) are not in the project, e.g. {missing[:5]}.")
        outcomes = ["applied"] * len(decisions)
        if skip_current:
            history: dict[tuple[str, str, str], list[dict]] = {}
            state = self._state(db, decisions, places, history)
            for i, d in enumerate(decisions):
                span = _absolute(d, places)
                rows = state.setdefault(d.key, [])
                if d.decision == "reject":
                    same = len(rows) == 1 and rows[0][0] == "reject" and rows[0][2] == d.memo
                else:
                    same = (d.decision, span, d.memo) in rows
                if same:
                    outcomes[i] = "unchanged"
                    continue
                if workbook is not None:
                    newer = workbook.later_than_export(history.get(d.key, []))
                    if newer is not None:
                        outcomes[i], later[i] = "stale", newer
                        continue
                if d.decision == "reject":
                    state[d.key] = [("reject", span, d.memo)]
                else:
                    state[d.key] = [r for r in rows if r[0] != "reject" and r[1] != span] + \
                        [(d.decision, span, d.memo)]
        chosen = [d for d, o in zip(decisions, outcomes, strict=True) if o == "applied"]
        if chosen:
            db.executemany(f"INSERT INTO decisions({', '.join(_STORED)}) VALUES ({', '.join('?' * len(_STORED))})",
                           [d._stored(now) for d in chosen])
        return outcomes, later, chosen, places

    @staticmethod
    def _places(db: sqlite3.Connection, segment_ids: set[str]) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for chunk in chunks(sorted(segment_ids)):
            marks = ", ".join("?" * len(chunk))
            out.update({r[0]: (int(r[1]), int(r[2])) for r in db.execute(
                f'SELECT segment_id, start, "end" FROM segments WHERE segment_id IN ({marks})', chunk)})
        return out

    def _state(self, db: sqlite3.Connection, decisions: list[Decision],
               places: dict[str, tuple[int, int]],
               history: dict | None = None) -> dict[tuple[str, str, str], list[tuple]]:
        """Current (kind, absolute span, memo) per key, for the coders and segments of ``decisions``.

        ``history``, when given, is filled with every decision per key (as dicts, oldest first).
        """
        state: dict[tuple[str, str, str], list[tuple]] = {}
        for coder in sorted({d.coder for d in decisions}):
            keys = {(d.segment_id, d.code_id) for d in decisions if d.coder == coder}
            frame = self._on_keys(keys, coder=coder, connection=db)
            if history is not None:
                for r in frame[["segment_id", "code_id", "coder", "decision_id", "decision", "created_at", "source",
                                "export_id"]].to_dict("records"):
                    history.setdefault((r["segment_id"], r["code_id"], r["coder"]), []).append(r)
            view = current_view(frame)
            for seg, code, who, kind, start, end, memo in zip(
                    view["segment_id"], view["code_id"], view["coder"], view["decision"], view["start"], view["end"],
                    view["memo"], strict=True):
                span = (int(start), int(end)) if not pd.isna(start) else (None, None)
                state.setdefault((seg, code, who), []).append(
                    (kind, span, memo if isinstance(memo, str) and memo else None))
        return state

    # -- reading ------------------------------------------------------------------------------
    def frame(self, *, history: bool = False, coder: str | None = None) -> pd.DataFrame:
        """The whole log (``history=True``) or its current view; see :func:`qualcode.decisions`."""
        where, params = ("WHERE d.coder = ?", [coder]) if coder else ("", [])
        frame = _typed(self.project.query_frame(_VIEW.format(where=where), params))
        return frame if history else current_view(frame)

    def _on_segments(self, segment_ids: Iterable[str], *, coder: str | None = None,
                     connection: sqlite3.Connection | None = None) -> pd.DataFrame:
        """Every decision anchored now on these segments (orphans excluded), oldest first."""
        parts = []
        for chunk in chunks(sorted(set(segment_ids))):
            marks = ", ".join("?" * len(chunk))
            where = _ON_SEGMENTS.format(marks=marks) + (" AND d.coder = ?" if coder else "")
            params = [*chunk, *chunk, *([coder] if coder else [])]
            sql = _VIEW.format(where=where)
            if connection is not None:
                cursor = connection.execute(sql, params)
                part = pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])
            else:
                part = self.project.query_frame(sql, params)
            parts.append(part[part["segment_id"].isin(chunk)])
        if not parts:
            return _typed(pd.DataFrame(columns=DECISION_COLUMNS))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return _typed(frame.sort_values("decision_id").reset_index(drop=True))

    def _on_keys(self, keys: Iterable[tuple[str, str]], *, coder: str,
                 connection: sqlite3.Connection | None = None) -> pd.DataFrame:
        """Every decision of ``coder`` anchored now on these (segment, code) keys, oldest first.

        Each key is looked up in the index: the cost follows the keys' own
        history, not the log's length.
        """
        parts = []
        ordered = sorted(set(keys))
        for i in range(0, len(ordered), _CHUNK // 2):
            chunk = ordered[i:i + _CHUNK // 2]
            segments = sorted({seg for seg, _ in chunk})
            pairs = ", ".join("(?, ?)" for _ in chunk)
            where = (f"WHERE d.decision_id IN (SELECT x.decision_id FROM (VALUES {pairs}) k CROSS JOIN decisions x "
                     "ON x.segment_id = k.column1 AND x.code_id = k.column2 AND x.coder = ? "
                     f"UNION SELECT decision_id FROM anchors WHERE segment_id IN ({', '.join('?' * len(segments))})) "
                     "AND d.coder = ?")
            params = [*[v for pair in chunk for v in pair], coder, *segments, coder]
            sql = _VIEW.format(where=where)
            if connection is not None:
                cursor = connection.execute(sql, params)
                part = pd.DataFrame(cursor.fetchall(), columns=[c[0] for c in cursor.description])
            else:
                part = self.project.query_frame(sql, params)
            wanted = set(chunk)
            found = zip(part["segment_id"], part["code_id"], strict=True)
            keep = pd.Series([pair in wanted for pair in found], index=part.index, dtype=bool)
            parts.append(part[keep])
        if not parts:
            return _typed(pd.DataFrame(columns=DECISION_COLUMNS))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return _typed(frame.sort_values("decision_id").reset_index(drop=True))

    def current_on(self, segment_ids: Iterable[str], *, coder: str | None = None) -> pd.DataFrame:
        """The current decisions on these segments only (columns of :data:`DECISION_COLUMNS`).

        Reads the decisions of those segments, not the whole log.
        """
        return current_view(self._on_segments(segment_ids, coder=coder))

    def undecided(self, rows: pd.DataFrame, coder: str) -> pd.DataFrame:
        """The rows (suggestions, say) whose (segment, code) ``coder`` has not decided yet, in their order."""
        if rows.empty:
            return rows
        pairs = list(zip(rows["segment_id"], rows["code_id"], strict=True))
        keys = {(seg, code) for seg, code in pairs if isinstance(seg, str)}
        done = current_view(self._on_keys(keys, coder=coder))
        decided = set(zip(done["segment_id"], done["code_id"], strict=True))
        keep = [pair not in decided for pair in pairs]
        return rows.loc[pd.Series(keep, index=rows.index, dtype=bool)]


def _absolute(d: Decision, places: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return from_log(d.span_start, d.span_end, places[d.segment_id])


def _pairs(rows: pd.DataFrame | Sequence[str] | str, code_ids: Sequence[str] | str | None) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        check(rows, "suggestions", columns=["segment_id"] if code_ids else ["segment_id", "code_id"], values=False,
              where="rows")
        frame = rows.copy()
        if code_ids is not None:
            frame["code_id"] = code_ids if isinstance(code_ids, str) else list(code_ids)
        return frame.reset_index(drop=True)
    segment_ids = [rows] if isinstance(rows, str) else list(rows)
    if code_ids is None:
        raise ParameterError("give code_ids with segment ids (one code for all, or one per segment).")
    codes = [code_ids] * len(segment_ids) if isinstance(code_ids, str) else list(code_ids)
    if len(codes) != len(segment_ids):
        raise ParameterError(f"{len(segment_ids)} segment ids but {len(codes)} code ids; "
                             "give one code or one per segment.")
    return pd.DataFrame({"segment_id": segment_ids, "code_id": codes})
