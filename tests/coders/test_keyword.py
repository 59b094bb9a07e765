"""KeywordCoder: lemma, root, case and accent variants in Spanish and English; negatives; evidence offsets."""

from __future__ import annotations

import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders import KeywordCoder, NotFittedError
from qualcode.codebook import Code, Codebook
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
