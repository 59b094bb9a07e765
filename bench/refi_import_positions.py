"""How many codings of a real NVivo project land on the words NVivo meant, per reading of positions (issue 18).

The file is ``tests/data/refi/nvivo-12.6_oltas0517.qdpx`` (NVivo 12.6, 303 codings, 892 emoji). NVivo writes no
selected text, so "meant" is judged as human selections are: starting and ending on word boundaries. The
baseline, measured in the same run, is the reading qualcode used before (code points); the figure is the import's
own choice (``position_units="auto"``: UTF-16 code units, from the file's ``origin``). CPU and wall time of
``read_qdpx`` are printed for both.

    python bench/refi_import_positions.py
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from qualcode.errors import QualcodeWarning
from qualcode.export.refi_import import read_qdpx

FILE = Path(__file__).resolve().parents[1] / "tests" / "data" / "refi" / "nvivo-12.6_oltas0517.qdpx"


def on_boundaries(contents) -> int:
    texts = {d.doc_id: d.parsed.text for d in contents.documents}
    fits = 0
    for doc_id, a, b in contents.selections[["doc_id", "start", "end"]].itertuples(index=False):
        text = texts[doc_id]
        fits += (a == 0 or not text[a - 1].isalnum() or not text[a].isalnum()) and \
            (b == len(text) or not text[b].isalnum() or not text[b - 1].isalnum())
    return fits


def main() -> None:
    print(f"{FILE.name}: codings on word boundaries at both ends, per reading of positions")
    for label, units in (("baseline: code points (before issue 18)", "codepoints"), ("auto (NVivo → UTF-16)", "auto")):
        wall, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", QualcodeWarning)
            contents = read_qdpx(FILE, position_units=units)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"  {label:42s} {on_boundaries(contents):3d} / {len(contents.selections)} codings   "
              f"read_qdpx {wall:5.2f} s wall, {cpu:5.2f} s CPU   reading: {contents.positions}")


if __name__ == "__main__":
    main()
