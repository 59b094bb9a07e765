"""What a new user's REFI-QDA trial found (issue 18): each fault kind with its regression test."""

from __future__ import annotations

import stat
import warnings
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app
from qualcode.workflow import export_refi_qda, import_refi_qda

runner = CliRunner()
GUIDS = ("8e7fddfe-db36-48dc-b464-80c3a4decd90", "9f8fddfe-db36-48dc-b464-80c3a4decd91")
CODE = "a1b2c3d4-0000-4000-8000-000000000001"
USERS = {"marta": "a1b2c3d4-0000-4000-8000-0000000000aa", "jorge": "a1b2c3d4-0000-4000-8000-0000000000bb"}


def _qdpx(path: Path, texts: list[bytes], selections: str = "", origin: str = "QualCoder 4.0") -> Path:
    """A project as another tool writes it: one code, two users, sources with the given bytes."""
    sources = "".join(
        f'<TextSource guid="{GUIDS[i]}" name="e{i}" plainTextPath="internal://{GUIDS[i]}.txt">'
        f'{selections if i == 0 else ""}</TextSource>' for i in range(len(texts)))
    users = "".join(f'<User guid="{g}" name="{n}"/>' for n, g in USERS.items())
    qde = ('<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="otra" '
           f'origin="{origin}"><Users>{users}</Users><CodeBook><Codes><Code guid="{CODE}" name="Confianza" '
           f'isCodable="true"/></Codes></CodeBook><Sources>{sources}</Sources></Project>')
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        for i, body in enumerate(texts):
            archive.writestr(f"sources/{GUIDS[i]}.txt", body)
    return path


def _coding(user: str) -> str:
    return (f'<Coding guid="c0{user[0]}fddfe-db36-48dc-b464-80c3a4decd9{len(user)}" creatingUser="{USERS[user]}">'
            f'<CodeRef targetGUID="{CODE}"/></Coding>')


TEXT = "ENTREVISTADORA: ¿Qué aprendieron?\n\nD1: Que aprendimos juntas.\n\nENTREVISTADORA: ¿Y ahora?\n\nD1: Ahora confiamos.\n"


def test_a_utf16_source_is_refused_saying_it_is_utf16(tmp_path):
    # REFI-QDA sources are UTF-8 and positions cannot be trusted in another encoding (the hostile-file policy):
    # the refusal now says what the file is, so the user knows to export it again as UTF-8.
    path = _qdpx(tmp_path / "u.qdpx", [TEXT.encode("utf-8"), TEXT.encode("utf-16")])
    with pytest.raises(qc.QualcodeError, match="starts with a UTF-16 byte-order mark"):
        import_refi_qda(path, tmp_path / "u.qualcode")


def test_a_selection_memo_goes_with_its_creators_coding_only(tmp_path):
    # One selection by Marta with her memo, holding Marta's and Jorge's codings: the memo was credited to both.
    start = TEXT.index("aprendimos")
    selection = (f'<PlainTextSelection guid="5e1fddfe-db36-48dc-b464-80c3a4decd90" startPosition="{start}" '
                 f'endPosition="{start + 10}" creatingUser="{USERS["marta"]}"><Description>memo de selección 📝'
                 f'</Description>{_coding("marta")}{_coding("jorge")}</PlainTextSelection>')
    project = import_refi_qda(_qdpx(tmp_path / "m.qdpx", [TEXT.encode("utf-8")], selection), tmp_path / "m.qualcode")
    memos = qc.decisions(project).set_index("coder")["memo"]
    assert memos["marta"] == "memo de selección 📝"
    assert memos.isna()["jorge"]


def test_a_selection_across_turns_is_coded_on_each_and_said_in_the_report(tmp_path):
    # A selection from one turn into the next was split into one coding per turn, its memo copied to each, and
    # the report said everything was imported as it was.
    start, end = TEXT.index("aprendimos"), TEXT.index("confiamos") + len("confiamos")
    selection = (f'<PlainTextSelection guid="5e1fddfe-db36-48dc-b464-80c3a4decd90" startPosition="{start}" '
                 f'endPosition="{end}" creatingUser="{USERS["marta"]}"><Description>memo largo</Description>'
                 f'{_coding("marta")}</PlainTextSelection>')
    project = import_refi_qda(_qdpx(tmp_path / "s.qdpx", [TEXT.encode("utf-8")], selection), tmp_path / "s.qualcode")
    decided = qc.decisions(project)
    assert len(decided) == 3 and decided["memo"].notna().sum() == 1  # the memo once, on the first piece
    report = qc.import_report(project)
    row = report[report["what"] == "a coding that runs across several speaker turns"]
    assert len(row) == 1 and row["count"].iloc[0] == 1 and row["outcome"].iloc[0] == "changed"


def test_exported_qdpx_members_unzip_readable_by_others(tmp_path, samples):
    # The .qdpx itself had the umask's mode, but its members unzipped owner-only (-rw-------).
    corpus, _ = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt")
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        export_refi_qda(project, tmp_path / "p.qdpx")
    with zipfile.ZipFile(tmp_path / "p.qdpx") as archive:
        modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in archive.infolist()}
    assert modes and set(modes.values()) == {0o644}


@pytest.mark.parametrize("target", ["nic.qdc", "t.xlsx", "t.yaml"])
def test_taguette_codebook_only_to_a_csv_name(tmp_path, target):
    # `--for taguette` wrote CSV text into nic.qdc, t.xlsx or t.yaml.
    result = runner.invoke(app, ["codebook", "convert", "nic_study", str(tmp_path / target), "--for", "taguette"])
    assert result.exit_code == 2 and "ending in .csv" in result.output
    assert not (tmp_path / target).exists()


def test_report_with_a_coded_document_without_role_or_participant_writes_the_qdpx(tmp_path, samples):
    # An attributes row with role and participant empty made `report --qdpx` stop with a traceback in quote_tags.
    sheet = tmp_path / "a.csv"
    sheet.write_text("doc_id,participant,role,district,stage\nint_d02_final,,,Cerro Azul,final\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus, _ = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt", attributes=sheet)
    with qc.Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        turn = project.segments.query("speaker_role == 'participant'").head(1)
        qc.add_manual(project, turn, "leadership", coder="ana")
    result = runner.invoke(app, ["report", str(tmp_path / "p.qualcode"), str(tmp_path / "i.xlsx"), "--qdpx",
                                 str(tmp_path / "p.qdpx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "i.xlsx").exists() and (tmp_path / "p.qdpx").exists()


def test_importing_a_codebook_says_how_a_codebook_is_used(tmp_path):
    # `qualcode import x.qdc` said "damaged zip archive; export it again".
    qdc = tmp_path / "x.qdc"
    qc.save_codebook(qc.load_codebook("leadership"), qdc)
    result = runner.invoke(app, ["import", str(qdc), str(tmp_path / "z.qualcode")])
    assert result.exit_code == 2 and "qualcode init PROJECT --codebook FILE.qdc" in result.output
    assert not (tmp_path / "z.qualcode").exists()


def test_forced_positions_that_fit_worse_than_the_other_reading_are_warned(tmp_path):
    # `--positions utf16` on QualCoder's own project (it counts code points) put two codings on the wrong words
    # and the report said only "converted as asked".
    qualcoder = Path(__file__).parents[1] / "data" / "refi" / "qualcoder-4.0b_native-project.qdpx"
    with pytest.warns(qc.QualcodeWarning, match="check --positions codepoints"):
        project = import_refi_qda(qualcoder, tmp_path / "q.qualcode", position_units="utf16")
    report = qc.import_report(project)
    said = report[report["what"].str.startswith("selection positions")]
    assert said["outcome"].iloc[0] == "guessed" and "4 read as code points" in said["why"].iloc[0]
