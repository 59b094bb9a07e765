"""Agreement: hand-computed κ and α, missing data, and the disagreement table."""

from __future__ import annotations

import pandas as pd
import pytest

import qualcode as qc

A = [1, 1, 0, 0, 1, 0, 1, 0, 0, 0]
B = [1, 0, 0, 0, 1, 0, 1, 1, 0, 0]
UNITS = [f"s{i}" for i in range(10)]


@pytest.fixture
def codings():
    rows = [(f"s{i}", "x", who) for who, values in (("ana", A), ("luis", B)) for i, v in enumerate(values) if v]
    rows += [("s0", "y", "ana"), ("s0", "y", "luis")]
    return pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"])


def test_percent_agreement_and_kappa_match_hand_computation(codings):
    table = qc.cohen_kappa(codings, "ana", "luis", reviewed=UNITS).set_index("code_id")
    # po = 8/10, pe = 0.4·0.4 + 0.6·0.6 = 0.52, κ = (0.8 − 0.52) / 0.48
    assert table.loc["x", "agreement"] == 0.8
    assert table.loc["x", "kappa"] == pytest.approx(0.28 / 0.48)
    assert table.loc["y", "kappa"] == 1.0
    assert table.loc["all", "n_units"] == 20
    assert qc.percent_agreement(codings, "ana", "luis", reviewed=UNITS) == pytest.approx(18 / 20)


def test_krippendorff_alpha_matches_hand_computation(codings):
    alpha = qc.krippendorff_alpha(codings, reviewed=UNITS).set_index("code_id")
    # Do = 4/20; De = 2·8·12 / (20·19); α = 1 − Do/De
    assert alpha.loc["x", "alpha"] == pytest.approx(1 - 0.2 / (192 / 380))


def test_alpha_with_missing_data_and_three_coders(codings):
    third = pd.DataFrame({"segment_id": ["s0", "s4"], "code_id": "x", "coder": "rosa"})
    both = pd.concat([codings, third])
    reviewed = {"ana": UNITS, "luis": UNITS, "rosa": UNITS[:5]}
    matrix = qc.analysis.agreement_matrix(both, reviewed=reviewed)
    assert matrix["rosa"].isna().sum() == 10  # five unreviewed segments × two codes
    alpha = qc.krippendorff_alpha(both, reviewed=reviewed).set_index("code_id")
    assert alpha.loc["x", "n_coders"] == 3 and 0 < alpha.loc["x", "alpha"] < 1


def test_disagreements_list_what_to_discuss(codings):
    table = qc.disagreements(codings, "ana", "luis", reviewed=UNITS)
    assert table[["segment_id", "code_id", "coded_by", "not_by"]].values.tolist() == [
        ["s1", "x", "ana", "luis"], ["s7", "x", "luis", "ana"]]


def test_machine_as_a_coder(sample_corpus, samples):
    ana = pd.read_csv(samples / "coding" / "ana.csv").assign(coder="ana")
    luis = pd.read_csv(samples / "coding" / "luis.csv").assign(coder="luis")
    participant = list(sample_corpus.segments.query("speaker_role == 'participant'")["segment_id"])
    table = qc.cohen_kappa(pd.concat([ana, luis]), "ana", "luis", reviewed=participant)
    overall = table.set_index("code_id").loc["all", "kappa"]
    assert 0.5 < overall <= 1


def test_kappa_with_a_coder_absent_is_an_error_not_a_silent_zero():
    # A misspelt coder (or the wrong table) gave an all-zero column and κ = 0 for every code, without a word.
    d = pd.DataFrame({"segment_id": ["s1", "s2"], "code_id": ["a", "b"], "coder": ["ana", "ana"],
                      "decision": ["accept", "accept"]})
    with pytest.raises(qc.QualcodeError, match=r"'luiz' coded nothing in this table .*'ana'"):
        qc.cohen_kappa(d, "ana", "luiz")
    with pytest.raises(qc.QualcodeError, match="coded nothing"):
        qc.krippendorff_alpha(d, coders=["ana", "luiz"])
    # Said what they reviewed: a coder who coded none of it is a real zero.
    assert qc.cohen_kappa(d, "ana", "luis", reviewed=["s1", "s2"])["n_units"].iloc[-1] == 4
