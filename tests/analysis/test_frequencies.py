"""Frequencies, code × attribute, co-occurrence and roll-up on small hand-made codings."""

from __future__ import annotations

import pandas as pd
import pytest

import qualcode as qc

ROWS = [
    # segment, doc, code, participant, speaker, district
    ("s1", "fg", "collaboration.trust", "GF", "D1", "Norte"),
    ("s1", "fg", "collaboration.isolation", "GF", "D1", "Norte"),
    ("s2", "fg", "collaboration.trust", "GF", "D2", "Norte"),
    ("s3", "i1", "collaboration.trust", "P1", "P1", "Sur"),
    ("s4", "i1", "leadership.workload.time", "P1", "P1", "Sur"),
    ("s5", "i2", "leadership.workload.time", "P1", "P1", "Sur"),
    ("s5", "i2", "collaboration.isolation", "P1", "P1", "Sur"),
]


@pytest.fixture
def codings():
    return pd.DataFrame(ROWS, columns=["segment_id", "doc_id", "code_id", "participant", "speaker", "district"])


def test_code_frequencies_count_segments_documents_and_participants(codings):
    freq = qc.code_frequencies(codings).set_index("code_id")
    # Focus-group speakers D1 and D2 are two participants; P1 interviewed twice is one.
    assert freq.loc["collaboration.trust", ["n_segments", "n_documents", "n_participants"]].tolist() == [3, 2, 3]
    assert freq.loc["leadership.workload.time", ["n_segments", "n_documents", "n_participants"]].tolist() == [2, 2, 1]
    assert freq.loc["collaboration.trust", "pct_participants"] == 100.0
    assert freq.loc["collaboration.isolation", "pct_participants"] == pytest.approx(66.7)


def test_code_frequencies_with_ancestors_roll_up(codings):
    freq = qc.code_frequencies(codings, include_ancestors=True).set_index("code_id")
    assert freq.loc["collaboration", "n_segments"] == 4
    assert freq.loc["leadership.workload", "n_segments"] == 2 and freq.loc["leadership", "depth"] == 0


def test_code_by_attribute_counts_and_percentages(codings):
    table = qc.code_by_attribute(codings, "district").set_index(["code_id", "district"])
    assert table.loc[("collaboration.trust", "Norte"), "n"] == 2
    assert table.loc[("collaboration.trust", "Norte"), "pct_of_code"] == pytest.approx(66.7)
    # Norte has 2 coded segments (s1, s2); both carry trust.
    assert table.loc[("collaboration.trust", "Norte"), "pct_of_group"] == 100.0
    people = qc.code_by_attribute(codings, "district", count="participants").set_index(["code_id", "district"])
    assert people.loc[("collaboration.trust", "Norte"), "n"] == 2


def test_cooccurrence_by_segment_and_document(codings):
    seg = qc.cooccurrence(codings)
    assert seg[["code_a", "code_b", "n"]].values.tolist() == [
        ["collaboration.isolation", "collaboration.trust", 1], ["collaboration.isolation", "leadership.workload.time", 1]]
    assert seg["jaccard"].iloc[0] == pytest.approx(1 / 4)
    doc = qc.cooccurrence(codings, level="document").set_index(["code_a", "code_b"])
    assert doc.loc[("collaboration.trust", "leadership.workload.time"), "n"] == 1


def test_rollup_to_dimension_and_parent(codings):
    dims = qc.rollup(codings)
    assert sorted(set(dims["code_id"])) == ["collaboration", "leadership"]
    assert len(dims[dims["segment_id"] == "s1"]) == 1
    parents = qc.rollup(codings, to="parent")
    assert "leadership.workload" in set(parents["code_id"])


def test_frequencies_on_the_project(project, samples):
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
    quotes = qc.coded_quotes(project)
    freq = qc.code_frequencies(quotes, segments=project.segments)
    assert freq["n_segments"].sum() == len(coding)
    assert freq["pct_participants"].between(0, 100).all()
    by_stage = qc.code_by_attribute(quotes, ["stage", "role"])
    assert set(by_stage["stage"]) == {"diagnostic", "intermediate", "final"}


def test_code_by_attribute_on_empty_codings_is_an_empty_table():
    # Before any coding: a TypeError deep in pandas (division of a string column).
    empty = pd.DataFrame({c: pd.Series([], dtype="string") for c in ("segment_id", "doc_id", "code_id", "role")})
    table = qc.code_by_attribute(empty, "role")
    assert table.empty and list(table.columns) == ["code_id", "role", "n", "pct_of_code", "pct_of_group"]
