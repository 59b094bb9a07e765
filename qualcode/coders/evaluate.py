"""How good are the suggestions? Precision, recall, F1, recall@k and Cohen's κ against a human coding.

Pure functions over tables: a suggestions table and a gold table of
(segment, code) pairs a person coded. Every figure is computed beside a
prior baseline in the same call: suggesting the ``k`` most frequent gold
codes for every segment.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from ..schemas import coded, columns, returns, takes
from .embedding import EmbeddingCoder
from .ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, EnsembleCoder, combine
from .keyword import KeywordCoder
from .learned import LearnedCoder

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..codebook import Codebook
    from .embedders import Embedder

__all__ = ["EVALUATION_COLUMNS", "evaluate"]

EVALUATION_COLUMNS = columns("evaluation")


def _scores(gold: set[tuple[str, str]], predicted: set[tuple[str, str]], universe: int) -> dict:
    tp = len(gold & predicted)
    fp = len(predicted - gold)
    fn = len(gold - predicted)
    tn = universe - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = tp + fp + fn + tn
    observed = (tp + tn) / n if n else 0.0
    expected = (((tp + fp) * (tp + fn)) + ((fn + tn) * (fp + tn))) / (n * n) if n else 0.0
    kappa = (observed - expected) / (1 - expected) if expected < 1 else 0.0
    return {"n_gold": len(gold), "n_suggested": len(predicted), "tp": tp, "fp": fp, "fn": fn,
            "precision": precision, "recall": recall, "f1": f1, "kappa": kappa}


def _at_level(code: str, level: str) -> str:
    """The code itself at level ``"code"``, its dimension at level ``"dimension"``."""
    return code if level == "code" else code.split(".", 1)[0]


def _table(system: str, gold: pd.DataFrame, predicted: pd.DataFrame, ranked: pd.DataFrame, segments: list[str],
           k: int) -> list[dict]:
    rows = []
    universe = set(segments)
    gold_pairs = {p for p in zip(gold["segment_id"], gold["code_id"], strict=True) if p[0] in universe}
    pred_pairs = {p for p in zip(predicted["segment_id"], predicted["code_id"], strict=True) if p[0] in universe}
    top = ranked[ranked["_rank"] <= k]
    top_pairs = set(zip(top["segment_id"], top["code_id"], strict=True))
    codes = sorted({c for _, c in gold_pairs | pred_pairs})
    for level in ("code", "dimension"):
        key = functools.partial(_at_level, level=level)
        g = {(s, key(c)) for s, c in gold_pairs}
        p = {(s, key(c)) for s, c in pred_pairs}
        t = {(s, key(c)) for s, c in top_pairs}
        for code in sorted({key(c) for c in codes}):
            gc = {x for x in g if x[1] == code}
            pc = {x for x in p if x[1] == code}
            row = {"system": system, "level": level, "code_id": code, **_scores(gc, pc, len(universe)),
                   "recall_at_k": len(gc & t) / len(gc) if gc else float("nan")}
            rows.append(row)
        micro = {"system": system, "level": f"micro ({level})", "code_id": "all",
                 **_scores(g, p, len(universe) * max(len({key(c) for c in codes}), 1)),
                 "recall_at_k": len(g & t) / len(g) if g else float("nan")}
        rows.append(micro)
    return rows


@returns("evaluation")
@takes(suggestions="suggestions[segment_id, code_id]", gold="codings[segment_id, code_id]")
def evaluate(suggestions: pd.DataFrame, gold: pd.DataFrame, *, segments: Iterable[str] | pd.DataFrame | None = None,
             k: int = 3) -> pd.DataFrame:
    """Compare suggestions with a human coding, beside the most-frequent-codes baseline.

    Parameters
    ----------
    suggestions : DataFrame
        ``segment_id``, ``code_id`` and ``score`` (and ``rank`` when ranked);
        every row counts as a suggestion (cut by ``top_k``/``min_score`` first).
    gold : DataFrame
        ``segment_id``, ``code_id`` of what a person coded (a ``decision``
        column, if present, keeps accept and manual rows).
    segments : ids or DataFrame, optional
        The segments evaluated (default: every segment in either table). Pass
        all participant segments so that segments nobody coded count.
    k : int
        For ``recall_at_k`` and for the baseline's list length.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> s = pd.DataFrame({"segment_id": ["a", "b"], "code_id": ["x", "x"], "score": [0.9, 0.6]})
    >>> g = pd.DataFrame({"segment_id": ["a"], "code_id": ["x"]})
    >>> evaluate(s, g, segments=["a", "b", "c"]).query("system == 'coder' and level == 'code'")[
    ...     ["precision", "recall", "f1"]].round(2).values.tolist()
    [[0.5, 1.0, 0.67]]
    """
    suggestions = coded(suggestions)
    gold = coded(gold)
    if segments is None:
        ids = sorted(set(suggestions["segment_id"]) | set(gold["segment_id"]))
    elif isinstance(segments, pd.DataFrame):
        ids = list(segments["segment_id"])
    else:
        ids = list(segments)
    ranked = suggestions.copy()
    if "rank" in ranked.columns:
        ranked = ranked.sort_values(["segment_id", "rank"], kind="stable")
    elif "score" in ranked.columns:
        ranked = ranked.sort_values(["segment_id", "score"], ascending=[True, False], kind="stable")
    else:  # a human coding compared as if it were suggestions: every code it gave counts as top-ranked
        ranked = ranked.sort_values("segment_id", kind="stable")
    ranked["_rank"] = ranked.groupby("segment_id").cumcount() + 1
    frequent = list(gold["code_id"].value_counts().index[:k])
    baseline = pd.DataFrame([(s, c) for s in ids for c in frequent], columns=["segment_id", "code_id"])
    baseline["_rank"] = baseline.groupby("segment_id").cumcount() + 1
    rows = _table("coder", gold, suggestions, ranked, ids, k) + _table("baseline", gold, baseline, baseline, ids, k)
    return pd.DataFrame(rows, columns=EVALUATION_COLUMNS)


def grouped_cross_validation(segments: pd.DataFrame, codebook: Codebook, gold: pd.DataFrame, groups: ArrayLike,
                             *, folds: int = 5, embedder: str | Embedder = "use", top_k: int | None = None,
                             min_score: float | None = None) -> dict[str, pd.DataFrame]:
    """Does learning from decisions help on people it has not seen? Cross-validation grouped by participant.

    For each fold, a :class:`LearnedCoder` and the ensemble's fusion weights are trained on the gold
    coding of the other folds' participants; the zero-shot ensemble and the ensemble with the learned
    coder both suggest for the held-out participants. A
    participant's segments are never in both the training and the test side.

    Parameters
    ----------
    segments : DataFrame
        Participant segments (``segment_id``, ``text``, ...).
    gold : DataFrame
        ``segment_id``, ``code_id`` of a human coding.
    groups : array-like
        One participant key per row of ``segments``.

    Returns
    -------
    dict
        ``"zero_shot"`` and ``"learned"``: :func:`evaluate` tables over all held-out segments.
    """
    from sklearn.model_selection import GroupKFold

    top_k = DEFAULT_TOP_K if top_k is None else top_k
    min_score = DEFAULT_MIN_SCORE if min_score is None else min_score
    segments = segments.reset_index(drop=True)
    keyword = KeywordCoder().fit(codebook).suggest(segments)
    embedding = EmbeddingCoder(embedder, min_score=0.0).fit(codebook).suggest(segments)
    texts = segments.set_index("segment_id")["text"]
    zero, learned_parts = [], []
    for train, test in GroupKFold(n_splits=folds).split(segments, groups=groups):
        train_ids = set(segments.loc[train, "segment_id"])
        test_ids = set(segments.loc[test, "segment_id"])
        decisions = gold[gold["segment_id"].isin(train_ids)]
        decisions = decisions.assign(decision="accept", quote=decisions["segment_id"].map(texts))
        kw = keyword[keyword["segment_id"].isin(test_ids)]
        em = embedding[embedding["segment_id"].isin(test_ids)]
        zero.append(combine([kw, em], top_k=top_k, min_score=min_score, codes=[c.id for c in codebook]))
        # The learned models and the fusion's per-code weights both come from the training folds' decisions.
        members = [KeywordCoder(), EmbeddingCoder(embedder), LearnedCoder(embedder)]
        learner = EnsembleCoder(members, top_k=top_k, min_score=min_score).fit(codebook, decisions)
        learned_parts.append(learner.suggest(segments.loc[test]))
    return {"zero_shot": evaluate(pd.concat(zero), gold, segments=segments, k=top_k),
            "learned": evaluate(pd.concat(learned_parts), gold, segments=segments, k=top_k)}
