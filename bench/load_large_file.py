"""Load one 50 MB transcript (with a 16 MB line) and print time and peak memory (bad-input case T11).

Baseline in the same run: reading and decoding the file's bytes.

    python bench/load_large_file.py [--mb 50]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

TURN = ("E: ¿Cómo se organizaron este año con el equipo?\n"
        "D1: Igual nos costó, pero la red nos ayudó harto a ordenar los tiempos y a confiar.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    args = parser.parse_args()
    import qualcode as qc
    from qualcode.io.encoding import decode_bytes, normalize_text

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grande.txt"
        with open(path, "w", encoding="utf-8") as out:
            out.write("D1: " + "palabra " * 2_000_000 + "\n")
            out.write(TURN * ((args.mb - 16) * 1024 * 1024 // len(TURN.encode())))
        start = time.perf_counter()
        normalize_text(decode_bytes(path.read_bytes())[0])
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        corpus, report = qc.load_corpus(path)
        elapsed = time.perf_counter() - start
        size = path.stat().st_size / 1024 / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"file: {size:.0f} MB  segments: {len(corpus.segments):,}  errors: {report.n_errors}")
    print(f"baseline (read + decode + normalise): {baseline:.2f} s")
    print(f"load_corpus: {elapsed:.2f} s ({elapsed / baseline:.1f}x baseline)  peak RSS: {peak:,.0f} MiB "
          f"(target < 2048 MiB: {'met' if peak < 2048 else 'NOT met'})")


if __name__ == "__main__":
    main()
