"""bench/llm_coder.py runs end to end against a local fixture server (slow: it runs the other coders too).

The fixture answers every segment with one code and one unknown code: the figures say nothing about a model.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("llm_server", Path(__file__).with_name("llm_server.py"))
llm_server = sys.modules.setdefault("llm_server", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(llm_server)
_bench_spec = importlib.util.spec_from_file_location("llm_coder_bench", ROOT / "bench" / "llm_coder.py")
bench = importlib.util.module_from_spec(_bench_spec)
_bench_spec.loader.exec_module(bench)


def script(body: dict, n: int):
    words = " ".join(llm_server.segment_of(body).split()[:5])
    return llm_server.Reply(json.dumps({"codes": [
        {"code_id": "collaboration", "quote": words, "reason": "r", "confidence": "medium"},
        {"code_id": "not.a.code", "quote": words, "reason": "r", "confidence": "low"}]}, ensure_ascii=False))


@pytest.mark.slow
def test_llm_bench_prints_the_table_with_and_without_the_llm(capsys):
    server = llm_server.ChatServer(script)
    try:
        bench.main(["--base-url", server.url, "--model", "fixture", "--limit", "30", "--embedder", "tfidf",
                    "--few-shot", "--evaluate", "--folds", "2"])
    finally:
        server.close()
    out = capsys.readouterr().out
    for name in ("zero-shot ensemble (keyword+embedding) vs ana", "LLM alone vs luis", "ensemble + LLM vs ana",
                 "baseline (top-3 frequent) vs ana", "LLM few-shot (held out) vs ana",
                 "5. qualcode evaluate with the LLM", "default+llm", "supervised"):
        assert name in out
    assert "30 codes not in the codebook (neither an id nor a label) refused" in out and "HTTP requests 30" in out
    assert all(path == "/v1/chat/completions" for path in server.paths)
