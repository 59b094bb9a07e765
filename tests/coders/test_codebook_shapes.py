"""Every codebook shape suggests without a crash and without a silent zero (issue 22), on the sample transcripts.

A real codebook often has labels and definitions only (from a paper, a colleague, another tool); some have
keywords and nothing else. Each shape either gets suggestions, or the method that cannot work says so,
naming itself and what to add.
"""

from __future__ import annotations

import dataclasses
import warnings

import pandas as pd
import pytest

from qualcode.codebook import Codebook
from qualcode.coders import EnsembleCoder, KeywordCoder, method_support
from qualcode.coders import suggest as suggest_table
from qualcode.coders.ensemble import combine
from qualcode.errors import ParameterError, QualcodeWarning

FIELDS = ("definition", "inclusion", "exclusion", "examples", "keywords", "negative_keywords")
SHAPES = {
    "labels_only": (),
    "labels_and_definitions": ("definition",),
    "with_examples": ("definition", "inclusion", "exclusion", "examples"),
    "keywords_only": ("keywords", "negative_keywords"),
}


def shaped(codebook: Codebook, keep: tuple[str, ...]) -> Codebook:
    """The codebook with only labels and the fields in ``keep``."""
    codes = [dataclasses.replace(c, **{f: {} for f in FIELDS if f not in keep}) for c in codebook]
    return Codebook(f"{codebook.id}-{'-'.join(keep) or 'labels'}", codes=codes)


@pytest.fixture(scope="module")
def segments(sample_corpus):
    """Five sample documents, interviewers included."""
    frame = sample_corpus.segments
    return frame[frame["doc_id"].isin(list(dict.fromkeys(frame["doc_id"]))[:5])].reset_index(drop=True)


def _suggest(segments, codebook, **options):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = suggest_table(segments, codebook, **options)
    return out, [str(w.message) for w in caught if issubclass(w.category, QualcodeWarning)]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_codebook_shape_suggests_or_says_why_not(shape, segments, study_codebook):
    codebook = shaped(study_codebook, SHAPES[shape])
    out, said = _suggest(segments, codebook, embedder="tfidf")
    assert set(out["code_id"]) <= {c.id for c in codebook}
    participants = set(segments.loc[segments["speaker_role"] == "participant", "segment_id"])
    assert set(out["segment_id"]) <= participants
    # Never a silent zero: suggestions, and every method that could do nothing named with what to add.
    assert len(out) > 0, said
    keyword_said = any("keyword method was skipped" in m and "add keywords" in m for m in said)
    assert keyword_said == ("keywords" not in SHAPES[shape]), said
    # The embedding coder standardises each segment's similarities across the codes (coders/embedding.py), so
    # labels alone are enough for it: no warning, and (above) suggestions.
    assert not any("embedding" in m for m in said), said
    if "keywords" in SHAPES[shape]:
        assert out["method"].str.contains("keyword").any()


def test_codebook_without_examples_suggests_with_the_default_embedder(segments, study_codebook):
    """The issue's crash: qc.suggest with no examples at all (labels and definitions) and the default model."""
    out, said = _suggest(segments, shaped(study_codebook, ("definition",)))
    assert len(out) > 0 and out["score"].between(0, 1).all()
    assert out["method"].eq("embedding").all()
    assert not any("embedding" in m for m in said), said


def test_only_keyword_method_on_codebook_without_keywords_is_an_empty_table_with_a_warning(segments,
                                                                                          study_codebook):
    out, said = _suggest(segments, shaped(study_codebook, ("definition",)), methods=["keyword"])
    assert out.empty and "rank" in out.columns
    assert said == ["the keyword method was skipped for codebook 'nic_study-definition': no code has keywords: "
                    "add keywords to the codes (keywords: {es: [...], en: [...]})."]


def test_method_support_names_what_each_shape_allows(study_codebook):
    assert method_support(shaped(study_codebook, ("keywords",)))["keyword"] is None
    assert "add keywords" in method_support(shaped(study_codebook, ("definition",)))["keyword"]
    assert method_support(shaped(study_codebook, ()))["embedding"] is None


# -- the ranked table when nothing passes min_score --------------------------------------------------------------

def test_rank_column_is_there_when_coders_return_rows_but_none_passes_min_score(segments, study_codebook):
    """KeyError: 'rank' — rows came back from the coders, min_score dropped them all."""
    out = EnsembleCoder([KeywordCoder()], min_score=1.0).fit(study_codebook).suggest(segments)
    assert out.empty and list(out.columns)[-1] == "rank" and str(out["rank"].dtype) == "Int64"
    rows = KeywordCoder().fit(study_codebook).suggest(segments)
    assert len(rows) > 0 and rows["score"].max() < 1.0
    merged = combine([rows], top_k=3, min_score=0.9999)
    assert merged.empty and "rank" in merged.columns


def test_one_skip_role_given_as_text_is_that_role_not_its_letters(segments, study_codebook):
    """KeywordCoder(skip_roles="interviewer") iterated the letters and coded the interviewer's turns."""
    out = KeywordCoder(skip_roles="interviewer").fit(study_codebook).suggest(segments)
    roles = segments.set_index("segment_id").loc[out["segment_id"], "speaker_role"]
    assert len(out) > 0 and not roles.eq("interviewer").any()
    as_tuple = KeywordCoder(skip_roles=("interviewer",)).fit(study_codebook).suggest(segments)
    pd.testing.assert_frame_equal(out, as_tuple)


def test_suggest_refuses_an_unknown_method_listing_the_registered_ones(segments, study_codebook):
    with pytest.raises(ParameterError, match=r"unknown method\(s\) \['keywords'\]; choose from \['embedding', "
                                                r"'keyword', 'learned', 'llm'\]"):
        suggest_table(segments, study_codebook, methods=["keywords"])
