"""Faults a new user's fifth trial of the LLM coder found (issue 19), each against a real local server.

These test qualcode's side of the protocol and the commands only; they say nothing about a model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import MAX_ANSWER_TOKENS, PRIOR_SCORES, LLMCoder, MemoryResponseCache, answer_level
from qualcode.errors import LLMContextError, LLMWarning
from qualcode.io.chat import context_split

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
CODEBOOK = Codebook("demo", codes=[Code("trust", label={"es": "Confianza mutua", "en": "Mutual trust"}),
                                   Code("collab", label={"es": "Colaboración", "en": "Collaboration"})])
DOC = "int_d02_final"
runner = CliRunner()


def segments(n: int) -> pd.DataFrame:
    texts = [f"Segmento número {i}: {S1}" for i in range(n)]
    return pd.DataFrame([{"segment_id": f"s{i}", "doc_id": "d", "text": t, "start": 0, "end": len(t),
                          "speaker_role": "participant", "language": "es"} for i, t in enumerate(texts)])


def answer(code: str, quote: str, confidence: object = "high") -> str:
    return json.dumps({"codes": [{"code_id": code, "quote": quote, "reason": "r", "confidence": confidence}]},
                      ensure_ascii=False)


def first_words(body: dict, n: int = 6) -> str:
    return " ".join(llm_server.segment_of(body).split()[:n])


def said(result) -> str:
    return " ".join(result.output.split())


# -- A: the summary counts what the project holds for the segments suggested ---------------------------------


def stored_for(path: str, documents: list[str]) -> pd.DataFrame:
    with qc.Project.open(path) as p:
        ids = set(p.segments_of(documents)["segment_id"])
        stored = p.suggestions
    return stored[stored["segment_id"].isin(ids)]


def test_summary_counts_kept_suggestions_when_the_llm_server_is_down(project):
    path = str(project.path)
    project.close()
    first = runner.invoke(app, ["suggest", path, "--methods", "keyword", "-d", DOC, "-q"])
    assert first.exit_code == 0, first.output
    before = stored_for(path, [DOC])
    assert len(before)
    down = f"http://127.0.0.1:{llm_server.free_port()}/v1"
    result = runner.invoke(app, ["suggest", path, "--methods", "keyword,llm", "-d", DOC, "-q", "--llm", down,
                                 "--model", "m"])
    text = said(result)
    assert result.exit_code == 1, result.output
    after = stored_for(path, [DOC])
    n_kept = before["segment_id"].nunique()
    # The first line counts what is stored (kept rows included) and says which were kept, not new.
    assert (f"{len(after)} suggestions for {after['segment_id'].nunique()} segments" in text
            and f"kept from before for the {n_kept} segments the LLM gave no usable answer" in text), text
    assert "0 suggestions for 0 segments" not in text
    assert "the server failed on them" in text and "run the same command again when the server answers" in text
    pd.testing.assert_frame_equal(after.reset_index(drop=True), before.reset_index(drop=True))


def test_summary_with_only_unknown_codes_says_no_suggestion_for_the_segments_suggested(project, servers):
    server = servers(lambda body, n: Reply(answer("no_such_code", first_words(body))))
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--methods", "llm", "-d", DOC, "-q", "--llm", server.url,
                                 "--model", "m"])
    text = said(result)
    assert result.exit_code == 1, result.output
    assert "0 suggestions stored for the" in text and "segments suggested" in text, text
    assert "named only codes not in the codebook" in text and "the server failed" not in text
    assert "when the server answers" not in text  # the server did answer


# -- B: a model answering wrongly is not reported as a server failure ----------------------------------------


def test_paraphrased_quotes_are_reported_as_unusable_answers_not_server_failures(servers):
    server = servers(lambda body, n: Reply(answer("trust", "la confianza se construyó poco a poco entre todas")))
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.warns(LLMWarning) as caught:
        coder.suggest(segments(5))
    report = coder.report_.as_dict()
    assert report["unusable_segments"] == [f"s{i}" for i in range(5)] == report["failed_segments"]
    assert report["unanswered_segments"] == [] and report["n_failed"] == 0
    assert report["unusable"] == {"quotes not in the text": 5}
    message = " ".join(str(w.message) for w in caught)
    assert "5 with quotes not in the text" in message and "got no answer" not in message
    assert "may answer the same" in message


def test_paraphrased_quotes_in_cli_say_why_and_not_to_wait_for_the_server(project, servers):
    server = servers(lambda body, n: Reply(answer("collaboration", "trabajamos juntas siempre, de verdad")))
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--methods", "llm", "-d", DOC, "-q", "--llm", server.url,
                                 "--model", "m"])
    text = said(result)
    assert result.exit_code == 1, result.output
    assert "quoted passages not in the segment's text" in text and "try a larger model" in text, text
    assert "when the server answers" not in text


def test_code_given_by_its_label_is_taken_as_that_code_and_counted(servers):
    labels = ["MUTUAL TRUST", "confianza mútua", "  Colaboracion "]

    def script(body: dict, n: int) -> Reply:
        i = int(llm_server.segment_of(body).split(":", 1)[0].rsplit(" ", 1)[1])
        return Reply(answer(labels[i], first_words(body)))

    server = servers(script)
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.warns(LLMWarning) as caught:
        out = coder.suggest(segments(3))
    chosen = sorted(zip(out["segment_id"], out["code_id"], strict=True))
    assert chosen == [("s0", "trust"), ("s1", "trust"), ("s2", "collab")]
    assert coder.report_.n_by_label == 3 and coder.report_.n_unknown_code == 0
    message = " ".join(str(w.message) for w in caught)
    assert "3 codes given by their label, taken" in message and "not in the codebook" not in message


def test_unknown_codes_with_quotes_found_are_worded_as_unknown_codes_not_missing_quotes(servers):
    server = servers(lambda body, n: Reply(answer("Confianza", first_words(body))))  # neither id nor label
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.warns(LLMWarning) as caught:
        coder.suggest(segments(2))
    message = " ".join(str(w.message) for w in caught)
    assert "2 codes not in the codebook (neither an id nor a label) refused" in message
    assert "2 with codes not in the codebook" in message
    assert "none with a quote found" not in message and "not in the segment" not in message


def test_label_shared_by_two_codes_names_neither(servers):
    book = Codebook("twin", codes=[Code("a", label={"es": "Apoyo"}), Code("b", label={"es": "apoyo"})])
    server = servers(lambda body, n: Reply(answer("Apoyo", first_words(body))))
    coder = LLMCoder(server.url, "m").fit(book)
    with pytest.warns(LLMWarning):
        out = coder.suggest(segments(1))
    assert out.empty and coder.report_.n_unknown_code == 1


# -- C: confidence words in Spanish and English, numbers ------------------------------------------------------


@pytest.mark.parametrize(("stated", "level"), [("alta", "high"), ("Alto", "high"), ("media", "medium"),
                                               ("medio", "medium"), ("baja", "low"), ("BAJO", "low"),
                                               ("high", "high"), (0.9, "high"), (0.5, "medium"), (0.1, "low")])
def test_confidence_word_in_spanish_or_a_number_keeps_its_level(servers, stated, level):
    server = servers(lambda body, n: Reply(answer("trust", first_words(body), stated)))
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LLMWarning)  # nothing to warn about
        out = coder.suggest(segments(1))
    assert out["score"].tolist() == [PRIOR_SCORES[level]]
    assert coder.report_.n_unknown_level == 0


def test_unrecognised_confidence_level_is_counted_and_warned(servers):
    server = servers(lambda body, n: Reply(answer("trust", first_words(body), "segurísima")))
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.warns(LLMWarning, match="1 confidence not high, medium or low"):
        out = coder.suggest(segments(1))
    assert out["score"].tolist() == [PRIOR_SCORES["medium"]]
    assert coder.report_.as_dict()["n_unknown_level"] == 1


def test_answer_level_reads_words_and_numbers_only_in_range():
    assert answer_level("Média") == "medium" and answer_level("1.5") is None and answer_level("-0.1") is None


# -- D: a context error says which part overflows; max_tokens is a parameter ----------------------------------

VLLM = ("This model's maximum context length is 512 tokens. However, you requested 2626 tokens (578 in the "
        "messages, 2048 in the completion). Please reduce the length of the messages or completion.")


def test_context_error_where_the_answers_reserve_overflows_says_so(servers):
    server = servers(lambda body, n: llm_server.error(400, VLLM))
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.raises(LLMContextError) as caught:
        coder.suggest(segments(1))
    message = str(caught.value)
    assert "is 512 tokens: the prompt alone takes 578" in message, message
    assert "the answer's reserve (max_tokens, 2048) comes on top" in message and "--llm-max-tokens" in message
    # What fits as sent (578 + 2048), and with the shorter reserve it proposes: a context of 1602 still fails as sent.
    assert "a longer context of at least 2626 tokens (1602 with --llm-max-tokens 1024" in message, message
    assert "fewer codebook examples" in message


def test_context_error_with_too_little_room_for_an_answer_says_so(servers):
    message = VLLM.replace("578 in the messages", "312 in the messages").replace("2626", "2360")
    server = servers(lambda body, n: llm_server.error(400, message))
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.raises(LLMContextError) as caught:
        coder.suggest(segments(1))
    text = str(caught.value)
    assert "the prompt takes 312" in text and "does not fit in the 200 left, nor would an answer" in text, text
    assert caught.value.completion_tokens == 2048 and caught.value.context_tokens == 512


def test_context_split_reads_the_servers_numbers():
    assert context_split(VLLM) == (512, 578, 2048)
    assert context_split("the request exceeds the available context size") == (None, None, None)


def test_context_error_with_room_says_at_most_that_many_tokens(servers):
    message = ("'max_tokens' or 'max_completion_tokens' is too large: 2048. This model's maximum context length "
               "is 4096 tokens and your request has 3000 input tokens (2048 > 4096 - 3000).")
    server = servers(lambda body, n: llm_server.error(400, message))
    coder = LLMCoder(server.url, "m").fit(CODEBOOK)
    with pytest.raises(LLMContextError) as caught:
        coder.suggest(segments(1))
    text = str(caught.value)
    assert "at most 1096 tokens" in text and "--llm-max-tokens 1096" in text, text
    assert "fewer codebook examples" not in text  # sending less prompt is not the fix here


def test_max_tokens_is_sent_and_not_part_of_the_cache_key(servers):
    server = servers(lambda body, n: Reply(answer("trust", first_words(body))))
    cache = MemoryResponseCache()
    first = LLMCoder(server.url, "m", cache=cache, max_tokens=300).fit(CODEBOOK)
    first.suggest(segments(1))
    assert [r["max_tokens"] for r in server.requests] == [300]
    again = LLMCoder(server.url, "m", cache=cache).fit(CODEBOOK)
    assert again.max_tokens == MAX_ANSWER_TOKENS
    out = again.suggest(segments(1))
    assert len(server.requests) == 1 and again.report_.n_cached == 1 and out["code_id"].tolist() == ["trust"]


def test_max_tokens_is_a_checked_parameter():
    with pytest.raises(qc.QualcodeError, match="max_tokens"):
        LLMCoder("http://127.0.0.1:1/v1", "m", max_tokens=0).fit(CODEBOOK)


def test_cli_llm_max_tokens_reaches_the_server(project, servers):
    server = servers(lambda body, n: Reply(answer("collaboration", first_words(body))))
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--methods", "llm", "-d", DOC, "-q", "--llm", server.url,
                                 "--model", "m", "--llm-max-tokens", "700"])
    assert result.exit_code == 0, result.output
    assert {r["max_tokens"] for r in server.requests} == {700}


# -- E: request counts, --api-key help ----------------------------------------------------------------------


def test_request_count_counts_a_segment_tried_then_stopped_as_asked(servers):
    def script(body: dict, n: int) -> Reply:
        failing = llm_server.error(500, "internal error")
        if llm_server.segment_of(body).startswith("Segmento número 3:"):
            failing.delay = 0.3  # still between its tries when the other three have failed the batch
        return failing

    server = servers(script)
    coder = LLMCoder(server.url, "m", backoff=0.05, on_error="warn", concurrency=4).fit(CODEBOOK)
    with pytest.warns(LLMWarning) as caught:
        coder.suggest(segments(4))
    tried = {llm_server.segment_of(r) for r in server.requests}
    assert len(tried) == 4 and coder.report_.n_asked == 4 and coder.report_.n_requests == len(server.requests)
    assert f"4 asked in {len(server.requests)} requests" in " ".join(str(w.message) for w in caught)


def test_api_key_help_says_the_environment_variable_is_safer():
    result = runner.invoke(app, ["suggest", "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    text = said(result)
    assert "QUALCODE_LLM_API_KEY" in text and "(ps)" in text and "--llm-max-tokens" in text


def test_readme_says_seed_and_max_tokens_are_sent():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "`seed`" in readme and "`max_tokens`" in readme


def test_context_error_beside_other_methods_says_what_to_change_not_to_wait_for_the_server(project, servers):
    # A context too short is not cured by waiting: the summary says to change what the error names, then re-run.
    path = str(project.path)
    project.close()
    server = servers(lambda body, n: llm_server.error(400, VLLM))
    result = runner.invoke(app, ["suggest", path, "--methods", "keyword,llm", "-d", DOC, "-q", "--llm", server.url,
                                 "--model", "m"])
    text = said(result)
    assert result.exit_code == 1, result.output
    assert "does not fit the model's context" in text and "--llm-max-tokens" in text, text
    assert "when the server answers" not in text, text
