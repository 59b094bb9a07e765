"""Suggesting with large codebooks: wall time, CPU time and peak memory against the 60-code sample codebook.

Each run suggests (keyword + embedding, the default) for the 15 sample transcripts in its own child
process, so each peak RSS is that run's alone: first with the shipped ``nic_study`` codebook (the
baseline, measured in the same run), then with generated codebooks of 1,000 and 5,000 codes
(``bench/make_codebooks.py``; realistic bilingual labels, keywords and examples). The memory target
for a whole run is 2 GiB; before blocks (issue 21, case 24) a 5,050-code codebook peaked at 5.5 GB.

    python bench/codebook_scale.py [--codes 1000 5000] [--embedder use]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_codebooks import sibling_codebook  # noqa: E402

#: The README's memory target for a whole run.
TARGET_MIB = 2048
#: Each child runs under this address-space cap, so a regression fails here instead of swapping the machine.
CAP_BYTES = 8 * 2**30

CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import qualcode as qc
    from qualcode.coders import suggest
    corpus, _ = qc.load_corpus(sys.argv[1])
    codebook = qc.load_codebook(sys.argv[2])
    n_codes = sum(1 for _ in codebook)
    wall, cpu = time.perf_counter(), time.process_time()
    out = suggest(corpus.segments, codebook, embedder=sys.argv[3], progress=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"codes": n_codes, "wall": wall, "cpu": cpu, "rows": len(out),
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")


def run(codebook: str, embedder: str) -> dict:
    """Suggest with ``codebook`` in a child process; its figures (peak RSS is the child's ru_maxrss)."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT / "data_samples" / "transcripts"), codebook,
                          embedder], capture_output=True, text=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES)),
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode:
        raise SystemExit(f"{codebook}: failed\n{out.stderr[-2000:]}")
    progress = [line for line in out.stderr.splitlines() if "chunks" in line or "calibrate" in line]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["progress"] = progress[-1] if progress else ""
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--embedder", default="use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("nic_study", run("nic_study", args.embedder))]
        for n in args.codes:
            path = Path(tmp) / f"codes{n}.yaml"
            path.write_text(sibling_codebook(n), encoding="utf-8")
            rows.append((path.name, run(str(path), args.embedder)))
    base = rows[0][1]
    print(f"{'codebook':<16}{'codes':>7}{'wall s':>9}{'×':>7}{'CPU s':>9}{'×':>7}{'peak MiB':>10}{'×':>7}"
          f"{'rows':>7}  target < {TARGET_MIB} MiB")
    for name, f in rows:
        verdict = "ok" if f["peak_mib"] < TARGET_MIB else "OVER TARGET"
        print(f"{name:<16}{f['codes']:>7}{f['wall']:>9.1f}{f['wall'] / base['wall']:>7.1f}{f['cpu']:>9.1f}"
              f"{f['cpu'] / base['cpu']:>7.1f}{f['peak_mib']:>10.0f}{f['peak_mib'] / base['peak_mib']:>7.2f}"
              f"{f['rows']:>7}  {verdict}")
        if f["progress"]:
            print(f"{'':<16}progress: {f['progress']}")


if __name__ == "__main__":
    main()
