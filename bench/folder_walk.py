"""The folder walk that reports what it cannot open, against the ``Path.rglob`` walk it replaced, same run.

Builds a tree of ``--files`` empty transcripts in ``--folders`` nested folders (plus one path longer than
PATH_MAX, which the old walk could not get past), then times each walk: wall and CPU time. Target: the new
walk within 1.5× of rglob on the tree rglob can walk.

    python bench/folder_walk.py [--files 20000] [--folders 400]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from qualcode.io import _walk  # the walk itself, without reading the files


def build(base: Path, files: int, folders: int) -> None:
    for k in range(folders):
        folder = base / f"g{k % 20}" / f"f{k}"
        folder.mkdir(parents=True, exist_ok=True)
        for j in range(files // folders):
            (folder / f"t{j}.txt").write_bytes(b"")


def deep(base: Path) -> None:
    here = os.getcwd()
    os.chdir(base)
    try:
        for _ in range(45):
            os.mkdir("d" * 100)
            os.chdir("d" * 100)
        Path("t.txt").write_bytes(b"")
    finally:
        os.chdir(here)


def timed(label: str, call) -> float:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<40} wall {wall:7.3f} s  cpu {cpu:7.3f} s  ({result})")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--folders", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "study"
        build(base, args.files, args.folders)
        baseline = timed("baseline: sorted(Path.rglob) + is_file", lambda: len(sorted(
            p for p in base.rglob("*") if p.is_file())))
        walked = timed("qualcode: scandir walk, errors as rows", lambda: len(_walk(base)[0]))
        print(f"ratio {walked / baseline:.2f}× (target ≤ 1.5×)")
        deep(base)
        timed("qualcode, with a path > PATH_MAX", lambda: f"{len(_walk(base)[1])} error row(s)")


if __name__ == "__main__":
    main()
