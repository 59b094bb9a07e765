"""The review table: each suggestion to review with its segment, speaker, the question before it and attributes.

Built once, here, for both places a coder reviews: the review workbook
(:func:`qualcode.export_review_sheet`) and the notebook widget
(:class:`qualcode.review.widget.ReviewQueue`). What each adds on top (the workbook
its column layout, the widget one item per code and segment not yet decided by
its coder, in its reading order) stays with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from ..corpus import questions
from ..errors import ParameterError
from ..schemas import returns, takes

if TYPE_CHECKING:
    from ..project import Project

__all__ = ["SUGGESTION_COLUMNS", "evidence_text", "questions", "review_table"]

# The suggestion columns a review table carries (those the suggestions have).
SUGGESTION_COLUMNS = ("segment_id", "code_id", "method", "score", "evidence", "spans", "codebook_version",
                      "created_at")
# Columns of the project's segments table that are not participant attributes.
_DECLARED = {"segment_id", "doc_id", "turn", "part", "speaker", "speaker_role", "start", "end", "timestamp", "field",
             "text", "language", "text_sha", "question"}


def evidence_text(value: object) -> str | None:
    """A suggestion's evidence as one line of text (lists joined by ``; ``, mappings as ``key: value``).

    Examples
    --------
    >>> evidence_text(["confianza", {"keyword": "red"}])
    'confianza; keyword: red'
    >>> evidence_text(float("nan")) is None
    True
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(evidence_text(v) or "" for v in value)
    return str(value)


def _cut(question: object, chars: int) -> object:
    return question[:chars] + " …" if isinstance(question, str) and len(question) > chars else question


@returns("review_table")
@takes(suggestions="suggestions[segment_id, code_id]")
def review_table(project: Project, suggestions: pd.DataFrame | None, *, question_chars: int = 600,
                 documents: Sequence[str] | None = None) -> pd.DataFrame:
    """The suggestions to review, each joined with its segment, in reading order of the documents' ids.

    Parameters
    ----------
    project : Project
        Where the segments (and their attributes) come from.
    suggestions : DataFrame or None
        Rows with ``segment_id`` and ``code_id`` (and optionally the other
        :data:`SUGGESTION_COLUMNS`), one row each in the table, none merged.
        ``None``: one row per participant segment with an empty ``code_id``,
        for coding by hand.
    question_chars : int, default 600
        The interviewer's question is cut to this many characters (then `` …``).
    documents : sequence of str, optional
        Read only these documents' segments (the suggestions must be theirs): a long workbook is made part
        by part. ``reading_order`` then counts within them.

    Returns
    -------
    DataFrame
        The suggestion columns given (among :data:`SUGGESTION_COLUMNS`), then
        every column of ``project.segments``, ``question`` and ``reading_order``
        (documents in the order they were added, segments by start):

        {columns}

        Rows of one segment keep the order they had in ``suggestions``.
        ``attrs["attributes"]`` lists the participant attribute columns,
        ``attrs["segment_columns"]`` every column from the segments (with ``question``).

    Raises
    ------
    ParameterError
        When ``suggestions`` lacks ``segment_id`` or ``code_id``, or names
        segments that are not in the project.

    Examples
    --------
    >>> table = review_table(project, project.suggestions)  # doctest: +SKIP
    >>> table[["doc_id", "speaker", "question", "text", "code_id", "score"]].head()  # doctest: +SKIP
    """
    segments = project.segments if documents is None else project.segments_of(documents)
    segments["question"] = questions(segments)
    segments["reading_order"] = range(len(segments))
    if suggestions is None:
        rows = segments[segments["speaker_role"] == "participant"][["segment_id"]].assign(code_id=None)
    else:
        rows = suggestions[[c for c in SUGGESTION_COLUMNS if c in suggestions.columns]].copy()
    table = rows.merge(segments, on="segment_id", how="left", validate="many_to_one")
    lost = table[table["doc_id"].isna()]
    if len(lost):
        raise ParameterError(f"{len(lost)} suggestion(s) point to segments not in the project, e.g. "
                             f"{list(lost['segment_id'][:3])}; add the corpus first or re-run qc.suggest.")
    table = table.sort_values(["doc_id", "start"], kind="stable").reset_index(drop=True)
    table["question"] = table["question"].map(lambda q: _cut(q, question_chars))
    columns = [c for c in segments.columns if c != "reading_order"]
    table.attrs["segment_columns"] = columns
    table.attrs["attributes"] = [c for c in columns if c not in _DECLARED]
    return table
