"""Text positions: one coordinate system, document offsets, and the few conversions it needs.

A *span* is a ``(start, end)`` pair of character offsets in a document's text,
``end`` exclusive, so ``document_text[start:end]`` is its words; a segment is
itself a span (``segments.start``/``segments.end``). Every public table and
function of qualcode speaks in document offsets: ``segments.start/end``,
``suggestions.spans``, ``decisions.start/end``, ``add_manual(spans=...)`` and
``ReviewItem.spans``. Offsets within a segment's text appear only where a
segment's text is sliced or rendered (:func:`to_segment`) and in the decision
log's stored columns ``span_start``/``span_end`` (:func:`to_log`,
:func:`from_log`), which count from the segment's start so a decision can
follow its segment when a corrected transcript moves it.

Every conversion, clipping and merging of spans lives here; nothing else in
qualcode adds or subtracts a segment's start.

Examples
--------
>>> text = "Hola. Confío en ellas."
>>> segment = (6, 22)                   # "Confío en ellas."
>>> span = (6, 12)                      # "Confío", in document offsets
>>> to_segment(span, segment[0])
(0, 6)
>>> text[segment[0]:segment[1]][slice(*to_segment(span, segment[0]))] == text[slice(*span)]
True
>>> clip((0, 12), segment), merge([(10, 15), (6, 12), (20, 22)])
((6, 12), [(6, 15), (20, 22)])
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from .errors import ParameterError

__all__ = ["Span", "clip", "from_log", "merge", "parse", "to_document", "to_log", "to_segment", "validate"]

Span = tuple[int, int]
"""``(start, end)`` character offsets, ``end`` exclusive."""


def to_segment(span: Sequence[int], segment_start: int) -> Span:
    """Document offsets → offsets within the segment that starts at ``segment_start``.

    No clipping: a span reaching outside the segment gives offsets below 0 or
    past the segment's length (clip it first with :func:`clip`).

    Parameters
    ----------
    span : (int, int)
        Document offsets.
    segment_start : int
        Where the segment starts in the document (``segments.start``).

    Returns
    -------
    (int, int)

    Examples
    --------
    >>> to_segment((106, 112), 100)
    (6, 12)
    """
    return (int(span[0]) - int(segment_start), int(span[1]) - int(segment_start))


def to_document(span: Sequence[int], segment_start: int) -> Span:
    """Offsets within the segment that starts at ``segment_start`` → document offsets (inverse of :func:`to_segment`).

    Examples
    --------
    >>> to_document((6, 12), 100)
    (106, 112)
    """
    return (int(span[0]) + int(segment_start), int(span[1]) + int(segment_start))


def clip(span: Sequence[int], segment: Sequence[int]) -> Span | None:
    """The part of ``span`` inside ``segment`` (both in the same offsets), or ``None`` when they do not overlap.

    Examples
    --------
    >>> clip((95, 105), (100, 120))
    (100, 105)
    >>> clip((90, 100), (100, 120)) is None
    True
    """
    start, end = max(int(span[0]), int(segment[0])), min(int(span[1]), int(segment[1]))
    return (start, end) if start < end else None


def _offset(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # a span read from a float column of a spreadsheet or a DataFrame
    return None


def validate(span: object, segment: Sequence[int] | None = None, *, what: str = "span",
             where: str = "the segment") -> Span:
    """Check that ``span`` is a non-empty ``(start, end)`` pair of offsets, inside ``segment`` when given.

    Parameters
    ----------
    span : object
        What the caller was given.
    segment : (int, int), optional
        The segment's ``(start, end)`` in the same offsets; the span must lie within it.
    what : str
        How the message names the span (``"span 3"``, ``"span of row 3"``).
    where : str
        How the message names the segment (``"segment 9f2c…"``).

    Returns
    -------
    (int, int)
        The span as plain ints.

    Raises
    ------
    ParameterError
        Saying which span and why: not a pair of whole numbers, empty or
        reversed, or outside the segment (with the segment's offsets).

    Examples
    --------
    >>> validate((106, 112), (100, 120))
    (106, 112)
    >>> validate((95, 112), (100, 120), what="span of row 0", where="segment 9f2c")
    Traceback (most recent call last):
    ...
    qualcode.errors.ParameterError: span of row 0 (95, 112) is outside segment 9f2c (document offsets 100 to 120); ...
    """
    pair = None
    shown = _shown(span)
    if isinstance(span, (list, tuple)) and len(span) == 2:
        start, end = _offset(span[0]), _offset(span[1])
        if start is not None and end is not None:
            pair = (start, end)
    if pair is None:
        raise ParameterError(f"{what} {shown} is not a (start, end) pair of whole numbers.")
    if not 0 <= pair[0] < pair[1]:
        raise ParameterError(f"{what} {shown} is empty or negative: give 0 <= start < end.")
    if segment is not None and not int(segment[0]) <= pair[0] < pair[1] <= int(segment[1]):
        raise ParameterError(f"{what} {shown} is outside {where} (document offsets {int(segment[0])} to "
                             f"{int(segment[1])}); spans are document offsets, like segments.start and segments.end.")
    return pair


def _shown(span: object) -> str:
    # numpy scalars print as np.int64(281) since numpy 2; a user wrote 281.
    if isinstance(span, (list, tuple)):
        return "(" + ", ".join(str(v.item()) if hasattr(v, "item") else repr(v) for v in span) + ")"
    return repr(span)


def merge(spans: Iterable[Sequence[int]]) -> list[Span]:
    """Sorted spans with the overlapping or touching ones joined and the empty ones dropped.

    The result does not depend on the order of ``spans``, and merging it
    again changes nothing.

    Examples
    --------
    >>> merge([(10, 17), (0, 6), (12, 14), (6, 8), (5, 5)])
    [(0, 8), (10, 17)]
    """
    merged: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def parse(value: object) -> list[Span]:
    """The spans of one ``suggestions.spans`` cell: a list of ``[start, end]`` document offsets.

    (``Project.suggestions`` reads the cell's stored JSON text back into
    such a list.) Lenient: a suggestions table may be hand-made, so
    anything that is not a list or tuple gives no spans, and items that are
    not a pair of numbers are left out; it only costs a highlight.

    Examples
    --------
    >>> parse([[3, 9], [12, 15]])
    [(3, 9), (12, 15)]
    >>> parse("[[3, 9]]"), parse(None), parse([[3], ["a", 4], (1, 2)])
    ([], [], [(1, 2)])
    """
    if not isinstance(value, (list, tuple)):
        return []
    out = []
    for span in value:
        try:
            out.append((int(span[0]), int(span[1])))
        except (TypeError, ValueError, IndexError, KeyError):
            continue
    return out


def to_log(span: Sequence[int], segment: Sequence[int]) -> tuple[int, int | None]:
    """A span (document offsets, inside ``segment``) → the decision log's stored ``(span_start, span_end)``.

    The log counts from the segment's start, and stores ``span_end`` as
    ``None`` when the span is the whole segment (so a whole-segment decision
    stays whole when a corrected transcript changes the segment's length).

    Examples
    --------
    >>> to_log((106, 112), (100, 120)), to_log((100, 120), (100, 120))
    ((6, 12), (0, None))
    """
    start, end = to_segment(span, segment[0])
    return (start, None) if (start, end) == (0, int(segment[1]) - int(segment[0])) else (start, end)


def from_log(span_start: int | None, span_end: int | None, segment: Sequence[int]) -> Span:
    """The decision log's stored ``(span_start, span_end)`` on ``segment`` → document offsets.

    The inverse of :func:`to_log`.

    ``span_start`` ``None`` counts from the segment's start, ``span_end``
    ``None`` runs to the segment's end. (The log's SQL views do the same
    sum; see ``qualcode.review.log``.)

    Examples
    --------
    >>> from_log(6, 12, (100, 120)), from_log(0, None, (100, 120))
    ((106, 112), (100, 120))
    """
    start = int(segment[0]) + (span_start or 0)
    return (start, int(segment[1]) if span_end is None else int(segment[0]) + int(span_end))
