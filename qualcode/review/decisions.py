"""The decision log in a notebook: accept, reject, code by hand; the current view and coded quotes.

Every call appends rows to the project's ``decisions`` table in one
transaction, through the log's owner (:class:`qualcode.review.log.DecisionLog`,
``project.log``); nothing is ever updated or deleted. Changing your mind is
one more row, and the whole history stays readable. The *current* decision
is the latest per (segment, code, coder) and span: several spans of one code
by one coder in one segment are all current, and a reject replaces all of
them (the rules are in :mod:`qualcode.review.log`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..schemas import coded, returns
from ..schemas import columns as schema_columns
from ..spans import to_segment
from .log import DECISION_COLUMNS, Decision, Kind

if TYPE_CHECKING:
    from ..project import Project

__all__ = ["DECISION_COLUMNS", "accept", "add_manual", "coded_quotes", "decisions", "record", "reject", "undecided"]


def prepare(project: Project, kind: Kind, rows: pd.DataFrame | Sequence[str] | str,
            code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
            source: str = "notebook", spans: Sequence[tuple[int, int] | None] | None = None,
            memos: Sequence[str | None] | None = None) -> list[Decision]:
    """Check decisions and return them (typed :class:`~qualcode.review.log.Decision` rows), without writing.

    See :meth:`qualcode.review.log.DecisionLog.prepare`.
    """
    return project.log.prepare(kind, rows, code_ids, coder=coder, memo=memo, source=source, spans=spans,
                               memos=memos)


def insert(project: Project, records: Sequence[Decision]) -> pd.DataFrame:
    """Append prepared decisions in one transaction and return them as decisions (only they are read back)."""
    return project.log.append(records)


def record(project: Project, kind: Kind, rows: pd.DataFrame | Sequence[str] | str,
           code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
           source: str = "notebook", spans: Sequence[tuple[int, int] | None] | None = None,
           memos: Sequence[str | None] | None = None) -> pd.DataFrame:
    """Append one decision per row to the log, in one transaction, and return them.

    Nothing is written when any row is invalid (see :func:`prepare`).
    """
    return insert(project, prepare(project, kind, rows, code_ids, coder=coder, memo=memo, source=source,
                                   spans=spans, memos=memos))


@returns("decisions")
def accept(project: Project, rows: pd.DataFrame | Sequence[str] | str, code_ids: Sequence[str] | str | None = None,
           *, coder: str, memo: str | None = None, source: str = "notebook") -> pd.DataFrame:
    """Accept suggestions for ``coder``: append an ``accept`` decision per row.

    Parameters
    ----------
    project : Project
    rows : DataFrame or sequence of segment ids
        Suggestion rows (``segment_id``, ``code_id``, and optionally
        ``method``, ``score``, ``codebook_version``), or segment ids with ``code_ids``.
    coder : str
        Who decides (a person's name or initials).
    memo : str, optional
        A note kept with each decision.

    Returns
    -------
    DataFrame
        The appended decisions (columns of :func:`decisions`).

    Examples
    --------
    >>> qc.accept(project, suggestions.query("score >= 0.8"), coder="ana")  # doctest: +SKIP
    """
    return record(project, "accept", rows, code_ids, coder=coder, memo=memo, source=source)


@returns("decisions")
def reject(project: Project, rows: pd.DataFrame | Sequence[str] | str, code_ids: Sequence[str] | str | None = None,
           *, coder: str, memo: str | None = None, source: str = "notebook") -> pd.DataFrame:
    """Reject suggestions for ``coder``: append a ``reject`` decision per row (see :func:`accept`).

    Examples
    --------
    >>> qc.reject(project, suggestions.iloc[[3]], coder="ana",  # doctest: +SKIP
    ...           memo="habla del municipio, no del SLEP")
    """
    return record(project, "reject", rows, code_ids, coder=coder, memo=memo, source=source)


@returns("decisions")
def add_manual(project: Project, rows: pd.DataFrame | Sequence[str] | str,
               code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
               source: str = "notebook", spans: Sequence[tuple[int, int]] | None = None) -> pd.DataFrame:
    """Code segments by hand: append a ``manual`` decision per row.

    Parameters
    ----------
    project : Project
    rows : DataFrame or sequence of segment ids
        Segment rows (``segment_id``, and ``code_id`` unless ``code_ids`` is
        given), or segment ids with ``code_ids``.
    code_ids : str or sequence of str, optional
        One code for all rows, or one per row.
    coder : str
        Who codes (a person's name or initials).
    memo : str, optional
        A note kept with each decision.
    spans : sequence of (start, end), optional
        One per row: code only that part of the segment. Document offsets,
        like ``segments.start``/``end``, ``suggestions.spans`` and
        ``decisions.start``/``end``: ``document_text[start:end]`` are the
        coded words, which must lie inside the row's segment.

    Returns
    -------
    DataFrame
        The appended decisions (columns of :func:`decisions`).

    Raises
    ------
    ParameterError
        For unknown segments or codes, or a span that is empty or outside its
        segment (the message names the row and the segment's offsets).

    Examples
    --------
    >>> qc.add_manual(project, ["9f2c..."], "collaboration.building_blocks.trust", coder="ana")  # doctest: +SKIP
    >>> seg = project.segments.iloc[4]  # doctest: +SKIP
    >>> qc.add_manual(project, [seg.segment_id], "leadership.workload", coder="ana",
    ...               spans=[(seg.start + 10, seg.start + 42)])  # doctest: +SKIP
    """
    return record(project, "manual", rows, code_ids, coder=coder, memo=memo, source=source, spans=spans)


@returns("decisions")
def decisions(project: Project, *, history: bool = False, coder: str | None = None) -> pd.DataFrame:
    """The decision log: the current decisions, or all of it.

    The current view holds the latest decision per (segment, code, coder)
    and span: several spans of one code by one coder in one segment are all
    current, a reject replaces all of them, and a later accept or coding
    replaces a reject (see :mod:`qualcode.review.log`).

    Parameters
    ----------
    history : bool
        ``True`` returns every decision ever made, oldest first, orphans included.
    coder : str, optional
        Only this coder's decisions.

    Returns
    -------
    DataFrame
        The same columns in both views:

        {columns}
    """
    return project.log.frame(history=history, coder=coder)


def undecided(project: Project, rows: pd.DataFrame, coder: str) -> pd.DataFrame:
    """The rows (suggestions, say) whose (segment, code) ``coder`` has not decided yet, in their order.

    Reads only the decisions on the rows' segments, not the whole log.

    Examples
    --------
    >>> todo = undecided(project, project.suggestions, coder="ana")  # doctest: +SKIP
    """
    return project.log.undecided(rows, coder)


@returns("coded_quotes")
def coded_quotes(project: Project, *, coder: str | None = None) -> pd.DataFrame:
    """Coded quotes: current accept or manual decisions, with the words, the speaker and the attributes.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> qc.coded_quotes(project).groupby("code_id").size()  # doctest: +SKIP
    """
    current = decisions(project, coder=coder)
    current = coded(current)
    segments = project.segments
    columns = ["segment_id", "speaker", "speaker_role", "timestamp", "text", "start"]
    # Attributes are whatever follows the declared segment columns (text_sha is the project's own fingerprint).
    declared = {*schema_columns("segments"), "text_sha"}
    attributes = [c for c in segments.columns if c not in declared]
    merged = current.merge(segments[columns + attributes].rename(columns={"start": "segment_start"}),
                           on="segment_id", how="left")
    merged["quote_now"] = [text[slice(*to_segment((s, e), base))] for text, s, e, base in
                           zip(merged["text"], merged["start"], merged["end"], merged["segment_start"],
                               strict=True)]
    keep = ["segment_id", "doc_id", "code_id", "coder", "decision", "quote_now", "start", "end", "speaker",
            "speaker_role", "timestamp", "memo", "created_at", *attributes]
    quotes = merged[keep].reset_index(drop=True)
    # Which attribute column is the participant, the date …: analyses given these quotes read it (io.roles).
    quotes.attrs["roles"] = dict(segments.attrs.get("roles", {}))
    return quotes

