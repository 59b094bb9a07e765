"""A full disk, a file-size limit, a read-only project: a qualcode error saying so, never a traceback (case 13).

The data was already safe (one transaction per write, atomic output files); what the user saw was a Python
traceback (``database or disk is full``, ``File too large``) or a wrong diagnosis ("not a qualcode project
file" for a project on a read-only share). The file-size limit is real (RLIMIT_FSIZE in a child process:
Python ignores SIGXFSZ, so writes fail with EFBIG as on a full disk); a real full disk and a real read-only
file system are tried on small tmpfs mounts where the tests may mount them (root).
"""

from __future__ import annotations

import errno
import gc
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.errors import OutputWriteError, ProjectError
from qualcode.io.atomic import atomic_write_bytes, write_failure
from qualcode.project import Project

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def run_child(code: str, limit_bytes: int) -> subprocess.CompletedProcess:
    """Run ``code`` in a child Python whose files may not grow past ``limit_bytes`` (ulimit -f)."""
    prelude = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes}))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300)


def counts(path: Path) -> tuple[str, int, int]:
    db = sqlite3.connect(path)
    try:
        return (db.execute("PRAGMA integrity_check").fetchone()[0],
                db.execute("SELECT count(*) FROM decisions").fetchone()[0],
                db.execute("SELECT count(*) FROM documents").fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def small_project(tmp_path, study_codebook):
    path = tmp_path / "p.qualcode"
    with Project.create(path) as p:
        p.add_codebook(study_codebook)
    return path


def test_file_size_limit_during_a_project_write_is_a_project_error(small_project, sample_corpus):
    size = small_project.stat().st_size
    result = run_child(f"""
        import qualcode as qc
        from qualcode.errors import ProjectError
        corpus, _ = qc.load_corpus({str(ROOT / "data_samples" / "transcripts")!r})
        p = qc.Project.open({str(small_project)!r})
        try:
            p.add_corpus(corpus)
        except ProjectError as exc:
            print("ProjectError:", exc)
    """, limit_bytes=size + 64 * 1024)
    assert "Traceback" not in result.stderr, result.stderr
    assert "ProjectError:" in result.stdout and "file-size limit" in result.stdout, result.stdout
    assert "nothing of this change was written" in result.stdout
    assert counts(small_project) == ("ok", 0, 0)  # the project is as it was
    with Project.open(small_project) as p:  # and takes the same write with room to spare
        p.add_corpus(sample_corpus)
        assert len(p.documents) == len(sample_corpus.documents)


def test_file_size_limit_during_review_apply_via_cli_is_a_message_not_a_traceback(tmp_path, project):
    # A project with suggestions and a filled review workbook, applied under ulimit -f.
    from qualcode.review.sheet import export_review_sheet

    qc.suggest(project, methods=("keyword",))
    sheet = tmp_path / "r.xlsx"
    export_review_sheet(project, project.suggestions, sheet, coder="ana")
    import openpyxl

    book = openpyxl.load_workbook(sheet)
    ws = book.worksheets[0]
    column = [c.value for c in ws[1]].index("decisión") + 1
    for row in range(2, ws.max_row + 1):
        ws.cell(row, column).value = "sí"
    book.save(sheet)
    path = Path(project.path)
    project.close()
    before = counts(path)
    limit = 40 * 1024  # the write-ahead log of 400-odd decisions needs more; the -shm file (32 KiB) fits
    result = run_child(f"""
        import sys
        from qualcode.cli import main
        sys.argv = ["qualcode", "review", "apply", {str(path)!r}, {str(sheet)!r}]
        main()
    """, limit_bytes=limit)
    assert "Traceback" not in result.stderr, result.stderr
    assert "file-size limit" in result.stderr and "ulimit -f unlimited" in result.stderr
    assert result.returncode == 2
    assert counts(path) == before


def test_file_size_limit_while_writing_an_output_leaves_nothing(tmp_path, project):
    target = tmp_path / "out" / "informe.xlsx"
    target.parent.mkdir()
    result = run_child(f"""
        import qualcode as qc
        from qualcode.errors import OutputWriteError
        p = qc.Project.open({str(project.path)!r}, read_only=True)
        try:
            qc.export_report(p, {str(target)!r})
        except OutputWriteError as exc:
            print("OutputWriteError:", exc)
        try:
            from qualcode.io.atomic import atomic_write_bytes
            atomic_write_bytes({str(target.with_name("big.bin"))!r}, b"x" * 200_000)
        except OutputWriteError as exc:
            print("OutputWriteError:", exc)
    """, limit_bytes=16 * 1024)
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    assert result.stdout.count("OutputWriteError:") == 2, result.stdout
    assert "file-size limit" in result.stdout
    assert list(target.parent.iterdir()) == []  # no half-written file, no temporary file


def test_write_failure_names_the_file_and_the_cause():
    for code, words in ((errno.ENOSPC, "the disk is full"), (errno.EFBIG, "file-size limit"),
                        (errno.EROFS, "read-only file system"), (errno.EDQUOT, "quota")):
        failure = write_failure("informe.xlsx", OSError(code, os.strerror(code)))
        assert isinstance(failure, OutputWriteError) and isinstance(failure, OSError)
        assert str(failure).startswith("informe.xlsx: not written: ") and words in str(failure)
    assert write_failure("x", OSError(errno.ENOENT, "no")) is None
    assert write_failure("x", ValueError("IO_ENOSPC")) is not None  # lxml's way of saying it


def test_atomic_write_on_a_full_disk_is_an_output_write_error(tmp_path, monkeypatch):
    # The same path as a real full disk (tried below on tmpfs where possible): the write itself fails.
    real_write = Path.write_bytes

    def full(self, data):
        real_write(self, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OutputWriteError, match="the disk is full"):
        atomic_write_bytes(tmp_path / "a.bin", b"x" * 100)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tmpfs():
    """A small tmpfs mount (root only); skipped where the tests may not mount.

    Mounted outside pytest's shared temporary folders, which other sessions may clean meanwhile.
    """
    point = Path(tempfile.mkdtemp(prefix="qualcode-tmpfs-"))

    def mount(size: str, *options: str) -> Path:
        cmd = ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(point)]
        if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(cmd, capture_output=True).returncode:
            pytest.skip("cannot mount a tmpfs here")
        return point

    yield mount
    gc.collect()  # a project the CLI left open keeps the mount busy
    if subprocess.run(["umount", str(point)], capture_output=True).returncode and os.path.ismount(point):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)  # never leave a mount behind
    if not os.path.ismount(point):
        shutil.rmtree(point, ignore_errors=True)


def test_disk_full_during_a_project_write_is_a_project_error(tmpfs, small_project, sample_corpus):
    point = tmpfs("400k")
    path = point / "p.qualcode"
    shutil.copy(small_project, path)
    with Project.open(path) as p, pytest.raises(ProjectError, match="the disk is full"):
        p.add_corpus(sample_corpus)
    assert counts(path) == ("ok", 0, 0)


def test_disk_full_while_writing_tables_is_an_output_write_error(tmpfs, project):
    point = tmpfs("16k")
    with pytest.raises(OutputWriteError, match="the disk is full"):
        qc.export_report(project, point / "informe.xlsx")
    assert [p.name for p in point.iterdir()] == []


def test_project_on_a_read_only_file_system_opens_for_reading(tmpfs, project):
    point = tmpfs("20m")
    path = Path(project.path)
    project.close()
    shutil.copy(path, point / "p.qualcode")
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
    with Project.open(point / "p.qualcode", read_only=True) as p:
        assert len(p.documents) > 0
        with pytest.raises(ProjectError, match="read-only"):
            p.add_codebook(qc.load_codebook("nic_study"))
    with pytest.raises(ProjectError, match="read-only file system") as caught:
        Project.open(point / "p.qualcode")
    assert "not a qualcode project" not in str(caught.value)
    result = runner.invoke(app, ["report", str(point / "p.qualcode"), str(path.parent / "r.xlsx")])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(app, ["add", str(point / "p.qualcode"), str(ROOT / "data_samples" / "transcripts")])
    assert refused.exit_code == 2 and "read-only file system" in refused.output
    assert "nothing was done" in refused.output


def _make_read_only(path: Path) -> bool:
    """Make ``path`` read-only for this process (chmod; chattr +i for root, whom chmod does not stop)."""
    path.chmod(0o444)
    path.parent.chmod(0o555)
    if not os.access(path, os.W_OK):
        return True
    path.parent.chmod(0o755)
    chattr = shutil.which("chattr")
    return bool(chattr) and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


def _undo_read_only(path: Path) -> None:
    if shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.parent.chmod(0o755)
    path.chmod(0o644)


def test_read_only_project_file_is_read_and_writes_are_refused_clearly(tmp_path, project):
    path = Path(project.path)
    project.close()
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "p.qualcode"
    shutil.copy(path, target)
    if not _make_read_only(target):
        pytest.skip("cannot make a file read-only here")
    try:
        with Project.open(target, read_only=True) as p:
            assert len(p.segments) > 0
        with pytest.raises(ProjectError, match="read-only") as caught:
            Project.open(target)
        assert "read_only=True" in str(caught.value)
        applied = runner.invoke(app, ["suggest", str(target), "--methods", "keyword", "-q"])
        assert applied.exit_code == 2 and "read-only" in applied.output and "Traceback" not in applied.output
        report = runner.invoke(app, ["report", str(target), str(tmp_path / "r.xlsx")])
        assert report.exit_code == 0, report.output
    finally:
        _undo_read_only(target)


def test_missing_project_file_names_qualcode_init_on_the_command_line(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "nope.qualcode"), str(tmp_path / "r.xlsx")])
    assert result.exit_code == 2
    assert "qualcode init" in result.output and "Project.create" not in result.output
    with pytest.raises(ProjectError, match=r"Project\.create\(\)"):
        Project.open(tmp_path / "nope.qualcode")


def test_unreadable_project_file_is_not_called_not_a_project(tmp_path, small_project):
    small_project.chmod(0)
    try:
        if os.access(small_project, os.R_OK):
            pytest.skip("this user reads any file (root)")
        with pytest.raises(ProjectError, match="may not read") as caught:
            Project.open(small_project, read_only=True)
        assert "not a qualcode project" not in str(caught.value)
    finally:
        small_project.chmod(0o644)
