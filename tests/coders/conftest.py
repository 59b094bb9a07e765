"""Fixtures of the LLM coder's tests: local chat-completions servers (``llm_server.py``) closed after each test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
if not hasattr(llm_server, "ChatServer"):  # the test modules load it the same way; once is enough
    _spec.loader.exec_module(llm_server)


@pytest.fixture
def servers():
    """Start servers with ``servers(script)``; every one started is closed when the test ends."""
    started: list = []

    def start(script=None):
        server = llm_server.ChatServer(script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
