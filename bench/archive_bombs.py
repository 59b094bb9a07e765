"""Zip bombs in Word and Excel files against normal files of about the same size (issue 21, kinds 1 and 8).

Each file is loaded in a child process under a 3 GiB address-space cap; the bench prints wall time, CPU time
and peak RSS of that child. The baseline, measured in the same run, is loading a normal file of similar
compressed size (a ~1 MB transcript, a ~1.5 MB attributes sheet, a ~1 MB review workbook). A bomb must be
refused in under 10 s with a peak RSS under 512 MiB.

    python bench/archive_bombs.py [--quick]

``--quick`` uses smaller bombs (same shapes, a tenth of the padding).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
CAP = 3 << 30
WORDS = ("colaboramos", "la", "red", "nos", "ayudó", "harto", "a", "ordenar", "los", "tiempos", "confiar", "equipo",
         "directora", "escuela", "aprendimos", "medir", "aunque", "sea", "poco", "sola", "tía", "Gloria", "ciclo")


def pad(src: Path, dst: Path, member: str, marker: bytes, block: bytes, count: int) -> Path:
    """Copy a zip, inserting ``block`` ``count`` times after ``marker`` in ``member``."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename != member:
                new.writestr(info.filename, data)
                continue
            head, tail = data.split(marker, 1)
            with new.open(info.filename, "w", force_zip64=True) as handle:
                handle.write(head + marker)
                for _ in range(count):
                    handle.write(block)
                handle.write(tail)
    return dst


def lie(src: Path, dst: Path, member: str, declared: int) -> Path:
    """Copy a zip whose ``member`` claims to inflate to ``declared`` bytes only."""
    data = bytearray(src.read_bytes())
    for signature, offset, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            if data[at + name_at:at + name_at + len(member)] == member.encode():
                data[at + offset:at + offset + 4] = declared.to_bytes(4, "little")
            at += 4
    dst.write_bytes(bytes(data))
    return dst


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))


def normal_docx(path: Path, target: int) -> Path:
    """A transcript of varied turns, about ``target`` bytes on disk (sized from a first, smaller one)."""
    import docx

    turns = 2000
    for _ in range(3):
        rng = random.Random(1)
        document = docx.Document()
        for turn in range(turns):
            document.add_paragraph(f"{'ENTREVISTADORA' if turn % 2 == 0 else 'DIRECTORA'}: {sentence(rng)}")
        document.save(str(path))
        if path.stat().st_size >= target * 0.9:
            return path
        turns = int(turns * target / path.stat().st_size) + 100
    return path


def normal_workbook(path: Path, header: list[str], row: Callable[[int, random.Random], list[object]],
                    target: int) -> Path:
    import openpyxl

    rows = 2000
    while True:
        rng = random.Random(2)
        book = openpyxl.Workbook()
        ws = book.active
        ws.title = "revision"
        ws.append(header)
        for i in range(rows):
            ws.append(row(i, rng))
        about = book.create_sheet("about")
        about.append(["format", "qualcode-review-1"])
        about.append(["coder", "ana"])
        book.save(path)
        if path.stat().st_size >= target * 0.9:
            return path
        rows = int(rows * target / path.stat().st_size) + 100


def measure(code: str) -> tuple[str, float, float, float]:
    """(last output line, wall s, CPU s, peak RSS MiB) of ``code`` in a capped child."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT, env=env,
                                 preexec_fn=limit)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").strip().splitlines() or [f"exit {child.returncode}"]
    return lines[-1], wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def load(path: Path, call: str) -> str:
    return ("import qualcode as qc\n"
            "try:\n"
            f"    out = {call.format(path=repr(str(path)))}\n"
            "    print('read:', str(out).split(': ', 1)[-1][:110])\n"
            "except qc.QualcodeError as exc:\n"
            "    print('refused:', type(exc).__name__, str(exc).split(': ', 1)[-1].splitlines()[0][:110])\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the padding")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    word = "(lambda r: f'{{r.status.iloc[0]}}: {{r.message.iloc[0]}}')(qc.load_corpus({path})[1])"
    review = "len(qc.read_review_sheet({path}))"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "docs").mkdir()
        for i in range(1, 4):
            (folder / "docs" / f"doc{i}.txt").write_text("ENTREVISTADORA: ¿Cómo?\nDIRECTORA: Colaboramos.\n")
        attributes = f"len(qc.load_corpus({str(folder / 'docs')!r}, attributes={{path}})[0].documents)"
        transcript = normal_docx(folder / "transcript.docx", 1 * MIB)
        attrs = normal_workbook(folder / "attributes.xlsx", ["doc_id", "role", "district", "notes"],
                                lambda i, rng: [f"doc{i + 1}", "directora", f"D{i % 7}", sentence(rng)],
                                3 * MIB // 2)
        sheet = normal_workbook(folder / "review.xlsx", ["cita", "decisión", "memo", "_segment_id", "_text_sha",
                                                         "_code_id"],
                                lambda i, rng: [sentence(rng), "sí" if i % 3 else "", "", f"s{i:06d}",
                                                f"{rng.getrandbits(64):016x}", "collaboration.isolation"], MIB)
        import docx

        base = docx.Document()  # the bombs start from a two-turn transcript, as in case 02
        base.add_paragraph("ENTREVISTADORA: hola")
        base.add_paragraph("DIRECTORA: colaboramos")
        base.save(str(folder / "small.docx"))
        small = folder / "small.docx"
        rows = [
            ("baseline: transcript.docx", transcript, word),
            ("docx, 1 GiB of spaces (case 02)",
             pad(small, folder / "ws.docx", "word/document.xml", b"<w:body>", b" " * MIB, 1024 // scale), word),
            ("docx, 300 MiB of tiny paragraphs (case 02)",
             pad(small, folder / "p.docx", "word/document.xml", b"<w:body>",
                 b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 30000, 300 // scale), word),
            ("docx, 60 MiB inflated, claims 4 KiB",
             lie(pad(small, folder / "l0.docx", "word/document.xml", b"<w:body>", b" " * MIB, 60),
                 folder / "lie.docx", "word/document.xml", 4096), word),
            ("baseline: attributes.xlsx", attrs, attributes),
            ("xlsx attributes, 1.5 GiB of spaces (case 03)",
             pad(attrs, folder / "attrs_bomb.xlsx", "xl/worksheets/sheet1.xml", b"<sheetData>", b" " * MIB,
                 1536 // scale), attributes),
            ("xlsx attributes, A1 and XFD1048576 (sparse)",
             pad(attrs, folder / "sparse.xlsx", "xl/worksheets/sheet1.xml", b"</sheetData>", b"", 0), attributes),
            ("baseline: review.xlsx", sheet, review),
            ("xlsx review, 1 GiB of spaces (case 03)",
             pad(sheet, folder / "review_bomb.xlsx", "xl/worksheets/sheet1.xml", b"<sheetData>", b" " * MIB,
                 1024 // scale), review),
        ]
        # The sparse sheet: one more row at Excel's last cell, after the data.
        sparse = folder / "sparse.xlsx"
        with zipfile.ZipFile(attrs) as old, zipfile.ZipFile(sparse, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                data = old.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    data = data.replace(b"</sheetData>",
                                        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
                new.writestr(info.filename, data)
        print(f"{'file':46} {'size':>8} {'wall':>7} {'CPU':>7} {'peak RSS':>9}  outcome")
        for label, path, call in rows:
            outcome, wall, cpu, peak = measure(load(path, call))
            flag = "" if label.startswith("baseline") or (peak < 512 and cpu < 10) else "  OVER BUDGET"
            print(f"{label:46} {path.stat().st_size / MIB:6.2f}MB {wall:6.1f}s {cpu:6.1f}s {peak:7.0f}MiB  "
                  f"{outcome[:120]}{flag}")


if __name__ == "__main__":
    main()
