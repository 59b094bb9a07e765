"""A real HTTP server on 127.0.0.1 that speaks OpenAI chat completions and answers from fixtures (tests only).

It checks nothing about a model: it records each request (path, headers, JSON body) and answers what the test
scripted for it, so the tests exercise qualcode's side of the protocol over a real socket.

A script is a function ``(body, n) -> Reply`` (``n`` counts requests from 1); :func:`by_segment` answers by
the segment text found in the user message.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SEGMENT = re.compile(r"<segment>\n(.*)\n</segment>", re.S)


@dataclass
class Reply:
    content: str | None = '{"codes": []}'   # the message content; None: ``raw`` is the whole body
    status: int = 200
    delay: float = 0.0
    raw: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int | None = None
    finish_reason: str | None = "stop"


def completion(content: str, prompt_tokens: int | None = None, finish_reason: str | None = "stop") -> str:
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": 10} if prompt_tokens is not None else None
    body: dict[str, Any] = {"id": "x", "object": "chat.completion", "model": "m",
                            "choices": [{"index": 0, "finish_reason": finish_reason,
                                         "message": {"role": "assistant", "content": content}}]}
    if usage:
        body["usage"] = usage
    return json.dumps(body)


def error(status: int, message: str) -> Reply:
    return Reply(content=None, status=status, raw=json.dumps({"error": {"message": message}}))


def segment_of(body: dict) -> str:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return SEGMENT.search(user).group(1)


def by_segment(answers: dict[str, str], default: str = '{"codes": []}') -> Callable[[dict, int], Reply]:
    """Answer each request with ``answers[segment text]`` (else ``default``)."""
    def script(body: dict, n: int) -> Reply:
        return Reply(answers.get(segment_of(body), default))
    return script


class ChatServer:
    """Serve ``script`` at ``http://127.0.0.1:<port>/v1/chat/completions`` until :meth:`close`."""

    def __init__(self, script: Callable[[dict, int], Reply] | None = None) -> None:
        self.script = script or (lambda body, n: Reply())
        self.requests: list[dict] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.hold_until_in_flight = 0   # hold each request until this many are in flight (or 5 s pass)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # a proxy would be asked with GET for http:// URLs
                self._record(None)
                self._send(404, json.dumps({"error": {"message": "not here"}}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                n = self._record(body)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    deadline = time.monotonic() + 5
                    while server.in_flight < server.hold_until_in_flight and time.monotonic() < deadline:
                        time.sleep(0.005)
                    reply = server.script(body, n)
                    if reply.delay:
                        time.sleep(reply.delay)
                    raw = reply.raw if reply.content is None else completion(reply.content, reply.prompt_tokens,
                                                                             reply.finish_reason)
                finally:
                    # Before answering: once answered, the client may send its next request at once, and
                    # counting this one still in flight then would overstate the client's concurrency.
                    with server._lock:
                        server.in_flight -= 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self._send(reply.status, raw or "", reply.headers)

            def _record(self, body: dict | None) -> int:
                with server._lock:
                    server.requests.append(body if body is not None else {})
                    server.paths.append(self.path)
                    server.headers.append(dict(self.headers))
                    return len(server.requests)

            def _send(self, status: int, raw: str, headers: dict[str, str] | None = None) -> None:
                data = raw.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on: the URL of a server that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
