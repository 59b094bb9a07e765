"""Damaged and hostile ``.qdpx`` imports: time, CPU and peak memory of each refusal against a good import, same run.

Each file is imported in its own child process (``import_refi_qda``); the child reports its wall and CPU time
for the import and its peak resident memory (which includes importing qualcode itself). The baseline is the
import of the valid export of ``data_samples/`` (15 documents, 435 codings) the variants are built from.
Targets (issue 21): every hostile file refused in under 10 s with peak RSS under 512 MiB, leaving no file.

    python bench/qdpx_hostile.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import qualcode as qc
wall, cpu = time.perf_counter(), time.process_time()
try:
    qc.import_refi_qda(sys.argv[1], sys.argv[2]); outcome = "imported"
except qc.QualcodeError as exc:
    outcome = type(exc).__name__
except Exception as exc:
    outcome = "RAW " + type(exc).__name__
try:  # this process's own peak: Linux keeps ru_maxrss across fork and exec
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "rss": peak / 1024}))
"""


def good_export(folder: Path) -> dict[str, bytes]:
    import pandas as pd

    import qualcode as qc

    samples = ROOT / "data_samples"
    with qc.Project.create(folder / "ref.qualcode") as project:
        project.add_codebook(qc.load_codebook("nic_study"))
        project.add_corpus(qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")[0])
        coding = pd.read_csv(samples / "coding" / "ana.csv")
        project.add_manual(list(coding["segment_id"]), list(coding["code_id"]), coder="ana", source="import")
        qc.export_refi_qda(project, folder / "good.qdpx")
    with zipfile.ZipFile(folder / "good.qdpx") as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def write(path: Path, members: dict[str, bytes], bomb: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if name != bomb:
                archive.writestr(name, data)
        if bomb:
            with archive.open(bomb, "w", force_zip64=True) as handle:
                for _ in range(200):  # 200 MiB of zeros, about 200 KB compressed
                    handle.write(b"\0" * (1 << 20))
    return path


def variants(good: dict[str, bytes], folder: Path) -> dict[str, Path]:
    qde = good["project.qde"].decode("utf-8")
    source = next(n for n in good if n.startswith("sources/"))
    sel = re.search(r'startPosition="\d+" endPosition="\d+"', qde)
    guids = re.findall(r'<TextSource guid="([^"]+)"', qde)
    assert sel and len(guids) > 1
    out = {"good (baseline)": write(folder / "good.qdpx", good)}
    raw = bytearray(out["good (baseline)"].read_bytes())
    info = zipfile.ZipFile(out["good (baseline)"]).getinfo("project.qde")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    corrupt = bytearray(raw)
    for k in range(50, 90):
        corrupt[start + k] ^= 0x5A
    (folder / "corrupt.qdpx").write_bytes(bytes(corrupt))
    out["corrupt member"] = folder / "corrupt.qdpx"
    encrypted = bytearray(raw)
    encrypted[info.header_offset + 6] |= 1
    central = encrypted.find(b"PK\x01\x02")
    encrypted[central + 8] |= 1
    (folder / "encrypted.qdpx").write_bytes(bytes(encrypted))
    out["encrypted member"] = folder / "encrypted.qdpx"
    edits = {
        "position not a number": qde.replace(sel.group(0), 'startPosition="abc" endPosition="9"', 1),
        "position of 10^6 digits": qde.replace(sel.group(0), f'startPosition="0" endPosition="{"9" * 10**6}"', 1),
        "two sources, one GUID": qde.replace(guids[1], guids[0]),
        "root is not <Project>": "<CodeBook><Codes/></CodeBook>",
    }
    for k, (label, text) in enumerate(edits.items()):
        out[label] = write(folder / f"edit_{k}.qdpx", {**good, "project.qde": text.encode("utf-8")})
    out["source not UTF-8"] = write(folder / "latin.qdpx", {**good, source: b"\xff\xfa" + good[source]})
    out["200 MiB source (bomb)"] = write(folder / "source_bomb.qdpx", good, bomb=source)
    out["200 MiB unreferenced member"] = write(folder / "extra_bomb.qdpx", {**good, "sources/x.txt": b""},
                                               bomb="sources/x.txt")
    return out


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="qdpx-bench-"))
    files = variants(good_export(folder), folder)
    print(f"{'file':32s} {'outcome':18s} {'wall s':>7s} {'cpu s':>7s} {'rss MiB':>8s}  left behind")
    base = None
    for k, (label, path) in enumerate(files.items()):
        target = folder / f"p{k}.qualcode"
        done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(target)], capture_output=True, text=True,
                              check=False, cwd=ROOT)
        row = json.loads(done.stdout.strip().splitlines()[-1])
        base = base or row
        left = sorted(p.name for p in folder.iterdir() if p.name.startswith((f"p{k}.", f".p{k}.")))
        print(f"{label:32s} {row['outcome']:18s} {row['wall']:7.2f} {row['cpu']:7.2f} {row['rss']:8.0f}  "
              f"{left or '-'}   ({row['wall'] / base['wall']:.2f}x baseline wall)")


if __name__ == "__main__":
    main()
