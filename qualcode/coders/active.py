"""Which suggestion to review next so that the learned coder learns fastest: uncertain and diverse first.

Active learning by uncertainty and diversity (Settles 2009, *Active Learning
Literature Survey*, §3.1 and §5): a decision teaches the most where the
coders are least sure (a score near the decision boundary), and a second
decision on a segment much like one already queued teaches little.
:func:`learning_order` picks greedily, each time the suggestion with the
highest ``uncertainty × (1 − similarity to the segments already picked)``
(farthest-first on TF-IDF vectors of the segments' words). The review queue
(``ReviewQueue(order="learn")``) and the review workbook (``order="learn"``)
use it; ``qc.evaluate_project`` measures whether it learns faster than
document order.
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

__all__ = ["GREEDY_ITEMS", "QUEUE_ORDERS", "learning_order", "tfidf_vectorizer", "uncertainty"]

#: The orders of a review queue and a review workbook: reading order, best score first, or learn fastest.
QUEUE_ORDERS = ("document", "score", "learn")

#: Farthest-first costs one pass over the queue's segments per pick: the first this-many suggestions are picked
#: that way, the rest follow by uncertainty. A reviewer decides a few hundred suggestions before suggestions are
#: made again (which re-orders the queue), so 2,000 covers several sessions; at 10,000 segments it takes about
#: a second.
GREEDY_ITEMS = 2000

_WORD = re.compile(r"[^\W\d_]{3,}")


def _analyzer(lang: str) -> Callable[[str], list[str]]:
    stem = stemmer(lang).stemWord
    stop = stop_words("es") | stop_words("en")
    return lambda text: [stem(w) for w in _WORD.findall(fold_fast(text)) if w not in stop]


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


def learning_order(items: pd.DataFrame, *, boundary: float = 0.5, lang: str | None = None) -> np.ndarray:
    """The positions of ``items`` (suggestions to review), most informative first.

    Parameters
    ----------
    items : DataFrame
        One row per suggestion, with ``segment_id``, ``score`` and the
        segment's ``text``, in the order to fall back on (reading order):
        ties keep it.
    boundary : float
        The score at which the coders are least sure (0.5 on a calibrated scale).
    lang : str, optional
        Stemmer of the TF-IDF vectors (default: the items' most common ``language``, else Spanish).

    Returns
    -------
    ndarray of int
        A permutation of ``range(len(items))``.

    Examples
    --------
    >>> items = pd.DataFrame({"segment_id": ["a", "a", "b", "c"], "score": [0.9, 0.5, 0.55, 0.45],
    ...                       "text": ["redes de directoras", "redes de directoras",
    ...                                "redes de directoras del distrito", "medir la asistencia"]})
    >>> learning_order(items).tolist()
    [1, 3, 2, 0]
    """
    if not 0 < boundary < 1:
        raise ParameterError(f"boundary must be between 0 and 1, got {boundary}.")
    missing = [c for c in ("segment_id", "score", "text") if c not in items.columns]
    if missing:
        raise ParameterError(f"learning_order needs the columns {missing} (segment_id, score, text).")
    n = len(items)
    if n == 0:
        return np.arange(0)
    if lang is None:
        languages = items["language"].dropna() if "language" in items.columns else pd.Series(dtype=object)
        lang = "en" if len(languages) and languages.mode().iloc[0] == "en" else "es"
    u = uncertainty(items["score"], boundary)
    segment, first = pd.factorize(items["segment_id"].astype(str))
    texts = items["text"].astype(str).groupby(segment).first().sort_index().tolist()
    try:
        matrix = tfidf_vectorizer(lang).fit_transform(texts).tocsr()
    except ValueError:  # no word left in any text (numbers, stop words only): uncertainty alone orders them
        matrix = None
    near = np.zeros(len(first))
    seen = np.zeros(len(first), dtype=bool)
    taken = np.zeros(n, dtype=bool)
    order: list[int] = []
    for _ in range(min(n, GREEDY_ITEMS)):
        value = np.where(taken, -np.inf, u * (1.0 - near[segment]))
        i = int(np.argmax(value))
        order.append(i)
        taken[i] = True
        s = segment[i]
        if not seen[s]:
            seen[s] = True
            near[s] = 1.0
            if matrix is not None:
                near = np.maximum(near, (matrix @ matrix[s].T).toarray().ravel())
    rest = np.flatnonzero(~taken)
    if len(rest):
        value = u[rest] * (1.0 - near[segment[rest]])
        order.extend(rest[np.argsort(-value, kind="stable")].tolist())
    return np.asarray(order, dtype=int)
