"""How good are the suggestions? Precision, recall, F1, recall@k and Cohen's κ against a human coding.

Pure functions over tables: a suggestions table and a gold table of
(segment, code) pairs a person coded. Every figure is computed beside a
prior baseline in the same call: suggesting the ``k`` most frequent gold
codes for every segment.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..errors import LLMError, LLMInterrupted, ParameterError, QualcodeWarning
from ..messages import counted
from ..schemas import coded, columns, returns, takes
from .active import learning_order, main_language, tfidf_vectorizer
from .base import get_coder
from .embedders import EmbeddingCache, MemoryEmbeddingCache
from .embedding import EmbeddingCoder
from .ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, EnsembleCoder, combine
from .ensemble import shown as suggestions_shown
from .ensemble import suggest as ensemble_suggest
from .fusion import CALIBRATED_AFTER
from .keyword import KeywordCoder
from .learned import LearnedCoder
from .llm import LLMCoder, MemoryResponseCache

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ..codebook import Code, Codebook
    from .embedders import Embedder

__all__ = ["BASELINES", "DEFAULT_CURVE", "DEFAULT_REVIEW", "EVALUATION_COLUMNS", "LLM_SYSTEMS", "METHODS_EVALUATED",
           "CrossValidation", "cross_validate", "evaluate"]

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
    cache = MemoryEmbeddingCache()  # each text encoded once, not once per fold
    keyword = KeywordCoder().fit(codebook).suggest(segments)
    embedding = EmbeddingCoder(embedder, min_score=0.0, cache=cache).fit(codebook).suggest(segments)
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
        members = [KeywordCoder(), EmbeddingCoder(embedder, cache=cache), LearnedCoder(embedder, cache=cache)]
        learner = EnsembleCoder(members, top_k=top_k, min_score=min_score).fit(codebook, decisions)
        learned_parts.append(learner.suggest(segments.loc[test]))
    return {"zero_shot": evaluate(pd.concat(zero), gold, segments=segments, k=top_k),
            "learned": evaluate(pd.concat(learned_parts), gold, segments=segments, k=top_k)}


# -- cross-validation of every method beside its baselines ---------------------------------------------------------

#: The coders ``cross_validate`` can measure: each zero-shot coder alone, the learned coder alone, and ``default``,
#: what ``qc.suggest`` gives (the ensemble, learning from the training fold's decisions).
METHODS_EVALUATED = ("keyword", "embedding", "learned", "default")
#: Measured as well when an LLM coder is given: the LLM alone and what ``qc.suggest(..., llm=...)`` gives.
LLM_SYSTEMS = ("llm", "default+llm")
#: The baselines measured in the same run: the training fold's most frequent codes, TF-IDF similarity of the
#: text to each code's label and definition, and a supervised TF-IDF + logistic regression per code.
BASELINES = ("prior", "content", "supervised")
#: Accepted examples per code of the learning curve (0 = zero-shot).
DEFAULT_CURVE = (0, 3, 5, 10, 20)
#: Suggestions reviewed in the queue-order simulation: about one to four sessions' work on a study of the
#: sample's size (some 400 suggestions a round).
DEFAULT_REVIEW = (50, 100, 200)
#: Tenths: with a few hundred segments × codes per study, enough suggestions fall in each bin to read a share.
RELIABILITY_BINS = 10
#: A supervised model's probability counts as a yes from here (the reference's own decision rule).
SUPERVISED_THRESHOLD = 0.5


@dataclass
class CrossValidation:
    """What :func:`cross_validate` measured.

    Attributes
    ----------
    summary : DataFrame
        One row per system (see the ``evaluation_summary`` table).
    scores : DataFrame
        Per system, level and code (the ``evaluation`` table), with ``macro`` rows.
    curve : DataFrame
        The learning curve (the ``learning_curve`` table).
    reliability : DataFrame
        Score bins → share accepted, per system (the ``reliability`` table).
    grouped_by : str
        What the folds were grouped by (``"participant (column participant)"`` or ``"document"``).
    folds : int
        Number of folds.
    notes : list of str
        What a reader must know: segments or codings left out, methods that failed.
    warnings : list of str
        Where the figures say less than they seem to (small projects): how many coded segments per code the
        folds hold, where the learning curve stops, review budgets beyond the queue.
    """

    summary: pd.DataFrame
    scores: pd.DataFrame
    curve: pd.DataFrame
    reliability: pd.DataFrame
    grouped_by: str
    folds: int
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _ranked(frame: pd.DataFrame, *, own_rank: bool = False) -> pd.DataFrame:
    """``segment_id``, ``code_id``, ``score``, ``rank`` (1 = best of its segment; ties by code id).

    ``own_rank``: keep the order of the frame's ``rank`` (the ensemble's, which puts parent codes after the
    leaves) instead of sorting by score.
    """
    if frame.empty:
        return pd.DataFrame({"segment_id": pd.Series(dtype=object), "code_id": pd.Series(dtype=object),
                             "score": pd.Series(dtype=float), "rank": pd.Series(dtype=int)})
    out = frame[["segment_id", "code_id", "score", *(["rank"] if own_rank else [])]].copy()
    out["score"] = pd.to_numeric(out["score"], errors="coerce").astype(float).fillna(0.0)
    if own_rank:
        out = out.sort_values(["segment_id", "rank"], kind="stable")
    else:
        out = out.sort_values(["segment_id", "score", "code_id"], ascending=[True, False, True], kind="stable")
    out = out.drop_duplicates(["segment_id", "code_id"], keep="first")
    out["rank"] = out.groupby("segment_id").cumcount() + 1
    return out.reset_index(drop=True)


def _cut(ranking: pd.DataFrame, system: str, k: int) -> pd.DataFrame:
    """The suggestions a user of ``system`` would see: its own cut of its ranking."""
    if system == "prior":
        return ranking[ranking["rank"] <= k]
    if system == "content":
        return ranking[(ranking["rank"] <= k) & (ranking["score"] > 0)]
    if system == "supervised":
        return ranking[(ranking["rank"] <= DEFAULT_TOP_K) & (ranking["score"] >= SUPERVISED_THRESHOLD)]
    return suggestions_shown(ranking, top_k=DEFAULT_TOP_K, min_score=DEFAULT_MIN_SCORE)


def _accepted(gold: pd.DataFrame, texts: pd.Series, groups: pd.Series | None = None) -> pd.DataFrame:
    """Gold pairs as the decisions a coder would have made (accept), with their quotes.

    ``groups`` (segment → participant or document) go along as the decisions' ``participant``, so that the
    fusion's pull toward its prior is cross-validated by participant as on a project's own decisions.
    """
    out = pd.DataFrame({"segment_id": gold["segment_id"].to_numpy(), "code_id": gold["code_id"].to_numpy(),
                        "decision": "accept", "coder": "gold", "quote": gold["segment_id"].map(texts).to_numpy()})
    if groups is not None:
        out["participant"] = gold["segment_id"].map(groups).to_numpy()
    return out


def _code_text(code: Code) -> str:
    return " ".join(t for lang in ("es", "en") for t in (code.label.get(lang), code.definition.get(lang)) if t)


def _content_ranking(segments: pd.DataFrame, codebook: Codebook, lang: str) -> pd.DataFrame:
    """TF-IDF cosine of each segment's text to each code's label and definition (no examples, no keywords)."""
    codes = list(codebook)
    vectorizer = tfidf_vectorizer(lang)
    texts = [str(t) for t in segments["text"]]
    try:
        matrix = vectorizer.fit_transform(texts + [_code_text(c) for c in codes])
    except ValueError:  # not one word in any text
        return _ranked(pd.DataFrame(columns=["segment_id", "code_id", "score"]))
    sims = (matrix[: len(texts)] @ matrix[len(texts):].T).toarray()
    rows, cols = np.nonzero(sims > 0)
    return _ranked(pd.DataFrame({"segment_id": segments["segment_id"].to_numpy()[rows],
                                 "code_id": [codes[j].id for j in cols], "score": sims[rows, cols]}))


def _supervised_ranking(train: pd.DataFrame, train_gold: pd.DataFrame, test: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One-vs-rest TF-IDF + logistic regression trained on ``train`` (every training segment, coded or not)."""
    from sklearn.linear_model import LogisticRegression

    codes = sorted(set(train_gold["code_id"]))
    if not codes or test.empty:
        return _ranked(pd.DataFrame(columns=["segment_id", "code_id", "score"]))
    vectorizer = tfidf_vectorizer(lang)
    try:
        x_train = vectorizer.fit_transform([str(t) for t in train["text"]])
    except ValueError:
        return _ranked(pd.DataFrame(columns=["segment_id", "code_id", "score"]))
    x_test = vectorizer.transform([str(t) for t in test["text"]])
    ids = train["segment_id"].to_numpy()
    parts = []
    for code in codes:
        y = np.isin(ids, train_gold.loc[train_gold["code_id"] == code, "segment_id"].to_numpy()).astype(int)
        if y.min() == y.max():  # every training segment has it (or none): no model, no ranking
            continue
        model = LogisticRegression(class_weight="balanced", max_iter=2000).fit(x_train, y)
        parts.append(pd.DataFrame({"segment_id": test["segment_id"].to_numpy(), "code_id": code,
                                   "score": model.predict_proba(x_test)[:, 1]}))
    return _ranked(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["segment_id", "code_id",
                                                                                             "score"]))


def _prior_ranking(train_gold: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Every test segment gets the training fold's codes, most frequent first (score: their share)."""
    counts = train_gold["code_id"].value_counts()
    if counts.empty or test.empty:
        return _ranked(pd.DataFrame(columns=["segment_id", "code_id", "score"]))
    share = counts / counts.sum()
    ids = test["segment_id"].to_numpy()
    return _ranked(pd.DataFrame({"segment_id": np.repeat(ids, len(share)),
                                 "code_id": np.tile(share.index.to_numpy(), len(ids)),
                                 "score": np.tile(share.to_numpy(), len(ids))}))


class _Methods:
    """Runs each evaluated coder on a fold through the public coders, with one embedding cache for all."""

    def __init__(self, codebook: Codebook, embedder: str | Embedder, cache: EmbeddingCache,
                 llm: LLMCoder | None = None) -> None:
        self.codebook = codebook
        self.embedder = embedder
        self.cache = cache
        self.llm = llm
        self.n_codes = max(1, sum(1 for _ in codebook))
        #: Methods skipped for this codebook (keyword without any keywords): left out of the tables, not zeros.
        self.skipped: set[str] = set()
        #: What the coders said (a method skipped for this codebook …): once in the notes, not once per fold.
        self.said: set[str] = set()

    def ranking(self, method: str, test: pd.DataFrame, decisions: pd.DataFrame | None) -> pd.DataFrame:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", QualcodeWarning)
            out = self._ranking(method, test, decisions)
        for warning in caught:
            if issubclass(warning.category, QualcodeWarning):
                self.said.add(str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return out

    def _ranking(self, method: str, test: pd.DataFrame, decisions: pd.DataFrame | None) -> pd.DataFrame:
        if method in LLM_SYSTEMS and self.llm is not None:
            if method == "llm":
                coder = clone(self.llm).set_params(min_score=0.0).fit(self.codebook, decisions)
                return _ranked(coder.suggest(test))
            return _ranked(ensemble_suggest(test, self.codebook, decisions=decisions, top_k=self.n_codes,
                                            min_score=0.0, embedder=self.embedder,  # type: ignore[arg-type]
                                            cache=self.cache, llm=self.llm), own_rank=True)
        if method == "learned":
            if decisions is None or decisions.empty:
                return _ranked(pd.DataFrame(columns=["segment_id", "code_id", "score"]))
            learner = LearnedCoder(self.embedder, cache=self.cache, min_score=0.0).fit(self.codebook, decisions)
            return _ranked(learner.suggest(test))
        if method == "default":
            out = ensemble_suggest(test, self.codebook, decisions=decisions, top_k=self.n_codes, min_score=0.0,
                                   embedder=self.embedder, cache=self.cache)  # type: ignore[arg-type]
        else:
            reason = get_coder(method).unsupported(self.codebook)
            if reason is not None:
                # The same words as the ensemble's warning (one note for both), and no row of zeros.
                self.skipped.add(method)
                self.said.add(f"the {method} method was skipped for codebook {self.codebook.id!r}: {reason}.")
                return _ranked(pd.DataFrame(columns=["segment_id", "code_id", "score"]))
            out = ensemble_suggest(test, self.codebook, methods=[method], learn=False, top_k=self.n_codes,
                                   min_score=0.0, embedder=self.embedder, cache=self.cache)  # type: ignore[arg-type]
        return _ranked(out, own_rank=True)


def _ask_llm(llm: LLMCoder, codebook: Codebook, splits: list, segments: pd.DataFrame, gold: pd.DataFrame,
             texts: pd.Series) -> str:
    """Ask the LLM about each fold's held-out segments (few-shot from its training side); a note on what it did.

    A note starting with ``!`` says the LLM could not be measured and how to try again.
    """
    asked = cached = answered = proposed = kept = not_in_text = unknown = failed = stored = 0
    for train, test in splits:
        train_ids = set(segments.iloc[train]["segment_id"])
        decisions = _accepted(gold[gold["segment_id"].isin(train_ids)], texts)
        coder = clone(llm).set_params(on_error="raise").fit(codebook, decisions)
        try:
            with warnings.catch_warnings():  # counted below, once for all folds
                warnings.simplefilter("ignore", QualcodeWarning)
                coder.suggest(segments.iloc[test])
        except LLMInterrupted as exc:  # Ctrl-C: what every fold so far kept in the project, not this fold's only
            raise LLMInterrupted(n_kept=stored + exc.n_kept, n_asked=asked + exc.n_asked) from None
        except LLMError as exc:
            return (f"!{exc} Nothing else was measured with the LLM; answers received are kept, so running the "
                    "same evaluation again asks only for the rest.")
        report = coder.report_
        asked, cached, stored = asked + report.n_asked, cached + report.n_cached, stored + report.n_stored
        failed += report.n_failed  # skipped segments (their request failed): measured as suggesting nothing
        # What was kept (answers usable, codes with their quote found), not only what was asked and proposed.
        answered, kept = answered + report.n_answered, kept + report.n_kept
        proposed, unknown, not_in_text = (proposed + report.n_proposed, unknown + report.n_unknown_code,
                                          not_in_text + report.n_not_in_text)
    rate = not_in_text / (proposed - unknown) if proposed - unknown else 0.0
    return (f"LLM {llm.model}: {counted(asked, 'segment')} asked, {cached} answered from the cache, "
            f"{counted(answered, 'usable answer')} in all; {counted(proposed, 'code')} proposed, {kept} kept, "
            f"{unknown} not in the codebook, {counted(not_in_text, 'quote')} not in the segment (hallucination rate "
            f"{rate:.1%})."
            + (f" {counted(failed, 'segment')} got no answer (the request failed) and count as suggesting nothing; "
               "running the same evaluation again asks for them." if failed else ""))


def _sample_per_code(train_gold: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Up to ``n`` coded segments per code drawn at random, each with all its codes (a coder codes a whole turn)."""
    if n <= 0 or train_gold.empty:
        return train_gold.iloc[0:0]
    chosen: set[str] = set()
    for _, group in train_gold.groupby("code_id", sort=True):
        segments = sorted(set(group["segment_id"]))
        take = min(n, len(segments))
        chosen.update(rng.choice(segments, size=take, replace=False).tolist())
    return train_gold[train_gold["segment_id"].isin(chosen)]


def _metrics(system: str, ranking: pd.DataFrame, gold: pd.DataFrame, segments: list[str], k: int) -> list[dict]:
    predicted = _cut(ranking, system, k)
    rows = _table(system, gold, predicted, ranking.rename(columns={"rank": "_rank"}), segments, k)
    for level in ("code", "dimension"):
        per = [r for r in rows if r["level"] == level and r["n_gold"] > 0]
        if not per:
            continue
        macro: dict[str, object] = {"system": system, "level": f"macro ({level})", "code_id": "all"}
        for key in ("n_gold", "n_suggested", "tp", "fp", "fn"):
            macro[key] = int(sum(r[key] for r in per))
        for key in ("precision", "recall", "f1", "kappa", "recall_at_k"):
            macro[key] = float(np.nanmean([r[key] for r in per]))
        rows.append(macro)
    return rows


def _reliability(system: str, ranking: pd.DataFrame, gold_pairs: set[tuple[str, str]]) -> list[dict]:
    if ranking.empty:
        return []
    scores = ranking["score"].clip(0.0, 1.0).to_numpy(dtype=float)
    hit = np.array([p in gold_pairs for p in zip(ranking["segment_id"], ranking["code_id"], strict=True)])
    bins = np.minimum((scores * RELIABILITY_BINS).astype(int), RELIABILITY_BINS - 1)
    rows = []
    for b in range(RELIABILITY_BINS):
        inside = bins == b
        n = int(inside.sum())
        rows.append({"system": system, "bin_low": b / RELIABILITY_BINS, "bin_high": (b + 1) / RELIABILITY_BINS,
                     "n": n, "mean_score": float(scores[inside].mean()) if n else float("nan"),
                     "accepted": float(hit[inside].mean()) if n else float("nan")})
    return rows


def _summary_row(system: str, scores: list[dict], ranking: pd.DataFrame, reliability: list[dict],
                 segments: list[str], k: int) -> dict:
    micro = next(r for r in scores if r["level"] == "micro (code)")
    macro = next((r for r in scores if r["level"] == "macro (code)"), None)
    shown = _cut(ranking, system, k)
    n = sum(r["n"] for r in reliability)
    ece = (sum(r["n"] * abs(r["mean_score"] - r["accepted"]) for r in reliability if r["n"]) / n
           if n and system not in ("prior", "content") else float("nan"))
    return {"system": system, "kind": "baseline" if system in BASELINES else "method",
            "n_segments": len(segments), "n_gold": micro["n_gold"], "n_suggested": micro["n_suggested"],
            "precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1"],
            "macro_f1": macro["f1"] if macro else float("nan"), "kappa": micro["kappa"],
            "recall_at_k": micro["recall_at_k"],
            "no_suggestion": 1.0 - shown["segment_id"].nunique() / len(segments) if segments else float("nan"),
            "ece": ece}


def _curve_row(system: str, sampling: str, n: int, n_accepted: float, ranking: pd.DataFrame, gold: pd.DataFrame,
               segments: list[str], k: int) -> dict:
    rows = _metrics(system if system == "supervised" else "default", ranking, gold, segments, k)
    micro = next(r for r in rows if r["level"] == "micro (code)")
    macro = next((r for r in rows if r["level"] == "macro (code)"), None)
    return {"system": system, "sampling": sampling, "n": n, "n_accepted": n_accepted,
            "precision": micro["precision"], "recall": micro["recall"], "f1": micro["f1"],
            "macro_f1": macro["f1"] if macro else float("nan"), "recall_at_k": micro["recall_at_k"]}


def cross_validate(segments: pd.DataFrame, codebook: Codebook, gold: pd.DataFrame, groups: ArrayLike, *,
                   methods: Sequence[str] = METHODS_EVALUATED, k: int = 3, folds: int = 5,
                   curve: Sequence[int] = DEFAULT_CURVE, review: Sequence[int] = DEFAULT_REVIEW, seed: int = 0,
                   embedder: str | Embedder = "use", cache: EmbeddingCache | None = None,
                   grouped_by: str = "participant", llm: LLMCoder | None = None) -> CrossValidation:
    """Measure each coder on people it has not seen, beside the prior, content-only and supervised baselines.

    Folds are grouped (``GroupKFold`` on ``groups``): a participant's
    segments are never on both sides. For each fold every method suggests
    for the held-out segments, learning (where it learns) from the training
    fold's gold coding taken as accepted decisions; the held-out suggestions
    of all folds are then compared with the gold coding at once.

    Parameters
    ----------
    segments : DataFrame
        The segments evaluated (``segment_id``, ``doc_id``, ``text``, ``start``, ``speaker_role``,
        ``language``): those a person read, whether they coded them or not.
    codebook : Codebook
        The codes.
    gold : DataFrame
        ``segment_id``, ``code_id`` of what people coded (accepted or coded by hand).
    groups : array-like
        One key per row of ``segments`` (the participant; the document when there is none).
    methods : sequence of str
        Among :data:`METHODS_EVALUATED`. The baselines (:data:`BASELINES`) are always measured.
    k : int
        For recall@k and the prior's list length.
    folds : int
        Number of folds (at most the number of groups).
    curve : sequence of int
        Accepted examples per code for the learning curve, drawn at random (``seed``) from the
        training fold; empty for none.
    review : sequence of int
        Suggestions reviewed in the queue-order simulation (document order against
        :func:`~qualcode.coders.active.learning_order`); empty for none.
    seed : int
        Seed of the learning curve's draws.
    embedder, cache
        As for :class:`~qualcode.coders.EmbeddingCoder`; one cache (memory by default) serves every fold,
        so each text is encoded once.
    grouped_by : str
        What ``groups`` are, for the report.
    llm : LLMCoder, optional
        Also measure :data:`LLM_SYSTEMS` on the same folds: the LLM alone and fused with the others. Each
        evaluated segment is asked once, in its held-out fold, shown few-shot examples from the training
        fold only (and without the interviewer's question: only the evaluated segments are given); the
        calibration of each fold comes from the training fold's answers and gold coding. Answers go to
        the coder's ``cache``, so a re-run sends nothing new. Not in the learning curve or the review
        simulation (each of their points would ask again). A server failure is a note, and the other
        systems are still measured.

    Returns
    -------
    CrossValidation

    Raises
    ------
    ParameterError
        For an unknown method, ``k`` or ``folds`` below 1 or 2, fewer than two groups, or no gold
        coding on the segments.
    """
    from sklearn.model_selection import GroupKFold

    unknown = [m for m in methods if m not in METHODS_EVALUATED]
    if unknown:
        raise ParameterError(f"unknown method(s) {unknown}; choose from {', '.join(METHODS_EVALUATED)}.")
    if k < 1:
        raise ParameterError(f"k must be at least 1, got {k}.")
    if folds < 2:
        raise ParameterError(f"folds must be at least 2, got {folds}.")
    if any(int(n) < 0 for n in curve) or any(int(n) < 1 for n in review):
        raise ParameterError("curve sizes must be 0 or more, review budgets 1 or more.")
    segments = segments.reset_index(drop=True)
    keys = np.asarray(groups, dtype=object)
    if len(keys) != len(segments):
        raise ParameterError(f"groups has {len(keys)} keys for {len(segments)} segments; give one per segment.")
    n_groups = len(set(keys.tolist()))
    if n_groups < 2:
        # grouped_by may carry how to group better ("document (no participant column: declare one …)").
        kind, _, why = grouped_by.partition(" (")
        why = why.removesuffix(")")
        raise ParameterError(f"cross-validation needs coded segments in at least two {kind} groups (one to hold "
                             f"out, one to learn from); found {n_groups}."
                             + (f" There is {why}." if why.startswith("no ") else ""))
    notes: list[str] = []
    if folds > n_groups:
        notes.append(f"{folds} folds asked, {n_groups} {grouped_by} groups: {n_groups} folds used.")
        folds = n_groups
    texts = segments.drop_duplicates("segment_id").set_index("segment_id")["text"].astype(str)
    group_of = pd.Series(keys, index=segments["segment_id"]).astype(str)
    group_of = group_of[~group_of.index.duplicated()]
    gold = coded(gold)[["segment_id", "code_id"]].drop_duplicates()
    gold = gold[gold["segment_id"].isin(texts.index)]
    if gold.empty:
        raise ParameterError("no gold coding on the evaluated segments: code (accept or code by hand) some first.")
    ids = list(segments["segment_id"])
    gold_pairs = set(zip(gold["segment_id"], gold["code_id"], strict=True))
    lang = main_language(segments)
    run = _Methods(codebook, embedder, cache if cache is not None else MemoryEmbeddingCache(), llm)
    content = _content_ranking(segments, codebook, lang)
    systems = (*methods, *(LLM_SYSTEMS if llm is not None else ()))
    rankings: dict[str, list[pd.DataFrame]] = {m: [] for m in (*systems, *BASELINES)}
    curves: dict[tuple[str, str, int], list[pd.DataFrame]] = {}
    accepted: dict[tuple[str, str, int], list[int]] = {}
    failed: dict[str, str] = {}
    order_in_reading = {s: i for i, s in enumerate(ids)}
    queue_sizes: list[int] = []  # the review queue of each fold's training side
    splits = list(GroupKFold(n_splits=folds).split(segments, groups=keys))
    if llm is not None:
        if llm.cache is None:  # the folds read each other's answers: they must be kept somewhere
            llm = clone(llm).set_params(cache=MemoryResponseCache())
            run.llm = llm
        # Every segment asked once, before any fold is measured: each fold's calibration then reads the
        # answers of its whole training side, the same on a first run and on a re-run from the cache.
        said = _ask_llm(llm, codebook, splits, segments, gold, texts)
        if said.startswith("!"):
            failed.update(dict.fromkeys(LLM_SYSTEMS, said[1:]))
        else:
            notes.append(said)
    for fold, (train, test) in enumerate(splits):
        train_seg, test_seg = segments.iloc[train], segments.iloc[test]
        test_ids = set(test_seg["segment_id"])
        train_gold = gold[gold["segment_id"].isin(set(train_seg["segment_id"]))]
        decisions = _accepted(train_gold, texts, group_of)
        for method in systems:
            if method in failed:
                continue
            try:
                rankings[method].append(run.ranking(method, test_seg, decisions))
            except Exception as exc:  # one failing coder is reported, the others are still measured
                failed[method] = f"{type(exc).__name__}: {exc}"
        rankings["prior"].append(_prior_ranking(train_gold, test_seg))
        rankings["content"].append(content[content["segment_id"].isin(test_ids)])
        rankings["supervised"].append(_supervised_ranking(train_seg, train_gold, test_seg, lang))
        rng = np.random.default_rng(seed + fold)
        for n in sorted({int(n) for n in curve}):
            sample = _sample_per_code(train_gold, n, rng)
            for system in ("default", "supervised") if n else ("default",):  # no supervised model from nothing
                key = (system, "per code", n)
                try:
                    part = (run.ranking("default", test_seg, _accepted(sample, texts, group_of)) if system == "default"
                            else _supervised_ranking(train_seg[train_seg["segment_id"].isin(set(sample["segment_id"]))],
                                                     sample, test_seg, lang))
                except Exception as exc:  # reported like a failing method
                    failed.setdefault(f"curve {system}", f"{type(exc).__name__}: {exc}")
                    continue
                curves.setdefault(key, []).append(part)
                accepted.setdefault(key, []).append(len(sample))
        if review and "curve default" not in failed:
            try:
                queue = _cut(run.ranking("default", train_seg, None), "default", k)
            except Exception as exc:
                failed.setdefault("review order", f"{type(exc).__name__}: {exc}")
                queue = None
            if queue is not None:
                queue = queue.assign(text=queue["segment_id"].map(texts),
                                     reading=queue["segment_id"].map(order_in_reading))
                queue = queue.sort_values(["reading", "score", "code_id"], ascending=[True, False, True],
                                          kind="stable").reset_index(drop=True)
                queue_sizes.append(len(queue))
                orders = {"document": np.arange(len(queue)), "learn": learning_order(queue, lang=lang)}
                for name, positions in orders.items():
                    for budget in sorted({int(b) for b in review}):
                        seen = queue.iloc[positions[:budget]]
                        yes = np.array([p in gold_pairs for p in zip(seen["segment_id"], seen["code_id"],
                                                                     strict=True)], dtype=bool)
                        reviewed = pd.DataFrame({"segment_id": seen["segment_id"].to_numpy(),
                                                 "code_id": seen["code_id"].to_numpy(),
                                                 "decision": np.where(yes, "accept", "reject"), "coder": "gold",
                                                 "quote": seen["segment_id"].map(texts).to_numpy(),
                                                 "participant": seen["segment_id"].map(group_of).to_numpy()})
                        key = ("default", f"queue: {name} order", budget)
                        try:
                            part = run.ranking("default", test_seg, reviewed)
                        except Exception as exc:  # reported like a failing method
                            failed.setdefault("review order", f"{type(exc).__name__}: {exc}")
                            continue
                        curves.setdefault(key, []).append(part)
                        accepted.setdefault(key, []).append(int(yes.sum()))
    for what, why in failed.items():
        notes.append(f"{what} failed and is left out: {why}")
    notes.extend(sorted(run.said))
    cautions = _small_project_warnings(gold, ids, splits, segments, curve, review, queue_sizes)
    score_rows, summary_rows, reliability_rows = [], [], []
    for system, parts in rankings.items():
        if system in failed or system in run.skipped or not parts:
            continue
        ranking = pd.concat(parts, ignore_index=True)
        rows = _metrics(system, ranking, gold, ids, k)
        bins = _reliability(system, ranking, gold_pairs) if system not in ("prior", "content") else []
        score_rows += rows
        reliability_rows += bins
        summary_rows.append(_summary_row(system, rows, ranking, bins, ids, k))
    curve_rows = [_curve_row(system, sampling, n, float(np.mean(accepted[(system, sampling, n)])),
                             pd.concat(parts, ignore_index=True), gold, ids, k)
                  for (system, sampling, n), parts in sorted(curves.items(), key=lambda kv: (kv[0][1], kv[0][0],
                                                                                           kv[0][2]))]
    return CrossValidation(
        summary=pd.DataFrame(summary_rows, columns=columns("evaluation_summary")),
        scores=pd.DataFrame(score_rows, columns=EVALUATION_COLUMNS),
        curve=pd.DataFrame(curve_rows, columns=columns("learning_curve")),
        reliability=pd.DataFrame(reliability_rows, columns=columns("reliability")),
        grouped_by=grouped_by, folds=folds, notes=notes, warnings=cautions)


def _small_project_warnings(gold: pd.DataFrame, ids: list[str], splits: list, segments: pd.DataFrame,
                            curve: Sequence[int], review: Sequence[int], queue_sizes: list[int]) -> list[str]:
    """What a small project's figures do not show (issue 22): the lines ``qualcode evaluate`` warns with.

    Always one on the turns nobody coded; then, where they apply: how many coded segments per code the
    training folds hold (few: the figures are anecdotes), the learning-curve points that repeat the last
    one (the folds hold no more examples to draw), and review budgets no smaller than the queue (document
    and learn order then decide the same suggestions).
    """
    out = []
    coded_ids = set(gold["segment_id"])
    uncoded = sum(1 for s in dict.fromkeys(ids) if s not in coded_ids)
    out.append(f"no code on {uncoded} of the {counted(len(set(ids)), 'participant turn')} evaluated (nobody coded "
               "them, or every suggestion there was rejected): they count as coded with nothing, so any suggestion "
               "there is a false positive.")
    per_fold = []  # per training side: coded segments per code
    for train, _ in splits:
        train_ids = set(segments.iloc[train]["segment_id"])
        per_fold.append(gold[gold["segment_id"].isin(train_ids)].groupby("code_id")["segment_id"].nunique())
    most = int(max((c.max() for c in per_fold if len(c)), default=0))
    median = float(np.median(pd.concat(per_fold).to_numpy())) if any(len(c) for c in per_fold) else 0.0
    if len(coded_ids) < CALIBRATED_AFTER:
        out.append(f"only {counted(len(coded_ids), 'coded segment')} ({counted(len(gold), 'coded pair')}): the "
                   f"training folds hold at most {counted(most, 'coded segment')} of any code (median {median:g} "
                   "per code coded there), so every figure below rests on a handful of decisions; code at least "
                   f"{CALIBRATED_AFTER} segments before reading them as estimates.")
    repeated = sorted(n for n in {int(n) for n in curve} if n > most)
    if repeated and most > 0:
        out.append(f"learning curve: no code has more than {counted(most, 'coded segment')} in any training fold, "
                   f"so the curve stops at n = {most}: the points {', '.join(map(str, repeated))} learn from the same "
                   "examples as it.")
    elif repeated:
        out.append("learning curve: the training folds hold no coded segment, so every point is zero-shot.")
    if queue_sizes:
        longest = max(queue_sizes)
        beyond = sorted(b for b in {int(b) for b in review} if b >= longest)
        if beyond:
            out.append(f"review simulation: each fold's queue holds at most {counted(longest, 'suggestion')}; "
                       f"budget(s) {', '.join(map(str, beyond))} decide the whole queue, so document and learn "
                       "order decide the same suggestions and score the same.")
    return out
