"""The LLM coder against a real local HTTP server speaking OpenAI chat completions (tests/coders/llm_server.py).

These test qualcode's side of the protocol — what is sent, how answers are read and checked, retries, errors,
the cache — and nothing about any model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode.codebook import Code, Codebook
from qualcode.coders import KeywordCoder, available_coders, get_coder, method_support
from qualcode.coders.llm import (
    PRIOR_SCORES,
    PROMPT_VERSION,
    LLMCoder,
    MemoryResponseCache,
    calibration,
    locate,
    read_answer,
)
from qualcode.corpus import questions as corpus_questions
from qualcode.errors import (
    LLMContextError,
    LLMError,
    LLMModelError,
    LLMTimeoutError,
    LLMUnavailableError,
    LLMWarning,
    ParameterError,
)
from qualcode.review.table import questions as review_questions
from qualcode.testing import check_coder, coder_checks

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
ChatServer, Reply, by_segment, error, segment_of = (llm_server.ChatServer, llm_server.Reply, llm_server.by_segment,
                                                     llm_server.error, llm_server.segment_of)

Q1 = "¿Cómo ha sido el trabajo con las otras directoras?"
S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
S2 = "Al principio me sentía muy sola en el jardín, nadie me apoyaba."
Q2 = "How did the network help you?"
S3 = "We shared materials for the literacy plan and that saved us weeks."
TEXTS = [Q1, S1, S2, Q2, S3]
ROLES = ["interviewer", "participant", "participant", "interviewer", "participant"]


def make_segments(texts=TEXTS, roles=ROLES, langs=("es", "es", "es", "en", "en")) -> pd.DataFrame:
    rows, start, doc = [], 0, "int_a"
    for i, (text, role, lang) in enumerate(zip(texts, roles, langs, strict=True)):
        if i == 3:
            doc, start = "int_b", 0
        rows.append({"segment_id": f"s{i}", "doc_id": doc, "text": text, "start": start, "end": start + len(text),
                     "speaker_role": role, "language": lang})
        start += len(text) + 2
    return pd.DataFrame(rows)


CODEBOOK = Codebook("demo", title={"es": "Demo", "en": "Demo"}, codes=[
    Code("collaboration", label={"es": "Colaboración", "en": "Collaboration"},
         definition={"es": "Trabajo con otros.", "en": "Working with others."}),
    Code("collaboration.trust", label={"es": "Confianza", "en": "Trust"},
         definition={"es": "Relaciones de confianza entre pares.", "en": "Trusting relations among peers."},
         inclusion={"es": "Menciones de confiar en otras directoras.", "en": "Mentions of trusting peers."},
         exclusion={"es": "No usar para confianza en la autoridad.", "en": "Not trust in authority."},
         examples={"es": ["Confío en mis colegas."], "en": ["I trust my colleagues."]},
         keywords={"es": ["confianza"], "en": ["trust"]}),
    Code("collaboration.isolation", label={"es": "Soledad", "en": "Isolation"},
         definition={"es": "Sentirse sola en el cargo.", "en": "Feeling alone in the role."}),
    Code("collaboration.exchange", label={"es": "Intercambio", "en": "Exchange"},
         definition={"es": "Compartir materiales.", "en": "Sharing materials and resources."},
         keywords={"es": ["material"], "en": ["material*"]}),
])


def answer(*items: tuple[str, str, str]) -> str:
    return json.dumps({"codes": [{"code_id": c, "quote": q, "reason": "porque sí", "confidence": conf}
                                 for c, q, conf in items]}, ensure_ascii=False)


GOOD = {S1: answer(("collaboration.trust", "la confianza entre nosotras se fue construyendo", "high")),
        S2: answer(("collaboration.isolation", "me sentía muy sola en el jardín", "medium")),
        S3: answer(("collaboration.exchange", "We shared materials for the literacy plan", "low"))}


@pytest.fixture
def server():
    servers = []

    def start(script=None) -> ChatServer:
        s = ChatServer(script)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def coder(url: str, **options) -> LLMCoder:
    options.setdefault("backoff", 0.01)
    options.setdefault("timeout", 10)
    return LLMCoder(url, "qwen-test", **options)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the contract and the request ------------------------------------------------------------------------------


def test_llm_coder_follows_the_coder_contract_and_evidence_becomes_document_offsets(server):
    srv = server(by_segment(GOOD))
    segments = make_segments()
    out = check_coder(coder(srv.url), CODEBOOK, segments)
    assert set(out["method"]) == {"llm"}
    assert sorted(out["code_id"]) == ["collaboration.exchange", "collaboration.isolation", "collaboration.trust"]
    documents = {"int_a": "\n\n".join(TEXTS[:3]), "int_b": "\n\n".join(TEXTS[3:])}
    for row in out.itertuples():
        (start, end), = row.spans
        assert documents[row.doc_id][start:end] in GOOD[segments.set_index("segment_id").at[row.segment_id, "text"]]
    assert dict(zip(out["code_id"], out["score"], strict=True)) == {
        "collaboration.trust": PRIOR_SCORES["high"], "collaboration.isolation": PRIOR_SCORES["medium"],
        "collaboration.exchange": PRIOR_SCORES["low"]}
    asked = len(srv.requests)  # check_coder's named checks ask from clones; one coder asks once per segment:
    fitted = coder(srv.url).fit(CODEBOOK)
    fitted.suggest(segments), fitted.suggest(segments)
    assert len(srv.requests) - asked == 3  # the participant segments only, once each: the second used memory


def test_llm_request_shape_is_openai_chat_completions_with_json_schema_and_no_streaming(server):
    srv = server(by_segment(GOOD))
    coder(srv.url, api_key="sekret").fit(CODEBOOK).suggest(make_segments())
    assert set(srv.paths) == {"/v1/chat/completions"}
    assert all(h["Authorization"] == "Bearer sekret" for h in srv.headers)
    for body in srv.requests:
        assert body["model"] == "qwen-test" and body["stream"] is False and body["temperature"] == 0
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        items = fmt["json_schema"]["schema"]["properties"]["codes"]["items"]
        assert items["properties"]["code_id"]["enum"] == [c.id for c in CODEBOOK]
        assert set(items["required"]) == {"code_id", "quote", "reason", "confidence"}
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert set(body) == {"model", "messages", "temperature", "seed", "stream", "max_tokens", "response_format"}
        assert not any(ident in json.dumps(body) for ident in ("int_a", "int_b", '"s1"', '"s2"'))  # no ids
    by_text = {segment_of(b): b for b in srv.requests}
    spanish_system, spanish_user = (m["content"] for m in by_text[S1]["messages"])
    for words in ("Confianza", "Relaciones de confianza entre pares.", "Menciones de confiar en otras directoras.",
                  "No usar para confianza en la autoridad.", "Confío en mis colegas.", "collaboration.trust"):
        assert words in spanish_system
    assert "Trusting relations" not in spanish_system  # the segment's language
    assert Q1 in spanish_user and S1 in spanish_user
    english_system, english_user = (m["content"] for m in by_text[S3]["messages"])
    assert "Trusting relations among peers." in english_system and Q2 in english_user
    assert "Confianza" not in english_system


def test_llm_sends_no_api_key_header_without_a_key_and_hides_the_key_in_repr(server):
    srv = server(by_segment(GOOD))
    coder(srv.url).fit(CODEBOOK).suggest(make_segments())
    assert not any("Authorization" in h for h in srv.headers)
    assert "sekret" not in repr(coder(srv.url, api_key="sekret"))


def test_llm_response_format_falls_back_to_json_object_then_plain_and_remembers(server):
    def script(body, n):
        fmt = body.get("response_format", {}).get("type")
        if fmt == "json_schema":
            return error(400, "response_format type json_schema is not supported")
        if fmt == "json_object":
            return error(400, "Unrecognized response_format json_object")
        return Reply(GOOD.get(segment_of(body), '{"codes": []}'))

    srv = server(script)
    c = coder(srv.url, concurrency=1).fit(CODEBOOK)
    out = c.suggest(make_segments())
    assert len(out) == 3
    kinds = [b.get("response_format", {}).get("type") for b in srv.requests]
    assert kinds == ["json_schema", "json_object", None, None, None]  # refused forms are not tried again
    assert c.report_.response_format == "none"


# -- reading and checking answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    '```json\n{"codes": [{"code_id": "collaboration.trust", "quote": "la confianza", "reason": "r"}]}\n```',
    'Claro, aquí va: {"codes": [{"code_id": "collaboration.trust", "quote": "la confianza", "reason": "r",},]} ¡Listo!',
    '<think>{"codes": []} no, mejor</think>{"codes": [{"code_id": "collaboration.trust", "quote": "la confianza"}]}',
    '[{"code": "collaboration.trust", "evidence": "la confianza"}]',
    '{"codes": [{"code_id": "collaboration.trust", "quote": "la confianza", "reason": "se corta aq',
], ids=["fenced", "prose-and-trailing-commas", "think-block", "bare-list-other-keys", "cut-off"])
def test_llm_malformed_json_answers_are_read(text):
    items = read_answer(text)
    assert items[0]["code_id"] == "collaboration.trust" and items[0]["quote"] == "la confianza"


@pytest.mark.parametrize("text", ["Lo siento, no puedo ayudar.", "", "{{{", '"codes"'])
def test_llm_unreadable_answers_give_none(text):
    assert read_answer(text) is None


def test_llm_unreadable_answer_is_counted_warned_and_not_cached(server):
    srv = server(by_segment({**GOOD, S2: "Lo siento, no puedo ayudar con eso."}))
    cache = MemoryResponseCache()
    with pytest.warns(LLMWarning, match="1 answer could not be read"):
        out = coder(srv.url, cache=cache).fit(CODEBOOK).suggest(make_segments())
    assert set(out["code_id"]) == {"collaboration.trust", "collaboration.exchange"}
    assert sum('"codes"' in v for v in cache.answers.values()) == 2  # the answers (beside each segment's levels)
    with pytest.warns(LLMWarning):
        coder(srv.url, cache=cache).fit(CODEBOOK).suggest(make_segments())
    assert len(srv.requests) == 4  # only the unreadable one was asked again


def test_llm_quote_not_in_text_is_dropped_and_counted_as_hallucination(server):
    invented = answer(("collaboration.trust", "la confianza entre nosotras se fue construyendo", "high"),
                      ("collaboration.isolation", "nunca nos reunimos con el Servicio Local", "high"))
    srv = server(by_segment({S1: invented}))
    c = coder(srv.url).fit(CODEBOOK)
    with pytest.warns(LLMWarning, match=r"1 quote not in the segment .*hallucination rate 50\.0%"):
        out = c.suggest(make_segments())
    assert list(out["code_id"]) == ["collaboration.trust"]
    assert c.report_.n_not_in_text == 1 and c.report_.hallucination_rate == 0.5


def test_llm_quote_from_the_interviewer_question_is_not_evidence(server):
    srv = server(by_segment({S1: answer(("collaboration.trust", "el trabajo con las otras directoras", "high"))}))
    with pytest.warns(LLMWarning, match="1 quote not in the segment"):
        out = coder(srv.url).fit(CODEBOOK).suggest(make_segments())
    assert out.empty


def test_llm_unknown_code_is_refused_and_counted(server):
    srv = server(by_segment({S1: answer(("collaboration.friendship", "la confianza", "high"),
                                        ("confidence", "la confianza", "high"),
                                        ("collaboration.trust", "la confianza", "high"))}))
    c = coder(srv.url).fit(CODEBOOK)
    # ("trust", the English label of collaboration.trust, would be taken as that code: test_llm_trial5.py)
    with pytest.warns(LLMWarning, match=r"2 codes not in the codebook \(neither an id nor a label\) refused"):
        out = c.suggest(make_segments())
    assert list(out["code_id"]) == ["collaboration.trust"]
    assert c.report_.n_unknown_code == 2 and c.report_.n_proposed == 3


def test_llm_same_code_twice_gives_one_suggestion_with_both_spans(server):
    srv = server(by_segment({S1: answer(("collaboration.trust", "la confianza", "low"),
                                        ("collaboration.trust", "en las reuniones", "high"))}))
    out = coder(srv.url).fit(CODEBOOK).suggest(make_segments())
    assert len(out) == 1 and out.at[0, "score"] == PRIOR_SCORES["high"]
    document = "\n\n".join(TEXTS[:3])
    assert [document[a:b] for a, b in out.at[0, "spans"]] == ["la confianza", "en las reuniones"]


@pytest.mark.parametrize(("quote", "expected"), [
    ("la confianza entre nosotras", ["la confianza entre nosotras"]),
    ("LA CONFIANZA   entre\nnosotras", ["la confianza entre nosotras"]),
    ("“la confianza entre nosotras”.", ["la confianza entre nosotras"]),
    ("...se fue construyendo de a poco...", ["se fue construyendo de a poco"]),
    ("la confianza … en las reuniones", ["la confianza", "en las reuniones"]),
    ("la confianza [...] de a poco", ["la confianza", "de a poco"]),
    ("la confianza entre nosotra se fue construyendo", ["la confianza entre nosotras se fue construyendo"]),
], ids=["exact", "case-and-space", "typographic-quotes", "edge-ellipsis", "ellipsis-pieces", "bracket-ellipsis",
        "fuzzy-one-letter"])
def test_llm_quotes_are_found_under_normalisation(quote, expected):
    spans, _ = locate(quote, S1)
    assert [S1[a:b] for a, b in spans] == expected


@pytest.mark.parametrize("quote", [
    "la confianza se construyó poco a poco",            # a paraphrase
    "la desconfianza",                                  # short and different
    "confianza entre nosotros",                         # short: one changed letter is another claim
    "en las reuniones … la confianza",                  # pieces out of order
    "...",                                              # nothing
], ids=["paraphrase", "short-other-word", "short-one-letter", "out-of-order", "empty"])
def test_llm_quotes_not_in_text_are_not_found(quote):
    assert locate(quote, S1) is None


def test_llm_typographic_quotes_and_dashes_in_the_text_match_plain_ones():
    text = "Ella dijo «vamos juntas» — y fuimos."
    spans, _ = locate('dijo "vamos juntas" - y fuimos', text)
    assert [text[a:b] for a, b in spans] == ["dijo «vamos juntas» — y fuimos"]


# -- retries, timeouts, errors ---------------------------------------------------------------------------------


def test_llm_retries_after_500_then_succeeds(server):
    def script(body, n):
        return error(500, "internal error, model loading") if n == 1 else Reply(GOOD.get(segment_of(body), ""))

    srv = server(script)
    c = coder(srv.url, concurrency=1).fit(CODEBOOK)
    out = c.suggest(make_segments())
    assert len(out) == 3 and len(srv.requests) == 4 and c.report_.n_requests == 4


def test_llm_retries_429_honouring_retry_after(server):
    def script(body, n):
        if n <= 2:
            return Reply(content=None, status=429, raw='{"error": "busy"}', headers={"Retry-After": "0"})
        return Reply(GOOD.get(segment_of(body), ""))

    srv = server(script)
    out = coder(srv.url, concurrency=1).fit(CODEBOOK).suggest(make_segments())
    assert len(out) == 3 and len(srv.requests) == 5


def four_segments() -> pd.DataFrame:
    """make_segments() and a fourth participant segment: one more than CONSECUTIVE_FAILURES_FATAL."""
    return make_segments([*TEXTS, f"{S3} (2)"], [*ROLES, "participant"], ("es", "es", "es", "en", "en", "en"))


def test_llm_keeps_failing_5xx_becomes_unavailable_error_after_the_retries(server):
    srv = server(lambda body, n: error(503, "overloaded"))
    with pytest.raises(LLMUnavailableError, match=r"3 segments in a row.*kept failing .* after 3 tries"):
        coder(srv.url, retries=2, concurrency=1).fit(CODEBOOK).suggest(four_segments())
    assert len(srv.requests) == 9  # three segments' tries each, then the fourth was not sent


def test_llm_timeout_raises_a_timeout_error_saying_what_to_do(server):
    srv = server(lambda body, n: Reply(delay=2.0))
    with pytest.raises(LLMTimeoutError, match=r"no answer within 0\.3 s.*--llm-timeout"):
        coder(srv.url, timeout=0.3, concurrency=1).fit(CODEBOOK).suggest(four_segments())
    assert len(srv.requests) == 3  # each segment timed out once (skipped); three in a row stop the rest


def test_llm_slow_answers_arrive_and_concurrency_is_bounded(server):
    texts = [Q1] + [f"{S2} ({i})" for i in range(8)]
    srv = server(lambda body, n: Reply(delay=0.05))
    srv.hold_until_in_flight = 2
    segs = make_segments(texts, ["interviewer"] + ["participant"] * 8, ["es"] * 9)
    c = coder(srv.url, concurrency=2).fit(CODEBOOK)
    c.suggest(segs)
    assert srv.max_in_flight == 2 and len(srv.requests) == 8 and c.report_.n_asked == 8


def test_llm_model_missing_404_is_a_model_error(server):
    srv = server(lambda body, n: error(404, 'model "qwen-test" not found, try pulling it first'))
    with pytest.raises(LLMModelError, match="ollama pull qwen-test"):
        coder(srv.url).fit(CODEBOOK).suggest(make_segments())


def test_llm_wrong_path_404_says_the_base_url_ends_in_v1(server):
    srv = server(lambda body, n: error(404, "page not found"))
    with pytest.raises(LLMUnavailableError, match="usually ends in /v1"):
        coder(srv.url).fit(CODEBOOK).suggest(make_segments())


def test_llm_server_down_is_an_unavailable_error():
    with pytest.raises(LLMUnavailableError, match=r"no LLM server answers at http://127\.0\.0\.1:.*start it"):
        coder(f"http://127.0.0.1:{free_port()}/v1").fit(CODEBOOK).suggest(make_segments())


@pytest.mark.parametrize("message", [
    "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens",
    "the request exceeds the available context size, try increasing it",
    "prompt is too long: n_ctx 2048",
], ids=["openai-vllm", "llama-cpp", "other"])
def test_llm_context_too_long_is_a_context_error(server, message):
    srv = server(lambda body, n: error(400, message))
    with pytest.raises(LLMContextError, match="longer than the model's context"):
        coder(srv.url, concurrency=1).fit(CODEBOOK).suggest(make_segments())
    assert len(srv.requests) == 3  # three segments that do not fit: the codebook does not fit; stop


def test_llm_prompt_cut_by_the_server_is_a_context_error(server):
    # An answer that is not whole (the model ran out of context) with too few prompt tokens counted.
    srv = server(lambda body, n: Reply('{"codes": []}', prompt_tokens=12, finish_reason="length"))
    with pytest.raises(LLMContextError, match="read only 12 tokens"):
        coder(srv.url).fit(CODEBOOK).suggest(make_segments())


def test_llm_context_errors_with_on_error_warn_keep_the_segments_that_fit(server):
    def script(body, n):
        return error(400, "maximum context length exceeded") if segment_of(body) == S2 else \
            Reply(GOOD.get(segment_of(body), ""))

    srv = server(script)
    with pytest.warns(LLMWarning, match="1 segment got no answer"):
        out = coder(srv.url, on_error="warn").fit(CODEBOOK).suggest(make_segments())
    assert set(out["code_id"]) == {"collaboration.trust", "collaboration.exchange"}


def test_llm_errors_are_qualcode_errors_with_builtin_parents():
    assert issubclass(LLMUnavailableError, (LLMError, ConnectionError))
    assert issubclass(LLMTimeoutError, TimeoutError) and issubclass(LLMError, qc.QualcodeError)
    err = LLMUnavailableError("down", url="http://x/v1")
    assert str(err) == "down" and err.url == "http://x/v1"


@pytest.mark.parametrize("url", ["localhost:11434/v1", "ftp://host/v1", "http://user:pw@host/v1",
                                 "http://host/v1?x=1", "", None], ids=str)
def test_llm_bad_base_url_is_refused_at_fit(url):
    with pytest.raises(ParameterError):
        LLMCoder(url, "m").fit(CODEBOOK)


def test_llm_fit_sends_nothing_and_suggest_before_fit_is_refused(server):
    srv = server()
    c = coder(srv.url)
    with pytest.raises(qc.coders.NotFittedError):
        c.suggest(make_segments())
    c.fit(CODEBOOK)
    assert srv.requests == []


# -- only the URL given ----------------------------------------------------------------------------------------


def test_llm_contacts_only_the_given_url_not_a_redirect_target_nor_a_proxy(server, monkeypatch):
    elsewhere = server(by_segment(GOOD))
    proxy = server(by_segment(GOOD))
    redirecting = server(lambda body, n: Reply(content=None, status=307, raw="",
                                               headers={"Location": elsewhere.url + "/chat/completions"}))
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(LLMUnavailableError, match="redirect"):
        coder(redirecting.url).fit(CODEBOOK).suggest(make_segments())
    assert len(redirecting.requests) >= 1
    assert elsewhere.requests == [] and proxy.requests == []


# -- cache and few-shot ----------------------------------------------------------------------------------------


def test_llm_rerun_sends_nothing_new_and_a_new_segment_sends_one_request(server):
    srv = server(by_segment(GOOD))
    cache = MemoryResponseCache()
    first = coder(srv.url, cache=cache).fit(CODEBOOK).suggest(make_segments())
    assert len(srv.requests) == 3
    again = coder(srv.url, cache=cache).fit(CODEBOOK)
    second = again.suggest(make_segments())
    assert len(srv.requests) == 3 and again.report_.n_cached == 3 and again.report_.n_asked == 0
    pd.testing.assert_frame_equal(first, second)
    more = make_segments([*TEXTS, "Y también compartimos planificaciones."], [*ROLES, "participant"],
                         ("es", "es", "es", "en", "en", "en"))
    coder(srv.url, cache=cache).fit(CODEBOOK).suggest(more)
    assert len(srv.requests) == 4


def test_llm_cache_key_covers_model_codebook_and_prompt_version(server):
    srv = server(by_segment(GOOD))
    cache = MemoryResponseCache()
    coder(srv.url, cache=cache).fit(CODEBOOK).suggest(make_segments())
    LLMCoder(srv.url, "other-model", backoff=0.01, cache=cache).fit(CODEBOOK).suggest(make_segments())
    assert len(srv.requests) == 6
    changed = Codebook("demo", codes=[*CODEBOOK.codes[:3], Code("collaboration.exchange", label={"es": "Otro"})])
    coder(srv.url, cache=cache).fit(changed).suggest(make_segments())
    assert len(srv.requests) == 9
    assert PROMPT_VERSION  # part of every key (see LLMCoder._key)


def test_llm_few_shot_takes_the_nearest_accepted_examples_within_budget_never_the_segment_itself(server):
    srv = server()
    decisions = pd.DataFrame({
        "segment_id": ["d1", "d2", "d3", "s1", "d4"],
        "code_id": ["collaboration.trust", "collaboration.trust", "collaboration.isolation", "collaboration.trust",
                    "collaboration.exchange"],
        "decision": ["accept", "accept", "accept", "accept", "reject"],
        "quote": ["Con el tiempo la confianza entre directoras creció en las reuniones.",
                  "Hablamos del presupuesto anual.",
                  "Me sentía sola y sin apoyo en el jardín.",
                  S1,
                  "Compartimos materiales del plan."],
    })
    coder(srv.url, few_shot_per_code=1, few_shot_chars=200).fit(CODEBOOK, decisions).suggest(make_segments())
    users = {segment_of(b): b["messages"][1]["content"] for b in srv.requests}
    assert "Con el tiempo la confianza entre directoras" in users[S1]
    assert "Hablamos del presupuesto" not in users[S1]          # one per code, the nearest
    assert users[S1].count(S1) == 1                             # its own decision is not an example
    assert "Compartimos materiales del plan" not in users[S3]   # a reject is not an example
    assert "Me sentía sola y sin apoyo" in users[S2]
    coder(srv.url, few_shot_chars=0).fit(CODEBOOK, decisions).suggest(make_segments())
    assert all("coded before" not in b["messages"][1]["content"] for b in srv.requests[3:])


# -- beside the other coders ------------------------------------------------------------------------------------


def test_suggest_with_llm_server_down_still_returns_the_other_coders_suggestions():
    segments = make_segments()
    alone = qc.coders.suggest(segments, CODEBOOK, methods=["keyword"])
    down = LLMCoder(f"http://127.0.0.1:{free_port()}/v1", "m")
    with pytest.warns(LLMWarning, match="no LLM server answers"):
        both = qc.coders.suggest(segments, CODEBOOK, methods=["keyword", "llm"], llm=down)
    assert len(both) == len(alone) > 0
    pd.testing.assert_frame_equal(both, alone)
    with pytest.raises(LLMUnavailableError):  # asked for alone, it fails as itself
        qc.coders.suggest(segments, CODEBOOK, methods=["llm"], llm=down)


def test_suggest_method_llm_without_a_server_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"llm=qc\.LLMCoder"):
        qc.coders.suggest(make_segments(), CODEBOOK, methods=["llm"])


def test_llm_suggestions_fuse_with_keyword_suggestions(server):
    segments = make_segments()
    srv = server(by_segment(GOOD))
    kw = KeywordCoder().fit(CODEBOOK).suggest(segments)
    both = qc.coders.suggest(segments, CODEBOOK, methods=["keyword", "llm"], llm=coder(srv.url))
    assert set(both["method"]) <= {"llm", "keyword", "keyword+llm"} and "llm" in set(both["method"])
    assert len(both) >= len(kw)


@pytest.mark.parametrize(("reply", "words"), [
    (Reply(content=None, raw="<html><body>It works!</body></html>"), "did not answer in JSON"),
    (Reply(content=None, raw='{"object": "list", "data": []}'), "no choices"),
    (error(401, "invalid api key"), "check the key"),
], ids=["html-page", "not-a-completion", "unauthorised"])
def test_llm_answers_that_are_not_chat_completions_are_llm_errors(server, reply, words):
    srv = server(lambda body, n: reply)
    with pytest.raises(LLMError, match=words):
        coder(srv.url, concurrency=1).fit(CODEBOOK).suggest(four_segments())
    assert len(srv.requests) == 3  # not tried again; three segments failed in a row, so the fourth was not sent


def test_llm_runaway_answer_is_bounded_and_counted(server):
    many = answer(*[("collaboration.trust", "la confianza", "low")] * 200)
    huge_quote = answer(("collaboration.isolation", "sola " * 50_000, "high"))
    srv = server(by_segment({S1: many, S2: huge_quote}))
    c = coder(srv.url).fit(CODEBOOK)
    with pytest.warns(LLMWarning, match="170 codes beyond 30 in one answer dropped"):
        out = c.suggest(make_segments())
    assert list(out["code_id"]) == ["collaboration.trust"] and c.report_.n_not_in_text == 1


# -- the coder contract, the registry and the calibration ------------------------------------------------------


@pytest.mark.parametrize("name", [name for name, _ in coder_checks(LLMCoder())])
def test_llm_coder_passes_each_named_contract_check_against_a_local_server(server, name):
    srv = server(by_segment(GOOD))
    decisions = pd.DataFrame({"segment_id": ["d1"], "code_id": ["collaboration.trust"], "decision": ["accept"],
                              "quote": ["La confianza entre directoras creció."]})
    dict(coder_checks(coder(srv.url)))[name](CODEBOOK, make_segments(), decisions)


def test_llm_is_a_registered_method_that_says_it_needs_a_server():
    assert "llm" in available_coders()
    made = get_coder("llm", base_url="http://127.0.0.1:9/v1", model="m", timeout=5)
    assert isinstance(made, LLMCoder) and made.timeout == 5
    assert method_support(CODEBOOK)["llm"].startswith("needs your own OpenAI-compatible server")
    with pytest.raises(ParameterError, match="base_url"):
        get_coder("llm").fit(CODEBOOK)
    with pytest.raises(ParameterError, match="model"):
        get_coder("llm", base_url="http://127.0.0.1:9/v1").fit(CODEBOOK)


@pytest.mark.parametrize(("param", "value"), [("concurrency", 0), ("timeout", 0), ("retries", -1),
                                              ("few_shot_chars", 1.5), ("min_score", 2.0), ("on_error", "ignore"),
                                              ("cache", "llm_cache.sqlite"), ("skip_roles", 3)])
def test_llm_parameters_out_of_their_declared_constraints_are_parameter_errors_and_fit_changes_none(param, value):
    bad = LLMCoder("http://127.0.0.1:9/v1", "m", **{param: value})
    with pytest.raises(ParameterError, match=rf"'{param}' parameter of LLMCoder"):
        bad.fit(CODEBOOK)
    assert bad.get_params()[param] == value


def test_the_question_sent_is_the_review_tables_one_function():
    assert review_questions is corpus_questions


DECIDED = pd.DataFrame({"segment_id": ["s1", "s2", "s9"],
                        "code_id": ["collaboration.trust", "collaboration.exchange", "collaboration.trust"],
                        "decision": ["accept", "reject", "accept"],
                        "quote": [S1, S2, "Confiamos unas en otras."]})


def test_llm_scores_are_the_documented_prior_before_any_decision(server):
    srv = server(by_segment(GOOD))
    c = coder(srv.url, min_score=0.0).fit(CODEBOOK)
    assert c.calibration_["score"].to_dict() == PRIOR_SCORES
    out = c.suggest(make_segments())
    # Every code of every answered segment: the chosen ones at their level, the others at "none".
    assert len(out) == 3 * len(CODEBOOK)
    left_out = out[~out["code_id"].isin(["collaboration.trust", "collaboration.isolation", "collaboration.exchange"])
                   | (out["evidence"] == "")]
    assert set(left_out["score"]) == {PRIOR_SCORES["none"]} and all(s == [] for s in left_out["spans"])
    assert len(coder(srv.url).fit(CODEBOOK).suggest(make_segments())) == 3  # alone: the chosen codes


def test_llm_calibration_is_learned_from_decisions_on_segments_it_answered_before(server):
    srv = server(by_segment(GOOD))
    cache = MemoryResponseCache()
    coder(srv.url, cache=cache).fit(CODEBOOK).suggest(make_segments())
    n = len(srv.requests)
    c = coder(srv.url, cache=cache).fit(CODEBOOK, DECIDED)
    assert len(srv.requests) == n  # fit sends nothing: the levels come from the cache
    table = c.calibration_
    # s1: trust chosen "high" and accepted; its 3 other codes not chosen and not coded. s2: isolation chosen
    # "medium" (not decided), exchange rejected and not chosen. s9 was never answered: not counted.
    assert table.loc["high", ["n_coded", "n_not_coded"]].tolist() == [1, 0]
    assert table.loc["none", ["n_coded", "n_not_coded"]].tolist() == [0, 4]
    assert table.loc["medium", ["n_coded", "n_not_coded"]].tolist() == [0, 0]
    assert table.loc["high", "score"] == pytest.approx((0.6 * 5 + 1) / 6)
    assert table.loc["none", "score"] == pytest.approx(0.01 * 300 / 304)
    assert table.loc["medium", "score"] == PRIOR_SCORES["medium"]
    out = c.suggest(make_segments())
    assert out.set_index("code_id").at["collaboration.trust", "score"] == pytest.approx((0.6 * 5 + 1) / 6, abs=1e-4)
    assert calibration({}, DECIDED, [c.id for c in CODEBOOK])["score"].to_dict() == PRIOR_SCORES


def test_llm_a_code_the_model_left_out_counts_against_it_in_the_fusion(server):
    segments = make_segments()
    alone = qc.coders.suggest(segments, CODEBOOK, methods=["keyword"], top_k=None, min_score=0.0)
    srv = server(by_segment({}))  # the model codes nothing
    both = qc.coders.suggest(segments, CODEBOOK, methods=["keyword", "llm"], llm=coder(srv.url), top_k=None,
                             min_score=0.0)
    keyword = alone.set_index(["segment_id", "code_id"])["score"]
    fused = both.set_index(["segment_id", "code_id"])["score"].reindex(keyword.index)
    assert len(keyword) and (fused < keyword).all()
    srv2 = server(by_segment(GOOD))
    chosen = qc.coders.suggest(segments, CODEBOOK, methods=["keyword", "llm"], llm=coder(srv2.url), top_k=None,
                               min_score=0.0).set_index(["segment_id", "code_id"])["score"]
    assert chosen[("s1", "collaboration.trust")] > keyword[("s1", "collaboration.trust")]
    # Alone, before any decision, a chosen code keeps the model's calibrated probability.
    llm_only = qc.coders.suggest(segments, CODEBOOK, methods=["llm"], llm=coder(srv2.url))
    assert llm_only.set_index("code_id").at["collaboration.isolation", "score"] == pytest.approx(
        PRIOR_SCORES["medium"], abs=1e-3)


def test_llm_in_an_ensemble_with_decisions_asks_nothing_about_the_decided_segments(server):
    srv = server(by_segment(GOOD))
    cache = MemoryResponseCache()
    qc.coders.suggest(make_segments(), CODEBOOK, methods=["keyword"], llm=coder(srv.url, cache=cache))
    n = len(srv.requests)
    qc.coders.suggest(make_segments(), CODEBOOK, decisions=DECIDED, methods=["keyword"],
                      llm=coder(srv.url, cache=cache, few_shot_chars=0))
    assert len(srv.requests) == n  # the fusion is fitted on the answers already held
