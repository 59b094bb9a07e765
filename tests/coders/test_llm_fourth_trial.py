"""Faults a user's fourth trial of the LLM coder found (issue 19), each against a real local server (llm_server.py).

These test qualcode's side of the protocol and the commands only; they say nothing about a model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import CONSECUTIVE_FAILURES_FATAL, LLMCoder, MemoryResponseCache
from qualcode.errors import LLMError, LLMSkippedWarning, LLMUnavailableError, LLMWarning

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
CODEBOOK = Codebook("demo", codes=[Code("trust", label={"es": "Confianza"}), Code("other", label={"es": "Otro"})])


@pytest.fixture
def servers():
    started: list = []

    def start(script=None):
        server = llm_server.ChatServer(script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def segments(n: int) -> pd.DataFrame:
    texts = [f"Segmento número {i}: {S1}" for i in range(n)]
    return pd.DataFrame([{"segment_id": f"s{i}", "doc_id": "d", "text": t, "start": 0, "end": len(t),
                          "speaker_role": "participant", "language": "es"} for i, t in enumerate(texts)])


def quoting(body: dict) -> str:
    words = " ".join(llm_server.segment_of(body).split()[:4])
    return json.dumps({"codes": [{"code_id": "trust", "quote": words, "reason": "r", "confidence": "high"}]},
                      ensure_ascii=False)


def number(body: dict) -> int:
    """The segment's number i (its text starts "Segmento número i:")."""
    return int(llm_server.segment_of(body).split(":", 1)[0].rsplit(" ", 1)[1])


def failing_for(which: set[int], reply: Reply):
    """A script: segments numbered in ``which`` get ``reply`` every time; the others a good answer."""
    def script(body: dict, n: int) -> Reply:
        return reply if number(body) in which else Reply(quoting(body))
    return script


# -- 3: a segment's own failure is skipped; the batch goes on --------------------------------------------------

SEGMENT_FAILURES = {
    "http-500-after-retries": llm_server.error(500, "internal error"),
    "empty-reply": Reply(""),
}


@pytest.mark.parametrize("shape", list(SEGMENT_FAILURES))
def test_segment_failure_is_skipped_listed_not_cached_and_the_batch_goes_on(servers, shape):
    server = servers(failing_for({2}, SEGMENT_FAILURES[shape]))
    cache = MemoryResponseCache()
    coder = LLMCoder(server.url, "m", cache=cache, retries=1, backoff=0.01, concurrency=2).fit(CODEBOOK)
    with pytest.warns(LLMSkippedWarning) as said:  # on_error="raise" (the default): one segment is no error
        out = coder.suggest(segments(6))
    report = coder.report_
    assert set(out["segment_id"]) == {"s0", "s1", "s3", "s4", "s5"}
    assert report.n_answered == 5 and report.n_failed == 1 and report.failed_segments == ["s2"]
    assert report.stopped is None and len(report.errors) == 1
    assert "1 segment got no answer" in str(said[0].message)
    assert len(cache.answers) == 5 + 5  # five answers and five segments' levels; nothing for s2
    # A re-run asks only for the segment that failed.
    again = servers(lambda body, n: Reply(quoting(body)))
    rerun = LLMCoder(again.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    out = rerun.suggest(segments(6))
    assert [number(body) for body in again.requests] == [2]
    assert rerun.report_.n_cached == 5 and out["segment_id"].nunique() == 6 and not rerun.report_.failed_segments


def test_segment_failures_in_a_row_stop_the_batch_with_a_clear_error(servers):
    server = servers(failing_for({1, 2, 3}, llm_server.error(500, "internal error")))
    cache = MemoryResponseCache()
    coder = LLMCoder(server.url, "m", cache=cache, retries=1, backoff=0.01, concurrency=1).fit(CODEBOOK)
    with pytest.raises(LLMUnavailableError) as caught:
        coder.suggest(segments(6))
    said = str(caught.value)
    assert f"failed on {CONSECUTIVE_FAILURES_FATAL} segments in a row, so the rest were not sent" in said
    assert "kept failing (HTTP 500" in said and "run the same command again" in said
    assert sorted({number(body) for body in server.requests}) == [0, 1, 2, 3]  # s4 and s5 were never sent
    assert coder.report_.stopped == said and coder.report_.failed_segments == ["s1", "s2", "s3", "s4", "s5"]
    assert len(cache.answers) == 2  # s0's answer and its levels, kept


def test_segment_failures_apart_never_stop_the_batch(servers):
    # Two failures, then an answer, then two more: never three in a row, so every segment is asked.
    server = servers(failing_for({0, 1, 3, 4}, llm_server.error(500, "internal error")))
    coder = LLMCoder(server.url, "m", retries=0, backoff=0.01, concurrency=1).fit(CODEBOOK)
    with pytest.warns(LLMSkippedWarning):
        out = coder.suggest(segments(6))
    assert set(out["segment_id"]) == {"s2", "s5"} and coder.report_.n_failed == 4 and coder.report_.stopped is None


def test_server_down_midway_stops_the_batch_at_once(servers):
    # The server goes away after answering s0: connection refused is fatal, not a segment's failure.
    server = servers(lambda body, n: Reply(quoting(body)))
    coder = LLMCoder(server.url, "m", backoff=0.01, concurrency=1).fit(CODEBOOK)
    coder.suggest(segments(1))
    server.close()
    with pytest.raises(LLMUnavailableError, match="no LLM server answers") as caught:
        coder.suggest(segments(4))
    assert "in a row" not in str(caught.value) and coder.report_.n_asked == 1  # stopped after the first refusal


def test_every_request_failing_in_a_short_batch_is_still_an_error(servers):
    # Fewer segments than CONSECUTIVE_FAILURES_FATAL, all failing: nothing was done, so on_error="raise" raises.
    server = servers(lambda body, n: llm_server.error(500, "internal error"))
    with pytest.raises(LLMError, match="kept failing"):
        LLMCoder(server.url, "m", retries=0, backoff=0.01).fit(CODEBOOK).suggest(segments(2))


# -- 4: a whole answer to a prompt the server may have cut is used, not cached ---------------------------------

def test_answer_to_a_cut_prompt_is_used_with_its_warning_but_not_cached_and_asked_again(servers):
    # 8 prompt tokens for a prompt of thousands of characters, finish_reason "stop": a whole answer.
    server = servers(lambda body, n: Reply(quoting(body), prompt_tokens=8))
    cache = MemoryResponseCache()
    coder = LLMCoder(server.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    with pytest.warns(LLMWarning, match=r"counted only 8 tokens.*used in this run but not cached"):
        out = coder.suggest(segments(2))
    assert set(out["segment_id"]) == {"s0", "s1"} and coder.report_.n_not_cached == 2
    assert cache.answers == {}  # neither the answers nor their levels (the calibration's)
    assert not coder.report_.failed_segments and coder.report_.n_failed == 0
    # The same coder again, and a re-run with a longer context: asked again, then cached.
    with pytest.warns(LLMWarning, match="counted only 8 tokens"):
        coder.suggest(segments(2))
    assert len(server.requests) == 4
    longer = servers(lambda body, n: Reply(quoting(body), prompt_tokens=5000))
    rerun = LLMCoder(longer.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    rerun.suggest(segments(2))
    assert len(longer.requests) == 2 and rerun.report_.n_not_cached == 0 and len(cache.answers) == 4
