"""Issue 22, a new user's trial on small projects: learning from rejections, ``qualcode evaluate`` on few
decisions, and the messages it met."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualcode.coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder
from qualcode.coders.fusion import DECIDED, Fusion
from qualcode.testing import HashingEmbedder


@pytest.fixture(scope="module")
def turns(sample_corpus):
    segments = sample_corpus.segments
    return segments[segments["speaker_role"] == "participant"].head(40).reset_index(drop=True)


def decisions_of(rows: pd.DataFrame, kind: str, turns: pd.DataFrame) -> pd.DataFrame:
    quote = turns.set_index("segment_id")["text"]
    return pd.DataFrame({"segment_id": rows["segment_id"].to_numpy(), "doc_id": rows["doc_id"].to_numpy(),
                         "code_id": rows["code_id"].to_numpy(), "decision": kind, "coder": "ana",
                         "quote": quote.reindex(rows["segment_id"]).to_numpy()})


def test_wrong_direction_a_rejected_pair_scores_lower_after_learning_and_an_accepted_one_higher(
        turns, study_codebook):
    # The trial: after a review where most shown suggestions were accepted, every rejected pair scored
    # higher than before its rejection (the refitted weights rose for every pair alike).
    def ensemble() -> EnsembleCoder:
        return EnsembleCoder([KeywordCoder(), EmbeddingCoder(HashingEmbedder()), LearnedCoder(HashingEmbedder())],
                             top_k=None, min_score=0.0)

    before = ensemble().fit(study_codebook).suggest(turns)
    top = before[before["rank"] == 1].reset_index(drop=True)
    rejected, accepted = top.iloc[::4], top.drop(top.index[::4])
    decisions = pd.concat([decisions_of(accepted, "accept", turns), decisions_of(rejected, "reject", turns)],
                          ignore_index=True)
    after = ensemble().fit(study_codebook, decisions).suggest(turns)
    key = ["segment_id", "code_id"]
    was = rejected[[*key, "score"]].merge(after[[*key, "score", "rank", "evidence"]], on=key,
                                          suffixes=("_before", "_after"))
    assert len(was) == len(rejected) >= 5
    assert (was["score_after"] < was["score_before"]).all()
    assert (was["rank"] > 1).all()
    assert was["evidence"].str.contains("decided: rejected").all()
    now = accepted[[*key, "score"]].merge(after[[*key, "score"]], on=key, suffixes=("_before", "_after"))
    assert (now["score_after"] > now["score_before"]).all()


def test_wrong_direction_the_decision_moves_only_its_own_pair():
    fusion = Fusion(embedding=False)
    evidence = pd.DataFrame({"segment_id": ["a", "a", "b"], "code_id": ["x", "y", "x"], "keyword": [0.7, 0.7, 0.7]})
    plain = fusion.predict(evidence)
    fusion.decide(pd.DataFrame({"segment_id": ["a", "a", "a"], "code_id": ["x", "x", "y"],
                                "decision": ["reject", "accept", "reject"]}))
    moved = fusion.predict(evidence)
    logit = np.log(moved / (1 - moved)) - np.log(plain / (1 - plain))
    # Coded by anyone wins over someone's rejection; an undecided pair is scored as before.
    assert logit.round(6).tolist() == [DECIDED, -DECIDED, 0.0]
