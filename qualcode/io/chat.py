"""A client for one OpenAI-compatible chat-completions endpoint (Ollama, llama.cpp's server, vLLM, LM Studio).

Only the URL the user gives is ever contacted: requests go to ``<base_url>/chat/completions``, redirects
are refused (a redirect could send a transcript to another host), and the environment's proxy settings
(``http_proxy``, ``https_proxy``) are not used, so nothing passes through a machine the user did not name.
The standard library's ``urllib`` is enough for one POST of JSON; no SDK is needed.

What is sent: the model name, the messages, ``temperature`` 0, a ``seed``, ``stream: false``, ``max_tokens``, a
``response_format``: a JSON schema where the server accepts one, else JSON mode (``json_object``), else
none (the caller parses the text). The first form a server refuses is not tried again by this client.

Failures become :class:`~qualcode.errors.LLMError` subclasses saying what to do: nothing listening
(:class:`~qualcode.errors.LLMUnavailableError`), an unknown model (:class:`~qualcode.errors.LLMModelError`),
a prompt longer than the model's context (:class:`~qualcode.errors.LLMContextError`), no answer in time
(:class:`~qualcode.errors.LLMTimeoutError`). Busy or failing servers (429, 5xx, a dropped connection) are
tried again after a growing pause (:data:`RETRIES`, :data:`BACKOFF_SECONDS`), honouring ``Retry-After``.
"""

from __future__ import annotations

import html
import http.client
import json
import re
import shlex
import socket
import ssl
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ..errors import (
    LLMContextError,
    LLMError,
    LLMModelError,
    LLMTimeoutError,
    LLMUnavailableError,
    ParameterError,
    printable,
)
from ..messages import counted

__all__ = ["BACKOFF_SECONDS", "EXCERPT_CHARS", "MAX_ANSWER_BYTES", "RESPONSE_FORMATS", "RETRIES", "TIMEOUT_SECONDS",
           "Cancelled", "ChatClient", "ChatReply", "check_base_url", "context_split", "excerpt"]

#: Seconds to wait for one answer. A local model on a CPU reads a prompt of several thousand tokens (the
#: codebook) at tens of tokens a second and writes at a few: a few minutes is a normal answer there, and a
#: request may also wait its turn on the server while others are answered.
TIMEOUT_SECONDS = 300.0
#: Tries after the first for a busy or failing server (429, 5xx, a dropped connection): a restarting or
#: loaded server usually answers within a few seconds to a minute; after that it is down, and saying so is
#: better than waiting longer.
RETRIES = 4
#: The first pause before trying again; it doubles each time (1, 2, 4, 8 s: 15 s in all).
BACKOFF_SECONDS = 1.0
#: A ``Retry-After`` longer than this is not honoured as such (the pause is cut to it).
MAX_RETRY_AFTER_SECONDS = 60.0
#: The largest answer read: a chat completion for one segment is a few KB; a server sending more than this
#: is not answering the question (and must not fill the memory).
MAX_ANSWER_BYTES = 4 * 2**20
#: The ``response_format`` forms tried, best first.
RESPONSE_FORMATS = ("json_schema", "json_object", "none")

# Words servers use when a prompt does not fit the model's context (OpenAI, vLLM, llama.cpp, LM Studio).
_CONTEXT_WORDS = ("context length", "context_length", "maximum context", "context window", "n_ctx",
                  "too many tokens", "prompt is too long", "exceeds the available context", "input is too long",
                  "exceed_context_size", "maximum model length", "max_model_len")
#: Characters of a server's error message shown in an error: its gist ("model not found", "context length
#: exceeded"). Servers echo the request in their errors, and the request holds transcript text, which must not
#: reach a terminal or a CI log: a longer message is cut here, and any part of it that repeats what was sent
#: is left out (:func:`excerpt`).
EXCERPT_CHARS = 80
# A stretch of a server's message this long found in the request is taken to be the request echoed back.
_ECHO_CHARS = 12
# Words in a row, folded, that a server's message shares with the request: the request quoted (escaped or not).
_ECHO_WORDS = 4
_BEARER = re.compile(r"(?i)\bBearer\s+[^\s\"',;]+")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Statuses worth trying again: the server is busy or had a passing failure.
_TRANSIENT = {408, 409, 429, 500, 502, 503, 504}


class Cancelled(Exception):
    """The caller's ``stop`` event was set: no (further) try of this request was sent.

    ``tries`` were sent before it (a request tried and then stopped during its pause was asked all the same).
    """

    def __init__(self, tries: int = 0) -> None:
        super().__init__(f"cancelled after {tries} tries")
        self.tries = tries


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        # A redirect is answered as the error it is: following it would send the transcript elsewhere.
        return None


def excerpt(message: str, sent: str = "", secret: str | None = None) -> str:
    """A server's error message fit to show: one line, at most :data:`EXCERPT_CHARS`, without the request.

    Whatever repeats :data:`_ECHO_CHARS` or more characters of ``sent`` (the request's messages: transcript
    text) is cut from there on. A message sharing :data:`_ECHO_WORDS` words in a row with ``sent`` once both are
    unescaped (``\\u00ed``, ``&#237;``) and folded (case, accents) is left out whole. ``secret`` (the API key)
    and any ``Bearer`` token are replaced by ``***``.

    Examples
    --------
    >>> excerpt('model "x" not found, try pulling it first')
    'model "x" not found, try pulling it first'
    >>> excerpt("cannot parse message: Bueno, yo creo", sent="... Bueno, yo creo que la red ...")
    'cannot parse message: [request text left out]'
    >>> excerpt('could not tokenize "S&#237;, la P&#237;a dijo"', sent="Sí, la Pía dijo que no")
    "[server's message left out: it quotes the request]"
    """
    text = str(message)
    if secret:
        text = text.replace(secret, "***")
    text = _BEARER.sub("Bearer ***", text)
    text = " ".join(printable(text).split())
    if sent and _quotes(text, sent):
        return "[server's message left out: it quotes the request]"
    folded = " ".join(sent.split())
    if folded:
        for i in range(max(0, len(text) - _ECHO_CHARS + 1)):
            if text[i:i + _ECHO_CHARS] in folded:
                return (text[:i].rstrip() + " [request text left out]").strip()
    if len(text) > EXCERPT_CHARS:
        return text[:EXCERPT_CHARS].rstrip() + " …"
    return text


def _words(text: str) -> list[str]:
    """``text`` unescaped (JSON ``\\uXXXX``, HTML entities) and folded (case, accents), as words."""
    text = html.unescape(_JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    text = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return re.findall(r"\w+", text)


def _quotes(message: str, sent: str) -> bool:
    """Whether ``message`` shares :data:`_ECHO_WORDS` words in a row with ``sent``."""
    said = _words(message)
    if len(said) < _ECHO_WORDS:
        return False
    words = _words(sent)
    runs = {tuple(words[i:i + _ECHO_WORDS]) for i in range(len(words) - _ECHO_WORDS + 1)}
    return any(tuple(said[i:i + _ECHO_WORDS]) in runs for i in range(len(said) - _ECHO_WORDS + 1))


def check_base_url(base_url: object) -> str:
    """``base_url`` without a trailing slash, if it is an http(s) URL with a host and nothing else odd.

    Raises
    ------
    ParameterError
        For another scheme, no host, credentials, a query or a fragment in the URL.

    Examples
    --------
    >>> check_base_url("http://localhost:11434/v1/")
    'http://localhost:11434/v1'
    """
    if not isinstance(base_url, str) or not base_url.strip():
        raise ParameterError("give the server's base URL, e.g. http://localhost:11434/v1 (Ollama) or "
                             "http://localhost:8080/v1 (llama.cpp).")
    url = base_url.strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParameterError(f"the LLM server's URL must start with http:// or https:// and name a host, got "
                             f"{printable(url)!r}; e.g. http://localhost:11434/v1.")
    if parts.username or parts.password:
        raise ParameterError("the LLM server's URL must not carry a user name or password: give the key "
                             "(api_key= / --api-key) instead.")
    if parts.query or parts.fragment:
        raise ParameterError(f"the LLM server's URL must not have a query or fragment, got {printable(url)!r}; "
                             "give the base URL only, e.g. http://localhost:11434/v1.")
    return url.rstrip("/")


@dataclass(frozen=True)
class ChatReply:
    """One answer: the message's text, the ``response_format`` form used, the server's ``usage`` counts."""

    text: str
    form: str
    finish_reason: str | None
    prompt_tokens: int | None


class ChatClient:
    """POST chat completions to one server, with retries, a timeout and the fallbacks of ``response_format``.

    Safe to share between threads (each request opens its own connection).

    Parameters
    ----------
    base_url : str
        The server's OpenAI-compatible base URL (``http://localhost:11434/v1``).
    model : str
        The model name the server knows.
    api_key : str, optional
        Sent as ``Authorization: Bearer ...`` to that server only.
    timeout, retries, backoff
        See :data:`TIMEOUT_SECONDS`, :data:`RETRIES`, :data:`BACKOFF_SECONDS`.

    Attributes
    ----------
    n_requests : int
        HTTP requests sent (tries included).
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 timeout: float = TIMEOUT_SECONDS, retries: int = RETRIES, backoff: float = BACKOFF_SECONDS) -> None:
        self.base_url = check_base_url(base_url)
        self.url = self.base_url + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.n_requests = 0
        self._form = 0  # index into RESPONSE_FORMATS: the best form the server has not refused
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def __repr__(self) -> str:
        return f"ChatClient({self.url!r}, model={self.model!r})"

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], *,
                 max_tokens: int | None = None, stop: threading.Event | None = None) -> ChatReply:
        """The model's answer to ``messages``, asked for JSON following ``schema`` in the best form accepted.

        Once ``stop`` is set (Ctrl-C), no further try is sent and a pause before one ends at once.

        Raises
        ------
        LLMError
            One of its subclasses when the server cannot give an answer (see the module docstring).
        Cancelled
            When ``stop`` was set before a try.
        """
        while True:
            form = self._form
            body: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": 0, "seed": 0,
                                    "stream": False}
            if max_tokens is not None:
                body["max_tokens"] = max_tokens
            if RESPONSE_FORMATS[form] == "json_schema":
                body["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "codes", "strict": True, "schema": schema}}
            elif RESPONSE_FORMATS[form] == "json_object":
                body["response_format"] = {"type": "json_object"}
            try:
                answer = self._post(body, stop)
            except _Refused as refused:
                if form + 1 < len(RESPONSE_FORMATS) and _about_format(refused.message):
                    with self._lock:
                        self._form = max(self._form, form + 1)
                    continue
                raise self._client_error(refused.status, refused.message, refused.shown,
                                         max_tokens=max_tokens) from None
            return _reply(answer, RESPONSE_FORMATS[form], self.url)

    def _post(self, body: dict[str, Any], stop: threading.Event | None = None) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        # What a server may echo back in an error: never shown (it is transcript text).
        sent = "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if isinstance(m, dict))
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        pause = self.backoff
        for attempt in range(self.retries + 1):
            if stop is not None and stop.is_set():
                raise Cancelled(attempt)
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            with self._lock:
                self.n_requests += 1
            wait: float | None = None
            reached = True  # the server took the request (an HTTP error, a dropped connection): not down
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read(MAX_ANSWER_BYTES + 1)
                return _json_answer(raw, self.url, sent)
            except urllib.error.HTTPError as exc:
                message = _error_message(exc)
                if exc.code not in _TRANSIENT:
                    raise _Refused(exc.code, message, excerpt(message, sent, self.api_key)) from None
                failure = f"HTTP {exc.code}: {excerpt(message, sent, self.api_key)}"
                wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError):
                    raise self._timeout() from None
                if isinstance(reason, (ConnectionRefusedError, socket.gaierror)):
                    raise self._unavailable(str(reason)) from None
                if isinstance(reason, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(reason):
                    # Trying again cannot help: the server answers in plain HTTP, not TLS.
                    raise LLMUnavailableError(
                        f"the LLM server at {self.url} speaks plain http://, not https://: give the URL as "
                        f"{self.base_url.replace('https://', 'http://', 1)} (base_url= / --llm).",
                        url=self.url) from None
                failure = str(reason)
                reached = False  # no route, a reset before any answer: the server cannot be reached
            except TimeoutError:
                raise self._timeout() from None
            except (ConnectionError, http.client.HTTPException) as exc:
                # The server dropped the connection or sent half an answer: a restart or an overload.
                failure = f"{type(exc).__name__}: {excerpt(str(exc), sent, self.api_key)}"
            if attempt == self.retries:
                raise LLMUnavailableError(
                    f"the LLM server at {self.url} kept failing ({failure}) after "
                    f"{counted(self.retries + 1, 'try', 'tries')}; check its log, then run the same command again "
                    "(answers already received are kept).", url=self.url, transient=reached)
            pause_now = min(wait, MAX_RETRY_AFTER_SECONDS) if wait is not None else pause
            if stop is not None:
                stop.wait(pause_now)  # ends at once on Ctrl-C; the next try then is not sent
            else:
                time.sleep(pause_now)
            pause *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _context_error(self, message: str, shown: str, max_tokens: int | None) -> LLMContextError:
        """The error for a request longer than the model's context: which part overflows, when the server says.

        Servers give the split in their message (:func:`context_split`): the prompt's tokens and the answer's
        reserve (``max_tokens``), which the server counts against the context before writing a word. When the
        prompt fits but the reserve does not, sending less prompt is not the fix: a shorter reserve is.
        """
        context, prompt, completion = context_split(message)
        completion = completion if completion is not None else max_tokens
        longer = "give the model a longer context (for Ollama: OLLAMA_CONTEXT_LENGTH=32768; vLLM: --max-model-len)"
        less = ("send less: fewer codebook examples per code (codebook_examples= / --llm-examples) or fewer "
                "characters of the team's examples (few_shot_chars= / --llm-few-shot-chars)")
        reserve = "max_tokens= / --llm-max-tokens"

        def error(text: str) -> LLMContextError:
            return LLMContextError(text, url=self.url, context_tokens=context, prompt_tokens=prompt,
                                   completion_tokens=completion)

        if context is not None and prompt is not None and completion is not None and prompt < context:
            room = context - prompt
            said = (f"the model's context at {self.url} is {context} tokens: the prompt takes {prompt} and the "
                    f"answer's reserve (max_tokens, {completion}) does not fit in the {room} left")
            if room >= MIN_ANSWER_ROOM:
                return error(f"{said}; ask for a shorter answer, at most {room} tokens ({reserve} {room}; "
                             "a dozen codes with a quote and a reason take under 1,000), or "
                             f"{longer}.")
            return error(f"{said}, nor would an answer ({MIN_ANSWER_ROOM} tokens or more); {longer}, or "
                         f"{less}.")
        if context is not None and prompt is not None:
            on_top = (f", and the answer's reserve (max_tokens, {completion}) comes on top of it" if completion
                      else "")
            # What fits as sent (the reserve as asked), and with a smaller reserve the answer still fits in.
            need = f" of at least {prompt + (completion or MIN_ANSWER_ROOM)} tokens"
            if completion and completion > SHORT_ANSWER_TOKENS:
                need += (f" ({prompt + SHORT_ANSWER_TOKENS} with --llm-max-tokens {SHORT_ANSWER_TOKENS} / "
                         f"max_tokens={SHORT_ANSWER_TOKENS})")
            return error(
                f"the model's context at {self.url} is {context} tokens: the prompt alone takes {prompt}{on_top}; "
                f"{longer.replace('a longer context', 'a longer context' + need)}, or {less}"
                + (f" and ask for a shorter answer ({reserve})" if completion else "") + ".")
        reserved = (f", or leaves no room for the answer's reserve (max_tokens, {completion}) beside it"
                    if completion is not None else "")
        return error(
            f"the prompt is longer than the model's context at {self.url}{reserved} ({shown}); {longer}, or {less}"
            + (f"; or ask for a shorter answer ({reserve})" if completion is not None else "") + ".")

    def _timeout(self) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"the LLM server at {self.url} gave no answer within {self.timeout:g} s; give it more time "
            "(timeout= / --llm-timeout), fewer requests at once (concurrency= / --llm-concurrency) or a smaller "
            "model. Answers already received are kept.", url=self.url)

    def _unavailable(self, reason: str) -> LLMUnavailableError:
        return LLMUnavailableError(
            f"no LLM server answers at {self.url} ({printable(reason)}): start it (for Ollama: ollama serve) "
            "or correct the URL given (base_url= / --llm).", url=self.url)

    def _client_error(self, status: int, message: str, shown: str, *, max_tokens: int | None = None) -> LLMError:
        text = message.lower()
        if "model" in text and any(w in text for w in ("not found", "does not exist", "not exist", "unknown",
                                                       "no such", "not available", "try pulling")):
            return LLMModelError(
                f"the LLM server at {self.url} has no model {self.model!r} ({shown}); pull or load it first "
                f"(for Ollama: ollama pull {shlex.quote(self.model)}) or give a name the server lists at "
                f"{self.base_url}/models.", url=self.url, model=self.model)
        if any(w in text for w in _CONTEXT_WORDS):
            return self._context_error(message, shown, max_tokens)
        if 300 <= status < 400:
            return LLMUnavailableError(
                f"the LLM server at {self.url} answered with a redirect (HTTP {status}), which qualcode does not "
                "follow: a transcript goes only to the URL you give. Give the server's own base URL.",
                url=self.url)
        if status in (401, 403):
            return LLMError(f"the LLM server at {self.url} refused the request (HTTP {status}: {shown}); "
                            "check the key given (api_key= / --api-key).", url=self.url)
        if status == 404:
            return LLMUnavailableError(
                f"no chat-completions endpoint at {self.url} (HTTP 404: {shown}); the base URL of an "
                "OpenAI-compatible server usually ends in /v1 (http://localhost:11434/v1).", url=self.url)
        return LLMError(f"the LLM server at {self.url} refused the request (HTTP {status}: {shown}).",
                        url=self.url)


#: The fewest tokens worth leaving for an answer: a code with a quote and a reason takes about 60, and JSON
#: around a handful of them some 300.
MIN_ANSWER_ROOM = 256
# A reserve a dozen codes with a quote and a reason fit in: the smaller reserve a context error proposes.
SHORT_ANSWER_TOKENS = 1024
_CONTEXT_TOKENS = re.compile(r"(?:maximum (?:context|model) length|context (?:length|size|window)|n_ctx)"
                             r"\D{0,20}?(\d+)", re.I)
_SPLIT = re.compile(r"(\d+) (?:tokens )?in the messages?,\s*(\d+) (?:tokens )?in the completion", re.I)
_INPUT = re.compile(r"(?:request has|prompt has|prompt of|prompt is) (\d+) (?:input |prompt )?tokens", re.I)
_TOO_LARGE = re.compile(r"max_(?:completion_)?tokens'?\D{0,40}?too large:?\s*(\d+)", re.I)


def context_split(message: str) -> tuple[int | None, int | None, int | None]:
    """The model's context, the prompt's tokens and the answer's reserve, as far as a server's message says.

    Examples
    --------
    >>> context_split("This model's maximum context length is 512 tokens. However, you requested 2626 tokens "
    ...               "(578 in the messages, 2048 in the completion). Please reduce the length.")
    (512, 578, 2048)
    >>> context_split("'max_tokens' or 'max_completion_tokens' is too large: 2048. This model's maximum context "
    ...               "length is 512 tokens and your request has 578 input tokens (2048 > 512 - 578).")
    (512, 578, 2048)
    >>> context_split("context length exceeded")
    (None, None, None)
    """
    found = _CONTEXT_TOKENS.search(message)
    context = int(found.group(1)) if found else None
    split = _SPLIT.search(message)
    if split:
        return context, int(split.group(1)), int(split.group(2))
    prompt = _INPUT.search(message)
    large = _TOO_LARGE.search(message)
    return (context, int(prompt.group(1)) if prompt else None, int(large.group(1)) if large else None)


class _Refused(Exception):
    """A 4xx answer that trying again will not change (kept inside this module)."""

    def __init__(self, status: int, message: str, shown: str) -> None:
        super().__init__(shown)
        self.status, self.message, self.shown = status, message, shown


def _about_format(message: str) -> bool:
    """Whether a refusal is about ``response_format`` (the server does not support that form)."""
    text = message.lower()
    return any(w in text for w in ("response_format", "json_schema", "json schema", "json_object", "grammar",
                                   "structured output", "guided"))


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read(64 * 1024)
    except OSError:
        return exc.reason if isinstance(exc.reason, str) else str(exc.code)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace").strip() or str(exc.reason)
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)
    return str(error)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the doubling pause is used instead


def _empty(url: str, what: str) -> LLMError:
    """An HTTP 200 with nothing in it: what a server sends when its model is not loaded, failed to load, or
    ran out of context before writing a word; the URL is right, so a hint about ``/v1`` would mislead."""
    return LLMError(f"the LLM server at {url} sent an empty answer ({what}) for a request: check that the model is "
                    "loaded and answers (the server's log; for Ollama: ollama ps) and that its context size holds "
                    "the prompt (for Ollama: OLLAMA_CONTEXT_LENGTH=32768), or send less (codebook_examples= / "
                    "--llm-examples), then run the same command again (answers already received are kept).",
                    url=url)


def _json_answer(raw: bytes, url: str, sent: str = "") -> dict[str, Any]:
    if not raw.strip():
        raise _empty(url, "HTTP 200 with an empty body")
    if len(raw) > MAX_ANSWER_BYTES:
        raise LLMError(f"the LLM server at {url} sent more than {MAX_ANSWER_BYTES // 2**20} MB for one answer; "
                       "is the URL an OpenAI-compatible chat endpoint?", url=url)
    try:
        answer = json.loads(raw)
    except ValueError:
        raise LLMError(f"the LLM server at {url} did not answer in JSON "
                       f"({excerpt(raw[:4 * EXCERPT_CHARS].decode('utf-8', 'replace'), sent)!r}); is the URL "
                       "an OpenAI-compatible chat endpoint (it usually ends in /v1)?", url=url) from None
    if not isinstance(answer, dict):
        raise LLMError(f"the LLM server at {url} did not send a chat completion.", url=url)
    return answer


def _reply(answer: dict[str, Any], form: str, url: str) -> ChatReply:
    if isinstance(answer.get("choices"), list) and not answer["choices"]:
        raise _empty(url, "no choices")
    try:
        choice = answer["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LLMError(f"the LLM server at {url} sent no choices[0].message.content; is it OpenAI-compatible?",
                       url=url) from None
    if text is None or (isinstance(text, str) and not text.strip()):
        raise _empty(url, "no text in choices[0].message.content")
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    return ChatReply(text=text if isinstance(text, str) else "", form=form,
                     finish_reason=choice.get("finish_reason") if isinstance(choice, dict) else None,
                     prompt_tokens=_prompt_tokens(usage))


def _prompt_tokens(usage: dict[str, Any] | None) -> int | None:
    """The prompt tokens the server read, or None if unknown.

    Some servers (Ollama versions) count only the tokens not cached, or report 0 for a prompt read from cache:
    0 or no count is unknown, and ``prompt_tokens_details.cached_tokens`` is added when given.
    """
    n = usage.get("prompt_tokens") if usage else None
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        return None
    details = usage.get("prompt_tokens_details") if usage else None
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if isinstance(cached, int) and not isinstance(cached, bool) and cached > 0:
        n += cached
    return n
