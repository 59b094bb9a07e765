"""Faults a new user's second trial of the LLM coder found (issue 19), each against a real local server.

These test qualcode's side of the protocol only; they say nothing about a model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import LLMCoder, MemoryResponseCache
from qualcode.errors import LLMError, LLMInterrupted, LLMWarning
from qualcode.messages import counted

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
CODEBOOK = Codebook("demo", codes=[Code("trust", label={"es": "Confianza"}), Code("other", label={"es": "Otro"})])


def one_segment(text: str = S1, segment_id: str = "s1") -> pd.DataFrame:
    return pd.DataFrame([{"segment_id": segment_id, "doc_id": "d", "text": text, "start": 0, "end": len(text),
                          "speaker_role": "participant", "language": "es"}])


# -- D: an empty 200 reply -------------------------------------------------------------------------------------

EMPTY = {
    "empty-body": Reply(content=None, raw=""),
    "no-choices": Reply(content=None, raw=json.dumps({"id": "x", "object": "chat.completion", "choices": []})),
    "empty-content": Reply(""),
    "null-content": Reply(content=None, raw=json.dumps(
        {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": None}}]})),
}


@pytest.mark.parametrize("shape", list(EMPTY))
def test_empty_llm_reply_says_the_server_sent_an_empty_answer_not_a_v1_hint(servers, shape):
    empty = servers(lambda body, n: EMPTY[shape])
    coder = LLMCoder(empty.url, "m", backoff=0.01).fit(CODEBOOK)
    with pytest.raises(LLMError) as caught:
        coder.suggest(one_segment())
    said = " ".join(str(caught.value).split())
    assert "empty answer" in said and "model is loaded" in said and "context size" in said
    assert "/v1" not in said.replace(empty.url, "")


# -- C: an answer whose quotes are all off the text ------------------------------------------------------------

OFF_TEXT = {
    "translated": json.dumps({"codes": [{"code_id": "trust", "quote": "trust among us was built little by little",
                                         "reason": "r", "confidence": "high"}]}),
    "paraphrased": json.dumps({"codes": [
        {"code_id": "trust", "quote": "la confianza se construyó poco a poco", "reason": "r", "confidence": "high"},
        {"code_id": "other", "quote": "nos reuníamos seguido", "reason": "r", "confidence": "low"}]},
        ensure_ascii=False),
}
ON_TEXT = json.dumps({"codes": [{"code_id": "trust", "quote": "la confianza entre nosotras", "reason": "r",
                                 "confidence": "high"}]}, ensure_ascii=False)


@pytest.mark.parametrize("shape", list(OFF_TEXT))
def test_answer_with_no_usable_evidence_is_not_cached_nor_a_none_and_is_asked_again(servers, shape):
    off = servers(lambda body, n: Reply(OFF_TEXT[shape]))
    cache = MemoryResponseCache()
    coder = LLMCoder(off.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    with pytest.warns(LLMWarning, match="1 answer with no usable evidence"):
        out = coder.suggest(one_segment())
    report = coder.report_
    assert out.empty and report.n_no_evidence == 1 and report.n_answered == 0 and report.n_kept == 0
    assert report.n_not_in_text == report.n_proposed >= 1 and report.hallucination_rate == 1.0
    assert report.failed_segments == ["s1"]
    assert not cache.answers  # neither the answer nor the segment's levels (a "none" for every code)
    # Decisions on the segment teach the calibration nothing about "none": the model gave no usable answer.
    decided = pd.DataFrame({"segment_id": ["s1"], "code_id": ["trust"], "decision": ["accept"],
                            "quote": ["la confianza"]})
    refit = LLMCoder(off.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK, decided)
    assert refit.calibration_.loc["none", ["n_coded", "n_not_coded"]].tolist() == [0, 0]
    # A re-run asks again, and a usable answer then is kept.
    on = servers(lambda body, n: Reply(ON_TEXT))
    again = LLMCoder(on.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    assert list(again.suggest(one_segment())["code_id"]) == ["trust"] and len(on.requests) == 1
    assert again.report_.n_no_evidence == 0 and cache.answers


def test_answer_with_one_quote_in_the_text_is_usable_and_an_empty_list_is_a_none(servers):
    mixed = json.dumps({"codes": [json.loads(ON_TEXT)["codes"][0], json.loads(OFF_TEXT["paraphrased"])["codes"][1]]},
                       ensure_ascii=False)
    for answer, kept in ((mixed, ["trust"]), ('{"codes": []}', [])):
        server = servers(lambda body, n, answer=answer: Reply(answer))
        cache = MemoryResponseCache()
        coder = LLMCoder(server.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LLMWarning)
            out = coder.suggest(one_segment())
        assert list(out["code_id"]) == kept and coder.report_.n_no_evidence == 0 and len(cache.answers) == 2


# -- F: what was refused is visible in the report (and only there) ---------------------------------------------


def test_dropped_quotes_and_unknown_codes_are_listed_in_the_report_not_in_warnings(servers):
    answer = json.dumps({"codes": [
        {"code_id": "trust", "quote": "la confianza entre nosotras", "reason": "r", "confidence": "high"},
        {"code_id": "trust", "quote": "trust was built slowly", "reason": "r", "confidence": "low"},
        {"code_id": "made.up", "quote": "en las reuniones", "reason": "r", "confidence": "low"},
        {"code_id": "other", "quote": " ", "reason": "r", "confidence": "low"}]}, ensure_ascii=False)
    server = servers(lambda body, n: Reply(answer))
    coder = LLMCoder(server.url, "m", backoff=0.01).fit(CODEBOOK)
    with pytest.warns(LLMWarning) as said:
        out = coder.suggest(one_segment())
    assert list(out["code_id"]) == ["trust"]
    dropped = pd.DataFrame(coder.report_.as_dict()["dropped"])
    assert dropped.to_dict("records") == [
        {"segment_id": "s1", "code_id": "trust", "quote": "trust was built slowly", "why": "not in the text"},
        {"segment_id": "s1", "code_id": "made.up", "quote": "en las reuniones", "why": "unknown code"},
        {"segment_id": "s1", "code_id": "other", "quote": " ", "why": "no quote"}]
    for warning in said:
        assert "trust was built" not in str(warning.message) and "reuniones" not in str(warning.message)
    assert "reuniones" not in repr(coder.report_)


# -- E: counted nouns in the LLM lines -------------------------------------------------------------------------

DOC = "int_d02_final"


def test_counted_says_one_in_the_singular_and_others_in_the_plural():
    assert [counted(n, "segment") for n in (0, 1, 2)] == ["0 segments", "1 segment", "2 segments"]
    assert counted(1, "reply", "replies") == "1 reply" and counted(2, "reply", "replies") == "2 replies"


def test_llm_cli_line_for_one_unanswered_segment_is_in_the_singular(project, servers):
    def script(body: dict, n: int) -> Reply:
        if n == 1:  # one answer with no usable evidence: that segment has no usable answer
            return Reply(json.dumps({"codes": [{"code_id": "collaboration", "quote": "not in any segment at all",
                                                "reason": "r", "confidence": "high"}]}))
        words = " ".join(llm_server.segment_of(body).split()[:5])
        return Reply(json.dumps({"codes": [{"code_id": "collaboration", "quote": words, "reason": "r",
                                            "confidence": "high"}]}, ensure_ascii=False))

    server = servers(script)
    path = str(project.path)
    project.close()
    result = CliRunner().invoke(app, ["suggest", path, "--methods", "llm", "-d", DOC, "-q", "--llm", server.url,
                                      "--model", "m", "--llm-concurrency", "1"])
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "no usable answer for 1 segment:" in said and "1 answer with no usable evidence" in said
    assert "1 segments" not in said and "1 answers" not in said and "1 suggestions" not in said
    assert "stored suggestions" not in said and "they have no LLM suggestions" in said  # none were stored


# -- A: Ctrl-C during the LLM step -----------------------------------------------------------------------------


class Interrupting:
    """A server script: requests 1-2 answer at once, 3-4 after ``slow`` s, later ones after a minute; when
    request 4 arrives (so 3 and 4 are both in flight, whatever the machine's load), Ctrl-C is simulated in the
    main thread (a real SIGINT to this process) 0.05 s later."""

    def __init__(self, answer, slow: float = 1.0) -> None:
        self.answer, self.slow = answer, slow
        self.at: float | None = None
        self.after: list[int] = []
        self._timer: threading.Timer | None = None

    def __call__(self, body: dict, n: int) -> Reply:
        if self.at is not None and time.monotonic() >= self.at:
            self.after.append(n)
        if n == 4:
            self._timer = threading.Timer(0.05, self._interrupt)
            self._timer.start()
        delay = 0.0 if n <= 2 else self.slow if n <= 4 else 60.0
        return Reply(self.answer(body), delay=delay)

    def _interrupt(self) -> None:
        self.at = time.monotonic()
        signal.raise_signal(signal.SIGINT)


def quoting(body: dict, code: str = "trust") -> str:
    words = " ".join(llm_server.segment_of(body).split()[:4])
    return json.dumps({"codes": [{"code_id": code, "quote": words, "reason": "r", "confidence": "high"}]},
                      ensure_ascii=False)


def many_segments(n: int) -> pd.DataFrame:
    return pd.concat([one_segment(f"Segmento número {i}: {S1}", f"s{i}") for i in range(n)], ignore_index=True)


def test_interrupted_llm_step_sends_no_new_request_and_keeps_answers_received(servers):
    script = Interrupting(quoting)
    server = servers(script)
    cache = MemoryResponseCache()
    coder = LLMCoder(server.url, "m", cache=cache, concurrency=2, backoff=0.01).fit(CODEBOOK)
    with pytest.raises(KeyboardInterrupt) as caught:
        coder.suggest(many_segments(10))
    stopped = time.monotonic()
    assert isinstance(caught.value, LLMInterrupted)
    assert script.at is not None and script.after == []  # not one request after Ctrl-C
    assert len(server.requests) == 4  # two answered, two in flight; the six queued never sent
    assert caught.value.n_kept == 4 and caught.value.n_asked == 10
    assert len(cache.answers) == 4  # the two received and the two in flight, answered within the grace
    # Back within the 3 s grace (and a margin for a loaded machine), not after the ~30 s of work queued. Wall time:
    # the process's CPU time would count whatever threads earlier tests of a full run left behind.
    assert stopped - script.at < 10
    # The same call again asks only for the six never sent.
    rest = servers(lambda body, n: Reply(quoting(body)))
    again = LLMCoder(rest.url, "m", cache=cache, concurrency=2, backoff=0.01).fit(CODEBOOK)
    out = again.suggest(many_segments(10))
    assert len(rest.requests) == 6 and again.report_.n_cached == 4 and out["segment_id"].nunique() == 10


def test_interrupted_llm_step_in_cli_suggest_says_what_was_kept_exits_130_and_stores_nothing(project, servers):
    script = Interrupting(lambda body: quoting(body, "collaboration"))
    server = servers(script)
    path = str(project.path)
    project.close()
    args = ["suggest", path, "--methods", "llm", "-d", DOC, "-q", "--llm", server.url, "--model", "m",
            "--llm-concurrency", "2"]
    result = CliRunner().invoke(app, args)
    said = " ".join(result.output.split())
    assert result.exit_code == 130, result.output
    assert "interrupted: 4 answers from the LLM kept in the project" in said and "same command again" in said
    assert script.after == [] and len(server.requests) == 4
    with qc.Project.open(path) as p:
        assert p.suggestions.empty  # nothing half-written
        n_segments = int((p.segments_of([DOC])["speaker_role"] == "participant").sum())
        assert p.query("SELECT count(*) FROM cache WHERE kind = 'llm'") == [(4,)]  # the answers received
    rest = servers(lambda body, n: Reply(quoting(body, "collaboration")))
    args[args.index("--llm") + 1] = rest.url
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert len(rest.requests) == n_segments - 4


# -- B: summaries count what is stored ------------------------------------------------------------------------


def stored_rows(path) -> pd.DataFrame:
    with qc.Project.open(path) as p:
        return p.suggestions[["segment_id", "code_id", "method", "score"]]


def test_summary_counts_the_suggestions_stored_not_rows_of_segments_that_kept_their_earlier_ones(project, servers):
    first = servers(lambda body, n: Reply(quoting(body, "collaboration")))
    qc.suggest(project, methods=["llm"], llm=LLMCoder(first.url, "m"), documents=[DOC])
    path = str(project.path)
    project.close()
    before = stored_rows(path)
    assert len(before)
    # A second model answers every segment but one, whose prompt does not fit its context.
    refused: list[str] = []

    def script(body: dict, n: int) -> Reply:
        if n == 3:
            refused.append(llm_server.segment_of(body))
            return llm_server.error(400, "maximum context length exceeded")
        return Reply(quoting(body, "collaboration"))

    second = servers(script)
    result = CliRunner().invoke(app, ["suggest", path, "--methods", "keyword,llm", "-d", DOC, "-q", "--llm",
                                      second.url, "--model", "m2", "--llm-concurrency", "1"])
    assert result.exit_code == 1, result.output
    with qc.Project.open(path) as p:
        segments = p.segments_of([DOC])
    skipped = set(segments.loc[segments["text"] == refused[0], "segment_id"].astype(str))
    after = stored_rows(path)
    this_run = after[~after["segment_id"].astype(str).isin(skipped)]
    held = after[after["segment_id"].astype(str).isin(skipped)]
    said = " ".join(result.output.split())
    # What the project holds for the segments suggested, kept ones included, and which were kept (issue 19, A).
    assert f"{len(after)} suggestions for {after['segment_id'].nunique()} segments" in said, said
    assert f"{len(this_run)} new, {len(held)} kept from before for the 1 segment the LLM" in said, said
    # The skipped segment kept its earlier rows, and only those.
    pd.testing.assert_frame_equal(after[after["segment_id"].astype(str).isin(skipped)].reset_index(drop=True),
                                  before[before["segment_id"].astype(str).isin(skipped)].reset_index(drop=True))


def test_suggest_result_names_the_segments_that_kept_their_stored_suggestions(project, servers):
    first = servers(lambda body, n: Reply(quoting(body, "collaboration")))
    qc.suggest(project, methods=["llm"], llm=LLMCoder(first.url, "m"), documents=[DOC])
    down = f"http://127.0.0.1:{llm_server.free_port()}/v1"
    with pytest.warns(LLMWarning):
        out = qc.suggest(project, methods=["keyword", "llm"], documents=[DOC], llm=LLMCoder(down, "m2", backoff=0.01))
    kept = set(out.attrs["kept_segments"])
    assert kept and kept == set(out.attrs["llm_report"]["failed_segments"]) & set(project.suggestions["segment_id"])
    stored = project.suggestions
    assert set(stored.loc[stored["segment_id"].isin(kept), "method"]) == {"llm"}  # the earlier run's, untouched


def test_round_summary_counts_the_suggestions_stored_when_the_llm_skips_an_edited_documents_segment(tmp_path, samples,
                                                                                                   servers):
    project = tmp_path / "study.qualcode"
    folder = tmp_path / "r"
    folder.mkdir()
    transcript = folder / f"{DOC}.txt"
    transcript.write_bytes((samples / "transcripts" / f"{DOC}.txt").read_bytes())
    first = servers(lambda body, n: Reply(quoting(body, "collaboration")))
    runner = CliRunner()
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    args = ["round", str(project), str(folder), "--out", str(tmp_path / "o"), "--methods", "llm", "-q",
            "--no-report", "--llm", first.url, "--model", "m"]
    assert runner.invoke(app, args).exit_code == 0
    before = stored_rows(project)
    # The document is edited (a turn added at its end); another model skips one of its segments.
    transcript.write_text(transcript.read_text(encoding="utf-8") + "\n\nE: ¿Algo más?\n\nD02: Nada más, gracias.\n",
                          encoding="utf-8")
    refused: list[str] = []

    def script(body: dict, n: int) -> Reply:
        if n == 3:
            refused.append(llm_server.segment_of(body))
            return llm_server.error(400, "maximum context length exceeded")
        return Reply(quoting(body, "collaboration"))

    second = servers(script)
    args[args.index("--llm") + 1], args[args.index("--model") + 1] = second.url, "m2"
    args[args.index("--methods") + 1] = "keyword,llm"
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    after = stored_rows(project)
    said = " ".join(result.output.split())
    assert f"suggestions: {len(after)} for {after['segment_id'].nunique()} segments" in said, said
    with qc.Project.open(project) as p:
        segments = p.segments_of([DOC])
    skipped = set(segments.loc[segments["text"] == refused[0], "segment_id"])
    assert len(before[before["segment_id"].isin(skipped)]) and set(after.loc[after["segment_id"].isin(skipped),
                                                                             "method"]) == {"llm"}
