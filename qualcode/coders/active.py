"""Which suggestion to review next so that the learned coder learns fastest: uncertain and diverse first.

Active learning by uncertainty and diversity (Settles 2009, *Active Learning
Literature Survey*, §3.1 and §5): a decision teaches the most where the
coders are least sure (a score near the decision boundary), and a decision on
a segment much like one already decided teaches little. :func:`learning_order`
picks greedily a segment at a time (a reviewer reads a segment once and
decides all of its suggestions, so the learned coder gets whole decisions),
each time the segment with the highest ``uncertainty × (1 − similarity to the
segments already picked)`` (farthest-first on TF-IDF vectors of the segments'
words, or on embeddings already computed). The review queue
(``ReviewQueue(order="learn")``) and the review workbook (``order="learn"``)
use it; ``bench/learning_curve.py`` measures it against document order on
participants whose words were never reviewed (see the README): document order
stays the default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..nlp import fold_fast, stemmer, stop_words

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["GREEDY_ITEMS", "QUEUE_ORDERS", "learning_order", "main_language", "tfidf_vectorizer", "uncertainty"]

#: The orders of a review queue and a review workbook: reading order, best score first, or learn fastest.
QUEUE_ORDERS = ("document", "score", "learn")

#: Farthest-first costs one pass over the queue's segments per pick: the first this-many suggestions are picked
#: that way (whole segments), the rest follow by their value at that point. A reviewer decides a few hundred
#: suggestions before suggestions are made again (which re-orders the queue), so 2,000 covers several sessions;
#: at 10,000 segments it takes about a second.
GREEDY_ITEMS = 2000

_WORD = re.compile(r"[^\W\d_]{3,}")


def _analyzer(lang: str) -> Callable[[str], list[str]]:
    stem = stemmer(lang).stemWord
    stop = stop_words("es") | stop_words("en")
    return lambda text: [stem(w) for w in _WORD.findall(fold_fast(text)) if w not in stop]


def main_language(table: pd.DataFrame) -> str:
    """The stemmer language for a table of texts: ``"en"`` when most rows' ``language`` is English, else ``"es"``.

    Spanish is the default (the reference study's language, and what a table without a ``language``
    column gets).

    Examples
    --------
    >>> main_language(pd.DataFrame({"language": ["en", "en", "es", None]}))
    'en'
    >>> main_language(pd.DataFrame({"text": ["hola"]}))
    'es'
    """
    languages = table["language"].dropna() if "language" in table.columns else pd.Series(dtype=object)
    return "en" if len(languages) and languages.mode().iloc[0] == "en" else "es"


def tfidf_vectorizer(lang: str = "es") -> TfidfVectorizer:
    """A TF-IDF vectorizer over folded, stemmed words without stop words (Spanish and English).

    The lexical view of a text that the learning order and the content-only
    and supervised baselines of :func:`qualcode.coders.evaluate.cross_validate`
    share; rows are L2-normalised, so a product of two rows is their cosine.

    Examples
    --------
    >>> m = tfidf_vectorizer("es").fit_transform(["Colaboramos con el equipo", "la colaboración del equipo"])
    >>> round(float((m[0] @ m[1].T).toarray()[0, 0]), 2)
    1.0
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=_analyzer(lang), sublinear_tf=True)


def uncertainty(scores: pd.Series | np.ndarray, boundary: float = 0.5) -> np.ndarray:
    """1 where a score sits on the decision boundary, 0 at the far end of the scale (no score: 0.5).

    Examples
    --------
    >>> uncertainty(np.array([0.5, 0.75, 1.0, 0.0, np.nan])).tolist()
    [1.0, 0.5, 0.0, 0.0, 0.5]
    """
    s = pd.to_numeric(pd.Series(np.asarray(scores, dtype=float)), errors="coerce").to_numpy(dtype=float)
    u = 1.0 - np.abs(s - boundary) / max(boundary, 1.0 - boundary)
    return np.where(np.isnan(u), 0.5, np.clip(u, 0.0, 1.0))


def learning_order(items: pd.DataFrame, *, boundary: float = 0.5, lang: str | None = None,
                   vectors: np.ndarray | None = None) -> np.ndarray:
    """The positions of ``items`` (suggestions to review), most informative first, a segment at a time.

    Greedy over segments (see the module docstring): each time the segment with the highest
    ``uncertainty × (1 − max cosine to a segment already picked)``, where a segment's uncertainty is that of
    its most uncertain suggestion (``1 − |score − boundary| / max(boundary, 1 − boundary)``); then all of
    that segment's suggestions, the most uncertain first. A reviewer reads a segment once and decides all
    it was suggested for, and the learned coder gets complete decisions on it.

    Parameters
    ----------
    items : DataFrame
        One row per suggestion, with ``segment_id``, ``score`` and the
        segment's ``text``, in the order to fall back on (reading order):
        ties keep it.
    boundary : float
        The score at which the coders are least sure (0.5 on a calibrated scale).
    lang : str, optional
        Stemmer of the TF-IDF vectors (default: :func:`main_language` of the items).
    vectors : ndarray, optional
        One L2-normalised row per item (its segment's embedding, already computed) for the diversity term;
        default: TF-IDF vectors of the segments' words.

    Returns
    -------
    ndarray of int
        A permutation of ``range(len(items))``.

    Examples
    --------
    >>> items = pd.DataFrame({"segment_id": ["a", "a", "b", "c"], "score": [0.9, 0.5, 0.55, 0.45],
    ...                       "text": ["redes de directoras", "redes de directoras",
    ...                                "redes de directoras del distrito", "medir la asistencia"]})
    >>> learning_order(items).tolist()  # a (its 0.5 first, then its 0.9), c (unlike a), b (much like a)
    [1, 0, 3, 2]
    """
    if not 0 < boundary < 1:
        raise ParameterError(f"boundary must be between 0 and 1, got {boundary}.")
    missing = [c for c in ("segment_id", "score", "text") if c not in items.columns]
    if missing:
        raise ParameterError(f"learning_order needs the columns {missing} (segment_id, score, text).")
    n = len(items)
    if n == 0:
        return np.arange(0)
    if vectors is not None and len(vectors) != n:
        raise ParameterError(f"vectors has {len(vectors)} rows for {n} items; give one per item.")
    if lang is None:
        lang = main_language(items)
    u = uncertainty(pd.to_numeric(items["score"], errors="coerce"), boundary)
    segment, first = pd.factorize(items["segment_id"].astype(str))
    # Each segment's suggestions, the most uncertain first (reading order among equals).
    within = np.lexsort((np.arange(n), -u, segment))
    starts = np.searchsorted(segment[within], np.arange(len(first)))
    ends = np.append(starts[1:], n)
    worth = np.maximum.reduceat(u[within], starts)
    matrix = _segment_vectors(items, segment, lang, vectors)
    near = np.zeros(len(first))
    taken = np.zeros(len(first), dtype=bool)
    order: list[int] = []
    while len(order) < min(n, GREEDY_ITEMS):
        s = int(np.argmax(np.where(taken, -np.inf, worth * (1.0 - near))))
        taken[s] = True
        order.extend(within[starts[s]:ends[s]].tolist())
        if matrix is not None:
            similar = matrix @ matrix[s].T
            near = np.maximum(near, (similar.toarray() if hasattr(similar, "toarray") else similar).ravel())
    rest = np.flatnonzero(~taken)
    for s in rest[np.argsort(-(worth[rest] * (1.0 - near[rest])), kind="stable")]:
        order.extend(within[starts[s]:ends[s]].tolist())
    return np.asarray(order, dtype=int)


def _segment_vectors(items: pd.DataFrame, segment: np.ndarray, lang: str, vectors: np.ndarray | None):
    """One L2-normalised row per segment: the given vectors (first row of each segment), else TF-IDF."""
    if vectors is not None:
        rows = np.asarray(vectors, dtype=float)[pd.Series(np.arange(len(segment))).groupby(segment).first()
                                                .sort_index().to_numpy()]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)
    texts = items["text"].astype(str).groupby(segment).first().sort_index().tolist()
    try:
        return tfidf_vectorizer(lang).fit_transform(texts).tocsr()
    except ValueError:  # no word left in any text (numbers, stop words only): uncertainty alone orders them
        return None
