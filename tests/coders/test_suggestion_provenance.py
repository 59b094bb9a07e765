"""Each stored suggestion run records which coders made it, with their parameters (as JSON and a stable hash)."""

from __future__ import annotations

import json

import qualcode as qc
from qualcode.coders import EnsembleCoder, KeywordCoder
from qualcode.coders.base import coder_params
from qualcode.schemas import check


def test_each_stored_suggestion_run_records_its_coders_parameters(project):
    docs = sorted(set(project.segments["doc_id"]))[:2]
    first = qc.suggest(project, methods=["keyword"], documents=docs[:1], top_k=2)
    second = qc.suggest(project, methods=["keyword"], documents=docs[1:], top_k=2, min_score=0.5)
    runs = project.suggestion_runs
    check(runs, "suggestion_runs")
    assert len(runs) == 2 and runs["methods"].tolist() == ["keyword", "keyword"]
    assert runs["n_suggestions"].tolist() == [len(first), len(second)]
    assert runs["codebook_version"].eq(project.codebook().version).all()
    # Different settings, different hashes; the JSON says which.
    assert runs["params_hash"].nunique() == 2
    params = [json.loads(p) for p in runs["params"]]
    assert params[0][0]["method"] == "ensemble" and params[0][0]["params"]["top_k"] == 2
    assert params[1][0]["params"]["min_score"] == 0.5
    assert params[0][0]["params"]["coders"][0] == {"class": "KeywordCoder", "params": {
        "lang": None, "min_score": 0.0, "skip_roles": ["interviewer", "unknown"], "window": 3}}
    # The run's suggestions carry its time.
    stored = project.suggestions
    assert set(stored.loc[stored["segment_id"].isin(first["segment_id"]), "created_at"]) == {runs["created_at"][0]}


def test_same_settings_give_the_same_parameter_hash_in_every_session():
    one = coder_params([EnsembleCoder([KeywordCoder(window=2)], top_k=2)])
    two = coder_params([EnsembleCoder([KeywordCoder(window=2)], top_k=2)])
    other = coder_params([EnsembleCoder([KeywordCoder(window=3)], top_k=2)])
    assert one == two and one[1] != other[1]
    # Fixed here: a change to how parameters are written would break comparing runs across projects and sessions.
    assert one[1] == "38015d2490cae957"  # since the fusion (issue 22): the keyword coder's parameters changed


def test_a_project_without_runs_has_an_empty_declared_table(project):
    runs = project.suggestion_runs
    assert runs.empty
    check(runs, "suggestion_runs")


def test_a_credential_among_a_coders_parameters_is_never_recorded():
    # A suggestion run's parameters are stored in the project file: an LLM server's api_key must not be.
    llm = qc.LLMCoder("http://127.0.0.1:1/v1", "modelo", api_key="SEKRIT-123")
    text, _ = coder_params([EnsembleCoder([KeywordCoder(), llm])])
    assert "SEKRIT" not in text and '"api_key": "***"' in text
