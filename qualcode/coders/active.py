"""Which suggestion to review next so that the learned coder learns fastest: uncertain and diverse first.

Active learning by uncertainty and diversity (Settles 2009, *Active Learning
Literature Survey*, §3.1 and §5): a decision teaches the most where the
coders are least sure (a score near the decision boundary), and a second
decision on a segment much like one already queued teaches little.
:func:`learning_order` picks greedily, each time the suggestion with the
highest ``uncertainty × (1 − similarity to the segments already picked)``
(farthest-first on TF-IDF vectors of the segments' words, or on embeddings
already computed). Before that, a cold start: few-shot learning needs a few
accepted examples of each code (the learned coder starts at 3), so each
code's likeliest suggestions come first until it has them
(:data:`COLD_START_POSITIVES`, :data:`COLD_START_PICKS`). The review queue
(``ReviewQueue(order="learn")``) and the review workbook (``order="learn"``)
use it; ``qc.evaluate_project`` and ``bench/learning_curve.py`` measure
whether it learns faster than document order (on the sample it does not:
see the README), which stays the default.
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

__all__ = ["COLD_START_PICKS", "COLD_START_POSITIVES", "GREEDY_ITEMS", "QUEUE_ORDERS", "learning_order",
           "main_language", "tfidf_vectorizer", "uncertainty"]

#: The orders of a review queue and a review workbook: reading order, best score first, or learn fastest.
QUEUE_ORDERS = ("document", "score", "learn")

#: Farthest-first costs one pass over the queue's segments per pick: the first this-many suggestions are picked
#: that way, the rest follow by uncertainty. A reviewer decides a few hundred suggestions before suggestions are
#: made again (which re-orders the queue), so 2,000 covers several sessions; at 10,000 segments it takes about
#: a second.
GREEDY_ITEMS = 2000
#: Cold start: the learned coder fits a code from 3 accepted segments (``LearnedCoder(min_positive=3)``), and
#: few-shot learning works from 3-5 examples per code; so each code's likeliest suggestions come first until
#: its picks are expected to hold this many accepts (the sum of their calibrated scores) ...
COLD_START_POSITIVES = 3.0
#: ... or it has had this many picks: a code whose suggestions are all unlikely does not hold the queue up.
COLD_START_PICKS = 5

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
    """The positions of ``items`` (suggestions to review), most informative first.

    Greedy, one pick at a time (see the module docstring):

    1. **cold start**: while a code has fewer than :data:`COLD_START_POSITIVES` expected accepts among the
       picks (the sum of their calibrated scores) and fewer than :data:`COLD_START_PICKS` picks, its
       suggestions come first, the likeliest (highest score) and least like the segments already picked
       first: every code gets its few examples before any code gets more;
    2. then **uncertainty × diversity**: ``(1 − |score − boundary| / max(boundary, 1 − boundary)) × (1 −
       max cosine to a segment already picked)``.

    Parameters
    ----------
    items : DataFrame
        One row per suggestion, with ``segment_id``, ``score`` and the
        segment's ``text`` (and ``code_id`` for the cold start; without it,
        uncertainty × diversity only), in the order to fall back on (reading
        order): ties keep it.
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
    >>> learning_order(items).tolist()
    [1, 3, 2, 0]
    >>> learning_order(items.assign(code_id=["x", "y", "y", "y"])).tolist()  # x's only example first
    [0, 3, 2, 1]
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
    score = pd.to_numeric(pd.Series(np.asarray(items["score"], dtype=float)), errors="coerce").to_numpy(dtype=float)
    u = uncertainty(score, boundary)
    likely = np.nan_to_num(np.clip(score, 0.0, 1.0), nan=boundary)
    segment, first = pd.factorize(items["segment_id"].astype(str))
    matrix = _segment_vectors(items, segment, lang, vectors)
    if "code_id" in items.columns:
        code, _ = pd.factorize(items["code_id"].astype(str))
        expected = np.zeros(code.max() + 1)
        picks = np.zeros(code.max() + 1, dtype=int)
    else:
        code = None
    near = np.zeros(len(first))
    seen = np.zeros(len(first), dtype=bool)
    taken = np.zeros(n, dtype=bool)
    order: list[int] = []
    for _ in range(min(n, GREEDY_ITEMS)):
        spread = 1.0 - near[segment]
        value = u * spread
        if code is not None:
            cold = (expected[code] < COLD_START_POSITIVES) & (picks[code] < COLD_START_PICKS)
            # A cold code's likeliest suggestion outranks every warm one (values are at most 1).
            value = np.where(cold, 2.0 + likely * spread, value)
        i = int(np.argmax(np.where(taken, -np.inf, value)))
        order.append(i)
        taken[i] = True
        if code is not None:
            expected[code[i]] += likely[i]
            picks[code[i]] += 1
        s = segment[i]
        if not seen[s]:
            seen[s] = True
            near[s] = 1.0
            if matrix is not None:
                similar = matrix @ matrix[s].T
                near = np.maximum(near, (similar.toarray() if hasattr(similar, "toarray") else similar).ravel())
    rest = np.flatnonzero(~taken)
    if len(rest):
        value = u[rest] * (1.0 - near[segment[rest]])
        order.extend(rest[np.argsort(-value, kind="stable")].tolist())
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
