"""EmbeddingCoder, LearnedCoder, EnsembleCoder, suggest() and evaluate()."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders import CachedEmbedder, EmbeddingCache, EmbeddingCoder, LearnedCoder, MemoryEmbeddingCache, evaluate
from qualcode.coders.embedding import windows
from qualcode.coders.ensemble import combine
from qualcode.errors import ParameterError
from qualcode.testing import HashingEmbedder


def segs(*texts, lang="es"):
    return pd.DataFrame({"segment_id": [f"s{i}" for i in range(len(texts))], "doc_id": "d", "text": list(texts),
                         "start": 0, "speaker_role": "participant", "language": lang})


@pytest.fixture(scope="module")
def use_coder(study_codebook):
    return EmbeddingCoder().fit(study_codebook)


def top_codes(coder, text, lang="es", n=3):
    out = coder.suggest(segs(text, lang=lang)).sort_values("score", ascending=False)
    return list(out["code_id"][:n])


@pytest.mark.parametrize("text, lang, code", [
    ("El grupo de WhatsApp nos salvó, a cualquier hora alguien respondía.", "es", "collaboration.channels"),
    ("Hicimos la espina de pescado para ver las causas del problema.", "es", "improvement_science.problem.root_causes"),
    ("The WhatsApp group saved us, someone always answered, even at night.", "en", "collaboration.channels"),
])
def test_use_embedding_finds_the_code_by_meaning_in_both_languages(use_coder, text, lang, code):
    assert code in top_codes(use_coder, text, lang)


def test_scores_are_in_unit_interval_for_every_backend(study_codebook, sample_corpus):
    for embedder in ("use", "tfidf", HashingEmbedder()):
        out = EmbeddingCoder(embedder, min_score=0.0).fit(study_codebook).suggest(sample_corpus.segments.head(40))
        assert len(out) and out["score"].between(0, 1).all(), embedder


def test_calibration_puts_background_examples_low(use_coder):
    # Each code's own background (examples of unrelated codes) must mostly score below 0.5.
    vectors = use_coder.proto_vectors_[(use_coder.prototypes_["kind"] == "example").to_numpy()]
    raw, _, _ = use_coder._raw(vectors)
    assert (use_coder.calibrate(raw) < 0.5).mean() > 0.9


def test_long_turns_are_scored_by_sentence_windows_with_their_span(study_codebook):
    text = ("Hablamos del clima y del almuerzo, nada importante. " * 6 +
            "El grupo de WhatsApp de la red nos salvó, a cualquier hora alguien respondía.")
    coder = EmbeddingCoder(max_words=20).fit(study_codebook)
    out = coder.suggest(segs(text)).set_index("code_id")
    start, end = out.loc["collaboration.channels", "spans"][0]
    assert "WhatsApp" in text[start:end] and end - start < len(text) / 2
    assert windows("Uno dos. Tres cuatro. Cinco.", 2) == [(0, 8), (9, 21), (22, 28)]


def test_second_run_on_an_unchanged_corpus_encodes_nothing(project, study_codebook):
    first = EmbeddingCoder(HashingEmbedder(), cache=project.embedding_cache()).fit(study_codebook)
    first.suggest(project.segments)
    assert first.embedder_.n_encoded > 0
    second = EmbeddingCoder(HashingEmbedder(), cache=project.embedding_cache()).fit(study_codebook)
    out = second.suggest(project.segments)
    assert second.embedder_.n_encoded == 0 and second.embedder_.embedder.calls == 0
    assert len(out) > 0


def test_cached_embedder_returns_the_same_vectors(tmp_path, project):
    texts = ["uno dos tres", "cuatro cinco", "uno dos tres"]
    direct = HashingEmbedder().encode(texts)
    cached = CachedEmbedder(HashingEmbedder(), project.embedding_cache())
    assert (cached.encode(texts) == direct).all() and cached.n_encoded == 2
    assert (CachedEmbedder(HashingEmbedder(), project.embedding_cache()).encode(texts) == direct).all()


def test_memory_cache_serves_a_second_embedder_without_encoding():
    cache = MemoryEmbeddingCache()
    texts = ["uno dos tres", "cuatro cinco"]
    first = CachedEmbedder(HashingEmbedder(), cache)
    direct = first.encode(texts)
    second = CachedEmbedder(HashingEmbedder(), cache)
    assert (second.encode(texts) == direct).all()
    assert second.n_encoded == 0 and second.embedder.calls == 0
    assert isinstance(cache, EmbeddingCache) and len(cache.vectors) == 2


def test_project_cache_uses_the_open_project_not_the_file(project, monkeypatch):
    cache = project.embedding_cache()
    monkeypatch.setattr(qc.Project, "open", lambda *a, **k: pytest.fail("the cache reopened the project file"))
    texts = ["uno dos tres", "cuatro cinco"]
    direct = CachedEmbedder(HashingEmbedder(), cache).encode(texts)
    again = CachedEmbedder(HashingEmbedder(), cache)
    assert (again.encode(texts) == direct).all() and again.n_encoded == 0 and again.embedder.calls == 0


def test_cloned_coders_share_one_cache(project):
    from sklearn.base import clone

    coder = EmbeddingCoder(HashingEmbedder(), cache=project.embedding_cache())
    assert clone(coder).cache is coder.cache


@pytest.mark.parametrize("given", ["study.qualcode", 42])
def test_a_cache_that_is_not_a_cache_object_is_refused(given, study_codebook):
    with pytest.raises(ParameterError, match=r"embedding_cache\(\)"):
        EmbeddingCoder(HashingEmbedder(), cache=given).fit(study_codebook)


def test_unknown_embedder_is_refused():
    with pytest.raises(ParameterError, match="unknown embedder"):
        EmbeddingCoder("bert").fit(qc.load_codebook("leadership"))


def test_combine_merges_methods_ranks_and_cuts():
    kw = pd.DataFrame({"segment_id": ["a", "a"], "doc_id": "d", "code_id": ["x", "y"], "method": "keyword",
                       "score": [0.5, 0.9], "evidence": ["«w»", "«v»"], "spans": [[[0, 1]], [[2, 3]]],
                       "codebook_version": "v"})
    em = kw.assign(method="embedding", score=[0.6, 0.1], evidence=["≈ e", "≈ f"])
    out = combine([kw, em], top_k=1, min_score=0.5)
    assert out[["code_id", "method", "rank"]].values.tolist() == [["y", "embedding+keyword", 1]]

    def prior(keyword: float, embedding: float) -> float:  # the documented prior, written out
        z = 4.5 + 1.2 * math.log(embedding / (1 - embedding))
        return 1 / (1 + math.exp(-(-4.2 + 2.0 * -math.log(1 - keyword) + 0.7 * z)))

    assert out["score"].iloc[0] == pytest.approx(prior(0.9, 0.1), abs=1e-4)
    both = combine([kw, em], top_k=2, min_score=0.0)
    assert list(both["code_id"]) == ["y", "x"] and both["score"].iloc[1] == pytest.approx(prior(0.5, 0.6), abs=1e-4)


def test_learned_coder_models_codes_with_enough_examples(sample_corpus, study_codebook):
    texts = sample_corpus.segments.set_index("segment_id")["text"]
    coding = pd.read_csv(qc.__file__.rsplit("/qualcode/", 1)[0] + "/data_samples/coding/ana.csv")
    decisions = coding.assign(decision="accept", quote=coding["segment_id"].map(texts))
    coder = LearnedCoder(HashingEmbedder(), min_positive=5).fit(study_codebook, decisions)
    counts = coder.counts_.set_index("code_id")
    assert set(coder.models_) == set(counts[counts["learned"]].index)
    assert (counts.loc[list(coder.models_), "n_positive"] >= 5).all()
    out = coder.suggest(sample_corpus.segments)
    assert set(out["method"]) == {"learned"} and set(out["code_id"]) <= set(coder.models_)
    assert out["evidence"].str.startswith("learned from").all()


def test_suggest_on_a_project_stores_a_ranked_table(project):
    out = qc.suggest(project, methods=("keyword",), top_k=2, min_score=0.4)
    assert out.groupby("segment_id")["rank"].max().max() <= 2
    assert (out["score"] >= 0.4).all()
    assert len(project.suggestions) == len(out)


def test_evaluate_reports_codes_dimensions_micro_and_baseline():
    gold = pd.DataFrame({"segment_id": ["a", "b", "c"], "code_id": ["x.one", "x.two", "y.one"]})
    sugg = pd.DataFrame({"segment_id": ["a", "b", "c", "c"], "code_id": ["x.one", "x.one", "y.one", "x.two"],
                         "score": [0.9, 0.8, 0.7, 0.6]})
    table = evaluate(sugg, gold, segments=["a", "b", "c", "d"], k=1)
    micro = table.query("system == 'coder' and level == 'micro (code)'").iloc[0]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (2, 2, 1)
    assert micro["precision"] == 0.5 and micro["recall"] == pytest.approx(2 / 3)
    dims = table.query("system == 'coder' and level == 'dimension'").set_index("code_id")
    assert dims.loc["x", "tp"] == 2 and dims.loc["x", "fp"] == 1
    assert micro["recall_at_k"] == pytest.approx(2 / 3)
    assert set(table["system"]) == {"coder", "baseline"}
