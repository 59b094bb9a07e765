"""Emergent sub-themes on the sample: the theme the shipped codebooks do not cover is surfaced."""

from __future__ import annotations

import pandas as pd

from qualcode.analysis.emergent import emergent_themes


def test_emergent_themes_surface_the_uncovered_topic(samples, sample_corpus, study_codebook):
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    themes = emergent_themes(sample_corpus.segments, coding, codebook=study_codebook)
    assert len(themes) >= 1
    migrant = themes[themes["terms"].apply(lambda t: any("creole" in w or "haitian" in w for w in t))]
    assert len(migrant) >= 1
    spanish = migrant[migrant["language"] == "es"].iloc[0]
    assert spanish["n_segments"] >= 3 and spanish["n_documents"] >= 3
    texts = sample_corpus.segments.set_index("segment_id").loc[spanish["segment_ids"], "text"]
    assert texts.str.contains("haitian", case=False).sum() >= 3
    assert spanish["similarity"] < 0.3  # far from every code: new, not missed
    assert all(q in set(texts) for q in spanish["quotes"])


def test_every_coded_segment_is_left_out(sample_corpus):
    part = sample_corpus.segments.query("speaker_role == 'participant'")
    everything = part[["segment_id"]].assign(code_id="x")
    assert emergent_themes(sample_corpus.segments, everything).empty
