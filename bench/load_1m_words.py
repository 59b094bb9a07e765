"""Load about 1M words of transcripts built from data_samples/ and print time and peak memory.

Targets (2-core machine): under 30 s and under 2 GiB. The baseline, measured
in the same run on the same files, is reading and decoding every file's bytes
with no parsing; the ratio shows what parsing and segmentation cost on top.

By default the files come from bench/realistic_corpus.py (plain-text transcripts
with real vocabulary diversity; its figures are printed). ``--copies`` copies the
sample files themselves instead, to measure the mix of formats (.docx, .vtt,
.srt, .md) at the price of a vocabulary that repeats.

    python bench/load_1m_words.py [--words 1000000] [--unit turn] [--copies]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def build(folder: Path, target_words: int) -> int:
    sources = sorted((ROOT / "data_samples" / "transcripts").iterdir())
    words = 0
    copy = 0
    while words < target_words:
        for source in sources:
            destination = folder / f"{source.stem}_{copy:04d}{source.suffix}"
            shutil.copyfile(source, destination)
        copy += 1
        if copy == 1:
            import qualcode as qc

            corpus, _ = qc.load_corpus(folder)
            per_copy = int(corpus.documents["n_words"].sum())
        words = per_copy * copy
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--unit", default="turn", choices=["turn", "paragraph", "sentence"])
    parser.add_argument("--copies", action="store_true", help="copies of the sample files (every format)")
    args = parser.parse_args()
    from realistic_corpus import generate

    import qualcode as qc
    from qualcode.io.encoding import decode_bytes

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.copies:
            words = build(folder, args.words)
            print("corpus: copies of the sample files")
        else:
            stats = generate(folder, args.words)
            words = stats.words
            print(f"corpus: {stats.line()}")
        files = sorted(folder.iterdir())
        start = time.perf_counter()
        for path in files:
            if path.suffix != ".docx":
                decode_bytes(path.read_bytes())
            else:
                path.read_bytes()
        baseline = time.perf_counter() - start
        start = time.perf_counter()
        corpus, report = qc.load_corpus(folder, unit=args.unit)
        elapsed = time.perf_counter() - start
        start = time.perf_counter()
        two, _ = qc.load_corpus(folder, unit=args.unit, workers=2)
        parallel = time.perf_counter() - start
        identical = two.segments.equals(corpus.segments)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"files: {len(files)}  words: {words:,}  segments: {len(corpus.segments):,}  errors: {report.n_errors}")
    print(f"baseline (read + decode bytes): {baseline:.2f} s")
    print(f"load_corpus(unit={args.unit!r}): {elapsed:.2f} s  ({elapsed / baseline:.1f}x baseline)  "
          f"{words / elapsed:,.0f} words/s  target < 30 s: {'met' if elapsed < 30 else 'NOT met'}")
    print(f"load_corpus(workers=2): {parallel:.2f} s ({parallel / elapsed:.2f}x one worker; identical result: "
          f"{identical})")
    print(f"peak RSS: {peak:,.0f} MiB  target < 2048 MiB: {'met' if peak < 2048 else 'NOT met'}")
    if report.n_errors or elapsed >= 30 or peak >= 2048:
        sys.exit(1)


if __name__ == "__main__":
    main()
