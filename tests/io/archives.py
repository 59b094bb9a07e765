"""Builders of hostile Office files for the archive-policy tests (zip bombs, stale dimensions, broken sheets)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHEET = "xl/worksheets/sheet1.xml"
MIB = 1 << 20


def make_workbook(path: Path, rows: list[list[object]], *, title: str | None = None) -> Path:
    """A real workbook (openpyxl) with ``rows`` on its first sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    if title:
        ws.title = title
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def rewrite(src: Path, dst: Path, member: str, edit: Callable[[bytes], bytes]) -> Path:
    """Copy a zip, passing one member's bytes through ``edit``."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info.filename)
            new.writestr(info.filename, edit(data) if info.filename == member else data)
    return dst


def pad(src: Path, dst: Path, member: str, marker: bytes, block: bytes, count: int) -> Path:
    """Copy a zip, inserting ``block`` ``count`` times after ``marker`` in ``member`` (streamed: a small file)."""
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


def whitespace_sheet_bomb(src: Path, dst: Path, mib: int) -> Path:
    """Case 03: the first sheet padded with ``mib`` MiB of spaces inside ``<sheetData>``."""
    return pad(src, dst, SHEET, b"<sheetData>", b" " * MIB, mib)


def lie_about_size(src: Path, dst: Path, member: str, declared: int) -> Path:
    """Copy a zip whose ``member`` claims (local header and directory) to inflate to ``declared`` bytes only."""
    data = bytearray(src.read_bytes())
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                data[at + offset:at + offset + 4] = declared.to_bytes(4, "little")
            at += 4
    dst.write_bytes(bytes(data))
    return dst


def set_dimension(data: bytes, ref: str | None) -> bytes:
    """A sheet's XML with its ``<dimension>`` set to ``ref`` (or removed)."""
    return re.sub(rb'<dimension ref="[^"]+"/>', b"" if ref is None else f'<dimension ref="{ref}"/>'.encode(), data)


# The child reports its own peak (VmHWM): Linux keeps ru_maxrss across fork and exec, so a child forked from a
# large test process would show the parent's size (524 MiB in CI for a 190 MiB child).
PEAK_PREAMBLE = ("import atexit as _atexit\n"
                 "def _qualcode_peak():\n"
                 "    with open('/proc/self/status') as _status:\n"
                 "        _kib = next(_l.split()[1] for _l in _status if _l.startswith('VmHWM:'))\n"
                 "    print('\\nQUALCODE_VMHWM', _kib, flush=True)\n"
                 "_atexit.register(_qualcode_peak)\n")
_PEAK_LINE = re.compile(r"\n?QUALCODE_VMHWM (\d+)\n?")


def own_peak(output: str, fallback_mib: float) -> tuple[str, float]:
    """The child's output without its peak line, and its peak RSS in MiB (``fallback_mib`` if it could not say)."""
    found = _PEAK_LINE.search(output)
    if found is None:
        return output, fallback_mib
    return output[:found.start()] + output[found.end():], int(found[1]) / 1024


def run_capped(code: str, *, cap_mib: int = 2048, timeout: float = 120) -> tuple[str, float, float]:
    """Run ``code`` in a child Python under an address-space cap: (output, peak RSS in MiB, CPU seconds).

    The child's own peak (VmHWM, which it prints at exit) and CPU time (``os.wait4``), so neither this test
    process nor other children of the session count. A child that outlives ``timeout`` is killed.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cap = cap_mib * MIB

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen([sys.executable, "-c", PEAK_PREAMBLE + code], stdout=out, stderr=subprocess.STDOUT, env=env,
                                 preexec_fn=limit, cwd=str(ROOT))
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    text, peak = own_peak(text, usage.ru_maxrss / 1024)
    return f"exit {child.returncode}\n{text}", peak, usage.ru_utime + usage.ru_stime
