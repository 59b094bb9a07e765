"""Hostile codebooks (issue 21): time and peak memory of refusing YAML bombs and of suggesting with ReDoS keywords.

Each scenario runs in its own child process under a 3 GiB address-space cap, so its peak RSS is its own
(``os.wait4``); CPU time (user + system) and wall time are printed against baselines measured in the same
run: loading a normal codebook, and suggesting with a normal /regex/ keyword on the same turns.

    python bench/codebook_hostile.py [--letters 20000]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "data" / "hostile"
CAP = 3 * 2**30


def child(code: str) -> tuple[float, float, float, str]:
    """Run ``code`` in a capped child: CPU seconds, wall seconds, peak RSS in MiB, last output line."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))

    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    with proc.stdout:
        output = proc.stdout.read().decode("utf-8", "replace").strip().splitlines()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, (output or [""])[-1][:110]


LOAD = """
import qualcode as qc
try:
    qc.load_codebook({path!r})
    print("loaded")
except qc.errors.QualcodeError as exc:
    print(type(exc).__name__ + ": " + str(exc).splitlines()[0])
"""

SUGGEST = """
import qualcode as qc
corpus = qc.load_corpus({docs!r})[0]
coder = qc.KeywordCoder(lang="es").fit(qc.load_codebook({codebook!r}))
print(f"{{len(coder.suggest(corpus.segments))}} suggestions")
"""


def row(name: str, figures: tuple[float, float, float, str], base: tuple[float, float, float, str]) -> None:
    cpu, wall, peak, said = figures
    print(f"  {name:<34} CPU {cpu:6.2f} s ({cpu / base[0]:4.1f}x)  wall {wall:6.2f} s  peak {peak:5.0f} MiB "
          f"({'<' if peak < 512 else '>='} 512)  {said}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=20_000, help="length of the 'jajaja…' turn")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        values = folder / "values.yaml"
        values.write_text("id: x\nx:\n" + "".join(f"  k{i}: {{}}\n" for i in range(600_000)), encoding="utf-8")
        print("Loading codebooks (each in a fresh process: the figures include importing qualcode)")
        base = child(LOAD.format(path="nic_study"))
        row("baseline: shipped nic_study", base, base)
        for name, path in [("alias bomb .yaml (case 05)", CASES / "alias_bomb.yaml"),
                           ("alias bomb .qdc (case 05)", CASES / "alias_bomb.qdc"),
                           ("600,000 YAML values (3.9 MB)", values)]:
            row(name, child(LOAD.format(path=str(path))), base)

        turn = ("ja" * (args.letters // 2))
        docs = folder / "docs"
        docs.mkdir()
        (docs / "d.txt").write_text(f"ENTREVISTADORA: ¿Cómo?\nDIRECTORA: {turn}x colaboramos\n"
                                    f"DIRECTORA: {'a' * args.letters}b\n", encoding="utf-8")
        books = {}
        for name, pattern in [("normal", "/colabora(r|mos)/"), ("redos", "/(ja|jaja)+$/"), ("redos2", "/(a|aa)+$/")]:
            books[name] = folder / f"{name}.yaml"
            books[name].write_text(f"id: {name}\ncodes:\n  - id: c\n    label: {{es: c, en: c}}\n"
                                   f"    keywords: {{es: ['{pattern}'], en: ['{pattern}']}}\n", encoding="utf-8")
        print(f"\nSuggesting on a turn of {args.letters:,} letters 'jaja…' and one of 'aaa…b' (keyword coder)")
        base = child(SUGGEST.format(docs=str(docs), codebook=str(books["normal"])))
        row("baseline: /colabora(r|mos)/", base, base)
        row("/(ja|jaja)+$/ (case 22)", child(SUGGEST.format(docs=str(docs), codebook=str(books["redos"]))), base)
        row("/(a|aa)+$/ (case 22)", child(SUGGEST.format(docs=str(docs), codebook=str(books["redos2"]))), base)

    print("\nBefore: Python's backtracking re on /(a|aa)+$/ against 'a' * n + 'b' (time doubles every ~1.5 letters)")
    for n in (24, 28, 32):
        start = time.process_time()
        re.search("(a|aa)+$", "a" * n + "b")
        print(f"  n = {n}: CPU {time.process_time() - start:6.2f} s")


if __name__ == "__main__":
    main()
