"""Faults a user's trial of the LLM coder found (t19), each tested in several shapes against a real local server.

The shapes come from the trial's fake server: a server down, a model not pulled, a refused key, a redirect, a
URL without /v1, an answer cut at max_tokens, an error that echoes the prompt. These test qualcode's side of
the protocol only.
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
from qualcode.cli.app import in_cli_words
from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import LLMCoder, LLMReport, MemoryResponseCache, answer_cut, segment_prompt
from qualcode.errors import LLMError, LLMSkippedWarning, LLMWarning
from qualcode.io.chat import EXCERPT_CHARS, excerpt

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

runner = CliRunner()
DOC = "int_d02_final"
CODE = "collaboration"
ROUND = ["int_d02_final.txt", "int_pa2_final.txt"]



def quoting(body: dict, n: int) -> Reply:
    words = " ".join(llm_server.segment_of(body).split()[:5])
    return Reply(json.dumps({"codes": [{"code_id": CODE, "quote": words, "reason": "r", "confidence": "high"}]},
                            ensure_ascii=False))


def stored(path) -> pd.DataFrame:
    with qc.Project.open(path) as p:
        return p.suggestions[["segment_id", "code_id", "method", "score"]].sort_values(
            ["segment_id", "code_id", "method"]).reset_index(drop=True)


@pytest.fixture
def decided(project, servers):
    """A project whose DOC has LLM suggestions stored and one accepted: the learned coder joins by itself."""
    up = servers(quoting)
    qc.suggest(project, methods=["llm"], llm=LLMCoder(up.url, "m"), documents=[DOC])
    first = project.suggestions.iloc[0]
    project.accept([first["segment_id"]], [first["code_id"]], coder="ana")
    path = project.path
    project.close()
    return path


# The ways a server fails before any answer, as the trial met them (its fake server's shapes).
FAILING = {
    "down": None,
    "model-404": Reply(content=None, status=404, raw=json.dumps(
        {"error": {"message": 'model "X" not found, try pulling it first', "type": "api_error"}})),
    "key-401": Reply(content=None, status=401, raw=json.dumps(
        {"error": {"message": "Invalid API key provided", "type": "invalid_request_error"}})),
    "redirect-307": Reply(content=None, status=307, raw="",
                          headers={"Location": "http://127.0.0.1:9/v1/chat/completions"}),
    "no-v1-404": Reply(content=None, status=404, raw="404 page not found"),
    "overloaded-503": Reply(content=None, status=503, raw=json.dumps({"error": {"message": "server overloaded"}})),
}


def failing_url(servers, shape: str) -> str:
    reply = FAILING[shape]
    if reply is None:
        return f"http://127.0.0.1:{llm_server.free_port()}/v1"
    return servers(lambda body, n: reply).url


@pytest.mark.parametrize("shape", [s for s in FAILING if s != "overloaded-503"])  # 503: retried (15 s)
def test_failed_llm_alone_with_decisions_is_an_error_and_replaces_no_stored_suggestion(decided, servers, shape):
    before = stored(decided)
    assert len(before) and set(before["method"]) == {"llm"}
    result = runner.invoke(app, ["suggest", str(decided), "--methods", "llm", "-d", DOC, "-q", "--llm",
                                 failing_url(servers, shape), "--model", "X", "--llm-timeout", "5"])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "0 suggestions" not in result.output
    pd.testing.assert_frame_equal(stored(decided), before)


def test_failed_llm_alone_through_python_raises_and_keeps_stored_suggestions(decided):
    before = stored(decided)
    with qc.Project.open(decided) as p, pytest.raises(LLMError):
        qc.suggest(p, methods=["llm"], documents=[DOC],
                   llm=LLMCoder(f"http://127.0.0.1:{llm_server.free_port()}/v1", "m", backoff=0.01))
    pd.testing.assert_frame_equal(stored(decided), before)


def test_failed_llm_beside_other_methods_keeps_stored_suggestions_of_the_segments_it_did_not_answer(decided,
                                                                                                    servers):
    before = stored(decided)
    # The server answers the first two segments, then is overloaded for good (the trial's fail_after shape).
    flaky = servers(lambda body, n: quoting(body, n) if n <= 2 else FAILING["overloaded-503"])
    with qc.Project.open(decided) as p, pytest.warns(LLMSkippedWarning):
        out = qc.suggest(p, methods=["keyword", "llm"], documents=[DOC],
                         llm=LLMCoder(flaky.url, "m2", backoff=0.01, retries=0, concurrency=1))
    unanswered = set(out.attrs["llm_report"]["failed_segments"])
    assert unanswered
    after = stored(decided)
    kept = before[before["segment_id"].isin(unanswered)]
    now = after[after["segment_id"].isin(unanswered)]
    pd.testing.assert_frame_equal(now.reset_index(drop=True), kept.reset_index(drop=True))


def test_failed_llm_beside_other_methods_exits_1_done_in_part(decided):
    result = runner.invoke(app, ["suggest", str(decided), "--methods", "keyword,llm", "-d", DOC, "-q", "--llm",
                                 f"http://127.0.0.1:{llm_server.free_port()}/v1", "--model", "m"])
    assert result.exit_code == 1, result.output
    assert "warning: LLM coder" in result.output and "kept" in result.output


def _round_folder(tmp_path: Path, samples: Path, names: list[str], folder: str) -> Path:
    out = tmp_path / folder
    out.mkdir()
    for name in names:
        (out / name).write_bytes((samples / "transcripts" / name).read_bytes())
    return out


def test_failed_llm_alone_in_a_round_with_decisions_fails_and_the_same_command_finishes_it(tmp_path, samples,
                                                                                          servers):
    project = tmp_path / "study.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    first = runner.invoke(app, ["round", str(project), str(_round_folder(tmp_path, samples, ROUND[:1], "r1")),
                                "--out", str(tmp_path / "o1"), "--methods", "keyword", "-q", "--no-report"])
    assert first.exit_code == 0, first.output
    with qc.Project.open(project) as p:
        some = p.suggestions.iloc[0]
        p.accept([some["segment_id"]], [some["code_id"]], coder="ana")
    before = stored(project)
    args = ["round", str(project), str(_round_folder(tmp_path, samples, ROUND[1:], "r2")), "--out",
            str(tmp_path / "o2"), "--methods", "llm", "-q", "--no-report", "--llm", f"http://127.0.0.1:{llm_server.free_port()}/v1",
            "--model", "m"]
    down = runner.invoke(app, args)
    assert down.exit_code == 2, down.output
    assert "no LLM server answers" in " ".join(down.output.split())
    assert not list((tmp_path / "o2").glob("*.xlsx"))
    pd.testing.assert_frame_equal(stored(project), before)
    up = servers(quoting)
    args[args.index("--llm") + 1] = up.url
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert len(up.requests) > 0 and list((tmp_path / "o2").glob("revision_*.xlsx"))


def test_round_llm_resume_commands_carry_the_coder_the_methods_and_a_workbook_path_in_out(tmp_path, samples):
    project = tmp_path / "study.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(app, ["round", str(project), str(_round_folder(tmp_path, samples, ROUND, "r")), "--out",
                                 str(out), "--methods", "keyword", "-q", "--no-report", "--coder", "ana",
                                 "--llm", f"http://127.0.0.1:{llm_server.free_port()}/v1", "--model", "m"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    ask = said.split("ask the LLM again with: ", 1)[1].split(" (answers received", 1)[0]
    assert "--methods keyword,llm" in ask and "--llm-" not in ask  # defaults are not repeated
    export = said.split("write a new workbook with: ", 1)[1].split()
    assert export[:3] == ["qualcode", "review", "export"] and "--coder" in export
    assert export[export.index("--coder") + 1] == "ana"
    assert Path(export[4]).parent == out and export[4].endswith("-llm.xlsx")
    assert "base_url" not in said and "/ --llm" not in said and ".);" not in said


def test_round_llm_resume_command_carries_the_users_llm_options_but_never_the_api_key(tmp_path, samples):
    project = tmp_path / "study.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    result = runner.invoke(app, ["round", str(project), str(_round_folder(tmp_path, samples, ROUND, "r")), "--out",
                                 str(tmp_path / "out"), "--methods", "keyword", "-q", "--no-report",
                                 "--llm", f"http://127.0.0.1:{llm_server.free_port()}/v1", "--model", "m",
                                 "--api-key", "sk-secret-123", "--llm-examples", "1", "--llm-few-shot-chars", "0",
                                 "--llm-timeout", "900", "--llm-concurrency", "2", "--llm-max-tokens", "512"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    ask = said.split("ask the LLM again with: ", 1)[1].split(" (answers received", 1)[0].split()
    for option, value in (("--llm-examples", "1"), ("--llm-few-shot-chars", "0"), ("--llm-timeout", "900"),
                          ("--llm-concurrency", "2"), ("--llm-max-tokens", "512")):
        assert ask[ask.index(option) + 1] == value
    assert "sk-secret-123" not in result.output and "--api-key" not in ask


# -- an answer cut at max_tokens ---------------------------------------------------------------------------------

S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
CODEBOOK = Codebook("demo", codes=[Code("trust", label={"es": "Confianza"}), Code("other", label={"es": "Otro"})])
WHOLE = json.dumps({"codes": [{"code_id": "trust", "quote": "la confianza entre nosotras", "reason": "r",
                               "confidence": "high"}]}, ensure_ascii=False)
CUT = {
    "length-mid-quote": Reply('{"codes": [{"code_id": "trust", "quote": "la conf', finish_reason="length"),
    "length-whole-json": Reply(WHOLE, finish_reason="length"),
    "stop-mid-quote": Reply('{"codes": [{"code_id": "trust", "quote": "la conf', finish_reason="stop"),
    "no-reason-mid-list": Reply('{"codes": [{"code_id": "trust", "quote": "la confianza entre nosotras"}, ',
                                finish_reason=None),
    "fenced-cut": Reply('```json\n{"codes": [{"code_id": "trust", "quote": "Agot', finish_reason="length"),
    "thinking-cut": Reply("<think>The segment talks about trust, so I", finish_reason="length"),
}


def one_segment() -> pd.DataFrame:
    return pd.DataFrame([{"segment_id": "s1", "doc_id": "d", "text": S1, "start": 0, "end": len(S1),
                          "speaker_role": "participant", "language": "es"}])


@pytest.mark.parametrize("shape", list(CUT))
def test_llm_answer_cut_at_max_tokens_is_not_used_not_cached_and_asked_again(servers, shape):
    cut = servers(lambda body, n: CUT[shape])
    cache = MemoryResponseCache()
    coder = LLMCoder(cut.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    with pytest.warns(LLMWarning, match="cut at max_tokens"):
        out = coder.suggest(one_segment())
    assert out.empty and coder.report_.n_cut == 1
    assert coder.report_.n_not_in_text == 0 and coder.report_.hallucination_rate == 0  # not a hallucination
    assert not cache.answers
    whole = servers(lambda body, n: Reply(WHOLE))
    again = LLMCoder(whole.url, "m", cache=cache, backoff=0.01).fit(CODEBOOK)
    assert list(again.suggest(one_segment())["code_id"]) == ["trust"] and len(whole.requests) == 1


def test_llm_answer_cut_is_told_apart_from_a_whole_answer():
    assert answer_cut('{"codes": [{"code_id": "trust", "quote": "Agot')
    assert answer_cut('Claro:\n\n{"codes": [')
    assert not answer_cut(WHOLE) and not answer_cut("Claro, aquí está:\n\n" + WHOLE + "\n\nEspero que sirva.")
    assert not answer_cut("```json\n" + WHOLE + "\n```") and not answer_cut("Lo siento, no puedo ayudar.")


# -- a server's error text never carries the transcript -----------------------------------------------------------

SECRET = "Marta dijo que la directora Rosa Pérez nunca apoyó a las educadoras del jardín Los Aromos"
SEGMENT = pd.DataFrame([{"segment_id": "s1", "doc_id": "d", "text": SECRET, "start": 0, "end": len(SECRET),
                         "speaker_role": "participant", "language": "es"}])


def _echo(status: int, wrap: bool):
    def script(body: dict, n: int) -> Reply:
        user = body["messages"][-1]["content"]
        text = "invalid request: cannot parse message: " + user[-300:]
        raw = json.dumps({"error": {"message": text, "type": "invalid_request_error"}}) if wrap else text
        return Reply(content=None, status=status, raw=raw)
    return script


ECHOES = {
    "400-json-message": _echo(400, True),
    "400-plain-text": _echo(400, False),
    "500-json-message": _echo(500, True),
    "422-model-word": lambda body, n: Reply(content=None, status=422, raw=json.dumps(
        {"detail": "model could not read: " + body["messages"][-1]["content"][-200:]})),
    "200-not-json": lambda body, n: Reply(content=None, status=200, raw="<html>" + SECRET + "</html>"),
}


@pytest.mark.parametrize("shape", list(ECHOES))
def test_server_error_text_that_echoes_the_transcript_is_never_shown(servers, shape):
    echo = servers(ECHOES[shape])
    coder = LLMCoder(echo.url, "m", backoff=0.01, retries=1).fit(CODEBOOK)
    with pytest.raises(LLMError) as caught:
        coder.suggest(SEGMENT)
    shown = str(caught.value)
    for words in ("Rosa Pérez", "Los Aromos", "educadoras", "Marta"):
        assert words not in shown, shown


def test_excerpt_cuts_a_long_message_and_leaves_out_what_repeats_the_request():
    assert len(excerpt("x" * 500)) <= EXCERPT_CHARS + 2
    assert excerpt("maximum context length is 4096 tokens") == "maximum context length is 4096 tokens"
    sent = segment_prompt(SECRET, "¿Cómo fue?", "es", [])
    assert "Rosa" not in excerpt(f"bad request near '{SECRET[10:60]}'", sent)


# -- CLI words, counts, the question, the report ---------------------------------------------------------------


@pytest.mark.parametrize("shape", ["timeout", "context", "unavailable", "key"])
def test_llm_error_messages_name_cli_options_in_cli_words(servers, shape):
    scripts = {"timeout": lambda body, n: Reply(WHOLE, delay=1.5),
               "context": lambda body, n: llm_server.error(400, "maximum context length exceeded"),
               "key": lambda body, n: FAILING["key-401"]}
    url = servers(scripts[shape]).url if shape in scripts else f"http://127.0.0.1:{llm_server.free_port()}/v1"
    coder = LLMCoder(url, "m", backoff=0.01, timeout=0.5).fit(CODEBOOK)
    with pytest.raises(LLMError) as caught:
        coder.suggest(one_segment())
    words = in_cli_words(str(caught.value))
    assert "=" not in words.replace("OLLAMA_CONTEXT_LENGTH=", ""), words
    assert "--" in words


def test_llm_cli_examples_and_few_shot_options_reach_the_request(project, servers):
    up = servers(quoting)
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--methods", "llm", "-d", DOC, "-q", "--llm", up.url, "--model",
                                 "m", "--llm-examples", "0", "--llm-few-shot-chars", "0"])
    assert result.exit_code == 0, result.output
    system = up.requests[0]["messages"][0]["content"]
    assert "examples:" not in system


def test_llm_timeouts_count_as_asked_in_the_summary(servers):
    slow = servers(lambda body, n: Reply(WHOLE, delay=1.5))
    coder = LLMCoder(slow.url, "m", timeout=0.3, backoff=0.01, on_error="warn").fit(CODEBOOK)
    with pytest.warns(LLMSkippedWarning) as said:
        coder.suggest(one_segment())
    assert coder.report_.n_asked == 1 and coder.report_.n_requests == len(slow.requests) >= 1
    assert " 0 asked" not in str(said[0].message) and "1 asked" in str(said[0].message)


def test_llm_summary_says_one_of_each_in_the_singular():
    text = LLMReport(n_segments=1, n_asked=1, n_requests=1, n_proposed=1, n_kept=0, n_not_in_text=1,
                     n_unreadable=1, n_failed=1).summary()
    assert "1 segment " in text and "1 code proposed" in text and "1 quote not" in text
    assert "1 answer could" in text and "1 segment got" in text and "1 codes" not in text


def test_llm_question_sent_keeps_the_end_of_a_long_interviewer_turn():
    long_turn = "Comentario largo sobre la respuesta anterior. " * 30 + "¿Y cómo se organizaron con las colegas?"
    prompt = segment_prompt("Nos juntábamos los martes.", long_turn, "es", [])
    assert "¿Y cómo se organizaron con las colegas?" in prompt
    assert len(prompt) < len(long_turn)


def test_llm_https_against_a_plain_http_server_says_so_without_retrying(servers):
    plain = servers()
    coder = LLMCoder(plain.url.replace("http://", "https://"), "m", backoff=0.01).fit(CODEBOOK)
    with pytest.raises(LLMError, match="speaks plain http://") as caught:
        coder.suggest(one_segment())
    assert plain.url in str(caught.value) and coder.n_requests_ == 1


def test_qc_suggest_result_carries_the_llm_report_and_warnings_point_at_the_callers_line(project, servers):
    half = servers(lambda body, n: Reply(json.dumps({"codes": [{"code_id": CODE, "quote": "not in any text here",
                                                                "reason": "r", "confidence": "low"}]})))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = qc.suggest(project, methods=["llm"], llm=LLMCoder(half.url, "m"), documents=[DOC])
    report = out.attrs["llm_report"]
    assert report["n_not_in_text"] > 0 and report["hallucination_rate"] == 1.0
    assert {row["level"] for row in out.attrs["llm_calibration"]} == {"high", "medium", "low", "none"}
    said = [w for w in caught if issubclass(w.category, LLMWarning)]
    assert said and all(w.filename == __file__ for w in said)


def test_codebook_text_cut_at_an_unquoted_comma_says_to_quote_it(tmp_path):
    path = tmp_path / "libro.yaml"
    path.write_text("qualcode_codebook: 1\nid: x\ncodes:\n  - id: apoyo\n"
                    "    label: {es: Apoyo, cubrir clases, en: Support}\n", encoding="utf-8")
    result = runner.invoke(app, ["codebook", "validate", str(path)])
    said = " ".join(result.output.split())
    assert "unknown language 'cubrir clases'" in said and "quotes" in said
