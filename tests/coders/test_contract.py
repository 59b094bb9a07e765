"""Every built-in coder passes each named check of the coder contract (qualcode.testing.coder_checks)."""

from __future__ import annotations

import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders import (
    EmbeddingCoder,
    EnsembleCoder,
    KeywordCoder,
    LearnedCoder,
    TfidfEmbedder,
    available_coders,
    get_coder,
)
from qualcode.errors import ParameterError, QualcodeError
from qualcode.testing import HashingEmbedder, check_coder, coder_checks

BUILT_IN = {
    "keyword": KeywordCoder(),
    "embedding-hashing": EmbeddingCoder(HashingEmbedder()),
    "embedding-tfidf": EmbeddingCoder("tfidf"),
    "learned": LearnedCoder(HashingEmbedder()),
    "ensemble": EnsembleCoder([KeywordCoder(), EmbeddingCoder(HashingEmbedder())]),
    "ensemble-by-name": EnsembleCoder(["keyword"]),
}
# The TF-IDF embedding coder differs from the hashing one only by its embedder: check_coder covers it.
CASES = [pytest.param(coder, check, id=f"{key}-{name}")
         for key, coder in BUILT_IN.items() if key != "embedding-tfidf" for name, check in coder_checks(coder)]


@pytest.fixture(scope="module")
def few_segments(sample_corpus):
    """Four documents' segments (interviewers included): enough for every check, quick to suggest for."""
    segments = sample_corpus.segments
    return segments[segments["doc_id"].isin(list(dict.fromkeys(segments["doc_id"]))[:4])].reset_index(drop=True)


@pytest.fixture(scope="module")
def gold_decisions(sample_corpus):
    coding = pd.read_csv(qc.__file__.rsplit("/qualcode/", 1)[0] + "/data_samples/coding/luis.csv")
    texts = sample_corpus.segments.set_index("segment_id")["text"]
    coding = coding[coding["segment_id"].isin(texts.index)]
    return coding.assign(decision="accept", quote=coding["segment_id"].map(texts))


@pytest.mark.parametrize("coder, check", CASES)
def test_every_builtin_coder_passes_each_contract_check(coder, check, few_segments, study_codebook,
                                                        gold_decisions):
    check(study_codebook, few_segments, gold_decisions)


def test_every_coder_follows_the_contract(few_segments, study_codebook, gold_decisions):
    # check_coder runs every named check (the others are run one by one above).
    out = check_coder(BUILT_IN["embedding-tfidf"], study_codebook, few_segments, gold_decisions)
    assert len(out) > 0


def test_check_coder_runs_the_named_checks(few_segments, study_codebook):
    # Undeclared parameters and a fit that changes them were beyond the main checks check_coder ran before.
    with pytest.raises(QualcodeError, match="without a constraint"):
        check_coder(_UndeclaredCoder(), study_codebook, few_segments)
    with pytest.raises(QualcodeError, match=r"changed the parameter\(s\) \['skip_roles'\]"):
        check_coder(_MutatingCoder(), study_codebook, few_segments)


def test_every_registered_coder_is_checked():
    # The LLM coder needs a server: tests/coders/test_llm.py runs each of these checks against a local one.
    assert {type(c).method for c in BUILT_IN.values()} | {"llm"} == set(available_coders())


# -- the checks catch what they are named after ------------------------------------------------------------------

class _MutatingCoder(KeywordCoder):
    """Fits its own parameter in place: the kind of fault check_fit_keeps_parameters exists for."""

    def fit(self, codebook, decisions=None):
        self._validate_params()
        self.skip_roles = [*self.skip_roles, "observer"]
        return super().fit(codebook, decisions)


class _CrashingCoder(KeywordCoder):
    """Uses a parameter before checking it: a bad value crashes instead of naming the parameter."""

    def fit(self, codebook, decisions=None):
        _ = self.window + 1  # the use that comes before any check
        return super().fit(codebook, decisions)


def test_invalid_parameters_check_catches_a_crash_before_the_parameter_check(few_segments, study_codebook):
    with pytest.raises(QualcodeError, match="instead of a ParameterError naming window"):
        _run(_CrashingCoder(), "check_invalid_parameters_refused", few_segments, study_codebook)


class _UndeclaredCoder(KeywordCoder):
    _parameter_constraints = {"lang": [None, str]}  # noqa: RUF012 - a test double


def _run(coder, name, segments, study_codebook):
    check = dict(coder_checks(coder))[name]
    check(study_codebook, segments)


def test_the_mutation_check_catches_a_coder_that_changes_its_parameters(few_segments, study_codebook):
    with pytest.raises(QualcodeError, match=r"changed the parameter\(s\) \['skip_roles'\]"):
        _run(_MutatingCoder(), "check_fit_keeps_parameters", few_segments, study_codebook)


def test_the_declaration_check_catches_undeclared_parameters(few_segments, study_codebook):
    with pytest.raises(QualcodeError, match="without a constraint"):
        _run(_UndeclaredCoder(), "check_parameters_declared", few_segments, study_codebook)


# -- parameter constraints, the registry ------------------------------------------------------------------------

@pytest.mark.parametrize("make, name, value", [
    (lambda: EnsembleCoder(top_k=0), "top_k", "0"),
    (lambda: EnsembleCoder(min_score=1.5), "min_score", "1.5"),
    (lambda: KeywordCoder(window=0), "window", "0"),
    (lambda: KeywordCoder(skip_roles=None), "skip_roles", "None"),
    (lambda: EmbeddingCoder(HashingEmbedder(), tau=0), "tau", "0"),
    (lambda: EmbeddingCoder(3), "embedder", "3"),
    (lambda: LearnedCoder(HashingEmbedder(), C=-1.0), "C", "-1.0"),
    (lambda: LearnedCoder(HashingEmbedder(), min_positive=0), "min_positive", "0"),
])
def test_invalid_parameter_is_refused_in_fit_naming_parameter_value_and_what_is_allowed(make, name, value,
                                                                                       study_codebook):
    coder = make()  # the constructor stores, as in scikit-learn: fit checks
    with pytest.raises(ParameterError) as caught:
        coder.fit(study_codebook)
    message = str(caught.value)
    assert f"'{name}' parameter of {type(coder).__name__}" in message
    assert f"Got {value} instead" in message
    assert "must be" in message


def test_get_coder_builds_each_registered_coder_with_its_parameters():
    assert available_coders() == ["embedding", "ensemble", "keyword", "learned", "llm"]
    coder = get_coder("keyword", window=2)
    assert isinstance(coder, KeywordCoder) and coder.window == 2
    with pytest.raises(ParameterError, match=r"unknown coder 'keywords' \(did you mean 'keyword'\?\)"):
        get_coder("keywords")
    with pytest.raises(ParameterError, match=r"takes no parameter \['windows'\]; its parameters are"):
        get_coder("keyword", windows=2)


def test_ensemble_takes_methods_by_name(few_segments, study_codebook):
    by_name = EnsembleCoder(["keyword"], top_k=2).fit(study_codebook).suggest(few_segments)
    by_object = EnsembleCoder([KeywordCoder()], top_k=2).fit(study_codebook).suggest(few_segments)
    assert len(by_name) > 0
    pd.testing.assert_frame_equal(by_name, by_object)


def test_tags_say_what_each_coder_needs():
    assert KeywordCoder().coder_tags().needs_keywords and KeywordCoder().coder_tags().language_aware
    assert LearnedCoder(HashingEmbedder()).coder_tags().needs_decisions
    assert EmbeddingCoder(HashingEmbedder()).coder_tags().suggests_in_parts
    ensemble = EnsembleCoder(["keyword", "embedding"]).coder_tags()
    assert not ensemble.needs_keywords and ensemble.uses_embedder and ensemble.language_aware


# -- fit never changes a parameter: a shared embedder ----------------------------------------------------------

def test_shared_embedder_is_not_refitted_under_another_coder(few_segments, study_codebook):
    """One TfidfEmbedder given to two coders: fitting the second must not change the first one's scores."""
    segments = few_segments
    shared = TfidfEmbedder(n_components=32)
    first = EmbeddingCoder(shared, min_score=0.0).fit(study_codebook)
    before = first.suggest(segments)
    other_codebook = qc.load_codebook("collaboration")
    EmbeddingCoder(shared).fit(other_codebook)
    LearnedCoder(shared).fit(other_codebook)
    after = first.suggest(segments)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before, after)
    assert first.embedder is shared
    with pytest.raises(ParameterError, match="must be fitted"):
        shared.encode(["nunca ajustado"])  # the caller's object was never fitted: each coder fitted a copy
