from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

import qualcode as qc
from qualcode.cli import app

runner = CliRunner()


def test_cli_codebook_validate_reports_valid_shipped_codebook():
    result = runner.invoke(app, ["codebook", "validate", "nic_study"])
    assert result.exit_code == 0, result.output
    assert "60 codes in 3 dimension(s)" in result.output


def test_cli_codebook_validate_lists_problems_and_exits_one(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("qualcode_codebook: 1\nid: x\ncodes:\n  - id: a\n  - id: a\n    label: {es: A}\n", encoding="utf-8")
    result = runner.invoke(app, ["codebook", "validate", str(path)])
    assert result.exit_code == 1
    assert "duplicate code id" in result.output and "missing required field 'label'" in result.output


def test_cli_codebook_convert_writes_a_qdc_that_loads_back(tmp_path):
    result = runner.invoke(app, ["codebook", "convert", "leadership", str(tmp_path / "l.qdc"), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert qc.load_codebook(tmp_path / "l.qdc") == qc.load_codebook("leadership")


def test_cli_codebook_show_prints_the_tree_in_english():
    result = runner.invoke(app, ["codebook", "show", "collaboration", "--lang", "en"])
    assert "  collaboration.building_blocks  Building blocks" in result.output


def _v2(tmp_path):
    """nic_study with one code renamed (same label), one dimension's leaf removed, one relabelled, one added."""
    book = qc.load_codebook("nic_study")
    codes = list(book)
    leaves = [c for c in codes if not any(o.parent_id == c.id for o in codes)]
    renamed, removed, relabelled = leaves[0], leaves[1], leaves[2]
    new_codes = []
    for code in codes:
        if code.id == removed.id:
            continue
        if code.id == renamed.id:
            code = qc.Code(f"{code.parent_id}.renombrado", label=code.label, definition=code.definition,
                           keywords=code.keywords, examples=code.examples)
        elif code.id == relabelled.id:
            code = qc.Code(code.id, label={"es": "Etiqueta nueva", "en": "New label"}, definition=code.definition,
                           keywords=code.keywords, examples=code.examples)
        new_codes.append(code)
    parent = renamed.parent_id
    new_codes.append(qc.Code(f"{parent}.nuevo", label={"es": "Código nuevo", "en": "New code"},
                             definition={"es": "Un código nuevo.", "en": "A new code."}))
    qc.save_codebook(qc.Codebook(book.id, codes=new_codes, title=book.title), tmp_path / "v2.yaml")
    return renamed, removed, relabelled


def _study(tmp_path, samples, renamed, removed):
    path = tmp_path / "study.qualcode"
    corpus, _ = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt")
    with qc.Project.create(path) as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        segs = list(project.segments.query("speaker_role == 'participant'")["segment_id"][:3])
        qc.add_manual(project, segs[:2], removed.id, coder="ana")
        qc.add_manual(project, segs[2:], renamed.id, coder="ana")
    return path


def test_cli_codebook_set_reports_changes_and_keeps_decisions_on_removed_codes(tmp_path, samples):
    # issue 17 item 5: a new codebook version from the CLI, with what changed and what happens to decisions.
    renamed, removed, relabelled = _v2(tmp_path)
    path = _study(tmp_path, samples, renamed, removed)
    dry = runner.invoke(app, ["codebook", "set", str(path), str(tmp_path / "v2.yaml"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Nothing was changed" in dry.output
    with qc.Project.open(path) as project:
        assert project.codebook() == qc.load_codebook("nic_study")
    result = runner.invoke(app, ["codebook", "set", str(path), str(tmp_path / "v2.yaml")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"- {removed.id}" in out and "(2 coded segment(s) kept under this id)" in out
    new_id = f"{renamed.parent_id}.renombrado"
    assert f"{renamed.id} → {new_id}" in out and "(1 coded segment(s); 1 decision(s) moved to the new id)" in out
    assert f"~ {relabelled.id}" in out and "Etiqueta nueva" in out and f"+ {renamed.parent_id}.nuevo" in out
    with qc.Project.open(path) as project:
        assert project.codebook() == qc.load_codebook(tmp_path / "v2.yaml")
        history = qc.decisions(project, history=True)
        assert {removed.id, renamed.id, new_id} == set(history["code_id"])  # nothing deleted
        coded = qc.coded_quotes(project)
        assert set(coded["code_id"]) == {removed.id, new_id}
        # The report still builds, and lists the removed code's decisions under its old id.
        tables = qc.export_report(project, tmp_path / "informe.xlsx", charts=False, lang="en")
        quotes = pd.concat([t for name, t in tables.items() if name.startswith("Quotes")])
        assert set(quotes["code_id"]) == {removed.id, new_id}
        assert quotes["code"].notna().all()
        # A removed code keeps its last label (issue 17 trial), marked as no longer in the codebook.
        gone = quotes.loc[quotes["code_id"] == removed.id, "code"].iloc[0]
        assert gone == f"{removed.label['en']} ({removed.id}: not in the current codebook)"


def test_renamed_code_counts_once_after_its_segments_are_coded_again(tmp_path, samples):
    # Issue 17 trial P5: after a rename, coding the same segments under the new id counted them twice.
    renamed, removed, _ = _v2(tmp_path)
    path = _study(tmp_path, samples, renamed, removed)
    new_id = f"{renamed.parent_id}.renombrado"
    with qc.Project.open(path) as project:
        before = qc.code_frequencies(qc.coded_quotes(project))
        moved = qc.set_codebook(project, qc.load_codebook(tmp_path / "v2.yaml"))
        assert moved.set_index("code_id").loc[new_id, "carried"] == 1
        seg = set(qc.coded_quotes(project).query(f"code_id == '{new_id}'")["segment_id"])
        qc.add_manual(project, project.segments[project.segments["segment_id"].isin(seg)], new_id, coder="ana")
        after = qc.code_frequencies(qc.coded_quotes(project))
        assert after.set_index("code_id").loc[new_id, "n_segments"] == before.set_index("code_id").loc[renamed.id, "n_segments"]
        assert renamed.id not in set(after["code_id"])
        # Setting the old version moves the decisions back: nothing is lost either way.
        qc.set_codebook(project, qc.load_codebook("nic_study"))
        back = qc.coded_quotes(project)
        assert set(back["code_id"]) == {removed.id, renamed.id}


def test_cli_codebook_set_no_carry_keeps_a_renamed_codes_decisions_under_the_old_id(tmp_path, samples):
    renamed, removed, _ = _v2(tmp_path)
    path = _study(tmp_path, samples, renamed, removed)
    result = runner.invoke(app, ["codebook", "set", str(path), str(tmp_path / "v2.yaml"), "--no-carry"])
    assert result.exit_code == 0, result.output
    assert "(1 coded segment(s); kept under the old id)" in result.output
    with qc.Project.open(path) as project:
        assert set(qc.coded_quotes(project)["code_id"]) == {removed.id, renamed.id}


def test_cli_codebook_set_on_a_missing_project_names_qualcode_init(tmp_path):
    result = runner.invoke(app, ["codebook", "set", str(tmp_path / "nope.qualcode"), "nic_study"])
    assert result.exit_code == 2 and "qualcode init" in result.output


def test_codebook_changes_does_not_guess_a_rename_between_two_candidates():
    old = qc.Codebook("s", codes=[qc.Code("a", label={"es": "Tiempo"})])
    new = qc.Codebook("s", codes=[qc.Code("b", label={"es": "Tiempo"}), qc.Code("c", label={"es": "tiempo"})])
    changes = qc.codebook_changes(old, new)
    assert sorted(changes["change"]) == ["added", "added", "removed"]
