"""'qualcode round': a new round in one command, bad files reported with the rest processed, re-runs change nothing."""

from __future__ import annotations

import shutil

import openpyxl
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()

ROUND_1 = ["fg_cerroazul_diagnostico.txt", "int_d02_intermedia.txt", "int_d07_intermedia.txt",
           "int_pa4_intermediate.txt"]
ROUND_2 = ["int_d02_final.txt", "int_d13_final.md", "int_pa2_final.txt"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def _round(tmp_path, samples, name, files):
    folder = tmp_path / name
    folder.mkdir()
    for f in files:
        shutil.copy(samples / "transcripts" / f, folder / f)
    return folder


def test_two_rounds_then_a_rerun_that_changes_nothing(tmp_path, samples):
    project = tmp_path / "study.qualcode"
    assert run("init", project).exit_code == 0
    first = _round(tmp_path, samples, "r1", ROUND_1)
    out = tmp_path / "out"
    result = run("round", project, first, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "documents: 4 added, 0 updated, 0 unchanged, 0 failed" in result.output
    assert (out / "revision_ronda1.xlsx").exists() and (out / "informe.xlsx").exists()
    # Rows of the attributes sheet for other rounds' documents are one note, not one warning each.
    assert result.output.count("rows of the attributes sheet are for documents not loaded now") == 1

    # The coder accepts the first two rows and rejects the third.
    book = openpyxl.load_workbook(out / "revision_ronda1.xlsx")
    ws = book.worksheets[0]
    column = [c.value for c in ws[1]].index("decisión") + 1
    for row, value in ((2, "sí"), (3, "sí"), (4, "no")):
        ws.cell(row, column).value = value
    book.save(out / "revision_ronda1.xlsx")
    applied = run("review", "apply", project, out / "revision_ronda1.xlsx")
    assert applied.exit_code == 0 and "3 applied" in applied.output
    assert "codes coded for the first time: " in applied.output and "saturation: no coded quotes yet →" in applied.output

    second = _round(tmp_path, samples, "r2", ROUND_2)
    result = run("round", project, second, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 0, result.output
    assert "documents: 3 added" in result.output and (out / "revision_ronda2.xlsx").exists()
    p = qc.Project.open(project)
    suggested_docs = set(p.suggestions.merge(p.segments[["segment_id", "doc_id"]])["doc_id"])
    assert suggested_docs <= {f.rsplit(".", 1)[0] for f in ROUND_1 + ROUND_2}
    stored = p.suggestions.drop(columns="created_at")
    decisions = qc.decisions(p, history=True)
    p.close()

    again = run("round", project, second, "-a", samples / "attributes.csv", "--out", out, "--coder", "ana",
                "--methods", "keyword", "-q")
    assert again.exit_code == 0
    assert "0 added, 0 updated, 3 unchanged" in again.output and "nothing new to suggest" in again.output
    assert not (out / "revision_ronda2-2.xlsx").exists()
    p = qc.Project.open(project)
    assert p.suggestions.drop(columns="created_at").equals(stored)
    assert qc.decisions(p, history=True).equals(decisions)


def test_a_round_with_bad_files_reports_each_and_processes_the_rest(tmp_path, samples, write, make_docx):
    project = tmp_path / "study.qualcode"
    assert run("init", project).exit_code == 0
    folder = _round(tmp_path, samples, "r1", ROUND_1[:2])
    write("r1/vacia.txt", "")                                                     # T1
    write("r1/foto.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64)   # T2
    good = make_docx(tmp_path / "buena.docx", ["E: ¿Partimos?", "D1: Sí."])
    write("r1/rota.docx", good.read_bytes()[: len(good.read_bytes()) // 2])     # T7
    write("r1/mala.vtt", "WEBVTT\n\n00:0x:01.000 --> 00:00:02.000\n<v E>Hola\n")  # T8
    write("r1/otra/int_d02_intermedia.txt", "E: ¿Hola?\nD2: Otra copia.\n")     # T9
    result = run("round", project, folder, "-a", samples / "attributes.csv", "--out", tmp_path / "out",
                 "--methods", "keyword", "-q")
    assert result.exit_code == 1, result.output
    for name in ("vacia.txt", "foto.txt", "rota.docx", "mala.vtt:3", "otra/int_d02_intermedia.txt"):
        assert name in result.output, name
    assert "2 added, 0 updated, 0 unchanged, 5 failed" in result.output
    assert (tmp_path / "out" / "informe.xlsx").exists()
    p = qc.Project.open(project)
    assert sorted(p.documents["doc_id"]) == ["fg_cerroazul_diagnostico", "int_d02_intermedia"]
    assert len(p.suggestions)


def test_a_round_where_nothing_can_be_read_exits_two(tmp_path, write):
    project = tmp_path / "study.qualcode"
    assert run("init", project).exit_code == 0
    write("r1/vacia.txt", "")
    result = run("round", project, tmp_path / "r1", "--out", tmp_path / "out", "--methods", "keyword", "-q")
    assert result.exit_code == 2 and "vacia.txt" in result.output
    assert not (tmp_path / "out").exists()


def test_round_help_has_examples():
    result = run("round", "--help")
    assert result.exit_code == 0 and "qualcode round study.qualcode" in result.output and "--scheduler" in result.output


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_has_help_with_an_example():
    import typer

    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) >= 12
    for path in commands:
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert "Example" in result.output and f"qualcode {' '.join(path)}" in result.output, path


def test_round_workbooks_are_named_after_the_round_attribute_without_repeating_the_word(tmp_path, samples):
    """A team whose sheet says round 'ronda1' (not 1) got revision_rondaronda1.xlsx; a path in it must not escape."""
    import pandas as pd

    attributes = pd.read_csv(samples / "attributes.csv", dtype=str)
    names = {}
    for value, expected in (("1", "revision_ronda1.xlsx"), ("ronda1", "revision_ronda1.xlsx"),
                            ("../../fuera", "revision_fuera.xlsx")):
        project = qc.Project.create(tmp_path / f"p{len(names)}.qualcode")
        project.add_codebook(qc.load_codebook("nic_study"))
        out = tmp_path / f"out{len(names)}"
        result = qc.run_round(project, samples / "transcripts" / ROUND_1[1], attributes=attributes.assign(round=value),
                              out=out, methods=("keyword",), report=False)
        names[value] = [p.name for p in result.written]
        assert names[value] == [expected] and (out / expected).exists()
        project.close()


def test_a_library_warning_during_a_command_is_passed_on_once_not_recorded_forever(tmp_path, monkeypatch):
    # hostile trial: any non-qualcode warning (a glyph missing in a chart font, a numpy overflow) made `round`,
    # `report`, `review export` and `codebook convert` loop after their work, growing past 4 GB.
    import warnings

    from typer.testing import CliRunner

    import qualcode.cli.codebook as cli_codebook
    from qualcode.cli import app

    real = cli_codebook.save_codebook

    def noisy(*args, **kwargs):
        warnings.warn("a library's own warning", RuntimeWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cli_codebook, "save_codebook", noisy)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, ["codebook", "convert", "leadership", str(tmp_path / "l.yaml")])
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in seen if w.category is RuntimeWarning] == ["a library's own warning"]
