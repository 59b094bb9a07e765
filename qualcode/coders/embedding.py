"""EmbeddingCoder: how close a segment's meaning is to each code's label, definition, criteria and examples.

Prototypes
    Every code contributes its labels, definition, inclusion criteria and
    example quotes in both languages, each embedded on its own; a window's
    similarity to a code is its similarity to the nearest of them (that
    sentence is the evidence). Exclusion criteria push down:
    ``raw = pos − 0.5 · max(0, excl − pos)``.
Windows
    Long turns are cut into windows of whole sentences of about
    ``max_words`` words; a segment scores as its best window, and the
    window's offsets are the evidence span.
Calibration
    Raw cosines mean different things for different backends (unrelated
    sentences score about 0.07 with USE and 0.8 with E5), so each code's raw
    score is compared with its own background: the examples of every code
    outside its lineage, which are on-topic interview talk that should *not*
    match. ``z = (raw − mean) / std`` of that background and
    ``score = 1 / (1 + exp(−(z − z0) / tau))``: a window as close to the code
    as the background's top few percent scores about 0.5, whatever the backend.
    The background depends on the codebook only, so a segment's score does not
    depend on what else is in the batch.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..codebook import Codebook
from ..errors import ParameterError
from ..schemas import returns, takes
from ..spans import to_document
from .base import SEGMENTS_IN, BaseCoder, participant_units, typed_suggestions
from .embedders import CachedEmbedder, Embedder, EmbeddingCache, get_embedder

__all__ = ["EmbeddingCoder", "windows"]

_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s|$)")


def windows(text: str, max_words: int) -> list[tuple[int, int]]:
    """Cut ``text`` into runs of whole sentences of about ``max_words`` words: ``(start, end)`` offsets.

    Examples
    --------
    >>> windows("Uno dos. Tres cuatro. Cinco.", 2)
    [(0, 8), (9, 21), (22, 28)]
    """
    if len(text.split()) <= max_words:
        return [(0, len(text))]
    bounds = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not bounds or bounds[-1] < len(text):
        bounds.append(len(text))
    out: list[tuple[int, int]] = []
    start = 0
    count = 0
    previous = 0
    for end in bounds:
        count += len(text[previous:end].split())
        previous = end
        if count >= max_words:
            out.append((start, end))
            start, count = end, 0
    if start < len(text) and text[start:].strip():
        out.append((start, len(text)))
    # Trim the white space between sentences out of each window.
    trimmed = []
    for a, b in out:
        chunk = text[a:b]
        a += len(chunk) - len(chunk.lstrip())
        b = a + len(chunk.strip())
        trimmed.append((a, b))
    return trimmed


class EmbeddingCoder(BaseCoder):
    """Suggest codes by meaning, in Spanish and English, with the nearest example as evidence.

    Parameters
    ----------
    embedder : str or Embedder
        ``"use"`` (default, offline multilingual), ``"tfidf"``, ``"st:<model path>"`` or an object with
        ``name`` and ``encode``.
    cache : EmbeddingCache, optional
        Where embeddings are kept by (model, text hash), so an unchanged corpus is never encoded twice:
        ``project.embedding_cache()`` (the project file) or a :class:`~qualcode.coders.MemoryEmbeddingCache`.
    max_words : int
        Long turns are scored by windows of about this many words.
    z0, tau : float
        Calibration: the background z-score that maps to 0.5, and the slope.
    min_score : float
        Suggestions below this score are dropped (the full table is large: segments × codes).

    Attributes
    ----------
    prototypes_ : DataFrame
        ``code_id``, ``kind``, ``lang``, ``text`` of every prototype sentence.
    background_ : DataFrame
        Per code, ``mean`` and ``std`` of the raw score over its background.

    Examples
    --------
    >>> coder = EmbeddingCoder(cache=project.embedding_cache()).fit(qc.load_codebook("nic_study"))  # doctest: +SKIP
    >>> coder.suggest(project.segments).sort_values("score", ascending=False).head()  # doctest: +SKIP
    """

    method = "embedding"

    def __init__(self, embedder: str | Embedder = "use", *, cache: EmbeddingCache | None = None,
                 skip_roles: tuple[str, ...] = ("interviewer", "unknown"), max_words: int = 60,
                 exclusion_weight: float = 0.5, z0: float = 2.0, tau: float = 0.5,
                 min_score: float = 0.05) -> None:
        self.embedder = embedder
        self.cache = cache
        self.skip_roles = skip_roles
        self.max_words = max_words
        self.exclusion_weight = exclusion_weight
        self.z0 = z0
        self.tau = tau
        self.min_score = min_score

    # -- fitting ------------------------------------------------------------------
    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> EmbeddingCoder:
        """Embed the codebook's prototypes and measure each code's background (decisions are not used)."""
        if self.max_words < 5:
            raise ParameterError(f"max_words must be at least 5, got {self.max_words}.")
        inner = get_embedder(self.embedder)
        rows, excl = [], []
        for code in codebook:
            for lang in ("es", "en"):
                for kind in ("label", "definition", "inclusion"):
                    text = getattr(code, kind)[lang]
                    if text:
                        rows.append((code.id, kind, lang, text))
                for example in code.examples[lang]:
                    rows.append((code.id, "example", lang, example))
                if code.exclusion[lang]:
                    excl.append((code.id, "exclusion", lang, code.exclusion[lang]))
        if not rows:
            raise ParameterError(f"codebook {codebook.id!r} has no labels, definitions or examples to embed.")
        if hasattr(inner, "fit"):
            inner.fit([r[3] for r in rows + excl])
        self.embedder_ = CachedEmbedder(inner, self.cache)
        self.codebook_ = codebook
        self.codes_ = [c.id for c in codebook]
        self.prototypes_ = pd.DataFrame(rows, columns=["code_id", "kind", "lang", "text"])
        self.exclusions_ = pd.DataFrame(excl, columns=["code_id", "kind", "lang", "text"])
        self.proto_vectors_ = self.embedder_.encode(list(self.prototypes_["text"]))
        self.excl_vectors_ = (self.embedder_.encode(list(self.exclusions_["text"])) if len(excl)
                              else np.zeros((0, self.proto_vectors_.shape[1]), dtype=np.float32))
        index = {c: i for i, c in enumerate(self.codes_)}
        self.proto_code_ = np.array([index[c] for c in self.prototypes_["code_id"]])
        self.excl_code_ = np.array([index[c] for c in self.exclusions_["code_id"]], dtype=int)
        self._fit_background(codebook)
        self.codebook_version_ = codebook.version
        return self

    def _raw(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw scores (rows × codes) and, per cell, the index of the nearest prototype."""
        n_codes = len(self.codes_)
        sims = vectors @ self.proto_vectors_.T
        pos = np.full((len(vectors), n_codes), -np.inf, dtype=np.float32)
        nearest = np.zeros((len(vectors), n_codes), dtype=np.int64)
        for c in range(n_codes):
            columns = np.flatnonzero(self.proto_code_ == c)
            block = sims[:, columns]
            best = block.argmax(axis=1)
            pos[:, c] = block[np.arange(len(vectors)), best]
            nearest[:, c] = columns[best]
        raw = pos.copy()
        if len(self.excl_code_):
            esims = vectors @ self.excl_vectors_.T
            for c in range(n_codes):
                columns = np.flatnonzero(self.excl_code_ == c)
                if len(columns):
                    excl = esims[:, columns].max(axis=1)
                    raw[:, c] = pos[:, c] - self.exclusion_weight * np.maximum(0.0, excl - pos[:, c])
        return raw, nearest

    def _fit_background(self, codebook: Codebook) -> None:
        examples = self.prototypes_["kind"] == "example"
        raw, _ = self._raw(self.proto_vectors_[examples.to_numpy()])
        owners = self.prototypes_.loc[examples, "code_id"].to_numpy()
        means, stds = [], []
        for c, code_id in enumerate(self.codes_):
            related = np.array([o == code_id or o.startswith(code_id + ".") or code_id.startswith(o + ".")
                                for o in owners])
            values = raw[~related, c] if (~related).sum() >= 8 else raw[:, c]
            means.append(float(values.mean()))
            stds.append(max(float(values.std()), 0.02))
        self.background_ = pd.DataFrame({"code_id": self.codes_, "mean": means, "std": stds})
        self._mean = np.array(means, dtype=np.float32)
        self._std = np.array(stds, dtype=np.float32)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Raw scores (rows × codes) → calibrated scores in [0, 1]."""
        z = (raw - self._mean) / self._std
        return 1.0 / (1.0 + np.exp(-(z - self.z0) / self.tau))

    # -- suggesting ---------------------------------------------------------------
    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Suggestions for every participant segment, scored by its best window.

        Returns
        -------
        DataFrame
            The suggestions table: ``method`` is ``embedding``; ``evidence`` is
            the nearest prototype (``≈ example (es): «…» 0.61``); ``spans`` the
            window that carries it, in document offsets:

            {columns}
        """
        self._check_fitted()
        units = participant_units(segments, self.skip_roles)
        if units.empty:
            return typed_suggestions([])
        owner, spans, texts = [], [], []
        for i, (text, base) in enumerate(zip(units["text"], units["start"], strict=True)):
            for a, b in windows(str(text), self.max_words):
                owner.append(i)
                spans.append(to_document((a, b), base))
                texts.append(str(text)[a:b])
        distinct = list(dict.fromkeys(texts))
        vectors = self.embedder_.encode(distinct)
        row_of = {t: k for k, t in enumerate(distinct)}
        raw_distinct, nearest_distinct = self._raw(vectors)
        take = np.array([row_of[t] for t in texts])
        raw, nearest = raw_distinct[take], nearest_distinct[take]
        scores = self.calibrate(raw)
        # Best window per (segment, code).
        best_score = np.full((len(units), scores.shape[1]), -1.0, dtype=np.float32)
        best_window = np.zeros((len(units), scores.shape[1]), dtype=np.int64)
        for window, i in enumerate(owner):
            better = scores[window] > best_score[i]
            best_score[i, better] = scores[window, better]
            best_window[i, better] = window
        keep_i, keep_c = np.nonzero(best_score >= self.min_score)
        if not len(keep_i):
            return typed_suggestions([])
        w = best_window[keep_i, keep_c]
        p = nearest[w, keep_c]
        sims = np.einsum("ij,ij->i", vectors[take[w]], self.proto_vectors_[p])
        shown = [f"≈ {k} ({lang}): «{t if len(t) <= 140 else t[:137] + '…'}»" for k, lang, t in
                 zip(self.prototypes_["kind"], self.prototypes_["lang"], self.prototypes_["text"], strict=True)]
        codes = np.array(self.codes_, dtype=object)
        rows = pd.DataFrame({
            "segment_id": units["segment_id"].to_numpy()[keep_i],
            "doc_id": units["doc_id"].to_numpy()[keep_i],
            "code_id": codes[keep_c],
            "method": self.method,
            "score": np.round(best_score[keep_i, keep_c].astype(float), 4),
            "evidence": [f"{shown[j]} {sim:.2f}" for j, sim in zip(p.tolist(), sims.tolist(), strict=True)],
            "spans": [[list(spans[k])] for k in w.tolist()],
            "codebook_version": self.codebook_version_,
        })
        return typed_suggestions(rows)
