"""KeywordCoder: lemma, root, case and accent variants in Spanish and English; negatives; evidence offsets."""

from __future__ import annotations

import pandas as pd
import pytest

import qualcode as qc
from qualcode.codebook import Code, Codebook
from qualcode.coders import KeywordCoder, NotFittedError
from qualcode.errors import CodebookWarning

CODEBOOK = Codebook("t", codes=[
    Code("collaboration", label={"es": "Colaboración", "en": "Collaboration"},
         keywords={"es": ["colaborar", "grupo de whatsapp"], "en": ["collaborate", "whatsapp group"]},
         negative_keywords={"es": ["no colaboramos"]}),
    Code("trust", label={"es": "Confianza", "en": "Trust"}, keywords={"es": ["confianza", "confi*"], "en": ["trust"]}),
    Code("time", label={"es": "Tiempo", "en": "Time"}, keywords={"es": ["/falta(ba)? de tiempo/"], "en": ["lack of time"]}),
])


def segments(*texts, lang="es", role="participant"):
    rows = []
    offset = 0
    for i, text in enumerate(texts):
        rows.append({"segment_id": f"s{i}", "doc_id": "d", "text": text, "start": offset, "end": offset + len(text),
                     "speaker_role": role, "language": lang})
        offset += len(text) + 1
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def coder():
    return KeywordCoder().fit(CODEBOOK)


def codes_for(coder, *texts, lang="es"):
    out = coder.suggest(segments(*texts, lang=lang))
    return [sorted(out[out["segment_id"] == f"s{i}"]["code_id"]) for i in range(len(texts))]


@pytest.mark.parametrize("text", ["Colaboramos harto este año.", "COLABORAMOS HARTO.", "La colaboración fue clave.",
                                  "Fue un trabajo colaborativo.", "Ellas colaboraron conmigo."])
def test_spanish_lemma_root_case_and_accent_variants_match(coder, text):
    assert codes_for(coder, text) == [["collaboration"]]


@pytest.mark.parametrize("text", ["We collaborated a lot.", "Collaboration was key.", "They COLLABORATE.",
                                  "I trusted them", "Trust grew."])
def test_english_variants_match(coder, text):
    assert codes_for(coder, text, lang="en")[0] in (["collaboration"], ["trust"])


def test_phrase_wildcard_and_regex(coder):
    found = codes_for(coder, "El Grupo de WhatsApp nos salvó.", "Le tengo confiancita.", "Hay falta de tiempo.",
                      "El grupo de trabajo y WhatsApp aparte.")
    assert found == [["collaboration"], ["trust"], ["time"], []]


def test_negative_keyword_cancels_matches_in_its_sentence_only(coder):
    found = codes_for(coder, "No colaboramos, cada una en lo suyo.",
                      "No colaboramos al principio. Después colaboramos harto.")
    assert found == [[], ["collaboration"]]


def test_evidence_points_to_the_words_in_the_document(coder):
    segs = segments("Primero.", "Al final confiamos y colaboramos con el grupo de WhatsApp.")
    out = coder.suggest(segs).set_index("code_id")
    doc_text = "Primero.\nAl final confiamos y colaboramos con el grupo de WhatsApp."
    spans = out.loc["collaboration", "spans"]
    assert [doc_text[a:b] for a, b in spans] == ["colaboramos", "grupo de WhatsApp"]
    assert "«confiamos» (confi*)" in out.loc["trust", "evidence"]
    assert out.loc["collaboration", "score"] == pytest.approx(1 - 2.718281828 ** -1.7, abs=1e-3)


def test_interviewer_turns_are_never_suggested(coder):
    assert coder.suggest(segments("¿Colaboraron con confianza?", role="interviewer")).empty


def test_long_turn_is_scored_by_its_best_window():
    coder = KeywordCoder(window=1).fit(CODEBOOK)
    out = coder.suggest(segments("Colaboramos. Nada. Nada. Confianza y colaboración."))
    row = out[out["code_id"] == "collaboration"].iloc[0]
    assert row["score"] == pytest.approx(0.5034, abs=1e-3) and row["evidence"].count("«") == 1


def test_score_is_in_unit_interval_and_codebook_version_recorded(coder, sample_corpus):
    out = KeywordCoder().fit(qc.load_codebook("nic_study")).suggest(sample_corpus.segments)
    assert len(out) > 100
    assert out["score"].between(0, 1).all()
    assert set(out["codebook_version"]) == {qc.load_codebook("nic_study").version}
    roles = sample_corpus.segments.set_index("segment_id").loc[out["segment_id"], "speaker_role"]
    assert set(roles) == {"participant"}


def test_codebook_without_keywords_in_the_corpus_language_warns():
    codebook = Codebook("x", codes=[Code("a", label={"es": "A"}, keywords={"es": ["colaborar"]})])
    with pytest.warns(CodebookWarning, match="keywords only in es"):
        KeywordCoder().fit(codebook).suggest(segments("We collaborate.", lang="en"))


def test_suggest_before_fit_raises():
    with pytest.raises(NotFittedError):
        KeywordCoder().suggest(segments("x"))


def test_phrase_starting_with_an_article_matches_whole():
    codebook = Codebook("p", codes=[Code("c", label={"es": "C"}, keywords={"es": ["el grupo de whatsapp"]})])
    out = KeywordCoder().fit(codebook).suggest(segments("Nos salvó el Grupo de WhatsApp.", "Un grupo de WhatsApp."))
    assert list(out["segment_id"]) == ["s0"]
    assert out["evidence"].iloc[0] == "«el Grupo de WhatsApp» (el grupo de whatsapp)"


def test_fitted_coder_pickles_small_and_suggests_the_same(sample_corpus, study_codebook):
    import pickle

    coder = KeywordCoder().fit(study_codebook)
    data = pickle.dumps(coder)
    # The compiled keywords only: lemma tables and stemmers (megabytes) load again in the receiving process.
    assert len(data) < 1_000_000
    before = coder.suggest(sample_corpus.segments)
    pd.testing.assert_frame_equal(pickle.loads(data).suggest(sample_corpus.segments), before)
    pd.testing.assert_frame_equal(coder.suggest(sample_corpus.segments), before)


def test_suggestions_do_not_depend_on_how_segments_are_batched(sample_corpus, study_codebook):
    coder = KeywordCoder().fit(study_codebook)
    segs = sample_corpus.segments
    assert segs["language"].nunique() == 2  # both languages, so batches differ in what they hold
    whole = coder.suggest(segs)
    by_document = [coder.suggest(doc) for _, doc in segs.groupby("doc_id", sort=False)]
    pd.testing.assert_frame_equal(pd.concat(by_document, ignore_index=True), whole)
    uneven = [coder.suggest(segs.iloc[a:b]) for a, b in [(0, 1), (1, 50), (50, 51), (51, 300), (300, len(segs))]]
    pd.testing.assert_frame_equal(pd.concat(uneven, ignore_index=True), whole)


def test_rows_follow_the_segments_then_the_codebook(coder):
    out = coder.suggest(segments("Hay falta de tiempo y confianza.", "Colaboramos.", "We trust them.",
                                 "Confianza al colaborar."))
    assert list(zip(out["segment_id"], out["code_id"], strict=True)) == [
        ("s0", "trust"), ("s0", "time"), ("s1", "collaboration"), ("s3", "collaboration"), ("s3", "trust")]
