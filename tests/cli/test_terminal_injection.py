"""Terminal injection: control characters in file names and data never reach the terminal raw (case hostile 21).

A carriage return in a file name rewrote an ``[error]`` line with ``[ok] …``; an OSC sequence retitled the
terminal. Everything qualcode prints from data goes through one function, ``qualcode.errors.printable``: the
CLI's ``say``, every QualcodeError and QualcodeWarning message.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.cli.app import shown
from qualcode.errors import CodebookWarning, InputFileError, printable, where

runner = CliRunner()

# Every shape of the attack: CR rewriting the line, OSC retitling, CSI recolouring/clearing, a C1 CSI,
# BEL, a bidi override that reverses what follows, a line separator, and a plain newline forging a line.
HOSTILE = {
    "cr": "x\r[ok] all files loaded, nothing to see",
    "osc": "t\x1b]0;pwned-title\x07",
    "csi": "c\x1b[2J\x1b[31mred",
    "c1": "k\x9b2Jc1",
    "bidi": "b\u202etxt.exe",
    "separator": "s\u2028[ok] fine",
    "newline": "n\n  [ok] forged line",
}
RAW = ["\r", "\x1b", "\x07", "\x9b", "\u202e", "\u2028"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_clean(output: str) -> None:
    assert not any(ch in output for ch in RAW), repr(output)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_printable_escapes_terminal_controls_in_file_names(kind):
    shown_text = printable(f"in/{HOSTILE[kind]}.txt")
    assert_clean(shown_text)
    assert "\n" not in shown_text  # one file, one line


def test_printable_keeps_plain_text_tabs_and_accents():
    assert printable("Ñuñoa\tentrevista_01.txt") == "Ñuñoa\tentrevista_01.txt"
    assert printable("two\nlines", newlines=True) == "two\nlines"


def test_terminal_escape_sequences_in_file_names_are_escaped_by_load(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in HOSTILE.values():
        (folder / f"{name}.txt").write_bytes(b"")  # empty: each is an [error] row naming its file
    (folder / "ok.txt").write_text("ENTREVISTADORA: ¿Cómo?\nDIRECTORA: Colaboramos mucho.\n", encoding="utf-8")
    result = run("load", folder)
    assert result.exit_code == 1
    assert_clean(result.output)
    assert "x\\r[ok] all files loaded" in result.output and "t\\x1b]0;pwned-title\\x07" in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("  [error]")]
    assert len(errors) == len(HOSTILE)  # the newline in a name forged no extra line
    assert not any(line.lstrip().startswith("[ok]") for line in result.output.splitlines())


def test_terminal_escape_sequences_in_document_ids_are_escaped_by_round(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    text = "ENTREVISTADORA: ¿Cómo colaboran?\nDIRECTORA: Colaboramos mucho con confianza en la red.\n"
    (folder / f"{HOSTILE['osc']}.txt").write_text(text, encoding="utf-8")
    (folder / f"{HOSTILE['cr']}.txt").write_bytes(b"")
    project = tmp_path / "p.qualcode"
    assert run("init", project).exit_code == 0
    result = run("round", project, folder, "--out", tmp_path / "out", "--methods", "keyword", "-q")
    assert result.exit_code == 1, result.output
    assert_clean(result.output)
    added = run("add", project, folder, "-q")
    assert_clean(added.output)


def test_qualcode_errors_and_warnings_escape_data_when_shown():
    error = InputFileError(f"in/{HOSTILE['cr']}.txt: the file is empty.\nSecond line of the message.")
    assert_clean(str(error))
    assert "\n" in str(error)  # a message of several lines keeps them
    assert error.args[0].startswith("in/x\r")  # the data itself is untouched
    assert_clean(where(f"in/{HOSTILE['newline']}.txt", 3)) and "\n" not in where(HOSTILE["newline"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(f"{HOSTILE['osc']}.yaml: a code has no examples", CodebookWarning, stacklevel=1)
    assert_clean(str(caught[0].message))


def test_tables_printed_by_the_cli_escape_their_cells():
    frame = pd.DataFrame({"doc_id": [HOSTILE["cr"], HOSTILE["newline"]], "n": [1, 2]})
    text = shown(frame).to_string(index=False)
    assert_clean(text)
    assert len(text.splitlines()) == 3  # header and one line per row


def test_codebook_show_escapes_labels(tmp_path):
    book = qc.load_codebook("nic_study")
    first = next(iter(book))
    first.label["es"] = "Colaboración\x1b]0;pwned\x07\r[ok]"
    target = tmp_path / "cb.yaml"
    qc.save_codebook(book, target)
    result = run("codebook", "show", target)
    assert result.exit_code == 0, result.output
    assert_clean(result.output)


def test_every_cli_print_goes_through_say():
    # One escaping path: a new command printing with typer.echo/print directly would bypass it.
    from pathlib import Path

    import qualcode.cli

    folder = Path(qualcode.cli.__file__).parent
    direct = [f"{path.name}:{n}" for path in sorted(folder.glob("*.py")) if path.name != "app.py"
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if any(call in line for call in ("typer.echo(", "typer.secho(", "print(", "click.echo("))]
    assert direct == []
