"""Faults a user's fourth trial of the LLM coder found (issue 19), each against a real local server (llm_server.py).

These test qualcode's side of the protocol and the commands only; they say nothing about a model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.codebook import Code, Codebook
from qualcode.coders.llm import CONSECUTIVE_FAILURES_FATAL, LLMCoder, MemoryResponseCache
from qualcode.errors import LLMError, LLMSkippedWarning, LLMUnavailableError, LLMWarning
from qualcode.review.sheet import read_review_sheet

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

S1 = "Bueno, yo creo que la confianza entre nosotras se fue construyendo de a poco, en las reuniones."
CODEBOOK = Codebook("demo", codes=[Code("trust", label={"es": "Confianza"}), Code("other", label={"es": "Otro"})])


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


# -- 1: review export -d, and the round's printed commands can be pasted into a shell -------------------------

runner = CliRunner()


def rows_by_document(workbook: Path, project: Path) -> set[str]:
    """The documents of a review workbook's rows (by their hidden segment ids)."""
    segment_ids = set(read_review_sheet(workbook)["segment_id"].astype(str))
    with qc.Project.open(project, read_only=True) as p:
        segs = p.segments
    return set(segs.loc[segs["segment_id"].astype(str).isin(segment_ids), "doc_id"])


def test_round_llm_resume_commands_quote_every_value_and_paste_into_a_shell(tmp_path, samples, servers):
    home = tmp_path / "my study"  # a space in every path
    home.mkdir()
    project = home / "estudio 2024.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    first = home / "ronda 1"
    first.mkdir()
    (first / "int_d13_final.md").write_bytes((samples / "transcripts" / "int_d13_final.md").read_bytes())
    assert runner.invoke(app, ["round", str(project), str(first), "--out", str(home / "salida 1"), "--methods",
                               "keyword", "-q", "--no-report"]).exit_code == 0
    second = home / "ronda 2"
    second.mkdir()
    docs = {"int d02 final": "int_d02_final.txt", "int pa2 d'Ana": "int_pa2_final.txt"}  # a space, a quote
    for doc, name in docs.items():
        (second / f"{doc}.txt").write_bytes((samples / "transcripts" / name).read_bytes())
    state = {"down": True}

    def script(body: dict, n: int) -> Reply:
        if state["down"]:  # the model is not loaded yet: the round goes on without the LLM
            return llm_server.error(404, 'model "qwen 2.5" not found, try pulling it first')
        return Reply(quoting(body).replace('"trust"', '"collaboration"'))

    server = servers(script)
    result = runner.invoke(app, ["round", str(project), str(second), "--out", str(home / "salida 2"), "--methods",
                                 "keyword", "-q", "--no-report", "--coder", "Ana María", "--llm", server.url,
                                 "--model", "qwen 2.5"])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if "ask the LLM again with: " in x)
    ask = shlex.split(line.split("ask the LLM again with: ", 1)[1].split(" (answers received", 1)[0])
    export = shlex.split(line.split("write a new workbook with: ", 1)[1])
    assert ask[:3] == ["qualcode", "suggest", str(project)] and export[:4] == ["qualcode", "review", "export",
                                                                                str(project)]
    for command in (ask, export):
        assert [command[i + 1] for i, a in enumerate(command) if a == "-d"] == list(docs)
    assert ask[ask.index("--model") + 1] == "qwen 2.5" and ask[ask.index("--llm") + 1] == server.url
    assert export[export.index("--coder") + 1] == "Ana María" and Path(export[4]).parent == home / "salida 2"
    # Pasted as printed, once the server answers: the LLM is asked about the round's documents only, and the
    # new workbook holds those documents' suggestions only (not the first round's).
    state["down"] = False
    asked = runner.invoke(app, [*ask[1:], "-q"])
    assert asked.exit_code == 0, asked.output
    assert len(server.requests) > 2
    written = runner.invoke(app, export[1:])
    assert written.exit_code == 0, written.output
    assert rows_by_document(Path(export[4]), project) == set(docs)


def test_review_export_unknown_document_is_a_clear_error_naming_it(tmp_path, samples):
    project = tmp_path / "study.qualcode"
    folder = tmp_path / "r"
    folder.mkdir()
    for name in ("int_d02_final.txt", "int_d13_final.md"):
        (folder / name).write_bytes((samples / "transcripts" / name).read_bytes())
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    assert runner.invoke(app, ["round", str(project), str(folder), "--out", str(tmp_path / "o"), "--methods",
                               "keyword", "-q", "--no-report"]).exit_code == 0
    out = tmp_path / "only_d02.xlsx"
    wrong = runner.invoke(app, ["review", "export", str(project), str(out), "-d", "int_d02_final", "-d", "int_d02"])
    said = " ".join(wrong.output.split())
    assert wrong.exit_code == 2, wrong.output
    assert "no document 'int_d02' in the project" in said and "did you mean int_d02_final" in said
    assert "int_d02_final, int_d13_final" in said and not out.exists()
    right = runner.invoke(app, ["review", "export", str(project), str(out), "-d", "int_d02_final"])
    assert right.exit_code == 0, right.output
    assert rows_by_document(out, project) == {"int_d02_final"}


def test_segment_failure_with_the_llm_alone_in_cli_suggest_is_done_in_part_not_an_error(project, servers):
    doc = "int_d02_final"
    texts = sorted(set(project.segments_of([doc]).query("speaker_role == 'participant'")["text"]))
    unlucky = texts[len(texts) // 2]

    def script(body: dict, n: int) -> Reply:
        if llm_server.segment_of(body) == unlucky:  # an empty reply (a 500 is the same, after 15 s of retries)
            return Reply("")
        words = " ".join(llm_server.segment_of(body).split()[:4])
        return Reply(json.dumps({"codes": [{"code_id": "collaboration", "quote": words, "reason": "r",
                                            "confidence": "high"}]}, ensure_ascii=False))

    server = servers(script)
    path = str(project.path)
    project.close()
    result = runner.invoke(app, ["suggest", path, "--methods", "llm", "-d", doc, "-q", "--llm", server.url,
                                 "--model", "m"])
    said = " ".join(result.output.split())
    assert result.exit_code == 1, result.output  # done in part: the others' suggestions are stored
    assert "the LLM gave no usable answer for 1 segment" in said and "1 segment got no answer" in said
    with qc.Project.open(path) as p:
        stored = p.suggestions.merge(p.segments_of([doc])[["segment_id", "text"]], on="segment_id")
    assert set(stored["text"]) == set(texts) - {unlucky}
