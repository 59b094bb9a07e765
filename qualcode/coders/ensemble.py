"""EnsembleCoder and ``suggest()`` on a segments table: one ranked table from every method.

Combination
    For a (segment, code) found by several zero-shot methods the scores
    combine as independent evidence, ``1 − Π(1 − score)``, and the methods
    and their evidence are joined (``keyword+embedding``). Where the learned
    coder has a model for a code (enough accepted and rejected examples), its
    score replaces the zero-shot ones for that code: it has seen what this
    team means by it.
Ranking
    Per segment, by score; ``top_k`` and ``min_score`` cut the list.
Memory
    A segment's suggestions depend on that segment only, so with a large
    codebook the segments are suggested and merged by chunks of whole
    documents (:data:`CHUNK_PAIRS`), with progress shown: the zero-shot
    tables of every (segment, code) pair never exist at once. The result is
    the same as in one piece.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from collections.abc import Set as AbstractSet
from numbers import Integral, Real
from typing import ClassVar, cast

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils._param_validation import Interval

from ..codebook import Codebook
from ..errors import ParameterError, QualcodeWarning
from ..io.chat import check_base_url
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
from .keyword import KeywordCoder
from .learned import LearnedCoder
from .llm import LLMCoder

__all__ = ["CHUNK_PAIRS", "DEFAULT_MIN_SCORE", "DEFAULT_TOP_K", "EnsembleCoder", "suggest", "suggestion_coders"]

# Chosen on the sample gold coding (bench/evaluate_coders.py prints the sweep):
# the pair that maximised micro-F1 of the zero-shot ensemble against both coders.
DEFAULT_TOP_K = 3
DEFAULT_MIN_SCORE = 0.4
#: Segments are suggested and merged by chunks of whole documents of about this many (segment, code) pairs.
#: Before merging, the embedding coder keeps about a third of all pairs (its own ``min_score`` is low), at
#: roughly 1 KB each while they are merged: a 5,050-code codebook on the 15 sample transcripts (1.5 M pairs)
#: peaked at 5.5 GB in one piece. 500,000 pairs keep a chunk near 200 MB, far below the 2 GiB memory target,
#: and the 60-code sample codebook suggests 8,000 segments in one chunk.
CHUNK_PAIRS = 500_000


@register_coder
class EnsembleCoder(BaseCoder):
    """Run several coders and merge their suggestions into one ranked table.

    Parameters
    ----------
    coders : list of coders or method names
        Unfitted coders (they are cloned and fitted by ``fit``), or names
        from :func:`~qualcode.coders.available_coders` (``["keyword",
        "embedding"]``, each with its defaults). Default: a KeywordCoder and
        an EmbeddingCoder.
    top_k : int
        At most this many codes per segment.
    min_score : float
        Drop suggestions below this combined score.

    Examples
    --------
    >>> EnsembleCoder(top_k=2).fit(codebook).suggest(corpus.segments)  # doctest: +SKIP
    """

    method = "ensemble"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "coders": [None, list, tuple],
        "top_k": [Interval(Integral, 1, None, closed="left")],
        "min_score": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, coders: Sequence[BaseCoder | str] | None = None, *, top_k: int = DEFAULT_TOP_K,
                 min_score: float = DEFAULT_MIN_SCORE) -> None:
        self.coders = coders
        self.top_k = top_k
        self.min_score = min_score

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> EnsembleCoder:
        """Fit every member coder on the codebook (and the decisions, for those that learn)."""
        self._validate_params()
        if self.coders is None:
            members: list[BaseCoder] = [KeywordCoder(), EmbeddingCoder()]
        else:
            members = [get_coder(c) if isinstance(c, str) else clone(c) for c in self.coders]
        self.coders_ = [c.fit(codebook, decisions) for c in members]
        self.n_codes_ = sum(1 for _ in codebook)
        self.codebook_version_ = codebook.version
        return self

    def coder_tags(self) -> CoderTags:
        """What its members need (any of them), and how they may run (all of them)."""
        members = self.coders_ if hasattr(self, "coders_") else [
            get_coder(c) if isinstance(c, str) else c for c in (self.coders or [KeywordCoder(), EmbeddingCoder()])]
        tags = [m.coder_tags() for m in members]
        return CoderTags(needs_keywords=all(t.needs_keywords for t in tags),
                         needs_examples=all(t.needs_examples for t in tags),
                         needs_decisions=all(t.needs_decisions for t in tags),
                         language_aware=any(t.language_aware for t in tags),
                         uses_embedder=any(t.uses_embedder for t in tags),
                         per_segment=all(t.per_segment for t in tags), suggests_in_parts=False)

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """The merged, ranked suggestions: the suggestions table plus ``rank`` (1 = best for its segment).

        Inside ``with qualcode.parallel.Runner(workers=N):`` keyword matching
        runs over chunks of documents in the workers and texts are encoded
        there in batches; the result is the same as with one worker.
        """
        self._check_fitted()
        learned = set().union(*(getattr(c, "models_", {}).keys() for c in self.coders_))
        chunks = _document_chunks(segments, max(1, CHUNK_PAIRS // max(1, self.n_codes_)))
        if len(chunks) <= 1:
            parts = [_suggest_spread(c, segments) for c in self.coders_]
            return combine(parts, top_k=self.top_k, min_score=self.min_score, learned_codes=learned)
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
                out = combine(parts, top_k=self.top_k, min_score=self.min_score, learned_codes=learned)
                if len(out):
                    merged.append(out)
                bar.update()
        if not merged:
            return combine([], top_k=self.top_k, min_score=self.min_score)
        out = pd.concat(merged, ignore_index=True)
        return out.sort_values(["segment_id", "score", "code_id"], ascending=[True, False, True],
                               kind="stable").reset_index(drop=True)


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


def combine(parts: list[pd.DataFrame], *, top_k: int, min_score: float,
            learned_codes: AbstractSet[str] = frozenset()) -> pd.DataFrame:
    """Merge per-method suggestion tables (see the module docstring) and rank them."""
    frames = [p for p in parts if not p.empty]
    if not frames:
        out = typed_suggestions([])
        out["rank"] = pd.Series(dtype="Int64")
        return out
    both = pd.concat(frames, ignore_index=True)
    if learned_codes:
        zero_shot = both["method"] != "learned"
        both = both[~(zero_shot & both["code_id"].isin(learned_codes))]
    # Most (segment, code) pairs come from one method only: they are taken as they are, and only the pairs
    # found by several methods go through the (slower, per-group) merge.
    both = both.reset_index(drop=True)
    repeated = both.duplicated(["segment_id", "code_id"], keep=False)
    single = both.loc[~repeated]
    single = single[(1.0 - (1.0 - single["score"].astype(float))).round(4) >= min_score]
    single = pd.DataFrame({
        "segment_id": single["segment_id"], "code_id": single["code_id"], "doc_id": single["doc_id"],
        "miss": 1.0 - single["score"].astype(float),
        "method": single["method"],
        "evidence": [x if isinstance(x, str) else "" for x in single["evidence"]],
        "spans": [list(x) if isinstance(x, list) else [] for x in single["spans"]],
        "codebook_version": single["codebook_version"],
    })
    grouped = both.loc[repeated].groupby(["segment_id", "code_id"], sort=False)
    multi = grouped.agg(
        doc_id=("doc_id", "first"),
        miss=("score", lambda s: float(np.prod(1.0 - s.astype(float).to_numpy()))),
        method=("method", lambda m: "+".join(sorted(set(m)))),
        evidence=("evidence", lambda e: " | ".join(x for x in e if isinstance(x, str) and x)),
        spans=("spans", lambda s: [span for spans in s if isinstance(spans, list) for span in spans]),
        codebook_version=("codebook_version", "first"),
    ).reset_index()
    merged = pd.concat([single, multi], ignore_index=True) if len(multi) else single.reset_index(drop=True)
    merged["score"] = (1.0 - merged.pop("miss")).round(4)
    merged = merged[merged["score"] >= min_score]
    merged = merged.sort_values(["segment_id", "score", "code_id"], ascending=[True, False, True], kind="stable")
    merged["rank"] = merged.groupby("segment_id").cumcount() + 1
    merged = merged[merged["rank"] <= top_k]
    out = typed_suggestions(merged[[*SUGGESTION_COLUMNS, "rank"]])
    out["rank"] = out["rank"].astype("Int64")
    return out


@returns("suggestions")
@takes(segments=SEGMENTS_IN)
def suggest(segments: pd.DataFrame, codebook: Codebook | None = None, *, decisions: pd.DataFrame | None = None,
            methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
            top_k: int = DEFAULT_TOP_K, min_score: float = DEFAULT_MIN_SCORE, embedder: str = "use",
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
        Per segment at most ``top_k`` codes scoring at least ``min_score``.
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
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if "llm" in methods and llm is None:
        raise ParameterError("method 'llm' needs your server: llm=qc.LLMCoder(base_url=..., model=...).")
    if llm is not None:
        check_base_url(llm.base_url)  # before the other coders' work
    # The LLM coder needs the user's server, so it is not in the registry: it comes as llm=.
    coders = suggestion_coders(codebook, methods=[m for m in methods if m != "llm"], learn=learn,
                               decisions=decisions, embedder=embedder, cache=cache)
    if llm is not None:
        coders.append(clone(llm).set_params(on_error="warn" if coders else llm.on_error))
    with using(workers, scheduler, progress=progress):
        ensemble = EnsembleCoder(coders, top_k=top_k, min_score=min_score).fit(codebook, decisions)
        out = ensemble.suggest(segments)
    # Provenance, for a project to store beside the suggestions (qualcode.suggest does).
    params, digest = coder_params([ensemble])
    out.attrs["run"] = {"methods": "+".join(c.method for c in coders), "params": params, "params_hash": digest}
    return out
