"""EnsembleCoder and ``suggest()`` on a segments table: one ranked table from every method.

Fusion
    Every member gives its evidence for every (segment, code) it can score
    (members' own floors are set to 0), and :mod:`qualcode.coders.fusion`
    turns keyword, embedding and learned evidence into one probability with
    per-code weights: a documented prior before any decision, fitted on the
    project's decisions after (a learned model adds its evidence, it never
    replaces the others). The methods and their evidence are joined
    (``embedding+keyword``).
Ranking
    Per segment, leaves by score, then parent codes where no child fits
    (scores the suggestion floor; people code leaves); ``top_k`` and
    ``min_score`` cut the list. ``top_k=None, min_score=0`` is a full
    ranking of every code: the near misses follow (the other leaves, then
    the other parents), and its first rows are the default suggestions.
Memory
    A segment's suggestions depend on that segment only, so with a large
    codebook the segments are suggested and merged by chunks of whole
    documents (:data:`CHUNK_PAIRS`), with progress shown: the zero-shot
    tables of every (segment, code) pair never exist at once. The result is
    the same as in one piece.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Hashable, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils._param_validation import Interval

from ..codebook import Codebook
from ..errors import ParameterError, QualcodeWarning
from ..io.chat import check_base_url
from ..nlp.language import detect_language
from ..parallel import current, using
from ..progress import progress
from ..schemas import returns, takes
from .base import (
    SEGMENTS_IN,
    SUGGESTION_COLUMNS,
    BaseCoder,
    CoderTags,
    available_coders,
    coder_params,
    get_coder,
    register_coder,
    typed_suggestions,
)
from .embedders import EmbeddingCache
from .embedding import EmbeddingCoder
from .fusion import EVIDENCE, Fusion, evidence_of
from .keyword import KeywordCoder
from .learned import LearnedCoder, training_labels
from .llm import LLMCoder

__all__ = ["CHUNK_PAIRS", "DEFAULT_MIN_SCORE", "DEFAULT_TOP_K", "EnsembleCoder", "combine", "evidence_table",
           "run_attrs", "shown", "suggest", "suggestion_coders", "suggestion_ensemble"]

# Chosen on the sample gold coding (bench/ranking_quality.py prints the sweep of min_score): micro-F1 of the
# top 3 against the sample's coder was .266 at 0.08 and .272 at 0.1 for keyword + embedding, but .254 against
# .173 for keywords alone (one keyword word scores 0.10) and .137 against .123 for a codebook with labels
# and definitions only. Scores are probabilities: a suggestion is shown when about one in twelve such
# suggestions was coded, at most three per segment.
DEFAULT_TOP_K = 3
DEFAULT_MIN_SCORE = 0.08
#: Segments are suggested and merged by chunks of whole documents of about this many (segment, code) pairs.
#: Every pair is kept while merging (the fusion needs all evidence), at roughly 1 KB each: a 5,050-code
#: codebook on the 15 sample transcripts (1.5 M pairs) peaked at 5.5 GB in one piece. 200,000 pairs keep a
#: chunk near 200 MB, far below the 2 GiB memory target, and the 60-code sample codebook suggests 3,300
#: segments in one chunk.
CHUNK_PAIRS = 200_000


@register_coder
class EnsembleCoder(BaseCoder):
    """Run several coders and fuse their evidence into one ranked, calibrated table.

    Parameters
    ----------
    coders : list of coders or method names
        Unfitted coders (they are cloned and fitted by ``fit``, each with its own ``min_score`` set to 0 so
        that the fusion sees all of its evidence), or names from
        :func:`~qualcode.coders.available_coders` (``["keyword", "embedding"]``, each with its defaults).
        Default: a KeywordCoder and an EmbeddingCoder.
    top_k : int or None
        At most this many codes per segment; ``None`` with ``min_score=0``: every code of the codebook
        ranked for every segment (parents only where no child fits, see :func:`combine`).
    min_score : float
        Drop suggestions below this fused score.

    Attributes
    ----------
    coders_ : list
        The fitted members.
    fusion_ : Fusion
        The per-code weights of each member's evidence (:mod:`qualcode.coders.fusion`): the documented prior
        before any decision, fitted on the decisions after.

    Examples
    --------
    >>> EnsembleCoder(top_k=2).fit(codebook).suggest(corpus.segments)  # doctest: +SKIP
    >>> coder.update(qc.decisions(project))  # after a decision: no re-encoding  # doctest: +SKIP
    """

    method = "ensemble"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "coders": [None, list, tuple],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "min_score": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, coders: Sequence[BaseCoder | str] | None = None, *, top_k: int | None = DEFAULT_TOP_K,
                 min_score: float = DEFAULT_MIN_SCORE) -> None:
        self.coders = coders
        self.top_k = top_k
        self.min_score = min_score

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> EnsembleCoder:
        """Fit every member coder on the codebook (and the decisions, for those that learn), then the fusion."""
        self._validate_params()
        fitted = []
        for member in self._members():
            member = clone(member)
            if "min_score" in member.get_params():
                member.set_params(min_score=0.0)
            fitted.append(member.fit(codebook, decisions))
        self.coders_ = fitted
        self.codes_ = [c.id for c in codebook]
        self.n_codes_ = len(self.codes_)
        self.codebook_version_ = codebook.version
        self._fit_fusion(decisions)
        return self

    def _members(self) -> list[BaseCoder]:
        """The member coders as given (names made into coders); by default a KeywordCoder and an EmbeddingCoder."""
        if self.coders is None:
            return [KeywordCoder(), EmbeddingCoder()]
        return [get_coder(c) if isinstance(c, str) else c for c in self.coders]

    def coder_tags(self) -> CoderTags:
        """What its members need (any of them), and how they may run (all of them)."""
        members = self.coders_ if hasattr(self, "coders_") else self._members()
        tags = [m.coder_tags() for m in members]
        return CoderTags(needs_keywords=all(t.needs_keywords for t in tags),
                         needs_examples=all(t.needs_examples for t in tags),
                         needs_decisions=all(t.needs_decisions for t in tags),
                         language_aware=any(t.language_aware for t in tags),
                         uses_embedder=any(t.uses_embedder for t in tags),
                         per_segment=all(t.per_segment for t in tags), suggests_in_parts=False)

    def update(self, decisions: pd.DataFrame) -> EnsembleCoder:
        """Learn from the current decisions without re-encoding: refit the learned models and the fusion.

        The cheap path after every decision in the review widget or after an applied workbook: texts
        already encoded (every suggested segment is) come from the members' embedding memory, and only the
        small per-code models are fitted again.

        Parameters
        ----------
        decisions : DataFrame
            The current decisions (:func:`qualcode.decisions`), all of them, not only the new ones.
        """
        self._check_fitted()
        for member in self.coders_:
            # The members that learn, by their tags (not their class): each relearns through its own update().
            learn = getattr(member, "update", None) if member.coder_tags().needs_decisions else None
            if callable(learn):
                learn(decisions)
        self._fit_fusion(decisions)
        return self

    def _fit_fusion(self, decisions: pd.DataFrame | None) -> None:
        # The fusion reads each member's evidence by its method name, so the embedding member is found by it too.
        embedding = next((c for c in self.coders_ if getattr(c, "method", None) == EmbeddingCoder.method), None)
        self.fusion_ = (Fusion(embedding=False) if embedding is None
                        else Fusion(z0=cast(EmbeddingCoder, embedding).z0, tau=cast(EmbeddingCoder, embedding).tau))
        if decisions is None or decisions.empty:
            return
        decisions = decisions[decisions["code_id"].isin(set(self.codes_))]
        if decisions.empty:
            return
        # The decided pairs carry their decision into their own scores, whatever the weights become.
        self.fusion_.decide(decisions)
        text, positive, negative = training_labels(decisions)
        if text.empty:
            return
        quotes = [str(t) for t in text]
        docs = (decisions.drop_duplicates("segment_id").set_index("segment_id")["doc_id"].reindex(text.index)
                .astype(str).to_numpy() if "doc_id" in decisions else "")
        # The decided words as segments of their own: what each member makes of them is the evidence the
        # weights are fitted on (the decisions do not say where a segment's full text is).
        pseudo = pd.DataFrame({"segment_id": text.index.astype(str), "doc_id": docs, "text": quotes, "start": 0,
                               "speaker_role": "participant",
                               "language": [detect_language(q) or "es" for q in quotes]})
        parts = []
        for member in self.coders_:
            # A remote coder (the LLM) gives what it answered before for these segments, without a request; one
            # that suggests in parts scores them as it scores every part of a call (the same products).
            tags = member.coder_tags()
            part = (cast(LLMCoder, member).answered(pseudo) if tags.remote
                    else cast(EmbeddingCoder, member).suggest_part(pseudo) if tags.suggests_in_parts
                    else member.suggest(pseudo))
            held_out = getattr(member, "oof_", None) if member.coder_tags().needs_decisions else None
            if held_out is not None and len(held_out) and len(part):
                # Its own training segments are scored by the models that did not see them.
                oof = held_out.set_index(["segment_id", "code_id"])["score"]
                keys = pd.MultiIndex.from_arrays([part["segment_id"], part["code_id"]])
                held = oof.reindex(keys).to_numpy()
                part = part.assign(score=np.where(np.isnan(held), part["score"].to_numpy(dtype=float), held))
            parts.append(part)
        coded = set().union(*positive.values()) if positive else set()
        pairs = [(s, c, 1 if s in positive.get(c, ()) else 0) for s in coded for c in self.codes_]
        pairs += [(s, c, 0) for c, segs in negative.items() for s in segs if s not in coded]
        if not pairs:
            return
        labels = pd.DataFrame(pairs, columns=["segment_id", "code_id", "label"])
        evidence = evidence_table(parts, self.fusion_).set_index(["segment_id", "code_id"])
        keys = pd.MultiIndex.from_arrays([labels["segment_id"], labels["code_id"]])
        rows = evidence.reindex(keys).fillna(0.0).reset_index()
        # The pull toward the prior is cross-validated by participant where the decisions say who spoke, else
        # by document (an interview is one participant's).
        by = "participant" if "participant" in decisions.columns else "doc_id"
        group_of = (decisions.drop_duplicates("segment_id").set_index("segment_id")[by].astype(str)
                    if by in decisions.columns else pd.Series(dtype=str))
        groups = labels["segment_id"].map(group_of).fillna("").to_numpy() if len(group_of) else None
        self.fusion_.fit(rows, labels["label"].to_numpy(), groups=groups)

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """The fused, ranked suggestions: the suggestions table plus ``rank`` (1 = best for its segment).

        Inside ``with qualcode.parallel.Runner(workers=N):`` keyword matching
        runs over chunks of documents in the workers and texts are encoded
        there in batches; the result is the same as with one worker.
        """
        return self._ranked(segments, self.top_k, self.min_score)

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def scores(self, segments: pd.DataFrame) -> pd.DataFrame:
        """The full ranking whatever ``top_k`` and ``min_score`` are: every leaf code for every segment.

        What the review widget re-scores its queue with after each decision (see :meth:`update`).
        """
        return self._ranked(segments, None, 0.0)

    def _ranked(self, segments: pd.DataFrame, top_k: int | None, min_score: float) -> pd.DataFrame:
        self._check_fitted()
        ranked = functools.partial(combine, top_k=top_k, min_score=min_score, fusion=self.fusion_,
                                   codes=self.codes_)
        chunks = _document_chunks(segments, max(1, CHUNK_PAIRS // max(1, self.n_codes_)))
        if len(chunks) <= 1:
            # One chunk: the coders that suggest in parts still score it as a part (the same products, to the
            # bit, as in a call of many chunks: a round's parts, small or large, store what one call stores).
            return ranked([cast(EmbeddingCoder, c).suggest_part(segments) if c.coder_tags().suggests_in_parts
                           else _suggest_spread(c, segments) for c in self.coders_])
        # Coders that can suggest part by part (the embedding coder) first encode every text as one call
        # would (same batches, same vectors); the others (keyword matches, learned models, whose tables are
        # small) run once over everything. Encoding happens in the coders' order, as in one call.
        whole = {}
        for i, coder in enumerate(self.coders_):
            if coder.coder_tags().suggests_in_parts:
                cast(EmbeddingCoder, coder).prepare(segments)
            else:
                whole[i] = _suggest_spread(coder, segments)
        merged = []
        with progress(len(chunks), f"suggest {self.n_codes_} codes by {len(chunks)} chunks of documents",
                      enabled=current().progress) as bar:
            for ids in chunks:
                part = segments[segments["doc_id"].isin(ids)]
                in_part = set(part["segment_id"])
                parts = [whole[i][whole[i]["segment_id"].isin(in_part)] if i in whole
                         else cast(EmbeddingCoder, coder).suggest_part(part) for i, coder in enumerate(self.coders_)]
                out = ranked(parts)
                if len(out):
                    merged.append(out)
                bar.update()
        if not merged:
            return _empty_ranked()
        out = pd.concat(merged, ignore_index=True)
        return out.sort_values(["segment_id", "rank"], kind="stable").reset_index(drop=True)


def suggestion_coders(codebook: Codebook, *, methods: Sequence[str] = ("keyword", "embedding"),
                      learn: bool | None = None, decisions: pd.DataFrame | None = None, embedder: str = "use",
                      cache: EmbeddingCache | None = None) -> list[BaseCoder]:
    """The unfitted coders ``suggest`` combines for these options, from the registry, in the order named.

    Those that take an embedder get ``embedder`` and ``cache``; a method the codebook gives nothing to work
    with is left out with a :class:`~qualcode.errors.QualcodeWarning` naming it and what to add.

    Raises
    ------
    ParameterError
        For an unknown method name (the valid ones are listed).
    """
    known = [name for name in available_coders() if name != EnsembleCoder.method]
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise ParameterError(f"unknown method(s) {unknown}; choose from {known}.")
    if learn is None:
        learn = decisions is not None and not decisions.empty
    names = [m for m in dict.fromkeys(methods) if learn is not False or m != LearnedCoder.method]
    if learn and LearnedCoder.method not in names:
        names.append(LearnedCoder.method)
    coders: list[BaseCoder] = []
    for name in names:
        coder = get_coder(name)
        if coder.coder_tags().uses_embedder:
            coder.set_params(embedder=embedder, cache=cache)
        reason = coder.unsupported(codebook)
        if reason is not None:
            warnings.warn(QualcodeWarning(f"the {name} method was skipped for codebook {codebook.id!r}: {reason}."),
                          stacklevel=3)
            continue
        coders.append(coder)
    return coders


def _document_chunks(segments: pd.DataFrame, size: int) -> list[list[Hashable]]:
    """The documents of ``segments`` in order of appearance, cut into runs of about ``size`` segments."""
    chunks, ids, count = [], [], 0
    for doc_id, n in segments.groupby("doc_id", sort=False).size().items():
        ids.append(doc_id)
        count += int(n)
        if count >= size:
            chunks.append(ids)
            ids, count = [], 0
    if ids:
        chunks.append(ids)
    return chunks


# Keyword matching is spread by chunks of whole documents of about this many segments: large enough
# that shipping the fitted coder to a worker costs little beside the matching.
CHUNK_SEGMENTS = 2000


def _suggest_chunk(coder: BaseCoder, segments: pd.DataFrame) -> pd.DataFrame:
    return coder.suggest(segments)


def _suggest_spread(coder: BaseCoder, segments: pd.DataFrame) -> pd.DataFrame:
    """``coder.suggest(segments)``, by chunks of documents in the current runner's workers when that pays.

    Only coders whose suggestions for a segment depend on nothing else in the
    batch are spread (the keyword coder); the embedding coders already spread
    their encoding, which is where their time goes.
    """
    runner = current()
    tags = coder.coder_tags()
    # The embedding coders spread their encoding already, which is where their time goes.
    if not (runner.parallel and tags.per_segment and not tags.uses_embedder and len(segments) > CHUNK_SEGMENTS):
        return coder.suggest(segments)
    chunks = _document_chunks(segments, CHUNK_SEGMENTS)
    parts = runner.map(_suggest_chunk, [segments[segments["doc_id"].isin(c)] for c in chunks], shared=coder,
                       desc=f"keyword matching, {len(chunks)} chunks")
    frames = [p for p in parts if not p.empty]
    return pd.concat(frames, ignore_index=True) if frames else typed_suggestions([])


def _empty_ranked() -> pd.DataFrame:
    out = typed_suggestions([])
    out["rank"] = pd.Series(dtype="Int64")
    return out


def evidence_table(parts: list[pd.DataFrame], fusion: Fusion) -> pd.DataFrame:
    """Per (segment, code) found by any part: each kind of evidence (:data:`~qualcode.coders.fusion.EVIDENCE`).

    A method outside the known ones (a third-party coder) counts as ``other``: its score read as a
    probability.
    """
    frames = [p[["segment_id", "code_id", "method", "score"]] for p in parts if not p.empty]
    if not frames:
        return pd.DataFrame(columns=["segment_id", "code_id", *EVIDENCE])
    both = pd.concat(frames, ignore_index=True)
    kind = both["method"].where(both["method"].isin(EVIDENCE), "other").to_numpy()
    value = np.zeros(len(both))
    scores = both["score"].to_numpy(dtype=float)
    for method in pd.unique(kind):
        at = kind == method
        value[at] = evidence_of(method, scores[at], z0=fusion.z0, tau=fusion.tau, intercept=fusion.prior_[0])
    wide = (pd.DataFrame({"segment_id": both["segment_id"].to_numpy(), "code_id": both["code_id"].to_numpy(),
                          "kind": kind, "value": value})
            .pivot_table(index=["segment_id", "code_id"], columns="kind", values="value", aggfunc="max",
                         sort=False))
    wide = wide.reindex(columns=list(EVIDENCE)).fillna(0.0)
    wide.columns.name = None
    return wide.reset_index()


def _ancestors(codes: Sequence[str]) -> dict[str, list[str]]:
    """Per code, the codes of ``codes`` it sits under (by dotted id)."""
    known = set(codes)
    return {c: [c[:k] for k, ch in enumerate(c) if ch == "." and c[:k] in known] for c in codes}


def _covered(frame: pd.DataFrame, ancestors: dict[str, list[str]], fits: float) -> np.ndarray:
    """Per row, whether it is a parent code of which a descendant scores at least ``fits`` in its segment."""
    fitting = frame["score"].to_numpy(dtype=float) >= fits
    covered = {(s, a) for s, c, f in zip(frame["segment_id"], frame["code_id"], fitting, strict=True) if f
               for a in ancestors.get(c, [])}
    return np.array([(s, c) in covered for s, c in zip(frame["segment_id"], frame["code_id"], strict=True)],
                    dtype=bool)


def _rank(frame: pd.DataFrame, codes: Sequence[str], fits: float) -> pd.DataFrame:
    """Sort each segment's rows into the ranking and number them (``rank``), with a ``_covered`` column.

    The order: leaves scoring at least ``fits``, then parents scoring at least ``fits`` of which no descendant
    does (what a suggestion list shows, in the same order), then the near misses: the other leaves, then the
    other parents; by score within each.
    """
    ancestors = _ancestors(codes)
    parents = {a for up in ancestors.values() for a in up}
    parent = frame["code_id"].isin(parents).to_numpy()
    fit = frame["score"].to_numpy(dtype=float) >= fits
    covered = _covered(frame, ancestors, fits) & parent
    tier = np.select([fit & ~parent, fit & ~covered, ~parent], [0, 1, 2], default=3)
    out = frame.assign(_tier=tier, _covered=covered)
    out = out.sort_values(["segment_id", "_tier", "score", "code_id"], ascending=[True, True, False, True],
                          kind="stable")
    out["rank"] = out.groupby("segment_id").cumcount() + 1
    return out


def shown(ranking: pd.DataFrame, *, top_k: int | None = DEFAULT_TOP_K,
          min_score: float = DEFAULT_MIN_SCORE) -> pd.DataFrame:
    """The suggestions ``top_k`` and ``min_score`` show, cut from a full ranking (:func:`combine` at 0).

    The same rows, in the same order, as :func:`combine` with these ``top_k`` and ``min_score`` gives
    (ranks renumbered): what a user of ``qualcode suggest`` sees, for :mod:`qualcode.coders.evaluate`.

    Parameters
    ----------
    ranking : DataFrame
        ``segment_id``, ``code_id``, ``score`` and ``rank`` of a full ranking.
    top_k, min_score
        As in :func:`combine`.

    Returns
    -------
    DataFrame
        The rows shown, ``rank`` renumbered from 1 per segment.
    """
    out = ranking[ranking["score"].round(4) >= min_score]
    if min_score > 0 and len(out):
        codes = list(pd.unique(out["code_id"]))
        out = out[~_covered(out, _ancestors(codes), max(min_score, DEFAULT_MIN_SCORE))]
    out = out.sort_values(["segment_id", "rank"], kind="stable").copy()
    out["rank"] = out.groupby("segment_id").cumcount() + 1
    return out[out["rank"] <= top_k] if top_k is not None else out


def combine(parts: list[pd.DataFrame], *, top_k: int | None, min_score: float, fusion: Fusion | None = None,
            codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Fuse per-method suggestion tables into one score per (segment, code) and rank them.

    Parameters
    ----------
    parts : list of DataFrame
        Suggestion tables of the member coders.
    top_k : int or None
        At most this many codes per segment (``None``: all).
    min_score : float
        Drop fused scores below this; at 0, a full ranking that keeps every parent code.
    fusion : Fusion, optional
        The fitted fusion (default: the prior, see :mod:`qualcode.coders.fusion`, for the methods present).
    codes : sequence of str, optional
        Every code id of the codebook, to tell parents from leaves (default: the codes in ``parts``).

    Returns
    -------
    DataFrame
        The suggestions table plus ``rank``. People code leaves: a parent code "fits" a segment only where it
        scores at least ``min_score`` (at least :data:`DEFAULT_MIN_SCORE` when ``min_score`` is lower) and
        none of its descendants does, and it ranks after the leaves that fit. With ``min_score > 0`` the other
        parents are left out; with ``min_score=0`` (``top_k=None``: the full ranking) they are ranked last,
        after the leaves that do not fit, so every code of the codebook gets a rank and the first rows of
        each segment are the suggestions the default ``min_score`` shows (:func:`shown`).
    """
    frames = [p for p in parts if not p.empty]
    if not frames:
        return _empty_ranked()
    both = pd.concat(frames, ignore_index=True)
    fusion = Fusion(embedding=bool((both["method"] == "embedding").any())) if fusion is None else fusion
    # Most (segment, code) pairs come from one method only: they are taken as they are, and only the pairs
    # found by several methods go through the (slower, per-group) merge of their evidence.
    repeated = both.duplicated(["segment_id", "code_id"], keep=False)
    single = both.loc[~repeated]
    single = pd.DataFrame({
        "segment_id": single["segment_id"], "code_id": single["code_id"], "doc_id": single["doc_id"],
        "method": single["method"],
        "evidence": [x if isinstance(x, str) else "" for x in single["evidence"]],
        "spans": [list(x) if isinstance(x, list) else [] for x in single["spans"]],
        "codebook_version": single["codebook_version"],
    })
    grouped = both.loc[repeated].groupby(["segment_id", "code_id"], sort=False)
    multi = grouped.agg(
        doc_id=("doc_id", "first"),
        method=("method", lambda m: "+".join(sorted(set(m)))),
        evidence=("evidence", lambda e: " | ".join(x for x in e if isinstance(x, str) and x)),
        spans=("spans", lambda s: [span for spans in s if isinstance(spans, list) for span in spans]),
        codebook_version=("codebook_version", "first"),
    ).reset_index()
    merged = pd.concat([single, multi], ignore_index=True) if len(multi) else single.reset_index(drop=True)
    evidence = evidence_table(frames, fusion).set_index(["segment_id", "code_id"])
    evidence = evidence.reindex(pd.MultiIndex.from_arrays([merged["segment_id"], merged["code_id"]])).reset_index()
    merged["score"] = np.round(fusion.predict(evidence), 4)
    if len(fusion.decided_):
        # Say why a decided pair's score moved: the person's decision is part of it (fusion.DECIDED).
        sign = fusion.decided_sign(merged)
        if (sign != 0).any():
            note = np.select([sign > 0, sign < 0], ["decided: coded", "decided: rejected"], default="")
            merged["evidence"] = [f"{e} | {n}" if n and e else n or e
                                  for e, n in zip(merged["evidence"], note, strict=True)]
    merged = merged[merged["score"] >= min_score]
    merged = _rank(merged, list(codes) if codes is not None else list(pd.unique(both["code_id"])),
                   fits=max(min_score, DEFAULT_MIN_SCORE))
    if min_score > 0 and merged["_covered"].any():
        # A parent stays only where none of its descendants fits ("no child fits"): people code leaves.
        merged = merged[~merged["_covered"].to_numpy()]
        merged = merged.assign(rank=merged.groupby("segment_id").cumcount() + 1)
    if top_k is not None:
        merged = merged[merged["rank"] <= top_k]
    if merged.empty:
        return _empty_ranked()
    out = typed_suggestions(merged[[*SUGGESTION_COLUMNS, "rank"]])
    out["rank"] = out["rank"].astype("Int64")
    return out


@returns("suggestions")
@takes(segments=SEGMENTS_IN)
def suggest(segments: pd.DataFrame, codebook: Codebook | None = None, *, decisions: pd.DataFrame | None = None,
            methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
            top_k: int | None = DEFAULT_TOP_K, min_score: float = DEFAULT_MIN_SCORE, embedder: str = "use",
            cache: EmbeddingCache | None = None, documents: Sequence[str] | None = None, workers: int = 1,
            scheduler: str | None = None, progress: bool = False, llm: LLMCoder | None = None) -> pd.DataFrame:
    """Suggest codes for a segments table in one call: the ensemble of the chosen coders, fitted and run.

    The table-only core of :func:`qualcode.suggest` (which also reads a project and stores the result).

    Parameters
    ----------
    segments : DataFrame
        A segments table such as ``corpus.segments`` or ``project.segments``.
    codebook : Codebook
        The codes to suggest.
    decisions : DataFrame, optional
        The current decisions (:func:`qualcode.decisions`), for the learned coder.
    methods : sequence of str
        The coders to combine, by name (:func:`~qualcode.coders.available_coders`: ``keyword``,
        ``embedding``, ``learned``; and ``llm`` with ``llm=``). A method the codebook gives nothing to work
        with (``keyword`` without any keywords) is skipped with a warning that says what to add.
    learn : bool, optional
        Add the learned coder (trained on ``decisions``). Default: when ``decisions`` has rows.
    llm : LLMCoder, optional
        The LLM coder for method ``"llm"`` (giving one adds the method). Beside other coders, a server
        failure is a warning and the others' suggestions still arrive.
    top_k, min_score
        Per segment at most ``top_k`` codes scoring at least ``min_score`` (``top_k=None, min_score=0``:
        every leaf code ranked for every segment).
    embedder : str
        The embedding model (see :func:`~qualcode.coders.embedders.get_embedder`).
    cache : EmbeddingCache, optional
        Where the embedding coders keep vectors (``project.embedding_cache()``).
    documents : sequence of str, optional
        Only the segments of these documents.
    workers, scheduler, progress
        Where the work runs and whether progress shows (see :func:`qualcode.parallel.using`); the result
        is identical to one worker.

    Returns
    -------
    DataFrame
        {columns}

    Raises
    ------
    ParameterError
        Without a codebook, for documents with no segments, for an unknown method.

    Examples
    --------
    >>> from qualcode.coders import suggest
    >>> suggest(corpus.segments, qc.load_codebook("nic_study"), methods=["keyword"]).head()  # doctest: +SKIP
    """
    if not isinstance(segments, pd.DataFrame):
        raise ParameterError("qualcode.coders.suggest() takes a segments DataFrame; for a project, use "
                             "qualcode.suggest(project), which also stores the suggestions.")
    if codebook is None:
        raise ParameterError("give the codebook: qc.suggest(segments, codebook).")
    if documents is not None:
        wanted = set(documents)
        unknown_docs = sorted(wanted - set(segments["doc_id"]))
        if unknown_docs:
            raise ParameterError(f"no segments for document(s) {unknown_docs[:5]}; add them to the project first.")
        segments = segments[segments["doc_id"].isin(wanted)]
    ensemble = suggestion_ensemble(codebook, decisions=decisions, methods=methods, learn=learn, top_k=top_k,
                                   min_score=min_score, embedder=embedder, cache=cache, llm=llm)
    with using(workers, scheduler, progress=progress):
        ensemble.fit(codebook, decisions)
        out = ensemble.suggest(segments)
    out.attrs.update(run_attrs(ensemble))
    return out


def suggestion_ensemble(codebook: Codebook, *, decisions: pd.DataFrame | None = None,
                        methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
                        top_k: int | None = DEFAULT_TOP_K, min_score: float = DEFAULT_MIN_SCORE,
                        embedder: str = "use", cache: EmbeddingCache | None = None,
                        llm: LLMCoder | None = None) -> EnsembleCoder:
    """The unfitted ensemble :func:`suggest` fits and runs for these options (as there, ``llm`` adds its method).

    Raises
    ------
    ParameterError
        For method ``"llm"`` without ``llm``, an LLM server address that is not a URL, an unknown method.
    """
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if "llm" in methods and llm is None:
        raise ParameterError("method 'llm' needs your server: llm=qc.LLMCoder(base_url=..., model=...).")
    if llm is not None:
        check_base_url(llm.base_url)  # before the other coders' work
    # The LLM coder needs the user's server: it comes as llm= (by name it would have no URL).
    coders = suggestion_coders(codebook, methods=[m for m in methods if m != "llm"], learn=learn,
                               decisions=decisions, embedder=embedder, cache=cache)
    if llm is not None:
        # Beside methods the user named, a failing server is a warning and theirs still arrive. Asked alone
        # (the learned coder, added by itself once there are decisions, does not count), a failure is an
        # error: its suggestions would otherwise replace the stored ones with next to nothing.
        named = [m for m in methods if m != "llm"] or learn is True
        coders.append(clone(llm).set_params(on_error="warn" if named and coders else llm.on_error))
    return EnsembleCoder(coders, top_k=top_k, min_score=min_score)


def run_attrs(ensemble: EnsembleCoder) -> dict[str, Any]:
    """What :func:`suggest` puts in its result's ``attrs`` after ``ensemble`` suggested: provenance, LLM report.

    ``run`` is what a project stores beside the suggestions; ``llm_report`` and ``llm_calibration`` (with an
    LLM coder) say what the LLM sent, received and dropped in the last ``suggest``.
    """
    params, digest = coder_params([ensemble])
    attrs: dict[str, Any] = {"run": {"methods": "+".join(c.method for c in ensemble.coders_),
                                     "params": params, "params_hash": digest}}
    asked = next((c for c in ensemble.coders_ if isinstance(c, LLMCoder)), None)
    if asked is not None and hasattr(asked, "report_"):
        # The coder itself is the ensemble's fitted clone.
        attrs["llm_report"] = asked.report_.as_dict()
        attrs["llm_calibration"] = asked.calibration_.reset_index().to_dict("records")
    return attrs
