"""T11 at full size: a 50 MB transcript loads (slow; the bench prints its time and memory)."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r"""
import resource, sys
from pathlib import Path
import qualcode as qc
path = Path(sys.argv[1])
turn = "E: ¿Cómo se organizaron este año con el equipo?\nD1: Igual nos costó, pero la red nos ayudó harto a ordenar los tiempos y a confiar.\n"
with open(path, "w", encoding="utf-8") as out:
    out.write("D1: " + "palabra " * 2_000_000 + "\n")        # one 16 MB line
    out.write(turn * (34 * 1024 * 1024 // len(turn.encode())))
corpus, report = qc.load_corpus(path)
seg = corpus.segments
text = corpus.text(path.stem)
assert report.n_errors == 0, report.to_string()
assert all(text[s:e] == t for s, e, t in seg[["start", "end", "text"]].sample(2000, random_state=0).itertuples(index=False))
print(path.stat().st_size, len(seg), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_t11_fifty_megabyte_transcript_loads_within_two_gib(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "grande.txt")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    size, segments, peak_mib = map(int, out.stdout.split())
    assert size > 48 * 1024 * 1024
    assert segments > 500_000
    assert peak_mib < 2048, f"peak {peak_mib} MiB"
    print(f"50 MB transcript: {segments} segments, peak {peak_mib} MiB")
