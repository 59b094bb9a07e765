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
    sentences score about 0.07 with USE and 0.8 with E5), and a codebook's own
    texts are no background for them: definitions resemble each other (mean
    cosine .44–.53) far more than interview talk resembles any definition
    (.08–.12), so a background of other codes' examples or definitions puts
    real text at the bottom of every code. Each window's raw scores are
    therefore standardised across the codes, ``z = (raw − mean) / std`` of
    that window's row, and ``score = 1 / (1 + exp(−(z − z0) / tau))``. The
    ranking of codes within a segment is the raw encoder's; the default
    ``z0 = 4.5``, ``tau = 1.2`` are the logistic fit of the sample's human
    coding (``data_samples/coding/ana.csv``) on ``z`` with the shipped
    codebook, with and without its examples (4.45/1.08 and 5.15/1.29), so
    a score reads as the share of such suggestions that coder coded. A
    segment's score depends on that segment only, whatever else is in the
    batch. The score is this coder's evidence alone;
    :class:`~qualcode.coders.EnsembleCoder` fuses it with the others.
Memory
    A batch is streamed: its windows are kept as offsets and text hashes
    (about 70 bytes each), and cut, encoded and scored a block at a time
    (:data:`SIMILARITY_BLOCK_BYTES`), so only a block's vectors are held.
    Texts are still encoded as one call would encode them (same batches,
    same vectors to the bit), and the evidence's similarity is read from the
    product the scores come from. The codebook's vectors are one entry of
    the embedding cache, read back by any later fit.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import HasMethods, Interval

from ..codebook import Codebook
from ..errors import ParameterError
from ..parallel import current
from ..progress import progress
from ..schemas import returns, takes
from .base import SEGMENTS_IN, BaseCoder, CoderTags, participant_units, register_coder, typed_suggestions
from .embedders import BATCH_SIZE, CachedEmbedder, Embedder, EmbeddingCache, own_embedder, text_key

__all__ = ["MIN_BLOCK_MACS", "SIMILARITY_BLOCK_BYTES", "EmbeddingCoder", "windows"]

_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s|$)")

#: Memory for one block of similarity work: the similarities of a block of windows (or codebook examples)
#: to the prototypes, and the per-code scores drawn from them. Without blocks this grew with codebook ×
#: corpus (a 5,050-code codebook built one 3.3 GB example × prototype matrix and peaked at 5.5 GB);
#: 64 MiB per block keeps a whole suggestion far below the 2 GiB memory target, and each block is still
#: thousands of rows × columns, large enough for BLAS to run at full speed.
SIMILARITY_BLOCK_BYTES = 64 * 2**20
#: BLAS computes small products with other kernels (and a single row as a matrix × vector product), whose
#: float sums can differ in the last bit from a large product's. A block cut from a larger product is padded
#: to at least this many multiply-adds (OpenBLAS switches kernels near 10⁶), so a score is the same to the bit
#: whichever block computed it, and results do not depend on the block size.
MIN_BLOCK_MACS = 8 * 2**20
#: A block spans at least this many prototype columns, for the same reason.
MIN_BLOCK_COLUMNS = 16
# Bytes per similarity cell of a block: the similarity, its code's maximum beside it, the match mask and the
# column index that finds the first best prototype of each code (as argmax does).
_SIM_CELL_BYTES = 16
# Bytes per (window, code) cell of a block: raw and calibrated scores, nearest prototype, best-so-far state.
_CODE_CELL_BYTES = 40
# A window whose raw scores are all (nearly) equal says nothing about which code fits: a floor on the row's
# spread keeps its z-scores near 0 instead of blowing rounding noise up to large values.
_MIN_ROW_STD = 1e-3
# Units whose windows are cut at a time: the Python objects made on the way (a few per window) stay a few MB.
_PLAN_UNITS = 4096


def _product(rows: np.ndarray, matrix: np.ndarray, j0: int, j1: int, *, exact: bool) -> np.ndarray:
    """``(rows @ matrix[j0:j1].T).T``: one row per column of the product, so each code's columns are rows.

    ``exact`` is for the one product an unblocked computation makes: it is made as it is. Any other block is
    widened to :data:`MIN_BLOCK_COLUMNS` columns and padded with zero rows to :data:`MIN_BLOCK_MACS`, then cut
    back, so its values are those of the large product it is a block of (BLAS gives the transposed product
    the same values).
    """
    if exact:
        return np.ascontiguousarray((rows @ matrix[j0:j1].T).T)
    a0, a1 = j0, j1
    if a1 - a0 < MIN_BLOCK_COLUMNS:
        a1 = min(len(matrix), a0 + MIN_BLOCK_COLUMNS)
        a0 = max(0, a1 - MIN_BLOCK_COLUMNS)
    m, dim = rows.shape
    need = max(2, -(-MIN_BLOCK_MACS // max(1, (a1 - a0) * dim)))
    if m < need:
        rows = np.vstack([rows, np.zeros((need - m, dim), dtype=rows.dtype)])
    return (matrix[a0:a1] @ rows.T)[j0 - a0:j1 - a0, :m]


def _first_max(sims: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group of consecutive rows (``bounds[g]:bounds[g + 1]``, none empty) and column: the largest value
    and the row where it first occurs, as ``argmax`` picks it, NaN included.

    Groups run along rows and are walked position by position: each step is a few contiguous vector
    operations on one row per group, faster than ``reduceat`` over groups of a handful of rows.
    """
    starts, ends = bounds[:-1], bounds[1:]
    has_nan = bool(np.isnan(sims).any())
    best = sims[starts]
    first = np.repeat(starts.astype(np.int32)[:, None], sims.shape[1], axis=1)
    for k in range(1, int((ends - starts).max(initial=1))):
        at = np.minimum(starts + k, ends - 1)  # a shorter group reads its last row again: never strictly better
        values = sims[at]
        better = values > best
        if has_nan:
            better |= np.isnan(values) & ~np.isnan(best)  # argmax stops at the first NaN
        np.copyto(best, values, where=better)
        np.copyto(first, at.astype(np.int32)[:, None], where=better)
    return best, first.astype(np.int64)


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


#: What an embedder object or an embedding cache must offer (their parameter declarations).
EMBEDDER = HasMethods(["encode"])
CACHE = HasMethods(["get", "put"])


@register_coder
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
        Calibration: the within-segment z-score (across codes) that maps to 0.5, and the slope.
    min_score : float
        Suggestions below this score are dropped (the full table is large: segments × codes).

    Attributes
    ----------
    prototypes_ : DataFrame
        ``code_id``, ``kind``, ``lang``, ``text`` of every prototype sentence.

    Examples
    --------
    >>> coder = EmbeddingCoder(cache=project.embedding_cache()).fit(qc.load_codebook("nic_study"))  # doctest: +SKIP
    >>> coder.suggest(project.segments).sort_values("score", ascending=False).head()  # doctest: +SKIP
    """

    method = "embedding"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "embedder": [str, EMBEDDER],
        "cache": [None, CACHE],
        "skip_roles": [str, tuple, list],
        "max_words": [Interval(Integral, 5, None, closed="left")],
        "exclusion_weight": [Interval(Real, 0, None, closed="left")],
        "z0": [Interval(Real, None, None, closed="neither")],
        "tau": [Interval(Real, 0, None, closed="neither")],
        "min_score": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, embedder: str | Embedder = "use", *, cache: EmbeddingCache | None = None,
                 skip_roles: str | tuple[str, ...] = ("interviewer", "unknown"), max_words: int = 60,
                 exclusion_weight: float = 0.5, z0: float = 4.5, tau: float = 1.2,
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
        """Embed the codebook's prototypes: labels, definitions, criteria and examples (decisions are not used)."""
        self._validate_params()
        inner = own_embedder(self.embedder)
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
        # One cache entry for the whole codebook: a re-run, or a worker given the fitted coder's cache, reads
        # it instead of encoding each label, definition and example again.
        self.proto_vectors_, excl_vectors = self.embedder_.encode_set(
            f"codebook {codebook.id} {codebook.version}", [list(self.prototypes_["text"]),
                                                           list(self.exclusions_["text"])])
        self.excl_vectors_ = (excl_vectors if len(excl)
                              else np.zeros((0, self.proto_vectors_.shape[1]), dtype=np.float32))
        index = {c: i for i, c in enumerate(self.codes_)}
        self.proto_code_ = np.array([index[c] for c in self.prototypes_["code_id"]], dtype=int)
        self.excl_code_ = np.array([index[c] for c in self.exclusions_["code_id"]], dtype=int)
        # Prototypes (and exclusions) were listed code by code: each code's are one run of columns.
        self.proto_bounds_ = np.searchsorted(self.proto_code_, np.arange(len(self.codes_) + 1))
        self.excl_bounds_ = np.searchsorted(self.excl_code_, np.arange(len(self.codes_) + 1))
        empty = [c for c, n in zip(self.codes_, np.diff(self.proto_bounds_), strict=True) if n == 0]
        if empty:
            raise ParameterError(f"codebook {codebook.id!r}: code(s) {empty[:5]} have no label, definition or "
                                 "example to embed; give each code at least a label.")
        self.codebook_version_ = codebook.version
        return self

    def _raw(self, vectors: np.ndarray, *, exact: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row and code: the raw score, the index of the nearest prototype and its similarity.

        Rows go by blocks of :data:`SIMILARITY_BLOCK_BYTES`. ``exact``: ``vectors`` are the whole matrix
        an unblocked computation would score, so when it fits in one block its products are made as they
        are. The similarity is read from the product the scores come from (the evidence's figure): no row
        is copied to compute it again.
        """
        n_codes, n = len(self.codes_), len(vectors)
        n_protos, n_excl = len(self.proto_vectors_), len(self.excl_vectors_)
        per_row = (n_protos + n_excl) * _SIM_CELL_BYTES + n_codes * _CODE_CELL_BYTES
        step = max(1, SIMILARITY_BLOCK_BYTES // per_row)
        exact = exact and n <= step
        with_excl = np.flatnonzero(np.diff(self.excl_bounds_))
        excl_starts = self.excl_bounds_[:-1][with_excl]
        raw = np.empty((n, n_codes), dtype=np.float32)
        near = np.empty((n, n_codes), dtype=np.int64)
        sim = np.empty((n, n_codes), dtype=np.float32)
        for r0 in range(0, n, step):
            r1 = min(n, r0 + step)
            # Codes × rows from here on (see _first_max).
            pos, first = _first_max(_product(vectors[r0:r1], self.proto_vectors_, 0, n_protos, exact=exact),
                                    self.proto_bounds_)
            near[r0:r1] = first.T
            sim[r0:r1] = pos.T
            if len(with_excl):
                esims = _product(vectors[r0:r1], self.excl_vectors_, 0, n_excl, exact=exact)
                excl = np.maximum.reduceat(esims, excl_starts, axis=0)
                own = pos[with_excl]
                pos[with_excl] = own - self.exclusion_weight * np.maximum(0.0, excl - own)
            raw[r0:r1] = pos.T
        return raw, near, sim

    def coder_tags(self) -> CoderTags:
        """Labels, definitions and examples by meaning, in any language; scored part by part on request."""
        return CoderTags(uses_embedder=True, suggests_in_parts=True)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Raw scores (rows × codes) → scores in [0, 1], each row standardised across the codes.

        ``z = (raw − mean) / std`` over the row's codes, then ``1 / (1 + exp(−(z − z0) / tau))``. A row's
        scores depend on that row only, so a segment scores the same in any batch.
        """
        raw = np.asarray(raw, dtype=np.float32)
        if raw.shape[1] < 2:
            z = np.zeros_like(raw)
        else:
            mean = raw.mean(axis=1, keepdims=True)
            std = np.maximum(raw.std(axis=1, keepdims=True), np.float32(_MIN_ROW_STD))
            z = (raw - mean) / std
        # A score far below the row's mean overflows exp(); the logistic is then 0, as computed.
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-(z - self.z0) / self.tau))

    # -- suggesting ---------------------------------------------------------------
    def _plan(self, units: pd.DataFrame) -> _Plan:
        """Every window of every unit, as compact arrays (no window's text is kept: it is cut again when needed).

        Built by chunks of :data:`_PLAN_UNITS` units, so the Python objects made on the way stay few.
        """
        parts: list[tuple[np.ndarray, ...]] = []
        for u0 in range(0, len(units), _PLAN_UNITS):
            owner, starts, ends, keys = [], [], [], []
            # Text columns are Arrow strings: each is made a Python string here, a chunk at a time.
            for i, text in enumerate(units["text"].iloc[u0:u0 + _PLAN_UNITS].tolist(), start=u0):
                text = str(text)
                for a, b in windows(text, self.max_words):
                    owner.append(i)
                    starts.append(a)
                    ends.append(b)
                    keys.append(text_key(text[a:b]))
            parts.append((np.array(owner, dtype=np.int64), np.array(starts, dtype=np.int64),
                          np.array(ends, dtype=np.int64), np.array(keys, dtype="S24")))
        columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
        return _Plan(units, *columns)

    def _block_windows(self) -> int:
        """Windows per block: their vectors, similarities and per-code scores within :data:`SIMILARITY_BLOCK_BYTES`."""
        vector = self.proto_vectors_.nbytes // len(self.proto_vectors_)
        # Each window's vector is held twice: as it came from the encoder, and stacked for the block.
        per_window = ((len(self.proto_vectors_) + len(self.excl_vectors_)) * _SIM_CELL_BYTES
                      + len(self.codes_) * _CODE_CELL_BYTES + 2 * vector)
        return max(1, SIMILARITY_BLOCK_BYTES // per_window)

    def _blocks(self, plan: _Plan, step: int) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        """Per block of ``step`` windows: ``(w0, w1, rows, local, vectors)``, the block's distinct texts (numbered
        by first appearance), each window's row among them, and their vectors.

        Texts are encoded as one :meth:`CachedEmbedder.encode` of every distinct window text would encode them
        (what is not found, in order of first appearance, by batches of :data:`~qualcode.coders.embedders.
        BATCH_SIZE`), so vectors are the same to the bit; a block waits for the batch that holds its last new
        text. Only the vectors of the blocks waiting are held (and, without a cache, of texts met again further
        on, until then).
        """
        embedder, n = self.embedder_, len(plan.keys)
        first, last, distinct = plan.first, plan.last, plan.distinct
        held: dict[int, np.ndarray] = {}
        pending: list[int] = []  # distinct texts to encode, in order
        waiting: deque[tuple[int, int, int]] = deque()  # blocks and how many texts must be encoded before them
        queued = encoded = 0
        for w0 in range(0, n, step):
            w1 = min(n, w0 + step)
            new = range(int(np.searchsorted(first, w0)), int(np.searchsorted(first, w1)))
            found = embedder.lookup([plan.key(d) for d in new])
            for d in new:
                vector = found.get(plan.key(d))
                if vector is None:
                    pending.append(d)
                    queued += 1
                else:
                    held[d] = vector
            waiting.append((w0, w1, queued))
            ready = len(pending) if w1 == n else len(pending) // BATCH_SIZE * BATCH_SIZE
            if ready:
                todo, pending = pending[:ready], pending[ready:]
                vectors = embedder.encode_new([plan.key(d) for d in todo], [plan.text(int(first[d])) for d in todo])
                held.update(zip(todo, vectors, strict=True))
                encoded += ready
            while waiting and waiting[0][2] <= encoded:
                b0, b1, _ = waiting.popleft()
                rows, local = np.unique(distinct[b0:b1], return_inverse=True)
                gone = [d for d in rows.tolist() if d not in held]  # met before, let go: the cache has it
                if gone:
                    back = embedder.lookup([plan.key(d) for d in gone])
                    held.update((d, back[plan.key(d)]) for d in gone)
                yield b0, b1, rows, local, np.stack([held[d] for d in rows.tolist()])
                # With a cache, a text met again further on is read back from it then (the same vector);
                # without one it stays here until its last window.
                for d in (rows if embedder.cache is not None else rows[last[rows] < b1]).tolist():
                    del held[d]

    def prepare(self, segments: pd.DataFrame) -> None:
        """Encode every text ``suggest(segments)`` encodes, in the same batches.

        :class:`~qualcode.coders.EnsembleCoder` calls it before suggesting part by part, so each part finds
        its texts encoded (in the cache, or held by the coder up to
        :data:`~qualcode.coders.embedders.MEMORY_BYTES`) and vectors are the same as in one call. A round
        that suggests chunk by chunk does the same with the project's cache: called once on the round's
        segments (it streams, holding a block of vectors at a time), :meth:`suggest_part` on each chunk then
        gives that chunk's rows of one call on the whole round, to the bit.
        """
        self._check_fitted()
        units = participant_units(segments, self.skip_roles)
        if not units.empty:
            for _ in self._blocks(self._plan(units), self._block_windows()):
                pass

    def texts_to_encode(self, segments: pd.DataFrame) -> list[str]:
        """The texts ``suggest(segments)`` (or :meth:`prepare`) hands its embedder when it holds none: every
        distinct window text, in order of first appearance."""
        self._check_fitted()
        units = participant_units(segments, self.skip_roles)
        if units.empty:
            return []
        plan = self._plan(units)
        return [plan.text(int(w)) for w in plan.first]

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Suggestions for every participant segment, scored by its best window.

        Windows are cut, encoded and scored by blocks of :data:`SIMILARITY_BLOCK_BYTES` (progress shows when
        there are several), so memory does not grow with codebook × corpus, nor with the corpus alone beyond
        the suggestions returned; the result is the same as in one block.

        Returns
        -------
        DataFrame
            The suggestions table: ``method`` is ``embedding``; ``evidence`` is
            the nearest prototype (``≈ example (es): «…» 0.61``); ``spans`` the
            window that carries it, in document offsets:

            {columns}
        """
        return self._suggest(segments, exact=True)

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest_part(self, segments: pd.DataFrame) -> pd.DataFrame:
        """``suggest`` for part of a larger batch: the rows ``suggest(batch)`` gives for these segments.

        Every similarity is computed as a block of a large product (see :data:`MIN_BLOCK_MACS`), as it is
        when the whole batch is scored by blocks, so the part's scores are those of the whole batch to the
        bit. :class:`~qualcode.coders.EnsembleCoder` suggests for large codebooks part by part.
        """
        return self._suggest(segments, exact=False)

    def _suggest(self, segments: pd.DataFrame, *, exact: bool) -> pd.DataFrame:
        self._check_fitted()
        units = participant_units(segments, self.skip_roles)
        if units.empty:
            return typed_suggestions([])
        plan = self._plan(units)
        n_codes, n_windows = len(self.codes_), len(plan.keys)
        step = self._block_windows()
        whole = exact and n_windows <= step
        owner = plan.owner
        first_window = np.searchsorted(owner, np.arange(len(units) + 1))
        found: list[tuple[np.ndarray, ...]] = []  # per block: unit, code, window, prototype, similarity, score
        carry: tuple[np.ndarray, ...] | None = None
        with progress(n_windows, f"score {n_windows} windows against {n_codes} codes",
                      enabled=current().progress and exact and not whole) as bar:
            for w0, w1, _, local, vectors in self._blocks(plan, step):
                raw_rows, nearest_rows, sim_rows = self._raw(vectors, exact=whole)
                raw, nearest, sim = raw_rows[local], nearest_rows[local], sim_rows[local]
                del raw_rows, nearest_rows, sim_rows, vectors
                scores = self.calibrate(raw)
                # Best window per (segment, code); a segment's windows may begin in the previous block.
                u0, u1 = int(owner[w0]), int(owner[w1 - 1]) + 1
                best_score = np.full((u1 - u0, n_codes), -1.0, dtype=np.float32)
                best_window = np.zeros((u1 - u0, n_codes), dtype=np.int64)
                best_nearest = np.zeros((u1 - u0, n_codes), dtype=np.int64)
                best_sim = np.zeros((u1 - u0, n_codes), dtype=np.float32)
                if carry is not None:
                    best_score[0], best_window[0], best_nearest[0], best_sim[0] = carry
                for k, i in enumerate((owner[w0:w1] - u0).tolist()):
                    better = scores[k] > best_score[i]
                    best_score[i, better] = scores[k, better]
                    best_window[i, better] = w0 + k
                    best_nearest[i, better] = nearest[k, better]
                    best_sim[i, better] = sim[k, better]
                done = u1 - u0 if first_window[u1] <= w1 else u1 - u0 - 1
                carry = (None if done == u1 - u0
                         else (best_score[-1], best_window[-1], best_nearest[-1], best_sim[-1]))
                keep_i, keep_c = np.nonzero(best_score[:done] >= self.min_score)
                found.append((keep_i + u0, keep_c, best_window[keep_i, keep_c], best_nearest[keep_i, keep_c],
                              best_sim[keep_i, keep_c], best_score[keep_i, keep_c]))
                bar.update(w1 - w0)
        keep_i, keep_c, w, p, sims, score = (np.concatenate(parts) for parts in zip(*found, strict=True))
        if not len(keep_i):
            return typed_suggestions([])
        shown = [f"≈ {k} ({lang}): «{t if len(t) <= 140 else t[:137] + '…'}»" for k, lang, t in
                 zip(self.prototypes_["kind"], self.prototypes_["lang"], self.prototypes_["text"], strict=True)]
        codes = np.array(self.codes_, dtype=object)
        base = units["start"].to_numpy(dtype=np.int64)[owner[w]]  # window offsets → document offsets
        frame = pd.DataFrame({
            "segment_id": units["segment_id"].to_numpy()[keep_i],
            "doc_id": units["doc_id"].to_numpy()[keep_i],
            "code_id": codes[keep_c],
            "method": self.method,
            "score": np.round(score.astype(float), 4),
            "evidence": [f"{shown[j]} {sim:.2f}" for j, sim in zip(p.tolist(), sims.tolist(), strict=True)],
            "spans": [[[a, b]] for a, b in zip((plan.starts[w] + base).tolist(), (plan.ends[w] + base).tolist(),
                                                strict=True)],
            "codebook_version": self.codebook_version_,
        })
        return typed_suggestions(frame)


class _Plan:
    """The windows of a batch of units: owner unit, span within it, text key; distinct texts by first appearance.

    ``distinct[w]`` numbers window ``w``'s text by order of first appearance; ``first[d]`` and ``last[d]`` are
    the first and last windows with text ``d``.
    """

    def __init__(self, units: pd.DataFrame, owner: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 keys: np.ndarray) -> None:
        self.texts = units["text"].array  # as it is: to_numpy() would make every text a Python string at once
        self.owner, self.starts, self.ends, self.keys = owner, starts, ends, keys
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.distinct = rank[inverse.reshape(-1)]
        self.first = first[order]
        self.last = np.zeros(len(order), dtype=np.int64)
        np.maximum.at(self.last, self.distinct, np.arange(len(keys)))

    def key(self, d: int) -> str:
        """Distinct text ``d``'s cache key (:func:`~qualcode.coders.embedders.text_key`)."""
        return self.keys[self.first[d]].decode("ascii")

    def text(self, w: int) -> str:
        """Window ``w``'s text."""
        return str(self.texts[self.owner[w]])[self.starts[w]:self.ends[w]]
