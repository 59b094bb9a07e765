"""Saturation: the worked examples of the insect study reproduced exactly, and the edge cases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode.errors import ParameterError

DATA = Path(__file__).resolve().parents[1] / "data" / "saturation" / "insect_coding_long.csv"


@pytest.fixture(scope="module")
def insects():
    frame = pd.read_csv(DATA)
    return frame.rename(columns={"interview_file": "doc_id", "code": "code_id"})


def test_first_appearances_of_the_insect_study(insects):
    table = qc.first_appearance(insects, order="itvw_seq")
    assert table["n_new"].tolist() == [5, 4, 3, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    assert table["cumulative"].iloc[-1] == 18
    late = {row.position: row.new_codes for row in table.itertuples() if row.position in (8, 11, 13)}
    assert late == {8: ["Does not like insects"], 11: ["Associates some insects with uncleanliness"],
                    13: ["Sees only some insects as pests"]}


@pytest.mark.parametrize("base, run, threshold, expected, base_codes", [
    (4, 2, 0.05, "8+2", 13), (4, 2, 0.0, "8+2", 13), (6, 2, 0.05, "8+2", 15),
    (4, 3, 0.05, "not saturated at 15", 13), (6, 3, 0.05, "not saturated at 15", 15)])
def test_guest_2020_worked_examples(insects, base, run, threshold, expected, base_codes):
    row = qc.saturation(insects, order="itvw_seq", base=base, run=run, threshold=threshold).iloc[0]
    assert row["notation"] == expected and row["base_codes"] == base_codes
    assert row["saturated"] == (expected == "8+2")


def test_guest_windows_are_reported(insects):
    row = qc.saturation(insects, order="itvw_seq").iloc[0]
    assert row["windows"] == "5–6: 2/13, 6–7: 1/13, 7–8: 1/13, 8–9: 1/13, 9–10: 0/13"
    assert row["point"] == 8


def test_francis_2010_worked_example(insects):
    row = qc.saturation(insects, order="itvw_seq", method="francis").iloc[0]
    assert not row["saturated"] and row["notation"].startswith("not saturated")
    early = qc.saturation(insects, order="itvw_seq", method="francis", init=5, stop=2).iloc[0]
    assert early["saturated"] and early["point"] == 10


def test_chao2_worked_example(insects):
    row = qc.unseen_codes(insects).iloc[0]
    assert (row["observed"], row["q1"], row["q2"], row["n_documents"]) == (18, 2, 7, 15)
    assert row["estimated_total"] == pytest.approx(18.27, abs=0.005)
    assert row["share_observed"] == pytest.approx(0.985, abs=0.0005)


def test_edge_cases_say_what_happened():
    tiny = pd.DataFrame({"doc_id": ["a", "b"], "code_id": ["x", "y"]})
    assert qc.saturation(tiny).iloc[0]["notation"] == "too few documents for one run (2 < 4+2)"
    empty_base = pd.DataFrame({"doc_id": ["e", "f"], "code_id": ["x", "y"]})
    with pytest.raises(ParameterError, match="no codes in the first 4 documents"):
        qc.saturation(empty_base, order=["a", "b", "c", "d", "e", "f"])
    with pytest.raises(ParameterError, match="does not list"):
        qc.first_appearance(tiny, order=["a"])


def test_saturation_by_dimension_and_by_round():
    rows = [("d1", "a.x", 1), ("d1", "b.x", 1), ("d2", "a.y", 1), ("d3", "b.y", 2), ("d4", "a.x", 2)]
    codings = pd.DataFrame(rows, columns=["doc_id", "code_id", "round"])
    by_dim = qc.saturation(codings, base=1, run=1, by="dimension").set_index("group")
    assert list(by_dim.index) == ["a", "b"]
    # b: d1 adds b.x, d2 adds nothing (0/1) -> "1+1", even though d3 later adds b.y: that is the method.
    assert by_dim.loc["a", "notation"] == "2+1" and by_dim.loc["b", "notation"] == "1+1"
    by_round = qc.saturation(codings, base=1, run=1, by="round").set_index("group")
    assert by_round.loc["1", "n_documents"] == 2 and by_round.loc["2", "n_documents"] == 2


def test_order_robust_saturation_is_reproducible(insects):
    first = qc.saturation_orderings(insects, n_orderings=200, seed=7)
    again = qc.saturation_orderings(insects, n_orderings=200, seed=7)
    assert first.equals(again)
    row = first.iloc[0]
    assert 0 < row["share_saturated"] <= 1 and row["q25"] <= row["median"] <= row["q75"]


def test_decision_tables_count_only_accepted_codings():
    decisions = pd.DataFrame({"doc_id": ["a", "a"], "code_id": ["x", "y"], "decision": ["accept", "reject"]})
    assert qc.first_appearance(decisions)["n_codes"].tolist() == [1]


def test_saturation_by_a_list_is_a_clear_error_and_by_a_role_finds_the_studys_column():
    codings = pd.DataFrame({"segment_id": list("abcdefgh"), "doc_id": list("abcdefgh"),
                            "code_id": ["x.a", "x.b", "y.c", "y.d", "x.a", "y.c", "x.e", "y.f"],
                            "Comuna": list("AABBAABB")})
    with pytest.raises(qc.QualcodeError, match="give one column name"):
        qc.saturation(codings, by=["Comuna"])
    by_role = qc.saturation(codings, by="site")  # site: a role, played here by the usual header Comuna
    assert sorted(by_role["group"].unique()) == ["A", "B"]
