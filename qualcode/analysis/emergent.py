"""Emergent sub-themes: what participants talk about that no code in the codebook covers.

Substantive participant segments (at least ``min_words`` words) that carry
no accepted code are grouped, per language, by the words they share
(TF-IDF over Snowball roots without stop words, k-means with a fixed seed).
Each group large enough becomes a candidate theme with its most distinctive
terms (against the coded segments), its most representative quotes, its
size in segments, documents and participants, and the nearest code of the
codebook, so a team can decide whether it is new or was missed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..nlp.normalize import fold_fast
from ..nlp.words import stemmer, stop_words
from ..schemas import coded as coded_rows
from ..schemas import returns, takes
from .frequencies import participant_keys

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ..codebook import Codebook

__all__ = ["emergent_themes"]


def _analyzer(lang: str) -> Callable[[str], list[str]]:
    stop = stop_words(lang)
    stem = stemmer(lang).stemWord

    def analyze(text: str) -> list[str]:
        return [stem(w) for w in re.findall(r"[^\W\d_]{3,}", fold_fast(text)) if w not in stop]

    return analyze


@returns("emergent_themes")
@takes(segments="segments[segment_id, doc_id, text, speaker_role, language]", codings="codings[segment_id]")
def emergent_themes(segments: pd.DataFrame, codings: pd.DataFrame, *, codebook: Codebook | None = None,
                    min_words: int = 15, min_size: int = 3, per_theme: int = 3, seed: int = 0) -> pd.DataFrame:
    """Candidate themes from participant segments that no accepted code covers.

    Parameters
    ----------
    segments : DataFrame
        All segments (``segment_id``, ``doc_id``, ``text``, ``speaker_role``, ``language``).
    codings : DataFrame
        Accepted codings (``segment_id``); e.g. :func:`qualcode.coded_quotes`.
    codebook : Codebook, optional
        To name the nearest existing code of each theme.
    min_words, min_size : int
        Segments shorter than ``min_words`` are not substantive; themes
        smaller than ``min_size`` segments are not reported.

    Returns
    -------
    DataFrame
        {columns}
    """
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    codings = coded_rows(codings)
    coded = set(codings["segment_id"])
    part = segments[segments["speaker_role"] == "participant"]
    part = part.assign(_words=part["text"].str.split().str.len())
    open_ = part[~part["segment_id"].isin(coded) & (part["_words"] >= min_words)]
    rows = []
    for lang, group in open_.groupby("language"):
        if len(group) < min_size:
            continue
        analyze = _analyzer(str(lang))
        background = part[part["segment_id"].isin(coded) & (part["language"] == lang)]
        vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True)
        vectorizer.fit(pd.concat([group["text"], background["text"]]))
        X = vectorizer.transform(group["text"]).toarray()
        B = vectorizer.transform(background["text"]).toarray() if len(background) else np.zeros((1, X.shape[1]))
        k = max(1, min(len(group) // min_size, 8))
        if k > 1:
            labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(X)
        else:
            labels = np.zeros(len(group), int)
        vocab = np.array(vectorizer.get_feature_names_out())
        surface = _surface_forms(group["text"], analyze)
        code_matrix, code_ids = _code_vectors(codebook, str(lang), vectorizer)
        for label in sorted(set(labels)):
            members = group[labels == label]
            if len(members) < min_size:
                continue
            rows_x = X[labels == label]
            centroid = rows_x.mean(axis=0)
            distinct = centroid - B.mean(axis=0)
            top = [surface.get(t, t) for t in vocab[np.argsort(-distinct)[:8]] if distinct[vocab.tolist().index(t)] > 0]
            closeness = rows_x @ centroid
            order = np.argsort(-closeness)[:per_theme]
            nearest, similarity = None, float("nan")
            if code_matrix is not None and np.linalg.norm(centroid) > 0:
                sims = code_matrix @ (centroid / np.linalg.norm(centroid))
                best = int(np.argmax(sims))
                nearest, similarity = code_ids[best], float(sims[best])
            rows.append({"language": lang, "n_segments": len(members), "n_documents": members["doc_id"].nunique(),
                         "n_participants": participant_keys(members).nunique(), "terms": top,
                         "quotes": [members["text"].iloc[i] for i in order],
                         "segment_ids": list(members["segment_id"]), "nearest_code": nearest,
                         "similarity": round(similarity, 3) if nearest else similarity})
    frame = pd.DataFrame(rows, columns=["language", "n_segments", "n_documents", "n_participants", "terms", "quotes",
                                        "segment_ids", "nearest_code", "similarity"])
    frame = frame.sort_values(["n_segments", "similarity"], ascending=[False, True]).reset_index(drop=True)
    frame.insert(0, "theme", range(1, len(frame) + 1))
    return frame


def _surface_forms(texts: pd.Series, analyze: Callable[[str], list[str]]) -> dict[str, str]:
    """The most frequent written form of each root, to show words people said, not stems."""
    from collections import Counter

    forms: dict[str, Counter] = {}
    for text in texts:
        for word in re.findall(r"[^\W\d_]{3,}", text.lower()):
            roots = analyze(word)
            if roots:
                forms.setdefault(roots[0], Counter())[fold_fast(word) and word] += 1
    return {root: counter.most_common(1)[0][0] for root, counter in forms.items()}


def _code_vectors(codebook: Codebook | None, lang: str,
                  vectorizer: TfidfVectorizer) -> tuple[np.ndarray | None, list[str]]:
    if codebook is None:
        return None, []
    texts, ids = [], []
    for code in codebook:
        parts = [code.label[lang], code.definition[lang], " ".join(code.keywords[lang]), *code.examples[lang]]
        texts.append(" ".join(p for p in parts if p))
        ids.append(code.id)
    matrix = vectorizer.transform(texts).toarray()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms, ids
