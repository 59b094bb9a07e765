"""The decision log: accept, reject, code by hand; the current view and coded quotes.

Every call appends rows to the project's ``decisions`` table in one
transaction; nothing is ever updated or deleted. The *current* decision for
a (segment, code, coder) is simply the latest one, so changing your mind is
one more row, and the whole history stays readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import pandas as pd

from ..errors import ParameterError, ProjectError
from .anchor import current_anchor_sql

if TYPE_CHECKING:
    from ..project import Project

__all__ = ["record", "accept", "reject", "add_manual", "decisions", "undecided", "coded_quotes", "DECISION_COLUMNS"]

DECISION_COLUMNS = ["decision_id", "segment_id", "code_id", "coder", "decision", "start", "end", "memo",
                    "created_at", "source", "doc_id", "quote", "method", "score", "codebook_version", "anchor"]
_SOURCES = ("notebook", "sheet", "import", "cli", "widget")


def _pairs(rows: pd.DataFrame | Sequence[str] | str, code_ids: Sequence[str] | str | None) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        missing = [c for c in ("segment_id", "code_id") if c not in rows.columns and not (c == "code_id" and code_ids)]
        if missing:
            raise ParameterError(f"the rows need column(s) {missing} (suggestion rows have both).")
        frame = rows.copy()
        if code_ids is not None:
            frame["code_id"] = code_ids if isinstance(code_ids, str) else list(code_ids)
        return frame.reset_index(drop=True)
    segment_ids = [rows] if isinstance(rows, str) else list(rows)
    if code_ids is None:
        raise ParameterError("give code_ids with segment ids (one code for all, or one per segment).")
    codes = [code_ids] * len(segment_ids) if isinstance(code_ids, str) else list(code_ids)
    if len(codes) != len(segment_ids):
        raise ParameterError(f"{len(segment_ids)} segment ids but {len(codes)} code ids; give one code or one per segment.")
    return pd.DataFrame({"segment_id": segment_ids, "code_id": codes})


def prepare(project: "Project", kind: str, rows: pd.DataFrame | Sequence[str] | str,
            code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
            source: str = "notebook", spans: Sequence[tuple[int, int] | None] | None = None,
            memos: Sequence[str | None] | None = None) -> list[tuple]:
    """Check decisions and return the rows to insert, without writing anything.

    Raises
    ------
    ParameterError
        For an empty coder name, unknown segments or codes (all listed), or a
        span outside its segment.
    """
    from ..project import _now, _py

    if kind not in ("accept", "reject", "manual"):
        raise ParameterError(f"decision must be accept, reject or manual, not {kind!r}.")
    if not isinstance(coder, str) or not coder.strip():
        raise ParameterError("coder must be a non-empty name (a person, or a method such as 'model').")
    if source not in _SOURCES:
        raise ParameterError(f"source must be one of {_SOURCES}, not {source!r}.")
    frame = _pairs(rows, code_ids)
    if frame.empty:
        return []
    db = project._db
    marks = ", ".join("?" * len(frame))
    segments = {r[0]: (r[1], r[2]) for r in db.execute(
        f"SELECT segment_id, doc_id, text FROM segments WHERE segment_id IN ({marks})", list(frame["segment_id"]))}
    unknown = sorted(set(frame["segment_id"]) - set(segments))
    if unknown:
        raise ParameterError(f"{len(unknown)} segment id(s) are not in the project, e.g. {unknown[:5]}; "
                             "add the corpus first (project.add_corpus) or check the ids.")
    try:
        codebook = project.codebook()
    except ProjectError:
        raise ProjectError(f"{project.path}: add a codebook before recording decisions "
                           "(project.add_codebook(qc.load_codebook(...))).", path=project.path) from None
    bad_codes = sorted(set(frame["code_id"]) - {c.id for c in codebook})
    if bad_codes:
        raise ParameterError(f"code id(s) {bad_codes} are not in the project's codebook {codebook.id!r} "
                             f"(version {codebook.version}); see project.codes.")
    if spans is not None and len(spans) != len(frame):
        raise ParameterError(f"{len(frame)} rows but {len(spans)} spans; give one (start, end) per row.")
    if memos is not None and len(memos) != len(frame):
        raise ParameterError(f"{len(frame)} rows but {len(memos)} memos.")
    now = _now()
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        doc_id, text = segments[row["segment_id"]]
        span_start, span_end = 0, None
        if spans is not None and spans[i] is not None:
            span_start, span_end = int(spans[i][0]), int(spans[i][1])
            if not 0 <= span_start < span_end <= len(text):
                raise ParameterError(f"span {spans[i]} is outside segment {row['segment_id']} "
                                     f"(length {len(text)}); spans are offsets within the segment.")
            if span_start == 0 and span_end == len(text):
                span_end = None
        note = memos[i] if memos is not None else memo
        records.append((row["segment_id"], row["code_id"], coder.strip(), kind, span_start, span_end, doc_id,
                        text[span_start:span_end], note if note else None, now, source, _py(row.get("method")),
                        _py(row.get("score")), _py(row.get("codebook_version")) or codebook.version))
    return records


def insert(project: "Project", records: list[tuple]) -> pd.DataFrame:
    """Append prepared decision rows in one transaction and return them as decisions."""
    if not records:
        return pd.DataFrame(columns=DECISION_COLUMNS)
    with project._write() as tx:
        first = tx.execute("SELECT coalesce(max(decision_id), 0) FROM decisions").fetchone()[0]
        tx.executemany(
            "INSERT INTO decisions(segment_id, code_id, coder, decision, span_start, span_end, doc_id, quote, memo, "
            "created_at, source, method, score, codebook_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            records)
    out = decisions(project, history=True)
    return out[out["decision_id"] > first].reset_index(drop=True)


def record(project: "Project", kind: str, rows: pd.DataFrame | Sequence[str] | str,
           code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
           source: str = "notebook", spans: Sequence[tuple[int, int] | None] | None = None,
           memos: Sequence[str | None] | None = None) -> pd.DataFrame:
    """Append one decision per row to the log, in one transaction, and return them.

    Nothing is written when any row is invalid (see :func:`prepare`).
    """
    return insert(project, prepare(project, kind, rows, code_ids, coder=coder, memo=memo, source=source,
                                   spans=spans, memos=memos))


def accept(project: "Project", rows: pd.DataFrame | Sequence[str] | str, code_ids: Sequence[str] | str | None = None,
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


def reject(project: "Project", rows: pd.DataFrame | Sequence[str] | str, code_ids: Sequence[str] | str | None = None,
           *, coder: str, memo: str | None = None, source: str = "notebook") -> pd.DataFrame:
    """Reject suggestions for ``coder``: append a ``reject`` decision per row (see :func:`accept`).

    Examples
    --------
    >>> qc.reject(project, suggestions.iloc[[3]], coder="ana", memo="habla del municipio, no del SLEP")  # doctest: +SKIP
    """
    return record(project, "reject", rows, code_ids, coder=coder, memo=memo, source=source)


def add_manual(project: "Project", rows: pd.DataFrame | Sequence[str] | str,
               code_ids: Sequence[str] | str | None = None, *, coder: str, memo: str | None = None,
               source: str = "notebook", spans: Sequence[tuple[int, int]] | None = None) -> pd.DataFrame:
    """Code segments by hand: append a ``manual`` decision per row.

    ``spans`` optionally codes only part of each segment: ``(start, end)``
    offsets within the segment's text.

    Examples
    --------
    >>> qc.add_manual(project, ["9f2c..."], "collaboration.building_blocks.trust", coder="ana")  # doctest: +SKIP
    """
    return record(project, "manual", rows, code_ids, coder=coder, memo=memo, source=source, spans=spans)


def decisions(project: "Project", *, history: bool = False, coder: str | None = None) -> pd.DataFrame:
    """The decision log: the current decision per (segment, code, coder), or all of it.

    Parameters
    ----------
    history : bool
        ``True`` returns every decision ever made, oldest first, orphans included.
    coder : str, optional
        Only this coder's decisions.

    Returns
    -------
    DataFrame
        ``decision_id``, ``segment_id`` (where the decision is anchored now),
        ``code_id``, ``coder``, ``decision`` (accept / reject / manual),
        ``start``/``end`` (offsets in the current document text), ``memo``,
        ``created_at``, ``source``, ``doc_id``, ``quote`` (the words decided
        on, as they read then), ``method``, ``score``, ``codebook_version``,
        ``anchor`` (original, exact, fuzzy or orphan).
    """
    sql = f"""
        SELECT d.decision_id, c.segment_id, d.code_id, d.coder, d.decision,
               s.start + c.span_start AS start,
               CASE WHEN c.span_end IS NULL THEN s."end" ELSE s.start + c.span_end END AS "end",
               d.memo, d.created_at, d.source, d.doc_id, d.quote, d.method, d.score, d.codebook_version, c.anchor
        FROM decisions d JOIN ({current_anchor_sql}) c USING (decision_id)
        LEFT JOIN segments s ON s.segment_id = c.segment_id
        {"WHERE d.coder = ?" if coder else ""}
        ORDER BY d.decision_id
    """
    frame = project._frame(sql, [coder] if coder else [])
    for column in ("start", "end", "decision_id"):
        frame[column] = frame[column].astype("Int64")
    frame["score"] = frame["score"].astype("Float64")
    if history:
        return frame[DECISION_COLUMNS]
    current = frame[frame["anchor"] != "orphan"]
    current = current.drop_duplicates(["segment_id", "code_id", "coder"], keep="last")
    return current[DECISION_COLUMNS].reset_index(drop=True)


def undecided(project: "Project", rows: pd.DataFrame, coder: str) -> pd.DataFrame:
    """The rows (suggestions, say) whose (segment, code) ``coder`` has not decided yet, in their order.

    Examples
    --------
    >>> todo = undecided(project, project.suggestions, coder="ana")  # doctest: +SKIP
    """
    if rows.empty:
        return rows
    done = decisions(project, coder=coder)
    decided = set(zip(done["segment_id"], done["code_id"]))
    keep = [pair not in decided for pair in zip(rows["segment_id"], rows["code_id"])]
    return rows.loc[pd.Series(keep, index=rows.index, dtype=bool)]


def coded_quotes(project: "Project", *, coder: str | None = None) -> pd.DataFrame:
    """Coded quotes: current accept or manual decisions, with the words, the speaker and the attributes.

    Returns
    -------
    DataFrame
        ``segment_id``, ``doc_id``, ``code_id``, ``coder``, ``decision``,
        ``quote`` (the words as they read now), ``start``, ``end``,
        ``speaker``, ``speaker_role``, ``timestamp``, ``memo``,
        ``created_at``, then the document's attribute columns.

    Examples
    --------
    >>> qc.coded_quotes(project).groupby("code_id").size()  # doctest: +SKIP
    """
    current = decisions(project, coder=coder)
    current = current[current["decision"].isin(["accept", "manual"])]
    segments = project.segments
    columns = ["segment_id", "speaker", "speaker_role", "timestamp", "text", "start"]
    attributes = [c for c in segments.columns if c not in {"segment_id", "doc_id", "turn", "part", "speaker",
                                                           "speaker_role", "start", "end", "timestamp", "field",
                                                           "text", "language", "text_sha"}]
    merged = current.merge(segments[columns + attributes].rename(columns={"start": "segment_start"}),
                           on="segment_id", how="left")
    merged["quote"] = [text[s - base:e - base] for text, s, e, base in
                       zip(merged["text"], merged["start"], merged["end"], merged["segment_start"])]
    keep = ["segment_id", "doc_id", "code_id", "coder", "decision", "quote", "start", "end", "speaker",
            "speaker_role", "timestamp", "memo", "created_at", *attributes]
    return merged[keep].reset_index(drop=True)

