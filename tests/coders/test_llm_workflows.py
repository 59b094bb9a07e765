"""The LLM coder in ``qualcode evaluate`` and ``qualcode round``, against a real local server (llm_server.py).

These test qualcode's side: the same folds, one request per segment, answers reused on a re-run, a server
that is down leaving the other methods' results whole and saying how to ask again. Nothing about a model.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.coders import LLMCoder, MemoryResponseCache
from qualcode.coders.evaluate import LLM_SYSTEMS, cross_validate
from qualcode.errors import LLMSkippedWarning
from qualcode.testing import HashingEmbedder

_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)

runner = CliRunner()

CODEBOOK = """\
qualcode_codebook: 1
id: escuela
title: {es: Escuela, en: School}
codes:
  - id: huerto
    label: {es: Huerto escolar, en: School garden}
    definition: {es: "El huerto: plantas, semillas y tierra.", en: "The garden: plants, seeds and soil."}
  - id: numeros
    label: {es: Números, en: Numbers}
    definition: {es: "Matemática: números, contar y sumar.", en: "Mathematics: numbers, counting and adding."}
"""
GARDEN = ["En el huerto sembramos semillas de {x}", "Las plantas del huerto y la tierra con {x}",
          "Regamos las plantas y semillas del huerto {x}"]
NUMBERS = ["Contamos números hasta {x} con los niños", "Sumar números y contar {x} en matemática",
           "Los números y la matemática de {x}"]
FILLERS = ["lunes", "martes", "miércoles", "jueves"]


@pytest.fixture(scope="module")
def codebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("cb") / "escuela.yaml"
    path.write_text(CODEBOOK, encoding="utf-8")
    return qc.load_codebook(path)


def study_tables(n_people: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, gold = [], []
    for p in range(n_people):
        start = 0
        for i, template in enumerate(GARDEN + NUMBERS):
            text = template.format(x=FILLERS[p])
            sid = f"p{p}s{i}"
            rows.append({"segment_id": sid, "doc_id": f"doc{p}", "participant": f"P{p}", "text": text,
                         "start": start, "end": start + len(text), "speaker_role": "participant", "language": "es"})
            gold.append({"segment_id": sid, "code_id": "huerto" if i < len(GARDEN) else "numeros"})
            start += len(text) + 2
    return pd.DataFrame(rows), pd.DataFrame(gold)


def reading(body: dict, n: int):
    """A scripted 'model' that codes garden talk huerto and number talk numeros, quoting the first three words."""
    text = llm_server.segment_of(body)
    code = "huerto" if "huerto" in text else "numeros" if "mero" in text else None
    items = [{"code_id": code, "quote": " ".join(text.split()[:3]), "reason": "r", "confidence": "high"}] if code else []
    return llm_server.Reply(json.dumps({"codes": items}, ensure_ascii=False))


@pytest.fixture
def chat():
    server = llm_server.ChatServer(reading)
    yield server
    server.close()



def test_evaluate_measures_the_llm_beside_the_other_methods_on_the_same_folds_and_a_rerun_sends_nothing(codebook,
                                                                                                         chat):
    segments, gold = study_tables()
    cache = MemoryResponseCache()
    options = {"methods": ("embedding",), "k": 1, "folds": 2, "curve": (), "review": (), "embedder": HashingEmbedder()}
    result = cross_validate(segments, codebook, gold, segments["participant"],
                            llm=LLMCoder(chat.url, "test-model", cache=cache), **options)
    summary = result.summary.set_index("system")
    assert set(LLM_SYSTEMS) <= set(summary.index) and "embedding" in summary.index
    assert summary.loc["llm", "f1"] == 1.0 and summary.loc["default+llm", "f1"] == 1.0
    assert len(chat.requests) == len(segments)  # each segment once, in its held-out fold
    assert any("24 segments asked" in note and "hallucination rate 0.0%" in note for note in result.notes)
    # Few-shot examples come from the training side only: never the segment's own participant.
    for body in chat.requests:
        user = body["messages"][1]["content"]
        own = next(f for f in FILLERS if f in llm_server.segment_of(body))
        assert user.count(own) == 1
    again = cross_validate(segments, codebook, gold, segments["participant"],
                           llm=LLMCoder(chat.url, "test-model", cache=cache), **options)
    assert len(chat.requests) == len(segments)
    pd.testing.assert_frame_equal(again.summary, result.summary)


def test_evaluate_with_the_llm_server_down_notes_it_and_measures_the_rest(codebook):
    segments, gold = study_tables()
    down = LLMCoder(f"http://127.0.0.1:{llm_server.free_port()}/v1", "m", backoff=0.01)
    result = cross_validate(segments, codebook, gold, segments["participant"], methods=("embedding",), k=1, folds=2,
                            curve=(), review=(), embedder=HashingEmbedder(), llm=down)
    assert "embedding" in set(result.summary["system"]) and not set(LLM_SYSTEMS) & set(result.summary["system"])
    assert any("no LLM server answers" in n and "running the same evaluation again" in n for n in result.notes)


@pytest.fixture
def coded_project(tmp_path, codebook):
    """A project whose 4 participants' turns were coded by hand."""
    segments, gold = study_tables()
    folder = tmp_path / "docs"
    folder.mkdir()
    for doc_id, part in segments.groupby("doc_id"):
        (folder / f"{doc_id}.txt").write_text("\n\n".join(f"P: {t}" for t in part["text"]), encoding="utf-8")
    sheet = tmp_path / "attributes.csv"
    sheet.write_text("doc_id,participant\n" + "".join(f"doc{p},P{p}\n" for p in range(4)), encoding="utf-8")
    corpus, _ = qc.load_corpus(folder, attributes=sheet, speakers=["P"])
    with qc.Project.create(tmp_path / "made.qualcode") as made:
        made.add_corpus(corpus)
        made.add_codebook(codebook)
        segs = made.segments
        texts = dict(zip(segments["text"], gold["code_id"], strict=True))
        coded = segs[segs["text"].isin(texts)]
        made.add_manual(list(coded["segment_id"]), [texts[t] for t in coded["text"]], coder="ana")
    return tmp_path / "made.qualcode"


def test_cli_evaluate_with_llm_prints_it_beside_the_others_and_keeps_its_answers_in_the_project(coded_project,
                                                                                                 chat):
    args = ["evaluate", str(coded_project), "--methods", "keyword", "--k", "1", "--folds", "2", "--curve", "",
            "--review", "", "--embedder", "tfidf", "--llm", chat.url, "--model", "test-model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:1] == ["llm"] for line in lines) and any("default+llm" in line for line in lines)
    assert "segments asked" in result.output
    n = len(chat.requests)
    assert n == 24
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and len(chat.requests) == n  # the answers came from the project
    assert "0 segments asked, 24 answered from the cache" in again.output
    said = " ".join(again.output.split())
    proposed = int(said.split(" codes proposed, ")[0].rsplit(" ", 1)[1])
    kept = int(said.split(" codes proposed, ")[1].split(" kept,")[0])
    assert "24 usable answers in all" in said and 0 < kept <= proposed  # what was kept, beside what was proposed


@pytest.mark.parametrize("reply", [None, llm_server.error(404, 'model "test-model" not found, try pulling it')],
                         ids=["down", "model-404"])
def test_cli_evaluate_with_a_failed_llm_warns_and_exits_1_done_in_part(coded_project, reply):
    server = llm_server.ChatServer(lambda body, n: reply) if reply is not None else None
    url = server.url if server is not None else f"http://127.0.0.1:{llm_server.free_port()}/v1"
    try:
        result = runner.invoke(app, ["evaluate", str(coded_project), "--methods", "embedding", "--k", "1", "--folds",
                                     "2", "--curve", "", "--review", "", "--embedder", "tfidf", "--llm", url,
                                     "--model", "test-model"])
    finally:
        if server is not None:
            server.close()
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "warning: llm failed and is left out" in said and "note: llm failed" not in said
    assert any(line.split()[:1] == ["embedding"] for line in result.output.splitlines())  # the rest is measured


def test_cli_evaluate_llm_options_misused_are_refused(coded_project):
    result = runner.invoke(app, ["evaluate", str(coded_project), "--llm", "http://127.0.0.1:9/v1"])
    assert result.exit_code != 0 and "--llm and --model go together" in result.output


@pytest.mark.parametrize("command", ["suggest", "round"])
def test_cli_methods_llm_without_a_server_says_which_options_to_add(tmp_path, command):
    project = tmp_path / "study.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    args = [command, str(project), *([str(tmp_path)] if command == "round" else []), "--methods", "keyword,llm"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "--methods llm needs your own server: add --llm URL --model NAME" in said and "qc." not in said


ROUND = ["int_d02_final.txt", "int_pa2_final.txt"]


def _round_folder(tmp_path, samples):
    folder = tmp_path / "ronda"
    folder.mkdir()
    for name in ROUND:
        shutil.copy(samples / "transcripts" / name, folder / name)
    return folder


def quoting(body: dict, n: int):
    words = " ".join(llm_server.segment_of(body).split()[:4])
    return llm_server.Reply(json.dumps({"codes": [{"code_id": "collaboration.belonging", "quote": words,
                                                   "reason": "r", "confidence": "high"}]}, ensure_ascii=False))


def test_round_with_llm_codes_the_new_documents_with_it(tmp_path, samples):
    server = llm_server.ChatServer(quoting)
    try:
        project = tmp_path / "study.qualcode"
        assert runner.invoke(app, ["init", str(project)]).exit_code == 0
        result = runner.invoke(app, ["round", str(project), str(_round_folder(tmp_path, samples)), "--out",
                                     str(tmp_path / "out"), "--methods", "keyword", "-q", "--no-report",
                                     "--llm", server.url, "--model", "test-model"])
        assert result.exit_code == 0, result.output
        assert "LLM skipped" not in result.output and len(server.requests) > 0
        with qc.Project.open(project) as p:
            assert p.suggestions["method"].str.contains("llm").any()
    finally:
        server.close()


def test_round_with_llm_server_down_still_writes_the_workbook_and_says_how_to_ask_again(tmp_path, samples):
    project = tmp_path / "study.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    url = f"http://127.0.0.1:{llm_server.free_port()}/v1"
    result = runner.invoke(app, ["round", str(project), str(_round_folder(tmp_path, samples)), "--out",
                                 str(tmp_path / "out"), "--methods", "keyword", "-q", "--no-report", "--llm", url,
                                 "--model", "test-model"])
    assert result.exit_code == 1, result.output  # done in part: the workbook lacks the LLM's suggestions
    assert (tmp_path / "out" / "revision_ronda.xlsx").exists()
    said = " ".join(result.output.split())
    assert "LLM skipped for" in said and "no LLM server answers" in said
    command = said.split("ask the LLM again with: ", 1)[1].split(" (answers received", 1)[0]
    assert command.startswith(f"qualcode suggest {project} -d ") and f"--llm {url} --model test-model" in command
    with qc.Project.open(project) as p:
        kept = set(p.suggestions["method"])
    assert kept == {"keyword"}
    # The server is up again: the command said asks the LLM about those documents.
    server = llm_server.ChatServer(quoting)
    try:
        args = command.split()[1:]
        args[args.index("--llm") + 1] = server.url
        resumed = runner.invoke(app, [*args, "--methods", "keyword", "-q"])
        assert resumed.exit_code == 0, resumed.output
        with qc.Project.open(project) as p:
            assert p.suggestions["method"].str.contains("llm").any()
    finally:
        server.close()


def test_run_round_llm_skipped_is_a_warning_and_a_summary_line(tmp_path, samples):
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        project.add_codebook(qc.load_codebook("nic_study"))
        down = LLMCoder(f"http://127.0.0.1:{llm_server.free_port()}/v1", "m")
        with pytest.warns(LLMSkippedWarning):
            result = qc.run_round(project, _round_folder(tmp_path, samples), methods=["keyword"], llm=down)
        assert result.llm_skipped and any(line.startswith("LLM skipped for") for line in result.summary())
        assert set(result.suggestions["method"]) == {"keyword"}


def test_round_with_the_llm_alone_and_its_server_down_fails_saying_so_and_the_same_command_resumes(tmp_path,
                                                                                                   samples):
    project = tmp_path / "study.qualcode"
    assert runner.invoke(app, ["init", str(project)]).exit_code == 0
    folder = _round_folder(tmp_path, samples)
    port = llm_server.free_port()
    args = ["round", str(project), str(folder), "--out", str(tmp_path / "out"), "--methods", "llm", "-q",
            "--no-report", "--llm", f"http://127.0.0.1:{port}/v1", "--model", "test-model", "--llm-timeout", "5"]
    down = runner.invoke(app, args)
    assert down.exit_code == 2 and "no LLM server answers" in " ".join(down.output.split())
    assert not (tmp_path / "out" / "revision_ronda.xlsx").exists()
    server = llm_server.ChatServer(quoting)
    try:
        args[args.index("--llm") + 1] = server.url
        again = runner.invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "resuming the interrupted round" in again.output and len(server.requests) > 0
        assert (tmp_path / "out" / "revision_ronda.xlsx").exists()
    finally:
        server.close()


# -- evaluate: the same progress line and Ctrl-C as suggest (issue 19, a user's fourth trial) ------------------

EVALUATE = ["--methods", "keyword", "--k", "1", "--folds", "2", "--curve", "", "--review", "", "--embedder", "tfidf",
            "--model", "test-model"]


def test_cli_evaluate_with_llm_shows_the_ask_progress_line_unless_quiet(coded_project, chat):
    shown = runner.invoke(app, ["evaluate", str(coded_project), *EVALUATE, "--llm", chat.url])
    assert shown.exit_code == 0, shown.output
    assert "ask test-model about 12 segments" in shown.output  # one line per fold, as suggest --llm shows it
    n = len(chat.requests)
    # Another model (its answers are not cached yet): asked again, without the line.
    quiet = runner.invoke(app, ["evaluate", str(coded_project), *EVALUATE, "--llm", chat.url, "-q", "--model",
                                "other-model"])
    assert quiet.exit_code == 0, quiet.output
    assert len(chat.requests) == 2 * n and "ask other-model" not in quiet.output and " 100%" not in quiet.output


class InterruptAt:
    """A server script: Ctrl-C (a real SIGINT to this process) 0.05 s after request ``at`` arrives; requests
    ``at - 1`` and ``at`` answer after 1 s (both in flight then), later ones after a minute."""

    def __init__(self, at: int) -> None:
        self.at, self.sent_at, self.after = at, None, []

    def __call__(self, body: dict, n: int):
        if self.sent_at is not None and time.monotonic() >= self.sent_at:
            self.after.append(n)
        if n == self.at:
            threading.Timer(0.05, self._interrupt).start()
        reply = reading(body, n)
        reply.delay = 0.0 if n < self.at - 1 else 1.0 if n <= self.at else 60.0
        return reply

    def _interrupt(self) -> None:
        self.sent_at = time.monotonic()
        signal.raise_signal(signal.SIGINT)


def test_cli_evaluate_interrupted_during_the_llm_says_what_was_kept_and_exits_130(coded_project):
    script = InterruptAt(14)  # fold 1's 12 answered, then two of fold 2's in flight
    server = llm_server.ChatServer(script)
    try:
        result = runner.invoke(app, ["evaluate", str(coded_project), *EVALUATE, "--llm", server.url,
                                     "--llm-concurrency", "2", "-q"])
    finally:
        server.close()
    said = " ".join(result.output.split())
    assert result.exit_code == 130, result.output
    assert ("interrupted: 14 answers from the LLM kept in the project; run the same command again to continue the "
            "evaluation") in said
    assert script.after == [] and len(server.requests) == 14 and "Traceback" not in result.output
    rest = llm_server.ChatServer(reading)
    try:
        again = runner.invoke(app, ["evaluate", str(coded_project), *EVALUATE, "--llm", rest.url, "-q"])
    finally:
        rest.close()
    assert again.exit_code == 0, again.output
    assert len(rest.requests) == 24 - 14  # only the rest
