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


def test_cli_codebook_set_reports_changes_and_keeps_decisions_on_removed_codes(tmp_path, samples):
    # issue 17 item 5: a new codebook version from the CLI, with what changed and what happens to decisions.
    renamed, removed, relabelled = _v2(tmp_path)
    path = tmp_path / "study.qualcode"
    corpus, _ = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt")
    with qc.Project.create(path) as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        segs = list(project.segments.query("speaker_role == 'participant'")["segment_id"][:3])
        qc.add_manual(project, segs[:2], removed.id, coder="ana")
        qc.add_manual(project, segs[2:], renamed.id, coder="ana")
    dry = runner.invoke(app, ["codebook", "set", str(path), str(tmp_path / "v2.yaml"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Nothing was changed" in dry.output
    with qc.Project.open(path) as project:
        assert project.codebook() == qc.load_codebook("nic_study")
    result = runner.invoke(app, ["codebook", "set", str(path), str(tmp_path / "v2.yaml")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"- {removed.id}" in out and "(2 coded segment(s) kept under this id)" in out
    assert f"{renamed.id} → {renamed.parent_id}.renombrado" in out and "(1 coded segment(s) kept under the old id)" in out
    assert f"~ {relabelled.id}" in out and "Etiqueta nueva" in out and f"+ {renamed.parent_id}.nuevo" in out
    with qc.Project.open(path) as project:
        assert project.codebook() == qc.load_codebook(tmp_path / "v2.yaml")
        kept = qc.decisions(project)
        assert set(kept["code_id"]) == {removed.id, renamed.id}  # nothing deleted
        # The report still builds, and lists the decisions under the old ids.
        tables = qc.export_report(project, tmp_path / "informe.xlsx", charts=False, lang="en")
        quotes = pd.concat([t for name, t in tables.items() if name.startswith("Quotes")])
        assert set(quotes["code_id"]) == {removed.id, renamed.id}
        assert quotes["code"].notna().all()


def test_cli_codebook_set_on_a_missing_project_names_qualcode_init(tmp_path):
    result = runner.invoke(app, ["codebook", "set", str(tmp_path / "nope.qualcode"), "nic_study"])
    assert result.exit_code == 2 and "qualcode init" in result.output


def test_codebook_changes_does_not_guess_a_rename_between_two_candidates():
    old = qc.Codebook("s", codes=[qc.Code("a", label={"es": "Tiempo"})])
    new = qc.Codebook("s", codes=[qc.Code("b", label={"es": "Tiempo"}), qc.Code("c", label={"es": "tiempo"})])
    changes = qc.codebook_changes(old, new)
    assert sorted(changes["change"]) == ["added", "added", "removed"]
