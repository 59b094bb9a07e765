"""The full ranking (``top_k=None, min_score=0``) ranks every code, parents included, after the leaves that fit;
its first rows are the default suggestions, which stay as they were: leaves first, a parent only where no child
fits."""

from __future__ import annotations

import pandas as pd
import pytest

from qualcode.coders import suggest
from qualcode.coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, combine, shown
from qualcode.testing import HashingEmbedder

CODES = ["a", "a.x", "a.y", "b", "c"]


def part(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Keyword evidence: 0.95 fuses to about 0.97, 0.6 to 0.16 (fits), 0.3 to 0.04 and 0.01 to 0.02 (near misses)."""
    return pd.DataFrame({"segment_id": [r[0] for r in rows], "doc_id": "d", "code_id": [r[1] for r in rows],
                         "method": "keyword", "score": [r[2] for r in rows], "evidence": "e",
                         "spans": [[[0, 1]]] * len(rows), "codebook_version": "v"})


def ranked(out: pd.DataFrame, segment: str) -> list[str]:
    return list(out[out["segment_id"] == segment].sort_values("rank")["code_id"])


# s: no child of "a" fits, "a" does; t: its child a.x fits.
EVIDENCE = part([("s", "a", 0.95), ("s", "a.x", 0.3), ("s", "a.y", 0.01), ("s", "b", 0.6), ("s", "c", 0.2),
                 ("t", "a", 0.95), ("t", "a.x", 0.6), ("t", "b", 0.3)])


def test_full_ranking_drops_parent_codes():
    out = combine([EVIDENCE], top_k=None, min_score=0.0, codes=CODES)
    # Where no child fits, the parent follows the leaves that fit (b), before the near misses.
    assert ranked(out, "s") == ["b", "a", "a.x", "c", "a.y"]
    # Where a child fits, the parent is still ranked: last, after every leaf.
    assert ranked(out, "t") == ["a.x", "b", "a"]
    assert out.groupby("segment_id")["rank"].apply(list).to_dict() == {"s": [1, 2, 3, 4, 5], "t": [1, 2, 3]}


def test_no_child_fits_is_judged_at_the_suggestion_floor_not_at_a_lower_min_score():
    # a.x scores 0.04: above min_score=0.01 but below the floor, so "a" is the one that fits.
    out = combine([EVIDENCE], top_k=3, min_score=0.01, codes=CODES)
    assert ranked(out, "s") == ["b", "a", "a.x"]
    # With min_score above 0, a parent whose child fits is left out, as by default.
    assert ranked(out, "t") == ["a.x", "b"]


@pytest.mark.parametrize(("top_k", "min_score"), [(3, DEFAULT_MIN_SCORE), (2, 0.5), (None, 0.1), (3, 0.01), (4, 0.0)])
def test_suggestions_shown_are_the_head_of_the_full_ranking(top_k, min_score):
    full = combine([EVIDENCE], top_k=None, min_score=0.0, codes=CODES)
    direct = combine([EVIDENCE], top_k=top_k, min_score=min_score, codes=CODES)
    cut = shown(full, top_k=top_k, min_score=min_score)
    assert cut[["segment_id", "code_id", "score", "rank"]].reset_index(drop=True).astype(str).equals(
        direct[["segment_id", "code_id", "score", "rank"]].reset_index(drop=True).astype(str))


def old_default(full: pd.DataFrame, codes: list[str], top_k: int, min_score: float) -> pd.DataFrame:
    """The default suggestions as combine made them before the full ranking kept parents: codes scoring at least
    ``min_score``; a parent only where none of its descendants does; leaves by score, then parents; top ``top_k``."""
    kept = full[full["score"] >= min_score]
    parents = {c for c in codes if any(o.startswith(c + ".") for o in codes)}
    covered = {(s, a) for s, c in zip(kept["segment_id"], kept["code_id"], strict=True) for a in parents
               if c.startswith(a + ".")}
    kept = kept[[(s, c) not in covered for s, c in zip(kept["segment_id"], kept["code_id"], strict=True)]]
    kept = kept.assign(_parent=kept["code_id"].isin(parents))
    kept = kept.sort_values(["segment_id", "_parent", "score", "code_id"], ascending=[True, True, False, True])
    kept = kept.assign(rank=kept.groupby("segment_id").cumcount() + 1)
    return kept[kept["rank"] <= top_k][["segment_id", "code_id", "score", "rank"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def sample_rankings(sample_corpus, study_codebook):
    segments = sample_corpus.segments
    turns = segments[segments["speaker_role"] == "participant"]
    default = suggest(turns, study_codebook, embedder=HashingEmbedder())
    full = suggest(turns, study_codebook, embedder=HashingEmbedder(), top_k=None, min_score=0.0)
    return turns, default, full


def test_default_suggestions_on_the_sample_are_unchanged(sample_rankings, study_codebook):
    turns, default, full = sample_rankings
    codes = [c.id for c in study_codebook]
    expected = old_default(full, codes, DEFAULT_TOP_K, DEFAULT_MIN_SCORE)
    got = default[["segment_id", "code_id", "score", "rank"]].reset_index(drop=True)
    assert len(got) > len(turns)  # real suggestions, some parents among them
    assert got["code_id"].isin([c for c in codes if study_codebook.children(c)]).any()
    assert got.astype(str).equals(expected.astype(str))
    assert shown(full).reset_index(drop=True)[["segment_id", "code_id", "score", "rank"]].astype(str).equals(
        got.astype(str))


def test_full_ranking_on_the_sample_ranks_every_code_fitting_leaves_before_their_parents(sample_rankings, study_codebook):
    turns, _, full = sample_rankings
    codes = {c.id for c in study_codebook}
    assert full.groupby("segment_id")["code_id"].apply(set).eq(codes).all()
    assert len(full.groupby("segment_id")) == len(turns)
    rank = full.set_index(["segment_id", "code_id"])["rank"]
    # A parent never outranks a leaf under it that fits the segment.
    for (segment, code), score in full.set_index(["segment_id", "code_id"])["score"].items():
        if score < DEFAULT_MIN_SCORE or study_codebook.children(code):
            continue
        for parent in (code[:k] for k, ch in enumerate(code) if ch == "."):
            assert rank[(segment, parent)] > rank[(segment, code)]
