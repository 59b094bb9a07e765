"""Hostile codebooks (issue 21): YAML anchor/alias bombs, oversized or odd YAML, include: abuse.

Bombs run in a child process under an address-space cap, and their peak memory is the child's own (VmHWM);
in-process tests carry an alarm so that a regression fails instead of hanging.
"""

from __future__ import annotations

import importlib.util
import io
import os
import zipfile
from pathlib import Path

import pytest

import qualcode
import qualcode.codebook.yaml as cby
from qualcode.codebook import Code, Codebook, load_codebook, save_codebook
from qualcode.codebook.yaml import dump_yaml, load_yaml_safely, parse_yaml_codebook
from qualcode.errors import CodebookError
from qualcode.export.refi_import import read_qdpx

CASES = Path(__file__).resolve().parents[1] / "data" / "hostile"  # issue 21's cases 05 and 22
ROOT = Path(qualcode.__file__).resolve().parents[1]
PEAK_MIB = 512  # issue 21: every hostile input is refused with a peak RSS under 512 MiB
CAP = 3 * 2**30  # the child's address space: a regression fails with MemoryError instead of taking the machine

GOOD = "  - id: {id}\n    label: {{es: a, en: b}}\n"


# The capped child runner of the archive tests: the child reports its own peak (VmHWM), since Linux keeps
# ru_maxrss across fork and exec (a child of the large pytest process would show the parent's size).
_spec = importlib.util.spec_from_file_location("archives", Path(__file__).parents[1] / "io" / "archives.py")
assert _spec is not None and _spec.loader is not None
arc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arc)


def run_capped(code: str, timeout: float = 120) -> tuple[int, str, float]:
    """Run ``code`` in a child Python under :data:`CAP`: exit code, output, and the child's peak RSS in MiB."""
    output, peak, _ = arc.run_capped(code, cap_mib=CAP >> 20, timeout=timeout)
    first, _, rest = output.partition("\n")
    return int(first.removeprefix("exit ")), rest, peak


def codebook_text(*ids: str, head: str = "") -> str:
    return f"qualcode_codebook: 1\nid: demo\n{head}codes:\n" + "".join(GOOD.format(id=i) for i in ids)


def billion_laughs(levels: int = 8) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


# YAML alias / anchor bombs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["alias_bomb.yaml", "alias_bomb.qdc"])
def test_codebook_yaml_alias_bomb_refused_within_budget(name):
    path = CASES / name
    code, output, peak = run_capped(
        "import qualcode as qc\n"
        "try:\n"
        f"    qc.load_codebook({str(path)!r})\n"
        "except qc.errors.CodebookError as exc:\n"
        "    print('refused:', exc)\n")
    assert code == 0, output
    assert f"refused: {path}:" in output and "YAML anchor &a refused" in output
    assert peak < PEAK_MIB


def test_codebook_yaml_alias_bomb_in_qdc_names_the_line_of_the_qdc(tmp_path):
    block = billion_laughs().replace("&", "&amp;")
    path = tmp_path / "bomb.qdc"
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>\n'
                    '<Code guid="00000000-0000-0000-0000-000000000001" name="x" isCodable="true">\n'
                    f"<Description>\n  qualcode:\nid: x\n{block}label: {{es: x, en: x}}\n</Description>"
                    "</Code></Codes></CodeBook>\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="YAML anchor &a0 refused") as info:
        load_codebook(path)
    # <Description> on line 4, a blank line, 'qualcode:' on line 5, 'id: x' on 6, the anchor on 7.
    assert info.value.line == 7 and str(info.value).startswith(f"{path}:7: ")


def test_codebook_yaml_alias_in_a_qdc_code_group_is_refused(tmp_path):
    path = tmp_path / "set.qdc"
    buffer = io.BytesIO()
    save_codebook(load_codebook("nic_study"), buffer, format="qdc")
    data = buffer.getvalue().decode("utf-8").replace("codebook: nic_study", "codebook: &amp;c nic_study\nx: *c", 1)
    path.write_text(data, encoding="utf-8")
    with pytest.raises(CodebookError, match="YAML anchor &c refused"):
        load_codebook(path)


@pytest.mark.parametrize("body", [
    billion_laughs(),
    "base: &b {es: a, en: b}\ncodes:\n  - id: x\n    label:\n      <<: *b\n",  # a merge key
    "codes:\n  - id: x\n    label: {es: &s a, en: b}\n",  # an anchor alone, on a scalar
    "codes:\n  - &c {id: x, label: {es: a, en: b}}\n",  # an anchor on a mapping
    "k: &k key\ncodes:\n  - id: x\n    label: {es: a, en: b}\n    *k : 1\n",  # an alias as a key
])
def test_codebook_yaml_anchors_and_aliases_refused_with_file_and_line(write, body):
    path = write("demo.yaml", "qualcode_codebook: 1\nid: demo\n" + body)
    with pytest.raises(CodebookError, match=r"YAML (anchor|alias) [&*]\w+ refused") as info:
        load_codebook(path)
    assert str(info.value).startswith(f"{path}:{info.value.line}: ") and info.value.line >= 3
    assert "Write each value out" in str(info.value)


def test_codebook_yaml_alias_in_an_included_file_names_that_file(write):
    write("part.yaml", codebook_text("part") + "x: &x [1]\n")
    main = write("main.yaml", codebook_text("main", head="include: [part.yaml]\n"))
    with pytest.raises(CodebookError, match=r"part\.yaml:6: YAML anchor &x refused"):
        load_codebook(main)


def test_codebook_yaml_alias_in_stored_project_text_is_refused():
    with pytest.raises(CodebookError, match=r"stored\.yaml:3: YAML anchor"):
        parse_yaml_codebook("id: x\ncodes: []\ny: &y [1, 2]\n", name="stored.yaml")


def test_codebook_yaml_writers_never_write_anchors(tmp_path):
    shared = {"es": ["colaborar"], "en": ["collaborate"]}  # one object under two codes: PyYAML would alias it
    codebook = Codebook("x", codes=[Code("a", label={"es": "a", "en": "a"}, keywords=shared),
                                    Code("b", label={"es": "b", "en": "b"}, keywords=shared)])
    text = dump_yaml(codebook)
    assert "&id" not in text and "*id" not in text
    assert parse_yaml_codebook(text) == codebook
    save_codebook(codebook, tmp_path / "x.qdc")
    assert load_codebook(tmp_path / "x.qdc") == codebook


# YAML values beyond budget --------------------------------------------------------------------------------------

def test_codebook_yaml_value_budget_refused(write, monkeypatch):
    monkeypatch.setattr(cby, "MAX_YAML_NODES", 1000)
    path = write("big.yaml", codebook_text("x") + "extra: [" + ",".join(["a"] * 2000) + "]\n")
    with pytest.raises(CodebookError, match="more than 1,000 YAML values") as info:
        load_codebook(path)
    assert info.value.line == 6


def test_codebook_yaml_value_budget_is_shared_by_included_files(write, monkeypatch):
    monkeypatch.setattr(cby, "MAX_YAML_NODES", 60)
    for i in range(4):
        write(f"p{i}.yaml", codebook_text(f"p{i}"))
    main = write("main.yaml", codebook_text("main", head="include: [p0.yaml, p1.yaml, p2.yaml, p3.yaml]\n"))
    with pytest.raises(CodebookError, match="more than 60 YAML values"):
        load_codebook(main)


@pytest.mark.slow
def test_codebook_yaml_value_bomb_refused_within_budget(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("id: x\nx:\n" + "".join(f"  k{i}: {{}}\n" for i in range(600_000)), encoding="utf-8")
    code, output, peak = run_capped(
        "import qualcode as qc\n"
        "try:\n"
        f"    qc.load_codebook({str(path)!r})\n"
        "except qc.errors.CodebookError as exc:\n"
        "    print('refused:', exc)\n")
    assert code == 0 and "refused:" in output and "more than 500,000 YAML values" in output, output
    assert peak < PEAK_MIB


@pytest.mark.parametrize("body", [
    "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
    "x:\n" + "".join("  " * i + "- \n" for i in range(200)),
])
def test_codebook_yaml_deep_nesting_refused(write, body, alarm):
    path = write("deep.yaml", codebook_text("x") + body)
    # libyaml refuses very deep flow collections itself; qualcode refuses at 64 levels.
    with pytest.raises(CodebookError, match=r"nested more than 64 deep|exceeded maximum nesting depth") as info:
        load_codebook(path)
    assert info.value.line is not None and info.value.line >= 6


@pytest.mark.parametrize("scalar", ["1" + ":1" * 200_000, "1" * 5000, "0x" + "f" * 5000, "-" + "1_" * 5000 + "1"])
def test_codebook_yaml_long_integer_refused(write, scalar, alarm):
    path = write("numbers.yaml", codebook_text("x") + f"extra: {scalar}\n")
    with pytest.raises(CodebookError, match=r"numbers\.yaml:6:\d+: .*a number of [\d,]+ characters"):
        load_codebook(path)


def test_codebook_yaml_long_float_and_text_scalars_load(write, alarm):
    path = write("long.yaml", codebook_text("x") + "refs: [" + "1." + "1" * 100_000 + ", " + "a" * 100_000 + "]\n")
    with pytest.raises(CodebookError, match="unknown field 'refs'"):  # read in full, then reported by name
        load_codebook(path)


def test_load_yaml_safely_refuses_what_codebooks_refuse():
    assert load_yaml_safely("a: [1, {b: c}]", name="x") == {"a": [1, {"b": "c"}]}
    with pytest.raises(CodebookError, match=r"^x:12: YAML alias \*a refused"):
        load_yaml_safely("*a", name="x", first_line=12)


# include: -----------------------------------------------------------------------------------------------------

def test_codebook_include_nested_relative_to_each_file(write):
    write("parts/c.yaml", codebook_text("c"))
    write("parts/b.yaml", codebook_text("b", head="include: [c.yaml]\n"))
    main = write("main.yaml", codebook_text("main", head="include: [parts/b.yaml]\n"))
    assert [c.id for c in load_codebook(main)] == ["c", "b", "main"]


def test_codebook_include_failures_name_file_and_line(write):
    main = write("main.yaml", "qualcode_codebook: 1\nid: demo\ninclude:\n  - a.yaml\n  - missing.yaml\ncodes: []\n")
    write("a.yaml", codebook_text("a"))
    with pytest.raises(CodebookError) as info:
        load_codebook(main)
    assert str(info.value) == f"{main}:5: include 'missing.yaml': no such codebook file."


@pytest.mark.parametrize("kind", ["folder", "fifo", "dev_zero", "dev_zero_allowed"])
def test_codebook_include_of_a_non_regular_file_refused(tmp_path, kind, alarm):
    target = tmp_path / "part.yaml"
    root = None
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
        root = "/" if kind == "dev_zero_allowed" else None
    main = tmp_path / "main.yaml"
    main.write_text(codebook_text("main", head="include: [part.yaml]\n"), encoding="utf-8")
    expected = {"folder": "is a folder", "fifo": "is a pipe", "dev_zero": "outside the allowed folder",
                "dev_zero_allowed": "is a device"}[kind]
    with pytest.raises(CodebookError, match=expected) as info:
        load_codebook(main, include_root=root)
    assert str(info.value).startswith(f"{main}:3: include 'part.yaml': ")


def test_codebook_top_level_fifo_refused(tmp_path, alarm):
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(CodebookError, match="is a pipe, not a codebook file"):
        load_codebook(tmp_path / "pipe.yaml")


@pytest.mark.parametrize("entry", ["main.yaml", "./main.yaml", "b.yaml"])
def test_codebook_include_cycle_refused(write, entry):
    write("b.yaml", codebook_text("b", head="include: [main.yaml]\n"))
    main = write("main.yaml", codebook_text("main", head=f"include: [{entry}]\n"))
    with pytest.raises(CodebookError, match="includes itself") as info:
        load_codebook(main)
    assert ":3: include 'main.yaml'" in str(info.value) or f"{main}:3: include" in str(info.value)


def test_codebook_include_depth_bomb_refused(write):
    for i in range(20):
        write(f"f{i}.yaml", codebook_text(f"f{i}", head=f"include: [f{i + 1}.yaml]\n"))
    write("f20.yaml", codebook_text("f20"))
    with pytest.raises(CodebookError, match="nest more than 8 files deep") as info:
        load_codebook(write("main.yaml", codebook_text("main", head="include: [f0.yaml]\n")))
    assert "f7.yaml:3: include 'f8.yaml'" in str(info.value)


def test_codebook_include_of_the_same_file_twice_refused(write):
    write("common.yaml", codebook_text("common"))
    write("a.yaml", codebook_text("a", head="include: [common.yaml]\n"))
    write("b.yaml", codebook_text("b", head="include: [common.yaml]\n"))
    main = write("main.yaml", codebook_text("main", head="include: [a.yaml, b.yaml]\n"))
    with pytest.raises(CodebookError, match=r"b\.yaml:3: include 'common.yaml': already included \(by .*a\.yaml:3\)"):
        load_codebook(main)


def test_codebook_include_fan_out_refused(write, monkeypatch):
    monkeypatch.setattr(cby, "MAX_INCLUDED_FILES", 5)
    names = [f"p{i}.yaml" for i in range(8)]
    for i, name in enumerate(names):
        write(name, codebook_text(f"p{i}"))
    with pytest.raises(CodebookError, match="more than 5 included files"):
        load_codebook(write("main.yaml", codebook_text("main", head=f"include: [{', '.join(names)}]\n")))


def test_codebook_include_huge_file_refused(tmp_path, alarm):
    with open(tmp_path / "huge.yaml", "wb") as handle:
        handle.truncate(cby.MAX_CODEBOOK_BYTES + 1)  # sparse: no disk, and no memory beyond the budget to refuse
    main = tmp_path / "main.yaml"
    main.write_text(codebook_text("main", head="include: [huge.yaml]\n"), encoding="utf-8")
    with pytest.raises(CodebookError, match=r"huge\.yaml': too large"):
        load_codebook(main)


def test_codebook_include_bytes_budget_is_shared(write, monkeypatch):
    monkeypatch.setattr(cby, "MAX_CODEBOOK_BYTES", 250)
    for i in range(3):
        write(f"p{i}.yaml", codebook_text(f"p{i}"))
    with pytest.raises(CodebookError, match=r"include 'p\d\.yaml': too large"):
        load_codebook(write("main.yaml", codebook_text("main", head="include: [p0.yaml, p1.yaml, p2.yaml]\n")))


@pytest.mark.parametrize("entry", ["../outside.yaml", "sub/../../outside.yaml", "{outside}", "link.yaml"])
def test_codebook_include_climbing_out_of_the_folder_refused(tmp_path, entry):
    (tmp_path / "outside.yaml").write_text(codebook_text("outside"), encoding="utf-8")
    folder = tmp_path / "codebooks"
    folder.mkdir()
    (folder / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    entry = entry.format(outside=tmp_path / "outside.yaml")
    main = folder / "main.yaml"
    main.write_text(codebook_text("main", head=f"include: ['{entry}']\n"), encoding="utf-8")
    with pytest.raises(CodebookError, match=r"outside the allowed folder.*include_root=FOLDER"):
        load_codebook(main)
    assert [c.id for c in load_codebook(main, include_root=tmp_path)] == ["outside", "main"]


def test_codebook_include_in_a_subfolder_cannot_climb_to_its_parent(write):
    write("shared.yaml", codebook_text("shared"))
    write("parts/a.yaml", codebook_text("a", head="include: [../shared.yaml]\n"))
    main = write("main.yaml", codebook_text("main", head="include: [parts/a.yaml]\n"))
    with pytest.raises(CodebookError, match=r"parts/a\.yaml:3: include '\.\./shared\.yaml': .* outside"):
        load_codebook(main)
    assert [c.id for c in load_codebook(main, include_root=main.parent)] == ["shared", "a", "main"]


@pytest.mark.parametrize("entry", ["", "3", "{a: b}"])
def test_codebook_include_entry_that_is_not_a_file_name_refused(write, entry):
    main = write("main.yaml", codebook_text("main", head=f"include: [{entry!s}]\n" if entry else "include: ['']\n"))
    with pytest.raises(CodebookError, match="include entries are file names"):
        load_codebook(main)


# /regex/ keywords -------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_codebook_regex_keyword_redos_suggests_within_budget(tmp_path):
    """Case 22: /(a|aa)+$/ against a 'jajaja…' turn doubled its time every 1.5 letters; on RE2 it is linear."""
    variants = ["/(a|aa)+$/", "/(a+)+$/", "/(a|a)*$/", "/(.*a){20}$/", "/(ja|jaja)+$/", "/(-|--)+$/"]
    codebook = tmp_path / "redos.yaml"
    codebook.write_text((CASES / "redos_codebook.yaml").read_text(encoding="utf-8") + "".join(
        f"  - id: v{i}\n    label: {{es: v, en: v}}\n    keywords: {{es: ['{v}'], en: ['{v}']}}\n"
        for i, v in enumerate(variants)), encoding="utf-8")
    turns = ["a" * 20_000 + "b colaboramos", "ja" * 10_000 + "x", "-" * 20_000 + "x", "a" * 20_000]
    (tmp_path / "d.txt").write_text("ENTREVISTADORA: ¿Cómo?\n" + "".join(f"DIRECTORA: {t}\n" for t in turns),
                                    encoding="utf-8")
    code, output, peak = run_capped(
        "import qualcode as qc\n"
        f"corpus = qc.load_corpus({str(tmp_path / 'd.txt')!r})[0]\n"
        f"coder = qc.KeywordCoder(lang='es').fit(qc.load_codebook({str(codebook)!r}))\n"
        "found = coder.suggest(corpus.segments)\n"
        "print(sorted(set(found['code_id'])))\n", timeout=300)
    assert code == 0, output
    assert "['slow', 'v0', 'v1', 'v2', 'v3'" in output  # every pattern ran to its end-anchored match
    assert peak < PEAK_MIB


def test_codebook_yaml_alias_bomb_in_a_qdpx_project_is_refused(tmp_path):
    block = billion_laughs().replace("&", "&amp;")
    qde = ('<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="urn:QDA-XML:project:1.0" name="x">'
           '<CodeBook><Codes><Code guid="00000000-0000-0000-0000-000000000001" name="x" isCodable="true">'
           f"<Description>qualcode:\nid: x\n{block}</Description></Code></Codes></CodeBook></Project>\n")
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
    with pytest.raises(CodebookError, match=r"bomb\.qdpx:project\.qde:4: YAML anchor &a0 refused"):
        read_qdpx(path)


@pytest.mark.parametrize("entry", ['"part.yaml\\0.txt"', '"part\\nyaml"'])
def test_codebook_include_entry_with_a_nul_or_newline_is_a_codebook_error(write, entry):
    # hostile trial: an include entry holding a NUL ended in "ValueError: embedded null byte".
    main = write("main.yaml", f"qualcode_codebook: 1\nid: demo\ninclude:\n  - {entry}\ncodes: []\n")
    with pytest.raises(CodebookError, match=r"main\.yaml:4: include .*include entries are file names"):
        load_codebook(main)
