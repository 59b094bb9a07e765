"""Every writer: never over an existing file unless asked (team-study 01), the mode the umask gives (team-study 10, C12)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.errors import OutputExistsError
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


def tiny_project(folder: Path) -> qc.Project:
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


def every_output(project: qc.Project, out: Path) -> list[Path]:
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
    with atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("dos")
    assert target.read_text() == "dos" and _mode(target) == 0o640



# -- never over someone's work (fault 1) -------------------------------------------------------------------------

WRITERS = {
    "review workbook": lambda p, path, **kw: qc.export_review_sheet(p, None, path, coder="ana", **kw),
    "report workbook": lambda p, path, **kw: qc.export_report(p, path, charts=False, **kw),
    "tables workbook": lambda p, path, **kw: qc.export_excel({"t": p.segments[["segment_id"]]}, path, **kw),
    "qdpx": lambda p, path, **kw: qc.export_refi_qda(p, path, **kw),
    "codebook qdc": lambda p, path, **kw: qc.save_codebook(p.codebook(), path, **kw),
    "codebook xlsx": lambda p, path, **kw: qc.save_codebook(p.codebook(), path, **kw),
    "codebook yaml": lambda p, path, **kw: qc.save_codebook(p.codebook(), path, **kw),
    "mapping": lambda p, path, **kw: qc.Pseudonymizer(["Marcela"]).fit([]).save_mapping(path, **kw),
    "csv table": lambda p, path, **kw: qc.export_tables({"Frecuencias": p.segments[["segment_id"]]}, path.parent, **kw),
    "parquet table": lambda p, path, **kw: qc.export_tables({"Frecuencias": p.segments[["segment_id"]]}, path.parent,
                                                            format="parquet", **kw),
    "dump": lambda p, path, **kw: p.dump(path.parent, **kw),
}
NAMES = {"review workbook": "rev.xlsx", "report workbook": "informe.xlsx", "tables workbook": "t.xlsx", "qdpx": "e.qdpx",
         "codebook qdc": "cb.qdc", "codebook xlsx": "cb.xlsx", "codebook yaml": "cb.yaml", "mapping": "mapping.csv",
         "csv table": "frecuencias.csv", "parquet table": "frecuencias.parquet", "dump": "decisions.csv"}


@pytest.mark.parametrize("kind", list(WRITERS))
def test_no_writer_replaces_an_existing_file_without_overwrite(tmp_path, kind):
    project = tiny_project(tmp_path)
    target = tmp_path / "out" / NAMES[kind]
    target.parent.mkdir()
    target.write_bytes(b"weeks of work")
    with pytest.raises(OutputExistsError) as caught:
        WRITERS[kind](project, target)
    assert str(target) in str(caught.value) and "overwrite=True" in str(caught.value)
    assert "--overwrite" in caught.value.cli_message
    assert target.read_bytes() == b"weeks of work"
    assert [f.name for f in target.parent.iterdir()] == [target.name]  # nothing else written, no temporary left
    WRITERS[kind](project, target, overwrite=True)
    assert target.read_bytes() != b"weeks of work"
    project.close()


def test_atomic_write_never_replaces_a_file_that_appears_while_writing(tmp_path):
    target = tmp_path / "rev.xlsx"
    with pytest.raises(OutputExistsError, match="rev-2.xlsx"), atomic_path(target) as tmp:
        tmp.write_text("ours")
        target.write_text("a colleague saved first")  # between the first check and the final move
    assert target.read_text() == "a colleague saved first"
    assert [f.name for f in tmp_path.iterdir()] == ["rev.xlsx"]


def test_review_export_never_overwrites_a_filled_workbook(tmp_path):
    """Case team-study 01: a second `review export` to the same name keeps the coder's decisions."""
    import openpyxl
    from typer.testing import CliRunner

    from qualcode.cli import app

    project = tiny_project(tmp_path)
    project.close()
    runner = CliRunner()
    sheet = tmp_path / "revision_ana.xlsx"
    args = ["review", "export", str(tmp_path / "p.qualcode"), str(sheet), "--coder", "ana"]
    qc.Project.open(tmp_path / "p.qualcode").add_suggestions(
        tiny_suggestions(tmp_path / "p.qualcode"))
    assert runner.invoke(app, args).exit_code == 0
    book = openpyxl.load_workbook(sheet)
    ws = book["revision"]
    column = [c.value for c in ws[1]].index("decisión") + 1
    for r in range(2, ws.max_row + 1):
        ws.cell(r, column).value = "sí"
    book.save(sheet)
    filled = sheet.read_bytes()
    result = runner.invoke(app, args)
    assert result.exit_code == 2  # nothing was done
    assert "already exists" in result.output and "--overwrite" in result.output and "revision_ana-2.xlsx" in result.output
    assert "overwrite=True" not in result.output
    assert sheet.read_bytes() == filled
    assert sorted(f.name for f in tmp_path.glob("*.xlsx")) == ["revision_ana.xlsx"]
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    assert sheet.read_bytes() != filled


def tiny_suggestions(path: Path):
    project = qc.Project.open(path)
    seg = project.segments
    rows = seg[seg.speaker_role == "participant"][["segment_id"]].assign(
        code_id="collaboration.trust", method="keyword", score=0.9, codebook_version=project.codebook().version)
    project.close()
    return rows


def test_report_command_writes_nothing_when_one_output_exists(tmp_path):
    from typer.testing import CliRunner

    from qualcode.cli import app

    tiny_project(tmp_path).close()
    (tmp_path / "e.qdpx").write_bytes(b"from another tool")
    runner = CliRunner()
    args = ["report", str(tmp_path / "p.qualcode"), str(tmp_path / "informe.xlsx"), "--qdpx", str(tmp_path / "e.qdpx"),
            "--csv", str(tmp_path / "tablas")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "e.qdpx" in result.output and "--overwrite" in result.output
    assert not (tmp_path / "informe.xlsx").exists() and not (tmp_path / "tablas").exists()
    (tmp_path / "e.qdpx").unlink()
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "informe.xlsx" in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_round_keeps_an_existing_workbook_and_says_which_name_it_wrote(tmp_path):
    from qualcode.batch import run_round

    project = tiny_project(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "informe.xlsx").write_bytes(b"notes on the last report")
    (tmp_path / "docs" / "d3.txt").write_text("ENTREVISTADORA: ¿Y?\nDIRECTORA: Confiamos en la red y colaboramos.\n",
                                              encoding="utf-8")
    result = run_round(project, tmp_path / "docs", out=out, methods=("keyword",), name="r2")
    assert (out / "informe.xlsx").read_bytes() == b"notes on the last report"
    assert out / "informe-2.xlsx" in result.written and out / "informe.xlsx" in result.kept
    summary = "\n".join(result.summary())
    assert f"kept {out / 'informe.xlsx'} as it was" in summary and f"wrote {out / 'informe-2.xlsx'}" in summary
    project.close()


def _cli():  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from qualcode.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_no_output_replaces_a_project_file_even_with_overwrite(tmp_path):
    """A slip of --overwrite onto the project (or its -wal) would cost every decision: refused whatever the writer."""
    tiny_project(tmp_path).close()
    project = tmp_path / "p.qualcode"
    before, run = project.read_bytes(), _cli()
    attempts = [("report", project, project, "--overwrite"),
                ("report", project, tmp_path / "x.xlsx", "--qdpx", project, "--overwrite"),
                ("review", "export", project, project, "--overwrite")]
    for args in attempts:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "no output ever replaces it" in result.output or "cannot write a file it reads" in result.output
    # A project file under any name (a copy, a backup named like an output) is refused by every writer.
    copies = [tmp_path / name for name in ("copia.txt", "copia.qdpx", "copia.yaml")]
    for copy in copies:
        copy.write_bytes(before)
    with qc.Project.open(project) as p:
        for write in (lambda: atomic_write_text(copies[0], "x", overwrite=True),
                      lambda: qc.export_refi_qda(p, copies[1], overwrite=True),
                      lambda: qc.save_codebook(qc.load_codebook("nic_study"), copies[2], overwrite=True)):
            with pytest.raises(OutputExistsError, match="no output ever replaces it"):
                write()
    assert project.read_bytes() == before and all(copy.read_bytes() == before for copy in copies)
    with qc.Project.open(project) as p:
        assert len(qc.decisions(p)) == 2


def test_an_output_that_is_an_input_or_another_output_is_refused_before_writing(tmp_path):
    tiny_project(tmp_path).close()
    project, run = tmp_path / "p.qualcode", _cli()
    names = tmp_path / "nombres.txt"
    names.write_text("Marcela\n", encoding="utf-8")
    result = run("report", project, tmp_path / "i.xlsx", "--pseudonymize", names, "--mapping", names, "--overwrite")
    assert result.exit_code == 2 and "--mapping and as --pseudonymize" in result.output
    assert names.read_text(encoding="utf-8") == "Marcela\n" and not (tmp_path / "i.xlsx").exists()
    result = run("report", project, tmp_path / "same.xlsx", "--qdpx", tmp_path / "same.xlsx")
    assert result.exit_code == 2 and not (tmp_path / "same.xlsx").exists()
    first = run("report", project, tmp_path / "a.xlsx", "--csv", tmp_path / "t")
    assert first.exit_code == 0, first.output
    table = sorted((tmp_path / "t").glob("*.csv"))[0]
    result = run("report", project, tmp_path / "b.xlsx", "--csv", tmp_path / "t2", "--pseudonymize", names,
                 "--mapping", tmp_path / "t2" / table.name)
    assert result.exit_code != 0 and "--mapping" in result.output
    assert not (tmp_path / "b.xlsx").exists() and not (tmp_path / "t2").exists()


def test_a_refused_write_names_every_existing_file(tmp_path):
    tiny_project(tmp_path).close()
    run = _cli()
    args = ("report", tmp_path / "p.qualcode", tmp_path / "informe.xlsx", "--csv", tmp_path / "tablas",
            "--qdpx", tmp_path / "e.qdpx")
    assert run(*args).exit_code == 0
    result = run(*args)
    assert result.exit_code == 2
    assert "informe.xlsx" in result.output and "e.qdpx" in result.output and "files already exist" in result.output
