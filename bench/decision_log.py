"""Cost of a decision at 0, 10,000 and 100,000 decisions already in the log: accept, reject, apply a workbook.

The log is built from the sample's participant segments (data_samples/) and
the shipped ``nic_study`` codebook: four coders accept, reject and code spans
by hand, with memos, over the whole study; the measured coder ("ana") is one
of them, so her own history on the keys she decides on grows with the log.
For each log size, on its own copy of the project file:

1. ``qc.accept`` of one suggestion, and ``qc.reject`` of one (repeated; median);
2. ``qc.apply_review`` of a filled 40-row review workbook (accept, reject,
   "otro código", memos), including reading it, first apply (repeated with
   fresh workbooks on other segments; median).

Wall and CPU time are printed side by side with the ratio to the 0 baseline
measured in the same run; target: cost at 100,000 within 1.5x the cost at 0,
judged on CPU time (wall time includes fsync waits, which depend on what
else the shared machine's disk is doing; it is printed beside it).

    python bench/decision_log.py [--sizes 0,10000,100000] [--repeat 15]
"""

from __future__ import annotations

import argparse
import functools
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODERS = ["ana", "luis", "camila", "model"]


def base_project(folder: Path):  # type: ignore[no-untyped-def]
    import qualcode as qc

    samples = ROOT / "data_samples"
    corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    project = qc.Project.create(folder / "base.qualcode")
    project.add_corpus(corpus)
    project.add_codebook(qc.load_codebook("nic_study"))
    qc.suggest(project, methods=("keyword",), progress=False)
    return project


def fill_log(project, n: int, seed: int = 7) -> None:  # type: ignore[no-untyped-def]
    """Append ``n`` realistic decisions in bulk (chunks of 10,000, one transaction each)."""
    from qualcode.review.log import Decision

    rng = random.Random(seed)
    segs = project.segments
    segs = segs[segs["speaker_role"] == "participant"][["segment_id", "doc_id", "text"]].to_dict("records")
    codes = [c.id for c in project.codebook()]
    version = project.codebook().version
    batch: list[Decision] = []
    for _ in range(n):
        seg, code, coder = rng.choice(segs), rng.choice(codes), rng.choice(CODERS)
        kind = rng.choices(["accept", "reject", "manual", "span"], weights=[5, 3, 1, 1])[0]
        memo = rng.choice([None, None, None, "revisar con el equipo", "habla del SLEP, no de la escuela"])
        common = {"doc_id": seg["doc_id"], "memo": memo, "codebook_version": version}
        if kind == "span" and len(seg["text"]) > 12:
            a = rng.randrange(0, len(seg["text"]) - 10)
            b = rng.randrange(a + 5, len(seg["text"]))
            batch.append(Decision.manual(seg["segment_id"], code, coder, quote=seg["text"][a:b], span=(a, b), **common))
        elif kind in ("manual", "span"):
            batch.append(Decision.manual(seg["segment_id"], code, coder, quote=seg["text"], **common))
        else:
            batch.append(getattr(Decision, kind)(seg["segment_id"], code, coder, quote=seg["text"], method="keyword",
                                                 score=round(rng.random(), 3), **common))
        if len(batch) == 10_000:
            project.log.append(batch)
            batch = []
    project.log.append(batch)


def timed(call) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def workbook(project, rows, path: Path, rng: random.Random) -> Path:  # type: ignore[no-untyped-def]
    import openpyxl

    import qualcode as qc

    qc.export_review_sheet(project, rows, path, coder="ana")
    book = openpyxl.load_workbook(path)
    ws = book.worksheets[0]
    header = {c.value: c.column for c in ws[1]}
    labels = [c.label["es"] for c in project.codebook()]
    for r in range(2, ws.max_row + 1):
        choice = rng.choice(["sí", "no", "other", "memo"])
        if choice == "other":
            ws.cell(r, header["otro código"]).value = rng.choice(labels)
        elif choice == "memo":
            ws.cell(r, header["decisión"]).value = "sí"
            ws.cell(r, header["memo"]).value = "cita clara para el informe"
        else:
            ws.cell(r, header["decisión"]).value = choice
    book.save(path)
    return path


def apply_workbook(project, path: Path) -> None:
    import qualcode as qc

    qc.apply_review(project, qc.read_review_sheet(path))


def measure(path: Path, repeat: int, seed: int) -> dict[str, tuple[float, float]]:
    import qualcode as qc

    rng = random.Random(seed)
    project = qc.Project.open(path)
    suggestions = project.suggestions.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    out: dict[str, list[tuple[float, float]]] = {"accept": [], "reject": [], "apply workbook (40 rows)": []}
    for i in range(repeat):
        row = suggestions.iloc[[i]]
        out["accept"].append(timed(functools.partial(qc.accept, project, row, coder="ana")))
        row = suggestions.iloc[[repeat + i]]
        out["reject"].append(timed(functools.partial(qc.reject, project, row, coder="ana", memo="no corresponde")))
    folder = path.parent
    for i in range(max(3, repeat // 3)):
        rows = suggestions.iloc[2 * repeat + 40 * i: 2 * repeat + 40 * (i + 1)]
        sheet = workbook(project, rows, folder / f"rev{i}.xlsx", rng)
        out["apply workbook (40 rows)"].append(timed(functools.partial(apply_workbook, project, sheet)))
    project.close()
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        base_project(folder).close()
        print(f"sample project with keyword suggestions: {time.perf_counter() - t:.1f} s", flush=True)
        results = {}
        for n in sizes:
            copy = folder / f"log{n}" / "p.qualcode"
            copy.parent.mkdir()
            shutil.copy(folder / "base.qualcode", copy)
            import qualcode as qc

            t = time.perf_counter()
            with qc.Project.open(copy) as project:
                fill_log(project, n)
            print(f"log of {n:,} decisions built in {time.perf_counter() - t:.1f} s", flush=True)
            results[n] = measure(copy, args.repeat, seed=n + 1)
    base = results[sizes[0]]
    print()
    print(f"{'operation':<26}" + "".join(f"{f'{n:,} in log':>30}" for n in sizes))
    print(f"{'':<26}" + "".join(f"{'wall ms (×0)  cpu ms (×0)':>30}" for _ in sizes))
    worst = worst_wall = 0.0
    for op in base:
        cells = []
        for n in sizes:
            wall, cpu = results[n][op]
            rw, rc = wall / base[op][0], cpu / base[op][1] if base[op][1] else float("nan")
            if n == sizes[-1]:
                worst, worst_wall = max(worst, rc), max(worst_wall, rw)
            cells.append(f"{wall * 1000:8.1f} ({rw:4.2f})  {cpu * 1000:7.1f} ({rc:4.2f})")
        print(f"{op:<26}" + "".join(f"{c:>30}" for c in cells))
    print(f"\nCPU time at {sizes[-1]:,} decisions ÷ at {sizes[0]:,}: at most {worst:.2f}x (target ≤ 1.5x: "
          f"{'met' if worst <= 1.5 else 'NOT met'}); wall time: at most {worst_wall:.2f}x")
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
