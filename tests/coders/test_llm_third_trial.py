"""Faults a new user's third trial of the LLM coder found (issue 19), each against a real local server.

These test qualcode's side of the protocol only; they say nothing about a model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import LLMCoder
from qualcode.errors import LLMError, LLMWarning

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
CODEBOOK = Codebook("demo", codes=[Code("trust", label={"es": "Confianza"}), Code("other", label={"es": "Otro"})])
ON_TEXT = json.dumps({"codes": [{"code_id": "trust", "quote": "la confianza entre nosotras", "reason": "r",
                                 "confidence": "high"}]}, ensure_ascii=False)


def one_segment(text: str = S1, segment_id: str = "s1") -> pd.DataFrame:
    return pd.DataFrame([{"segment_id": segment_id, "doc_id": "d", "text": text, "start": 0, "end": len(text),
                          "speaker_role": "participant", "language": "es"}])


def with_usage(content: str, usage: dict) -> Reply:
    body = {"id": "x", "object": "chat.completion", "model": "m", "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}
    return Reply(content=None, raw=json.dumps(body, ensure_ascii=False))


# -- 1: the "prompt was cut" check on a server that counts only uncached prompt tokens ---------------------------

@pytest.mark.parametrize("usage", [{"prompt_tokens": 0, "completion_tokens": 9},
                                   {"prompt_tokens": 40, "prompt_tokens_details": {"cached_tokens": 900}}],
                         ids=["zero-when-cached", "cached-tokens-given"])
def test_cached_prompt_token_count_is_no_false_alarm_of_a_cut_prompt(servers, usage):
    server = servers(lambda body, n: with_usage(ON_TEXT, usage))
    coder = LLMCoder(server.url, "m", backoff=0.01).fit(CODEBOOK)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LLMWarning)
        out = coder.suggest(one_segment())
    assert list(out["code_id"]) == ["trust"] and coder.report_.n_failed == 0


def test_whole_answer_with_few_prompt_tokens_counted_is_kept_with_a_warning(servers):
    # Only the uncached part counted (80 tokens of a prompt of thousands of characters): the answer is whole.
    server = servers(lambda body, n: Reply(ON_TEXT, prompt_tokens=8))
    coder = LLMCoder(server.url, "m", backoff=0.01).fit(CODEBOOK)
    with pytest.warns(LLMWarning, match="counted only 8 tokens") as caught:
        out = coder.suggest(one_segment())
    assert list(out["code_id"]) == ["trust"] and coder.report_.n_failed == 0
    assert not any("cut the prompt to its context length. Give" in str(w.message) for w in caught)
    assert not any(isinstance(w.message, LLMError) for w in caught)


# -- 2: transcript text escaped by the server in its error message -----------------------------------------------

S2 = "Sí, la Pía me dijo que la confianza había crecido en el jardín, poco a poco."
ESCAPED = {  # the server's message as it reads once its JSON body is decoded
    "json-escaped": "could not tokenize content " + json.dumps(S2[:48]),  # "S\u00ed, la P\u00eda ..."
    "html-entities": 'could not tokenize content "' + S2[:48].replace("í", "&#237;") + '"',
    "case-and-accents": 'could not tokenize content "SI, LA PIA ME DIJO QUE LA CONFIANZA"',
}


@pytest.mark.parametrize("shape", list(ESCAPED))
def test_escaped_transcript_text_in_a_server_error_is_left_out(servers, shape):
    server = servers(lambda body, n: llm_server.error(400, ESCAPED[shape]))
    coder = LLMCoder(server.url, "m", backoff=0.01).fit(CODEBOOK)
    with pytest.raises(LLMError) as caught:
        coder.suggest(one_segment(S2))
    said = str(caught.value).casefold()
    assert "quotes the request" in said and "could not tokenize" not in said
    for word in ("p\\u00eda", "p&#237;a", "pia", "dijo", "confianza"):
        assert word not in said


def test_server_error_that_does_not_quote_the_request_is_still_shown(servers):
    server = servers(lambda body, n: llm_server.error(400, "invalid parameter temperature: must be below 2"))
    with pytest.raises(LLMError, match="invalid parameter temperature"):
        LLMCoder(server.url, "m", backoff=0.01).fit(CODEBOOK).suggest(one_segment())


# -- 3: the API key echoed back by the server ----------------------------------------------------------------

@pytest.mark.parametrize("status", [401, 503])
def test_api_key_echoed_in_a_server_error_is_redacted(servers, status):
    server = servers(lambda body, n: llm_server.error(
        status, f"Invalid API key: {body and 'Bearer sk-wrong-999'} (key sk-wrong-999); other: Bearer abc.def"))
    coder = LLMCoder(server.url, "m", api_key="sk-wrong-999", backoff=0.01, retries=1).fit(CODEBOOK)
    with pytest.raises(LLMError) as caught:
        coder.suggest(one_segment())
    said = str(caught.value)
    assert "Invalid API key" in said
    assert "sk-wrong-999" not in said and "abc.def" not in said and "Bearer ***" in said


# -- 5: counts and wording -------------------------------------------------------------------------------------

def test_answer_with_no_usable_evidence_is_not_also_counted_as_no_answer(servers):
    off = json.dumps({"codes": [{"code_id": "trust", "quote": "trust was built", "reason": "r",
                                 "confidence": "high"}]})

    def script(body, n):
        if llm_server.segment_of(body) == S1:
            return Reply(off)
        return llm_server.error(400, "invalid request")

    server = servers(script)
    two = pd.concat([one_segment(), one_segment(S2, "s2")], ignore_index=True)
    coder = LLMCoder(server.url, "m", backoff=0.01, on_error="warn", concurrency=1).fit(CODEBOOK)
    with pytest.warns(LLMWarning) as caught:
        coder.suggest(two)
    assert coder.report_.n_no_evidence == 1 and coder.report_.n_failed == 1
    assert "1 segment got no answer" in " ".join(str(w.message) for w in caught)


def test_server_failing_after_one_try_says_try_in_the_singular(servers):
    server = servers(lambda body, n: llm_server.error(503, "overloaded"))
    with pytest.raises(LLMError, match=r"after 1 try;"):
        LLMCoder(server.url, "m", backoff=0.01, retries=0).fit(CODEBOOK).suggest(one_segment())
