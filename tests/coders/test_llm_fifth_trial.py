"""Faults a user's fifth trial of the LLM coder found (issue 19): the round after an LLM failure.

Each runs the `round` command against a real local server (llm_server.py) that first answers 500s, then
answers well. These test qualcode's side of the protocol and the commands only; they say nothing about a
model's quality.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.review.sheet import read_review_sheet

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
Reply = llm_server.Reply

runner = CliRunner()
ROUND = {"int_d02_final": "int_d02_final.txt", "int_d07_intermedia": "int_d07_intermedia.txt"}


def said(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def server():
    """A server that answers 500s (no pause asked between retries) while ``state["down"]``, then quotes."""
    state = {"down": True}

    def script(body: dict, n: int) -> Reply:
        if state["down"]:
            failing = llm_server.error(500, "internal error")
            failing.headers = {"Retry-After": "0"}
            return failing
        words = " ".join(llm_server.segment_of(body).split()[:5])
        return Reply(json.dumps({"codes": [{"code_id": "collaboration", "quote": words, "reason": "r",
                                            "confidence": "high"}]}, ensure_ascii=False))

    started = llm_server.ChatServer(script)
    started.state = state
    yield started
    started.close()


@pytest.fixture
def study(tmp_path, samples):
    """A new project and the round's folder; the arguments of its round command (LLM options last)."""
    project = tmp_path / "rr.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    folder = tmp_path / "ronda2"
    folder.mkdir()
    for name in ROUND.values():
        (folder / name).write_bytes((samples / "transcripts" / name).read_bytes())
    return project, ["round", str(project), str(folder), "--out", str(tmp_path / "rr_out"), "--coder", "ana",
                     "--methods", "keyword", "--no-report", "-q"]


def methods_stored(project: Path) -> set[str]:
    with qc.Project.open(project, read_only=True) as p:
        return set(p.suggestions["method"])


def documents_of(workbook: Path, project: Path) -> set[str]:
    ids = set(read_review_sheet(workbook)["segment_id"].astype(str))
    with qc.Project.open(project, read_only=True) as p:
        segments = p.segments
    return set(segments.loc[segments["segment_id"].astype(str).isin(ids), "doc_id"])


def test_round_rerun_after_llm_failure_asks_again(study, server, tmp_path):
    project, args = study
    llm = ["--llm", server.url, "--model", "M", "--llm-timeout", "5"]
    failed = runner.invoke(app, [*args, *llm])
    assert failed.exit_code == 1, failed.output
    assert "run this same command again" in said(failed)
    first = tmp_path / "rr_out" / "revision_ronda.xlsx"
    assert first.exists() and not any("llm" in m for m in methods_stored(project))
    server.state["down"] = False
    sent = len(server.requests)

    again = runner.invoke(app, [*args, *llm])
    assert again.exit_code == 0, again.output
    text = said(again)
    n_skipped = int(text.split("resuming: asking the LLM for ", 1)[1].split(" ", 1)[0])
    assert 0 < len(server.requests) - sent <= n_skipped  # only what it skipped (cached answers are reused)
    assert f"({len(server.requests) - sent} sent now;" in text
    assert "suggestions: none" not in text
    assert any("llm" in m for m in methods_stored(project))
    second = tmp_path / "rr_out" / "revision_ronda-2.xlsx"
    assert second.exists() and documents_of(second, project) == set(ROUND)
    assert f"fill only {second}" in text and f"replaces {first}" in text and f"discard {first}" in text
    assert f"kept {first}" not in text  # said once, as the workbook replaced, not as one merely kept

    sent = len(server.requests)
    third = runner.invoke(app, [*args, *llm])
    assert third.exit_code == 0, third.output
    assert len(server.requests) == sent and "resuming" not in said(third)
    assert sorted(p.name for p in (tmp_path / "rr_out").glob("*.xlsx")) == ["revision_ronda-2.xlsx",
                                                                            "revision_ronda.xlsx"]


def test_round_rerun_without_llm_after_llm_failure_says_it_is_owed_and_how_to_finish(study, server, tmp_path):
    project, args = study
    llm = ["--llm", server.url, "--model", "M", "--llm-timeout", "5"]
    assert runner.invoke(app, [*args, *llm]).exit_code == 1
    server.state["down"] = False
    sent = len(server.requests)

    plain = runner.invoke(app, args)
    assert plain.exit_code == 0, plain.output
    text = said(plain)
    assert "the LLM step of this round is still owed" in text and len(server.requests) == sent
    command = shlex.split(text.split("run this command again with ", 1)[1].split(": it asks", 1)[0])
    assert command == llm
    assert not (tmp_path / "rr_out" / "revision_ronda-2.xlsx").exists()
    assert not any("llm" in m for m in methods_stored(project))

    # Asked again while it still fails: no second workbook of the same rows; the first is still the one to fill.
    server.state["down"] = True
    down = runner.invoke(app, [*args, *command])
    assert down.exit_code == 1, down.output
    first = tmp_path / "rr_out" / "revision_ronda.xlsx"
    assert f"no new review workbook: {first} is still the one to fill" in said(down)
    assert [p.name for p in (tmp_path / "rr_out").glob("*.xlsx")] == ["revision_ronda.xlsx"]
    server.state["down"] = False
    sent = len(server.requests)

    finished = runner.invoke(app, [*args, *command])
    assert finished.exit_code == 0, finished.output
    assert "resuming: asking the LLM for" in said(finished) and len(server.requests) > sent
    assert any("llm" in m for m in methods_stored(project))
    assert "still owed" not in said(runner.invoke(app, args))


def test_round_llm_failure_message_says_which_workbook_to_fill(study, server, tmp_path):
    project, args = study
    failed = runner.invoke(app, [*args, "--llm", server.url, "--model", "M"])
    assert failed.exit_code == 1, failed.output
    text = said(failed)
    first = tmp_path / "rr_out" / "revision_ronda.xlsx"
    assert f"writes the workbook to fill instead of {first}" in text
    assert (f"in place of {first} (the new workbook holds all of this round's suggestions, the LLM's included: "
            "fill only it)") in text
    # Following the printed commands instead of the re-run: the workbook written says which one it replaces.
    server.state["down"] = False
    line = next(x for x in failed.output.splitlines() if "ask the LLM again with: " in x)
    ask = shlex.split(line.split("ask the LLM again with: ", 1)[1].split(" (answers received", 1)[0])
    export = shlex.split(line.split("write a new workbook with: ", 1)[1])
    assert runner.invoke(app, [*ask[1:], "-q"]).exit_code == 0
    written = runner.invoke(app, export[1:])
    assert written.exit_code == 0, written.output
    assert f"fill only {export[4]}" in said(written) and f"discard {first}" in said(written)
    assert documents_of(Path(export[4]), project) == set(ROUND)
    # The round run again afterwards has nothing left to ask and writes no third workbook.
    sent = len(server.requests)
    again = runner.invoke(app, [*args, "--llm", server.url, "--model", "M"])
    assert again.exit_code == 0, again.output
    assert len(server.requests) == sent and f"fill only {export[4]}" in said(again)
    assert sorted(p.name for p in (tmp_path / "rr_out").glob("*.xlsx")) == ["revision_ronda-llm.xlsx",
                                                                            "revision_ronda.xlsx"]
    assert "resuming" not in said(runner.invoke(app, [*args, "--llm", server.url, "--model", "M"]))
