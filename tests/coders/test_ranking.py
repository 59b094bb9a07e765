"""The fused ranking: every code for every segment, parents only as a fallback, scores that read as
probabilities, weights learned from decisions, and learning without re-encoding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import qualcode as qc
from qualcode.codebook import Codebook
from qualcode.codebook.model import Code
from qualcode.coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder, suggest
from qualcode.coders.ensemble import combine
from qualcode.coders.fusion import CALIBRATED_AFTER, PRIOR, STRENGTHS, Fusion
from qualcode.testing import HashingEmbedder


def segs(*texts: str, lang: str = "es") -> pd.DataFrame:
    return pd.DataFrame({"segment_id": [f"s{i}" for i in range(len(texts))], "doc_id": "d", "text": list(texts),
                         "start": 0, "speaker_role": "participant", "language": lang})


def part(method: str, rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"segment_id": [r[0] for r in rows], "doc_id": "d", "code_id": [r[1] for r in rows],
                         "method": method, "score": [r[2] for r in rows], "evidence": "e", "spans": [[[0, 1]]] * len(rows),
                         "codebook_version": "v"})


def leaves(codebook: Codebook) -> set[str]:
    return {c.id for c in codebook if not codebook.children(c.id)}


@pytest.fixture(scope="module")
def turns(sample_corpus):
    segments = sample_corpus.segments
    return segments[segments["speaker_role"] == "participant"].head(12)


def shapes(codebook: Codebook) -> dict[str, Codebook]:
    """The codebook shapes teams bring: labels only, labels + definitions, with examples, keywords only."""
    def keep(name: str, **fields: bool) -> Codebook:
        codes = [Code(c.id, label=dict(c.label), definition=dict(c.definition) if fields.get("definition") else {},
                      examples={k: list(v) for k, v in c.examples.items()} if fields.get("examples") else {},
                      keywords={k: list(v) for k, v in c.keywords.items()} if fields.get("keywords") else {})
                 for c in codebook]
        return dataclasses.replace(codebook, id=f"{codebook.id}_{name}", codes=codes)

    return {"labels": keep("labels"), "definitions": keep("definitions", definition=True),
            "examples": keep("examples", definition=True, examples=True), "keywords": keep("keywords", keywords=True)}


@pytest.mark.parametrize("shape", ["labels", "definitions", "examples", "keywords"])
def test_every_codebook_shape_gets_a_full_ranking_without_crash_or_silent_zero(shape, study_codebook, turns):
    codebook = shapes(study_codebook)[shape]
    # The keyword method on a codebook without keywords is skipped with a warning (test_codebook_shapes.py).
    methods = ("keyword", "embedding") if shape == "keywords" else ("embedding",)
    out = suggest(turns, codebook, methods=methods, embedder=HashingEmbedder(), top_k=None, min_score=0.0)
    per_segment = out.groupby("segment_id")["code_id"].apply(set)
    assert len(per_segment) == len(turns)
    assert all(codes == {c.id for c in codebook} for codes in per_segment), shape  # parents too, after the leaves
    assert leaves(codebook) < {c.id for c in codebook}
    assert out["score"].between(0, 1).all() and out["score"].nunique() > 10, shape
    assert (out.groupby("segment_id")["rank"].min() == 1).all()


def test_member_floors_do_not_cut_the_ensemble_ranking(study_codebook, turns):
    members = [KeywordCoder(min_score=0.9), EmbeddingCoder(HashingEmbedder(), min_score=0.99)]
    out = EnsembleCoder(members, top_k=None, min_score=0.0).fit(study_codebook).suggest(turns)
    assert out.groupby("segment_id").size().eq(len(list(study_codebook))).all()
    # The members given keep their own floors: fit works on clones.
    assert members[1].min_score == 0.99


def test_parent_code_never_takes_a_slot_from_its_children():
    # "a" scores highest, but its child a.x passes min_score: only leaves are suggested.
    kw = part("keyword", [("s", "a", 0.95), ("s", "a.x", 0.75), ("s", "b", 0.75)])
    out = combine([kw], top_k=2, min_score=0.1, codes=["a", "a.x", "b"])
    assert list(out["code_id"]) == ["a.x", "b"]


def test_parent_code_is_suggested_where_no_child_fits_after_the_leaves():
    kw = part("keyword", [("s", "a", 0.95), ("s", "a.x", 0.01), ("s", "b", 0.6)])
    out = combine([kw], top_k=3, min_score=0.1, codes=["a", "a.x", "b"])
    assert list(out["code_id"]) == ["b", "a"] and list(out["rank"]) == [1, 2]
    assert out.set_index("code_id").loc["a", "score"] > out.set_index("code_id").loc["b", "score"]


def test_a_single_keyword_hit_is_not_a_coin_toss():
    one_word = part("keyword", [("s", "a", 0.5)])
    alone = combine([one_word], top_k=3, min_score=0.0)["score"].iloc[0]
    em = part("embedding", [("s", "a", 0.02)])  # the code is no closer to the text than the others
    beside = combine([one_word, em], top_k=3, min_score=0.0)["score"].iloc[0]
    assert alone < 0.2 and beside < 0.1


def test_junk_text_does_not_score_high(study_codebook):
    junk = segs("asdf qwer zxcv", "jajaja ok ok", "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
                "mmm", "1234 5678")
    out = suggest(junk, study_codebook, embedder=HashingEmbedder(), top_k=None, min_score=0.0)
    assert len(out) and out["score"].max() < 0.5


def test_no_suggestion_passing_min_score_is_an_empty_ranked_table():
    out = combine([part("keyword", [("s", "a", 0.01)])], top_k=3, min_score=0.99)
    assert out.empty and "rank" in out.columns


def test_learned_evidence_adds_to_keyword_evidence_instead_of_replacing_it():
    kw = part("keyword", [("s", "a", 0.9)])
    learned = part("learned", [("s", "a", 0.3)])
    fused = combine([kw, learned], top_k=3, min_score=0.0)
    only_learned = combine([learned], top_k=3, min_score=0.0)
    assert fused["method"].iloc[0] == "keyword+learned"
    assert fused["score"].iloc[0] > only_learned["score"].iloc[0] + 0.2


def test_fusion_weighs_each_code_by_how_reliable_its_evidence_was():
    # Code "k": its keyword evidence says it all. Code "e": keyword hits are noise, embedding is the signal.
    rng = np.random.default_rng(0)
    n = 400
    rows = []
    for code, strong in (("k", "keyword"), ("e", "embedding")):
        label = rng.random(n) < 0.2
        signal = np.where(label, 1.0, 0.0)
        noise = rng.random(n)
        rows.append(pd.DataFrame({
            "segment_id": [f"{code}{i}" for i in range(n)], "code_id": code, "label": label.astype(int),
            "keyword": 1.4 * (signal if strong == "keyword" else (noise < 0.3)),
            "embedding": 3.0 * signal + rng.normal(0, 0.5, n) if strong == "embedding" else rng.normal(0, 1, n),
            "learned": 0.0}))
    data = pd.concat(rows, ignore_index=True)
    fusion = Fusion().fit(data, data["label"].to_numpy())
    w = fusion.weights_
    assert w.loc["k", "keyword"] > w.loc["e", "keyword"] + 1.0
    assert w.loc["e", "embedding"] > w.loc["k", "embedding"] + 0.5
    assert fusion.calibrated and fusion.n_coded_ >= CALIBRATED_AFTER
    # Calibrated on the decisions: predicted probabilities match the observed rates band by band.
    p = fusion.predict(data)
    for lo, hi in ((0.0, 0.1), (0.5, 1.0)):
        band = (p >= lo) & (p < hi)
        assert abs(p[band].mean() - data["label"][band].mean()) < 0.08


def _pairs(rng, groups: list[str], n: int, keyword_weight: float) -> pd.DataFrame:
    """Decided pairs over ``groups`` (documents) where the label follows the prior with keyword evidence
    ``keyword_weight`` times as telling as the prior says."""
    keyword = (rng.random(len(groups) * n) < 0.3) * 1.0
    embedding = rng.normal(0, 1, len(groups) * n)
    z = PRIOR["intercept"] + keyword_weight * PRIOR["keyword"] * keyword + PRIOR["embedding"] * embedding
    return pd.DataFrame({"segment_id": [f"s{i}" for i in range(len(groups) * n)], "code_id": "c",
                         "doc": np.repeat(groups, n), "keyword": keyword, "embedding": embedding, "learned": 0.0,
                         "label": (rng.random(len(z)) < 1 / (1 + np.exp(-z))).astype(int)})


def test_fusion_pull_toward_the_prior_is_chosen_on_held_out_documents():
    rng = np.random.default_rng(1)
    # Decisions that follow the prior: whichever pull predicts the held-out documents best, the weights stay
    # near the prior.
    prior_like = _pairs(rng, ["d1", "d2", "d3", "d4"], 150, 1.0)
    fusion = Fusion().fit(prior_like, prior_like["label"].to_numpy(), groups=prior_like["doc"].to_numpy())
    assert len(fusion.cv_loss_) == len(STRENGTHS)
    assert fusion.strengths_ == STRENGTHS[int(np.argmin(fusion.cv_loss_.to_numpy()))]
    assert abs(fusion.pooled_[1] - PRIOR["keyword"]) < 0.4
    # Decisions where keywords tell half what the prior says, on every document: the fitted pull wins.
    weaker = _pairs(rng, ["d1", "d2", "d3", "d4"], 400, 0.5)
    fusion = Fusion().fit(weaker, weaker["label"].to_numpy(), groups=weaker["doc"].to_numpy())
    assert fusion.strengths_ != (np.inf, np.inf)
    assert fusion.pooled_[1] < PRIOR["keyword"] - 0.3
    assert fusion.cv_loss_.iloc[0] > fusion.cv_loss_.min()
    # One document: nothing to hold out, the documented pull.
    one = Fusion().fit(weaker, weaker["label"].to_numpy(), groups=np.full(len(weaker), "d1"))
    assert one.strengths_ == STRENGTHS[-1] and one.cv_loss_.empty


def test_ensemble_updates_every_member_tagged_as_learning_whatever_its_class(study_codebook, turns):
    class Learner(KeywordCoder):
        """Not a LearnedCoder: tagged as learning from decisions, with an update()."""

        seen: list[int] = []  # noqa: RUF012 - a test double

        def coder_tags(self):
            return dataclasses.replace(super().coder_tags(), needs_decisions=True)

        def update(self, decisions):
            Learner.seen.append(len(decisions))
            return self

    coder = EnsembleCoder([Learner()], top_k=None, min_score=0.0).fit(study_codebook)
    decided = pd.DataFrame({"segment_id": turns["segment_id"].iloc[:2], "code_id": "leadership.workload.time",
                            "decision": "accept", "coder": "ana", "quote": turns["text"].iloc[:2]})
    coder.update(decided)
    assert Learner.seen == [2]


def test_fusion_keeps_the_prior_before_any_decision():
    fusion = Fusion()
    assert fusion.pooled_.tolist()[:4] == [PRIOR["intercept"], PRIOR["keyword"], PRIOR["embedding"], PRIOR["learned"]]
    assert not fusion.calibrated


def decisions_for(corpus, codes: list[str], n: int) -> pd.DataFrame:
    texts = corpus.segments.set_index("segment_id")["text"]
    coding = pd.read_csv(qc.__file__.rsplit("/qualcode/", 1)[0] + "/data_samples/coding/ana.csv")
    coding = coding[coding["code_id"].isin(codes)].groupby("code_id").head(n)
    return coding.assign(decision="accept", quote=coding["segment_id"].map(texts), coder="ana")


def test_update_learns_from_new_decisions_without_reencoding(sample_corpus, study_codebook, turns):
    codes = ["collaboration.building_blocks.trust", "leadership.workload.time", "leadership.support.lacking"]
    few = decisions_for(sample_corpus, codes, 3)
    more = decisions_for(sample_corpus, codes, 6)
    embedder = HashingEmbedder()
    coder = EnsembleCoder([KeywordCoder(), EmbeddingCoder(embedder), LearnedCoder(embedder)], top_k=None,
                          min_score=0.0).fit(study_codebook, few)
    learned = next(c for c in coder.coders_ if isinstance(c, LearnedCoder))
    assert set(learned.models_) == set(codes)  # 3 accepted examples per code are enough to start
    before = coder.suggest(turns)
    coder.suggest(sample_corpus.segments)  # every segment encoded once, as suggesting the project does
    encoded = learned.embedder_.n_encoded
    coder.update(more)
    assert learned.embedder_.n_encoded == encoded  # nothing encoded again
    assert learned.counts_.set_index("code_id").loc[codes, "n_positive"].eq(6).all()
    after = coder.suggest(turns)
    assert not np.allclose(before["score"].to_numpy(), after.set_index(["segment_id", "code_id"])["score"]
                           .reindex(pd.MultiIndex.from_frame(before[["segment_id", "code_id"]])).to_numpy())


def recall_at_3(ranking: pd.DataFrame, gold: set) -> float:
    top = ranking.sort_values(["segment_id", "score"], ascending=[True, False], kind="stable").groupby("segment_id").head(3)
    return len(set(zip(top["segment_id"], top["code_id"], strict=True)) & gold) / len(gold)


@pytest.mark.slow
def test_definition_only_codebook_ranks_above_the_content_baseline_and_the_prior(sample_corpus, study_codebook):
    # The shipped codebook stripped to labels + definitions, the shape codebooks from papers come in: the
    # old calibration put every real turn near 0 here. Gold: the sample's human coding.
    from sklearn.feature_extraction.text import TfidfVectorizer

    book = shapes(study_codebook)["definitions"]
    segments = sample_corpus.segments
    turns = segments[segments["speaker_role"] == "participant"]
    ids = list(turns["segment_id"])
    coding = pd.read_csv(qc.__file__.rsplit("/qualcode/", 1)[0] + "/data_samples/coding/ana.csv")
    gold = set(zip(coding["segment_id"], coding["code_id"], strict=True))
    ranking = suggest(turns, book, methods=("embedding",), top_k=None, min_score=0.0)  # no keywords to use
    codes = [c.id for c in book]
    docs = [" ".join(v for lang in ("es", "en") for v in (c.label.get(lang, ""), c.definition.get(lang, "")))
            for c in book]
    tfidf = TfidfVectorizer(sublinear_tf=True).fit(list(turns["text"]) + docs)
    sims = (tfidf.transform(turns["text"]) @ tfidf.transform(docs).T).toarray()
    content = pd.DataFrame({"segment_id": np.repeat(ids, len(codes)), "code_id": np.tile(codes, len(ids)),
                            "score": sims.ravel()})
    frequent = coding["code_id"].value_counts().index[:3]
    prior_hits = sum((s, c) in gold for s in ids for c in frequent) / len(gold)
    ours = recall_at_3(ranking, gold)
    assert ours > recall_at_3(content, gold) + 0.03 and ours > prior_hits + 0.03
    default = suggest(turns, book, methods=("embedding",))  # the default methods, less keywords it has none of
    assert default["segment_id"].nunique() > 0.3 * len(ids)  # no silent zero
