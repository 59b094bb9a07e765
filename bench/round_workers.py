"""A whole round (load, add, suggest with keywords and embeddings) with --workers 2 against 1, on the same files.

The round is about 1M words of transcripts from bench/realistic_corpus.py: the
sample documents' speakers and turn lengths, words drawn from real Spanish and
English frequencies and from the interviews' own words (distinct words and
repeated windows are printed). Printed, each against a baseline measured in the
same run:

1. the round with workers=2 ÷ the round with one worker (and whether the
   stored suggestions are identical);
2. a re-run of the round on the unchanged files ÷ the first run (target ≤ 5 %);
3. peak memory of the process (target < 2 GiB).

    python bench/round_workers.py [--words 1000000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def one_round(folder: Path, project_path: Path, workers: int) -> tuple[float, object]:
    import qualcode as qc

    project = qc.Project.create(project_path)
    project.add_codebook(qc.load_codebook("nic_study"))
    start = time.perf_counter()
    result = qc.run_round(project, folder, workers=workers, report=False)
    elapsed = time.perf_counter() - start
    project.close()
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    args = parser.parse_args()
    from realistic_corpus import generate

    import qualcode as qc

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "round"
        folder.mkdir()
        stats = generate(folder, args.words)
        words = stats.words
        n_files = len(list(folder.iterdir()))
        print(f"round bench: {n_files} files, {stats.line()}")
        one, result = one_round(folder, Path(tmp) / "one.qualcode", workers=1)
        print(f"  workers=1: {one:.1f} s  ({len(result.segments):,} segments, {len(result.suggestions):,} "
              f"suggestions, {words / one:,.0f} words/s)")
        two, _ = one_round(folder, Path(tmp) / "two.qualcode", workers=2)
        with qc.Project.open(Path(tmp) / "one.qualcode") as a, qc.Project.open(Path(tmp) / "two.qualcode") as b:
            identical = a.suggestions.drop(columns="created_at").equals(b.suggestions.drop(columns="created_at"))
        print(f"  workers=2: {two:.1f} s  ratio {two / one:.2f}x one worker; identical suggestions: {identical}")
        project = qc.Project.open(Path(tmp) / "one.qualcode")
        start = time.perf_counter()
        again = qc.run_round(project, folder, report=False)
        rerun = time.perf_counter() - start
        project.close()
        print(f"  re-run on the unchanged files: {rerun:.2f} s ({len(again.suggestions)} suggestions made)  "
              f"ratio {rerun / one:.1%} (target <= 5%: {'met' if rerun / one <= 0.05 else 'NOT met'})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MiB (target < 2048 MiB: {'met' if peak < 2048 else 'NOT met'})")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
