"""Every coder passes the shared contract check on the sample corpus."""

from __future__ import annotations

import pytest

import qualcode as qc
from qualcode.coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder
from qualcode.testing import HashingEmbedder, check_coder


@pytest.fixture(scope="module")
def gold_decisions(sample_corpus):
    import pandas as pd

    coding = pd.read_csv(qc.__file__.rsplit("/qualcode/", 1)[0] + "/data_samples/coding/luis.csv")
    texts = sample_corpus.segments.set_index("segment_id")["text"]
    coding = coding[coding["segment_id"].isin(texts.index)]
    return coding.assign(decision="accept", quote=coding["segment_id"].map(texts))


@pytest.mark.parametrize("make", [
    lambda: KeywordCoder(),
    lambda: EmbeddingCoder(HashingEmbedder()),
    lambda: EmbeddingCoder("tfidf"),
    lambda: LearnedCoder(HashingEmbedder()),
    lambda: EnsembleCoder([KeywordCoder(), EmbeddingCoder(HashingEmbedder())]),
], ids=["keyword", "embedding-hashing", "embedding-tfidf", "learned", "ensemble"])
def test_every_coder_follows_the_contract(make, sample_corpus, study_codebook, gold_decisions):
    out = check_coder(make(), study_codebook, sample_corpus.segments, gold_decisions)
    assert len(out) > 0
