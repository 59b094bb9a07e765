"""The embedding coder streams a corpus: bounded memory, and the same suggestions to the bit however it is cut.

Kinds: memory that grew with the corpus (every window's text and vector held at once, and every vector ever
encoded kept by ``CachedEmbedder``; issue 20), and results that depend on how the corpus is cut (an encoder's
float results depend on which texts share its batch, so streaming must encode the batches one call would).
"""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders import CachedEmbedder, EmbeddingCoder, MemoryEmbeddingCache, embedders, embedding
from qualcode.testing import HashingEmbedder


class BatchSensitiveEmbedder(HashingEmbedder):
    """Hashed words, nudged by each text's place in its batch: as a real encoder's last bits, but visible."""

    name = "batch-sensitive-test-1"

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.batches: list[int] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.batches.append(len(texts))
        out = super().encode(texts)
        out[:, 0] += 0.05 * np.arange(len(texts)) / max(1, len(texts))
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def participants(corpus, copies: int = 1) -> pd.DataFrame:
    """The sample's participant turns, copied with a new opening word each: a long turn's later windows recur."""
    seg = corpus.segments
    seg = seg[seg["speaker_role"] == "participant"]
    parts = [seg.assign(doc_id=seg["doc_id"] + f"-{i}", segment_id=seg["segment_id"] + f"-{i}",
                        text=f"Copia{i} " + seg["text"]) for i in range(copies)]
    return pd.concat(parts, ignore_index=True)


def window_texts(segments: pd.DataFrame, max_words: int = 60) -> list[str]:
    return [str(t)[a:b] for t in segments["text"] for a, b in embedding.windows(str(t), max_words)]


def batch_sizes(n: int, size: int = 256) -> list[int]:
    return [min(size, n - i) for i in range(0, n, size)]


def test_streamed_suggestions_match_one_encode_call_to_the_bit(study_codebook, sample_corpus, monkeypatch):
    segments = participants(sample_corpus, 3)
    distinct = list(dict.fromkeys(window_texts(segments)))
    whole_embedder = BatchSensitiveEmbedder()
    whole_coder = EmbeddingCoder(whole_embedder, min_score=0.0).fit(study_codebook)
    assert len(window_texts(segments)) > len(distinct) > 3 * 256 and whole_coder._block_windows() > len(window_texts(segments))  # one block
    fitted = len(whole_embedder.batches)
    whole = whole_coder.suggest(segments)
    # One call's batches: every distinct window text, in order of first appearance, by 256.
    assert whole_embedder.batches[fitted:] == batch_sizes(len(distinct))

    monkeypatch.setattr(embedding, "SIMILARITY_BLOCK_BYTES", 3_000_000)
    streamed_embedder = BatchSensitiveEmbedder()
    streamed_coder = EmbeddingCoder(streamed_embedder, min_score=0.0).fit(study_codebook)
    assert 100 < streamed_coder._block_windows() < 256  # blocks shorter than a batch: each waits for the next
    streamed = streamed_coder.suggest(segments)
    assert streamed_embedder.batches[fitted:] == batch_sizes(len(distinct))
    pd.testing.assert_frame_equal(streamed, whole, check_exact=True)


def test_text_met_again_far_on_is_encoded_once_and_scores_the_same(study_codebook, sample_corpus, monkeypatch):
    monkeypatch.setattr(embedding, "SIMILARITY_BLOCK_BYTES", 3_000_000)
    segments = participants(sample_corpus)
    again = segments.iloc[[0]].assign(segment_id="again", doc_id="zz-last")
    segments = pd.concat([segments, again], ignore_index=True)
    embedder = HashingEmbedder(dim=64)
    coder = EmbeddingCoder(embedder, min_score=0.0).fit(study_codebook)
    before = coder.embedder_.n_encoded
    out = coder.suggest(segments)
    assert coder.embedder_.n_encoded - before == len(set(window_texts(segments)))
    first = out[out["segment_id"] == segments["segment_id"].iloc[0]].drop(columns=["segment_id", "doc_id"])
    last = out[out["segment_id"] == "again"].drop(columns=["segment_id", "doc_id"])
    pd.testing.assert_frame_equal(first.reset_index(drop=True), last.reset_index(drop=True), check_exact=True)


def test_cached_embedder_memory_is_bounded_and_what_left_comes_back_from_the_cache():
    texts = [f"texto número {i} sobre la red de directoras" for i in range(600)]
    cache = MemoryEmbeddingCache()
    embedder = CachedEmbedder(HashingEmbedder(dim=64), cache, memory_bytes=100 * 64 * 4)
    first = embedder.encode(texts)
    assert 0 < embedder.held_bytes <= 100 * 64 * 4 and embedder.n_encoded == 600
    assert np.array_equal(embedder.encode(texts[:50]), first[:50]) and embedder.n_encoded == 600
    # Without a cache a vector that left the memory is encoded again (said in CachedEmbedder's docstring).
    alone = CachedEmbedder(HashingEmbedder(dim=64), memory_bytes=100 * 64 * 4)
    alone.encode(texts)
    alone.encode(texts[:50])
    assert alone.n_encoded == 650 and alone.held_bytes <= 100 * 64 * 4


def peak_bytes(coder: EmbeddingCoder, segments: pd.DataFrame) -> int:
    tracemalloc.start()
    try:
        coder.suggest(segments)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_embedding_suggest_memory_does_not_grow_with_the_corpus(study_codebook, sample_corpus, monkeypatch,
                                                                tmp_path):
    monkeypatch.setattr(embedding, "SIMILARITY_BLOCK_BYTES", 2_000_000)
    monkeypatch.setattr(embedding, "_PLAN_UNITS", 256)
    monkeypatch.setattr(embedders, "MEMORY_BYTES", 200_000)
    peaks, n_windows = [], []
    for copies in (2, 10):
        segments = participants(sample_corpus, copies)
        with qc.Project.create(tmp_path / f"{copies}.qualcode") as project:  # vectors on disk, as in a round
            coder = EmbeddingCoder(HashingEmbedder(dim=512), cache=project.embedding_cache(), min_score=1.0)
            coder.fit(study_codebook)  # min_score 1: no suggestion kept, only the work is measured
            peaks.append(peak_bytes(coder, segments))
        n_windows.append(len(window_texts(segments)))
    per_window = (peaks[1] - peaks[0]) / (n_windows[1] - n_windows[0])
    # A window keeps a few integers and its text key (about 70 bytes); its 2 KiB vector must not stay (the
    # coder kept about 4.7 KB per window before: every window's text, its vector, and the vector again).
    assert per_window < 300, per_window


class CountingCache(MemoryEmbeddingCache):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def get(self, keys):
        self.asked += len(keys)
        return super().get(keys)


def test_codebook_embeddings_are_read_once_from_the_cache_by_a_second_fit(study_codebook, sample_corpus, tmp_path):
    segments = participants(sample_corpus).head(60)
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        first = EmbeddingCoder(HashingEmbedder(dim=64), cache=project.embedding_cache()).fit(study_codebook)
        assert first.embedder_.n_encoded == len(first.prototypes_) + len(first.exclusions_)
        second = EmbeddingCoder(HashingEmbedder(dim=64), cache=project.embedding_cache()).fit(study_codebook)
        assert second.embedder_.n_encoded == 0
        assert np.array_equal(second.proto_vectors_, first.proto_vectors_)
        assert np.array_equal(second.excl_vectors_, first.excl_vectors_)
        pd.testing.assert_frame_equal(second.suggest(segments), first.suggest(segments), check_exact=True)
    counting = CountingCache()
    EmbeddingCoder(HashingEmbedder(dim=64), cache=counting).fit(study_codebook)
    counting.asked = 0
    EmbeddingCoder(HashingEmbedder(dim=64), cache=counting).fit(study_codebook)
    assert counting.asked == 1  # one entry for the codebook, not one per prototype


def test_codebook_embeddings_of_another_version_are_not_reused(study_codebook, tmp_path):
    # One label changed: another version; the unchanged texts still come from the cache one by one.
    source = Path(qc.__file__).resolve().parents[1] / "codebooks"
    for path in source.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    first = next(iter(study_codebook))
    label = first.label["es"]
    said = f'label: {{es: "{label}"'
    dimension = next(p for p in tmp_path.glob("*.yaml") if said in p.read_text(encoding="utf-8"))
    dimension.write_text(dimension.read_text(encoding="utf-8").replace(said, f'label: {{es: "{label} (revisado)"'),
                         encoding="utf-8")
    changed = qc.load_codebook(tmp_path / "nic_study.yaml")
    assert changed.version != study_codebook.version
    cache = MemoryEmbeddingCache()
    before = EmbeddingCoder(HashingEmbedder(dim=64), cache=cache).fit(study_codebook)
    after = EmbeddingCoder(HashingEmbedder(dim=64), cache=cache).fit(changed)
    assert after.embedder_.n_encoded == 1
    assert after.prototypes_["text"].tolist() != before.prototypes_["text"].tolist()


def test_fitted_coder_sent_to_a_worker_leaves_its_held_vectors_behind(study_codebook, sample_corpus):
    coder = EmbeddingCoder(HashingEmbedder(dim=512), cache=MemoryEmbeddingCache()).fit(study_codebook)
    segments = participants(sample_corpus).head(200)
    expected = coder.suggest(segments)
    assert coder.embedder_.held_bytes > 0
    copy = pickle.loads(pickle.dumps(coder))
    assert copy.embedder_.held_bytes == 0
    pd.testing.assert_frame_equal(copy.suggest(segments), expected, check_exact=True)


@pytest.mark.slow
def test_sample_suggestions_with_use_are_the_same_by_blocks_and_in_one_block(study_codebook, sample_corpus,
                                                                            monkeypatch):
    cache = MemoryEmbeddingCache()
    whole = EmbeddingCoder(cache=cache).fit(study_codebook).suggest(sample_corpus.segments)
    monkeypatch.setattr(embedding, "SIMILARITY_BLOCK_BYTES", 3_000_000)
    coder = EmbeddingCoder(cache=cache).fit(study_codebook)
    assert coder._block_windows() < 200
    pd.testing.assert_frame_equal(coder.suggest(sample_corpus.segments), whole, check_exact=True)
    # The evidence's similarity, read from the scoring product, is the nearest prototype's cosine.
    shown = whole["evidence"].str.extract(r"(-?\d\.\d\d)$")[0].astype(float)
    texts = sample_corpus.segments.set_index("segment_id")["text"]
    row = whole.iloc[0]
    a, b = row["spans"][0]
    start = sample_corpus.segments.set_index("segment_id").loc[row["segment_id"], "start"]
    window = coder.embedder_.encode([texts[row["segment_id"]][a - start:b - start]])[0]
    best = max(range(len(coder.prototypes_)), key=lambda j: -1 if coder.prototypes_["code_id"][j] != row["code_id"]
               else float(coder.proto_vectors_[j] @ window))
    assert abs(float(coder.proto_vectors_[best] @ window) - shown.iloc[0]) <= 0.0051


def test_round_by_chunks_after_prepare_gives_one_calls_suggestions(study_codebook, sample_corpus):
    # What a streamed round does: encode the round's windows once, then suggest chunk by chunk.
    segments = participants(sample_corpus, 2)
    whole = EmbeddingCoder(BatchSensitiveEmbedder(), min_score=0.0).fit(study_codebook).suggest(segments)
    coder = EmbeddingCoder(BatchSensitiveEmbedder(), cache=MemoryEmbeddingCache(), min_score=0.0)
    coder.fit(study_codebook).prepare(segments)
    docs = list(dict.fromkeys(segments["doc_id"]))
    parts = [coder.suggest_part(segments[segments["doc_id"].isin(docs[i:i + 4])]) for i in range(0, len(docs), 4)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole, check_exact=True)
