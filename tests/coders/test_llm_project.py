"""The LLM coder through a project and the command line, against a real local server (tests/coders/llm_server.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.errors import LLMWarning

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)

DOC = "int_d02_final"
CODE = "collaboration"
runner = CliRunner()


def quoting_first_words(body: dict, n: int):
    """Code every segment with CODE, quoting its first five words."""
    words = " ".join(llm_server.segment_of(body).split()[:5])
    return llm_server.Reply(json.dumps({"codes": [{"code_id": CODE, "quote": words, "reason": "r",
                                                   "confidence": "medium"}]}, ensure_ascii=False))


@pytest.fixture
def chat():
    server = llm_server.ChatServer(quoting_first_words)
    yield server
    server.close()



def participant_texts(project) -> set[str]:
    segments = project.segments
    return set(segments[(segments["doc_id"] == DOC) & (segments["speaker_role"] == "participant")]["text"])


def test_qc_suggest_project_with_llm_caches_answers_in_the_project_and_a_rerun_sends_nothing(project, chat):
    coder = qc.LLMCoder(chat.url, "test-model")
    out = qc.suggest(project, methods=["llm"], llm=coder, documents=[DOC])
    n = len(participant_texts(project))
    assert len(chat.requests) == n > 0
    assert not any(DOC in json.dumps(body, ensure_ascii=False) for body in chat.requests)  # no document names
    # The code chosen (a parent) is kept: the codes left out score "none" (0.01), below the default cut.
    top = out[out["rank"] == 1]
    assert set(out["method"]) == {"llm"} and set(top["code_id"]) == {CODE} and len(top) == len(out) == n
    stored = project.suggestions
    assert set(stored[stored["method"] == "llm"]["segment_id"]) == set(out["segment_id"])
    texts = project.documents.set_index("doc_id")["text"]
    for spans in top["spans"]:
        (start, end), = spans
        assert len(texts[DOC][start:end].split()) == 5
    assert coder.cache is None  # the caller's coder is left as it was
    again = qc.suggest(project, methods=["llm"], llm=qc.LLMCoder(chat.url, "test-model"), documents=[DOC])
    assert len(chat.requests) == n
    assert again[["segment_id", "code_id", "score"]].equals(out[["segment_id", "code_id", "score"]])
    rows = project.query("SELECT COUNT(*) FROM cache WHERE kind = 'llm' AND model = 'test-model'")
    assert rows[0][0] == 2 * n  # each answer, and the levels it gave its segment (for the calibration)


def test_cli_suggest_with_llm_stores_llm_suggestions_and_a_rerun_sends_nothing(project, chat):
    path = str(project.path)
    project.close()
    args = ["suggest", path, "--methods", "llm", "-d", DOC, "--llm", chat.url, "--model", "test-model",
            "--quiet", "--min-score", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "llm" in result.output
    n = len(chat.requests)
    assert n > 0
    assert runner.invoke(app, args).exit_code == 0
    assert len(chat.requests) == n
    with qc.Project.open(path) as reopened:
        assert set(reopened.suggestions["method"]) == {"llm"}


def test_cli_suggest_with_llm_server_down_warns_and_stores_the_keyword_suggestions(project):
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--methods", "keyword", "-d", DOC, "--quiet",
                                 "--llm", f"http://127.0.0.1:{llm_server.free_port()}/v1", "--model", "m"])
    assert result.exit_code == 1, result.output  # done in part: the LLM's suggestions are missing
    assert "warning: LLM coder" in result.output and "no LLM server answers" in result.output
    with qc.Project.open(path) as reopened:
        assert set(reopened.suggestions["method"]) == {"keyword"}


@pytest.mark.parametrize("args", [["--llm", "http://127.0.0.1:9/v1"], ["--model", "m"],
                                  ["--llm", "localhost:11434", "--model", "m"]], ids=["no-model", "no-url", "bad-url"])
def test_cli_suggest_llm_options_misused_are_refused_before_any_work(project, args):
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--quiet", *args])
    assert result.exit_code == 2, result.output
    assert "--llm" in result.output or "http://" in result.output


def test_llm_warning_is_a_qualcode_warning():
    assert issubclass(LLMWarning, qc.QualcodeWarning)
