"""Atomic writes: the mode the umask gives (case team-study 10, interop C12)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.io.atomic import atomic_path, atomic_write_text


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it."""
    saved = os.umask(0o022)
    os.umask(saved)

    def _set(value: int) -> None:
        os.umask(value)

    yield _set
    os.umask(saved)


def tiny_project(folder: Path) -> "qc.Project":
    """Two short interviews, the study codebook, every participant turn coded by ana."""
    docs = folder / "docs"
    docs.mkdir(parents=True)
    (docs / "d1.txt").write_text("ENTREVISTADORA: ¿Cómo colaboran?\nDIRECTORA: Colaboramos con confianza en la red.\n",
                                 encoding="utf-8")
    (docs / "d2.txt").write_text("ENTREVISTADORA: ¿Y el liderazgo?\nDIRECTORA: Lideramos juntas, con confianza.\n",
                                 encoding="utf-8")
    project = qc.Project.create(folder / "p.qualcode")
    project.add_codebook(qc.load_codebook("nic_study"))
    project.add_corpus(qc.load_corpus(docs)[0])
    seg = project.segments
    qc.accept(project, list(seg[seg.speaker_role == "participant"].segment_id), "collaboration", coder="ana",
              memo="nota")
    return project


def every_output(project: "qc.Project", out: Path) -> list[Path]:
    """Write every kind of file qualcode writes; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    qc.export_review_sheet(project, project.segments[["segment_id"]].assign(code_id="collaboration"),
                           out / "rev.xlsx", coder="ana")
    tables = qc.export_report(project, out / "informe.xlsx", charts=False)
    files = [out / "rev.xlsx", out / "informe.xlsx"]
    files += qc.export_tables(tables, out / "tablas")
    files += qc.export_tables(tables, out / "parquet", format="parquet")
    files.append(qc.export_refi_qda(project, out / "e.qdpx"))
    files += project.dump(out / "mirror")
    for suffix in ("qdc", "xlsx", "yaml"):
        qc.save_codebook(project.codebook(), out / f"cb.{suffix}")
        files.append(out / f"cb.{suffix}")
    qc.Pseudonymizer(["Marcela"]).fit([]).save_mapping(out / "mapping.csv")
    files.append(out / "mapping.csv")
    return files


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    project = tiny_project(tmp_path)
    files = every_output(project, tmp_path / "out")
    project.close()
    assert len(files) > 20
    expected = 0o666 & ~mask
    modes = {f.relative_to(tmp_path).as_posix(): oct(_mode(f)) for f in files}
    assert set(modes.values()) == {oct(expected)}, modes
    assert not list((tmp_path / "out").rglob("*.tmp"))  # no temporary file left behind


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "notes.txt"
    atomic_write_text(target, "uno")
    assert _mode(target) == 0o644
    os.chmod(target, 0o640)
    with atomic_path(target) as tmp:
        tmp.write_text("dos")
    assert target.read_text() == "dos" and _mode(target) == 0o640

