"""Faults a new user's second trial of the LLM coder found (issue 19), each against a real local server.

These test qualcode's side of the protocol only; they say nothing about a model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import LLMCoder
from qualcode.errors import LLMError

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
