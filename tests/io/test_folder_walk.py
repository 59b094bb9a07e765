"""A folder walk never stops the batch: what cannot be opened is one failed input (case hostile 12)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.errors import QualcodeError

TEXT = "ENTREVISTADORA: ¿Cómo colaboran?\nDIRECTORA: Colaboramos mucho.\n"


def _deep(base: Path, levels: int, name: str = "d" * 100) -> None:
    """A tree deeper than PATH_MAX (4,096 bytes) with a transcript at the bottom, made from inside it."""
    here = os.getcwd()
    try:
        os.chdir(base)
        for _ in range(levels):
            os.mkdir(name)
            os.chdir(name)
        Path("t.txt").write_text(TEXT, encoding="utf-8")
    finally:
        os.chdir(here)


@pytest.mark.parametrize("name", ["d" * 100, "ñ" * 60])  # the case's shape and a multi-byte one
def test_overlong_path_in_folder_walk_is_one_failed_input(tmp_path, monkeypatch, name):
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "ok.txt").write_text(TEXT, encoding="utf-8")
    (folder / "deep").mkdir()
    _deep(folder / "deep", 4200 // len(name.encode()) + 2, name)
    monkeypatch.chdir(tmp_path)
    corpus, report = qc.load_corpus("study")  # no exception: the rest of the batch is read
    assert list(corpus.documents["doc_id"]) == ["ok"]
    failed = report[report["status"] == "error"]
    assert len(failed) == 1
    message = failed["message"].iloc[0]
    assert "longer than the system allows" in message and "shorter path" in message
    assert len(message) < 400  # the path is shown cut, not 4,000 characters of it


def test_unreadable_file_is_one_failed_input(tmp_path, monkeypatch):
    (tmp_path / "ok.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "locked.txt").write_text(TEXT, encoding="utf-8")
    real = Path.read_bytes

    def refuse(self):
        if self.name == "locked.txt":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr("builtins.open", _refusing_open("locked.txt"))
    corpus, report = qc.load_corpus(tmp_path)
    assert list(corpus.documents["doc_id"]) == ["ok"]
    row = report[report["status"] == "error"].iloc[0]
    assert "may not open it" in row["message"] and row["error"] == "InputFileError"


def _refusing_open(name: str):
    real_open = open

    def opener(file, *args, **kwargs):
        if str(file).endswith(name):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    return opener


def test_unreadable_subfolder_is_one_failed_input(tmp_path, monkeypatch):
    (tmp_path / "ok.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "t.txt").write_text(TEXT, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path).endswith("private"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    corpus, report = qc.load_corpus(tmp_path)
    assert list(corpus.documents["doc_id"]) == ["ok"]
    failed = report[report["status"] == "error"]
    assert len(failed) == 1 and "private" in failed["message"].iloc[0]


def test_folder_walk_reads_the_same_files_in_the_same_order(samples):
    _, report = qc.load_corpus(samples / "transcripts")
    expected = sorted(p for p in (samples / "transcripts").rglob("*") if p.is_file() and not p.name.startswith("."))
    assert list(report["path"]) == [str(p) for p in expected]
    assert not isinstance(report, QualcodeError)


def test_overlong_path_given_directly_or_by_glob_is_one_failed_input(tmp_path, monkeypatch):
    (tmp_path / "ok.txt").write_text(TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    too_long = "/".join(["d" * 200] * 25) + "/t.txt"  # > PATH_MAX
    corpus, report = qc.load_corpus(["ok.txt", too_long, too_long.replace("t.txt", "*.txt")])
    assert list(corpus.documents["doc_id"]) == ["ok"]
    failed = report[report["status"] == "error"]
    assert len(failed) >= 1 and failed["message"].str.contains("longer than the system allows").all()


def test_folder_walk_never_follows_links_out_of_the_folder_and_says_what_it_skipped(tmp_path, samples):
    # hostile trial: `passwd.txt -> /etc/passwd` in a received folder was loaded as a document, and a FIFO, a link
    # to /dev/zero, a dangling link and a link to a folder got no row at all.
    import shutil

    folder = tmp_path / "recibido"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(samples / "transcripts" / "int_d02_final.txt", folder / "sub" / "ent.txt")
    outside = tmp_path / "privado.txt"
    outside.write_text("E: ¿Clave?\nP: secreta.\n", encoding="utf-8")
    (folder / "clave.txt").symlink_to(outside)
    (folder / "cero.txt").symlink_to("/dev/zero")
    (folder / "roto.txt").symlink_to(tmp_path / "no_existe.txt")
    (folder / "dentro.txt").symlink_to(folder / "sub" / "ent.txt")  # a link inside the folder is read
    (folder / "carpeta.txt").symlink_to(folder / "sub")
    os.mkfifo(folder / "tubo.txt")
    corpus, report = qc.load_corpus(folder)
    assert sorted(corpus.documents["doc_id"]) == ["dentro", "ent"]
    assert "secreta" not in " ".join(corpus.documents["text"])
    rows = {Path(p).name: (s, m) for p, s, m in report[["path", "status", "message"]].itertuples(index=False)}
    assert rows["clave.txt"][0] == "error" and "outside the folder being loaded" in rows["clave.txt"][1]
    assert rows["cero.txt"][0] == "error"  # /dev/zero is outside too
    assert rows["roto.txt"][0] == "warning" and "leads nowhere" in rows["roto.txt"][1]
    assert rows["carpeta.txt"][0] == "warning" and "link to a folder" in rows["carpeta.txt"][1]
    assert rows["tubo.txt"][0] == "warning" and "not a regular file" in rows["tubo.txt"][1]
