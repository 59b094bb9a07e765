"""Decisions: accept, reject, manual, the current view, history and coded quotes."""

from __future__ import annotations

import pandas as pd
import pytest

from qualcode.errors import ParameterError, ProjectError
from qualcode.project import Project
from qualcode.review.decisions import accept, add_manual, coded_quotes, decisions, reject


def participants(project):
    segs = project.segments
    return segs[segs["speaker_role"] == "participant"].reset_index(drop=True)


def test_latest_decision_wins_and_history_keeps_all(project):
    seg = participants(project)["segment_id"][0]
    accept(project, [seg], "collaboration.isolation", coder="ana")
    reject(project, [seg], "collaboration.isolation", coder="ana", memo="habla del equipo, no de ella")
    accept(project, [seg], "collaboration.isolation", coder="luis")
    current = decisions(project)
    assert sorted(zip(current["coder"], current["decision"])) == [("ana", "reject"), ("luis", "accept")]
    assert len(decisions(project, history=True)) == 3
    assert list(decisions(project, coder="ana")["memo"]) == ["habla del equipo, no de ella"]


def test_accept_takes_suggestion_rows_with_method_and_score(project):
    segs = participants(project)
    rows = pd.DataFrame({"segment_id": segs["segment_id"][:2], "code_id": ["leadership.workload", "leadership.resilience"],
                         "method": "keyword", "score": [0.8, 0.6], "codebook_version": project.codebook().version})
    out = accept(project, rows, coder="ana")
    assert list(out["method"]) == ["keyword", "keyword"] and list(out["score"]) == [0.8, 0.6]
    assert set(out["source"]) == {"notebook"}


def test_coded_quotes_join_text_speaker_and_attributes(project):
    segs = participants(project)
    first = segs.iloc[0]
    accept(project, [first["segment_id"]], "collaboration.isolation", coder="ana")
    add_manual(project, [first["segment_id"]], "leadership.workload", coder="ana", spans=[(0, 10)])
    reject(project, [segs["segment_id"][1]], "collaboration.isolation", coder="ana")
    quotes = coded_quotes(project)
    assert len(quotes) == 2
    whole = quotes[quotes["code_id"] == "collaboration.isolation"].iloc[0]
    assert whole["quote"] == first["text"] and whole["speaker"] == first["speaker"]
    assert whole["district"] == first["district"] and whole["stage"] == first["stage"]
    part = quotes[quotes["code_id"] == "leadership.workload"].iloc[0]
    assert part["quote"] == first["text"][:10]
    assert project.corpus.text(part["doc_id"])[part["start"]:part["end"]] == part["quote"]


def test_bad_decisions_write_nothing(project):
    seg = participants(project)["segment_id"][0]
    with pytest.raises(ParameterError, match="not in the project"):
        accept(project, [seg, "nope"], "collaboration.isolation", coder="ana")
    with pytest.raises(ParameterError, match="not in the project's codebook"):
        accept(project, [seg], "collaboration.nonsense", coder="ana")
    with pytest.raises(ParameterError, match="coder"):
        accept(project, [seg], "collaboration.isolation", coder=" ")
    with pytest.raises(ParameterError, match="outside segment"):
        add_manual(project, [seg], "collaboration.isolation", coder="ana", spans=[(5, 10_000)])
    assert decisions(project, history=True).empty


def test_decisions_need_a_codebook(tmp_path, sample_corpus):
    project = Project.create(tmp_path / "p.qualcode")
    project.add_corpus(sample_corpus)
    with pytest.raises(ProjectError, match="add a codebook"):
        accept(project, list(sample_corpus.segments["segment_id"][:1]), "x", coder="ana")
