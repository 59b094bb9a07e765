"""LearnedCoder: learns each code from the segments people accepted and rejected.

For every code with at least ``min_positive`` accepted (or hand-coded)
segments and ``min_negative`` counter-examples, a logistic regression is
trained on the segments' sentence embeddings. Counter-examples are the
segments rejected for that code, and the segments the coders coded with
other codes but not this one (they looked at them and did not see it).
Suggestions carry ``method="learned"``; the evidence names how many examples
the model learned from and the nearest accepted segment.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval

from ..codebook import Codebook
from ..schemas import CODED, check, returns, takes
from ..spans import to_document
from .base import SEGMENTS_IN, BaseCoder, CoderTags, participant_units, register_coder, typed_suggestions
from .embedders import CachedEmbedder, Embedder, EmbeddingCache, own_embedder
from .embedding import CACHE, EMBEDDER

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

__all__ = ["OOF_FOLDS", "LearnedCoder", "training_labels"]

#: Folds for the out-of-fold scores the ensemble's fusion is fitted on: few, so that a refit after every
#: decision stays a fraction of a second on the sample codebook, and at least 2 training examples per fold.
OOF_FOLDS = 3


def training_labels(decisions: pd.DataFrame) -> tuple[pd.Series, dict[str, set[str]], dict[str, set[str]]]:
    """From decisions: the text of each decided segment, and per code its positive and negative segments.

    A segment is positive for a code when any coder's current decision
    accepts it or codes it by hand; negative when rejected (and positive for
    no one) or when it was coded with other codes only.
    """
    check(decisions, "decisions", columns=["segment_id", "code_id", "decision", "quote"], values=False,
          where="decisions")
    texts = decisions.sort_values("quote", key=lambda s: s.str.len()).drop_duplicates("segment_id", keep="last")
    text = texts.set_index("segment_id")["quote"]
    positive: dict[str, set[str]] = {}
    negative: dict[str, set[str]] = {}
    is_coded = decisions["decision"].isin(CODED)
    for code, seg, yes in zip(decisions["code_id"], decisions["segment_id"], is_coded, strict=True):
        (positive if yes else negative).setdefault(code, set()).add(seg)
    coded = set().union(*positive.values()) if positive else set()
    for code in set(positive) | set(negative):
        pos = positive.get(code, set())
        negative[code] = (negative.get(code, set()) | (coded - pos)) - pos
    return text, positive, negative


@register_coder
class LearnedCoder(BaseCoder):
    """Suggest codes the way this team applied them, from its accepted and rejected segments.

    Parameters
    ----------
    embedder : str or Embedder
        As for :class:`EmbeddingCoder` (default ``"use"``).
    cache : EmbeddingCache, optional
        Where embeddings are kept between sessions (``project.embedding_cache()``), as for
        :class:`EmbeddingCoder`.
    min_positive, min_negative : int
        Examples a code needs before it gets a model.
    C : float
        Inverse regularisation of the logistic regressions.
    min_score : float
        Suggestions below this probability are dropped.

    Attributes
    ----------
    models_ : dict
        code_id → fitted ``LogisticRegression``.
    counts_ : DataFrame
        ``code_id``, ``n_positive``, ``n_negative``, ``learned`` (bool).
    oof_ : DataFrame
        ``segment_id``, ``code_id``, ``score``: each training segment's probability from models fitted
        without it (:data:`OOF_FOLDS` folds), what :class:`~qualcode.coders.EnsembleCoder` weighs this
        coder's evidence on.
    """

    method = "learned"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "embedder": [str, EMBEDDER],
        "cache": [None, CACHE],
        "min_positive": [Interval(Integral, 1, None, closed="left")],
        "min_negative": [Interval(Integral, 1, None, closed="left")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "skip_roles": [str, tuple, list],
        "min_score": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, embedder: str | Embedder = "use", *, cache: EmbeddingCache | None = None,
                 min_positive: int = 3, min_negative: int = 3, C: float = 1.0,
                 skip_roles: str | tuple[str, ...] = ("interviewer", "unknown"), min_score: float = 0.05) -> None:
        self.embedder = embedder
        self.cache = cache
        self.min_positive = min_positive
        self.min_negative = min_negative
        self.C = C
        self.skip_roles = skip_roles
        self.min_score = min_score

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> LearnedCoder:
        """Train one model per code that has enough accepted and rejected segments."""
        self._validate_params()
        self.embedder_ = CachedEmbedder(own_embedder(self.embedder), self.cache)
        if hasattr(self.embedder_.embedder, "fit"):
            self.embedder_.embedder.fit([t for c in codebook for lang in ("es", "en")
                                         for t in (c.definition[lang], *c.examples[lang]) if t])
        self.known_ = {c.id for c in codebook}
        self.codebook_version_ = codebook.version
        self._trained: dict[str, tuple[int, LogisticRegression, tuple[list[str], np.ndarray], pd.DataFrame]] = {}
        return self._train(decisions)

    def update(self, decisions: pd.DataFrame | None) -> LearnedCoder:
        """Train again on the current decisions, without re-encoding what was encoded before.

        Few-shot and cheap: the embeddings of decided segments stay in the coder's memory (and its cache),
        and only the codes whose examples changed since the last fit get their logistic regressions fitted
        again (one more rejection refits one code).

        Parameters
        ----------
        decisions : DataFrame
            All current decisions (:func:`qualcode.decisions`).
        """
        self._check_fitted()
        return self._train(decisions)

    def _train(self, decisions: pd.DataFrame | None) -> LearnedCoder:
        self.models_: dict[str, LogisticRegression] = {}
        self.exemplars_: dict[str, tuple[list[str], np.ndarray]] = {}
        rows, held = [], []
        if decisions is not None and not decisions.empty:
            decisions = decisions[decisions["code_id"].isin(self.known_)]
        if decisions is not None and not decisions.empty:
            text, positive, negative = training_labels(decisions)
            ids = list(text.index)
            vectors = self.embedder_.encode([str(t) for t in text])
            index = {s: i for i, s in enumerate(ids)}
            for code in sorted(set(positive) | set(negative)):
                pos = sorted(positive.get(code, set()))
                neg = sorted(negative.get(code, set()))
                learned = len(pos) >= self.min_positive and len(neg) >= self.min_negative
                rows.append({"code_id": code, "n_positive": len(pos), "n_negative": len(neg), "learned": learned})
                if not learned:
                    continue
                signature = hash((tuple(pos), tuple(neg), tuple(str(text[s]) for s in pos + neg)))
                if code not in self._trained or self._trained[code][0] != signature:
                    X = vectors[[index[s] for s in pos + neg]]
                    y = np.array([1] * len(pos) + [0] * len(neg))
                    model = self._model().fit(X, y)
                    exemplars = ([str(text[s]) for s in pos], vectors[[index[s] for s in pos]])
                    oof = pd.DataFrame({"segment_id": pos + neg, "code_id": code,
                                        "score": self._out_of_fold(X, y, model)})
                    self._trained[code] = (signature, model, exemplars, oof)
                _, self.models_[code], self.exemplars_[code], oof = self._trained[code]
                held.append(oof)
        self.counts_ = pd.DataFrame(rows, columns=["code_id", "n_positive", "n_negative", "learned"])
        self.oof_ = (pd.concat(held, ignore_index=True) if held
                     else pd.DataFrame({"segment_id": pd.Series(dtype=object), "code_id": pd.Series(dtype=object),
                                        "score": pd.Series(dtype=float)}))
        return self

    def coder_tags(self) -> CoderTags:
        """Learns from decisions; encodes with an embedder."""
        return CoderTags(needs_decisions=True, uses_embedder=True)

    def texts_to_encode(self, segments: pd.DataFrame) -> list[str]:
        """The texts ``suggest(segments)`` encodes: every participant segment's, in order."""
        self._check_fitted()
        return [str(t) for t in participant_units(segments, self.skip_roles)["text"]] if self.models_ else []

    def _model(self, warm_start: bool = False) -> LogisticRegression:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, warm_start=warm_start)

    def _out_of_fold(self, X: np.ndarray, y: np.ndarray, whole: LogisticRegression) -> np.ndarray:
        """Each training segment's probability from a model that did not see it (stratified folds).

        Each fold's model starts from the model fitted on every example (``whole``), which is close: about
        half the iterations of a cold start.
        """
        from sklearn.model_selection import StratifiedKFold

        n_splits = min(OOF_FOLDS, int(y.sum()), int(len(y) - y.sum()))
        out = np.full(len(y), 0.5)
        if n_splits < 2:
            return out
        for train, test in StratifiedKFold(n_splits=n_splits).split(X, y):
            model = self._model(warm_start=True)
            model.coef_, model.intercept_ = whole.coef_.copy(), whole.intercept_.copy()
            out[test] = model.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        return out

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Suggestions from the learned models (codes without a model are left to the zero-shot coders)."""
        self._check_fitted()
        units = participant_units(segments, self.skip_roles)
        if units.empty or not self.models_:
            return typed_suggestions([])
        texts = [str(t) for t in units["text"]]
        starts = [int(s) for s in units["start"]]
        vectors = self.embedder_.encode(texts)  # the texts texts_to_encode lists
        counts = self.counts_.set_index("code_id")
        rows = []
        for code, model in self.models_.items():
            probability = model.predict_proba(vectors)[:, 1]
            keep = np.flatnonzero(probability >= self.min_score)
            if not len(keep):
                continue
            examples, example_vectors = self.exemplars_[code]
            sims = vectors[keep] @ example_vectors.T
            nearest = sims.argmax(axis=1)
            n_pos, n_neg = int(counts.loc[code, "n_positive"]), int(counts.loc[code, "n_negative"])
            for k, i in enumerate(keep.tolist()):
                shown = examples[nearest[k]]
                shown = shown if len(shown) <= 120 else shown[:117] + "…"
                rows.append({"segment_id": units.at[i, "segment_id"], "doc_id": units.at[i, "doc_id"],
                             "code_id": code, "method": self.method, "score": round(float(probability[i]), 4),
                             "evidence": f"learned from {n_pos} coded / {n_neg} not; nearest coded: «{shown}» "
                                         f"{float(sims[k, nearest[k]]):.2f}",
                             "spans": [list(to_document((0, len(texts[i])), starts[i]))],
                             "codebook_version": self.codebook_version_})
        return typed_suggestions(rows)
