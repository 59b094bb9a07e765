"""Read and write YAML codebooks (``codebooks/*.yaml``): the human-editable, diff-friendly format.

Layout (see ``codebooks/collaboration.yaml``)::

    qualcode_codebook: 1
    id: collaboration
    title: {es: Colaboración, en: Collaboration}
    codes:
      - id: collaboration
        label: {es: ..., en: ...}
        definition / inclusion / exclusion: {es: ..., en: ...}
        examples / keywords / negative_keywords: {es: [...], en: [...]}
        color: "#2a9d8f"
        codes: [ ...sub-codes, same fields... ]

A codebook can also combine others: ``include: [leadership.yaml, ...]``
(paths relative to the file, in its folder or below unless ``include_root``
allows more), optionally with codes of its own.

Every YAML qualcode reads goes through :func:`load_yaml_safely`: anchors and
aliases are refused, and values, nesting, numbers, bytes and included files
have budgets (the ``MAX_*`` constants below, each with its reason); see
``docs/security.md``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from ..errors import CodebookError
from ..io.atomic import atomic_write_text
from .model import Codebook
from .validate import CODE_FIELDS, build_codebook

__all__ = ["YamlBudget", "dump_yaml", "load_yaml_safely", "parse_yaml_codebook", "read_yaml_codebook",
           "write_yaml_codebook"]

_META_FIELDS = ("qualcode_codebook", "id", "title", "description", "references", "codes", "include")

# Budgets for reading codebook YAML (issue 21: a 661-byte file of anchors and aliases expanded into 43 million
# strings and aborted the process). Each bounds one way a small or odd file could take memory or time.
MAX_CODEBOOK_BYTES = 16 * 2**20
# ^ a codebook file, and every file it includes together: the 5,050-code codebook of the large-codebook case is
#   1.7 MB, so this is ten times the largest codebook seen, yet reading it stays far below the 2 GiB target.
MAX_YAML_NODES = 500_000
# ^ YAML values (scalars, lists, mappings) in a codebook and its includes together. A value costs 350-700
#   bytes while the file is composed and built, so the worst shape (empty mappings) peaks near 310 MiB over
#   qualcode's own ~190 MiB, under the 512 MiB a hostile file may take. The 5,050-code codebook has 181,000
#   values; 45,000 codes with a label each still fit.
MAX_YAML_DEPTH = 64
# ^ nesting of lists and mappings: a codebook nests a few levels per level of codes; deeper input would only
#   exhaust Python's recursion limit in the constructor (a RecursionError instead of a message).
MAX_NUMBER_CHARS = 100
# ^ an integer scalar's length: PyYAML turns "1:2:3:…" (YAML 1.1 base 60) into one big integer in quadratic
#   time (200 KB took 7 s), and Python refuses integers of more than 4,300 digits with a bare ValueError.
MAX_INCLUDE_DEPTH = 8
# ^ include: chains (a file including a file including …): the shipped nic_study codebook uses one level.
MAX_INCLUDED_FILES = 256
# ^ files read for one codebook through include:, each file at most once: more than any study splits a
#   codebook into, and a bound on the work a folder of small files can cause.


@dataclass
class YamlBudget:
    """What is left to read for one codebook: YAML nodes, bytes and files, shared by the files it includes.

    One budget is passed to every :func:`load_yaml_safely` call that reads a part of the same codebook
    (its include: files, the code descriptions of a ``.qdc``), so many small parts cannot add up to a bomb.
    """

    # Read from the module when a budget is made, so a test can lower them.
    nodes: int = field(default_factory=lambda: MAX_YAML_NODES)
    bytes: int = field(default_factory=lambda: MAX_CODEBOOK_BYTES)
    files: int = field(default_factory=lambda: MAX_INCLUDED_FILES)
    read: dict[Path, str] = field(default_factory=dict)  # files read so far (resolved) -> "where included"


class _Mark:
    """Where a node starts: all a codebook needs of PyYAML's marks, in a fifth of the memory.

    Every node kept two full marks (start and end) while the document was composed: most of its memory.
    """

    __slots__ = ("column", "line")
    name = "<yaml>"

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column

    def get_snippet(self) -> None:
        return None

    def __str__(self) -> str:
        return f"  line {self.line + 1}, column {self.column + 1}"


class _Refused(Exception):
    """A YAML construct refused before it costs anything; turned into a CodebookError naming the file."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's pure-Python parser, for a PyYAML built without libyaml."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


if TYPE_CHECKING:
    _Parser = _PyParser
else:
    # libyaml's parser when the wheel has it (it does on the usual platforms): 5-10x faster.
    try:
        from yaml.cyaml import CParser as _Parser
    except ImportError:  # a PyYAML built without libyaml
        _Parser = _PyParser


class _SafeLoader(_Parser, Composer, SafeConstructor, Resolver):
    """PyYAML's safe loader that refuses anchors and aliases, and counts nodes and depth as it composes.

    libyaml's own composer (``CParser.get_single_node``) follows aliases in C where nothing can refuse them, so
    the nodes are composed by PyYAML's Python composer over libyaml's events; it costs ~30 % more time.
    Mappings record their line as ``__line__`` when ``lines`` is set, and repeated keys in ``duplicates``.
    """

    get_node = Composer.get_node
    check_node = Composer.check_node
    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document
    compose_scalar_node = Composer.compose_scalar_node
    compose_sequence_node = Composer.compose_sequence_node
    compose_mapping_node = Composer.compose_mapping_node

    def __init__(self, text: str, budget: YamlBudget, *, lines: bool) -> None:
        _Parser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.budget = budget
        self.lines = lines
        self.depth = 0
        self.duplicates: list[tuple[str, int]] = []

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if event.anchor is not None:
            sign, kind = ("*", "alias") if isinstance(event, AliasEvent) else ("&", "anchor")
            raise _Refused(f"YAML {kind} {sign}{event.anchor} refused: codebooks may not use anchors (&name) or "
                           "aliases (*name), which can make a small file expand to millions of values. "
                           "Write each value out where it is used", event.start_mark)
        self.budget.nodes -= 1
        if self.budget.nodes < 0:
            raise _Refused(f"more than {MAX_YAML_NODES:,} YAML values; a codebook this large is more likely a "
                           "damaged or hostile file. Split it, or check what produced it", event.start_mark)
        if self.depth >= MAX_YAML_DEPTH:
            raise _Refused(f"lists and mappings nested more than {MAX_YAML_DEPTH} deep; a codebook needs a few "
                           "levels per level of codes", event.start_mark)
        self.depth += 1
        try:
            node = Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1
        if node is not None:
            node.start_mark = _Mark(node.start_mark.line, node.start_mark.column)
            node.end_mark = node.start_mark
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    self.duplicates.append((str(key), key_node.start_mark.line + 1))
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor below says so, with its line
                pass
        mapping = super().construct_mapping(node, deep=deep)
        if self.lines:
            mapping["__line__"] = node.start_mark.line + 1
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = self.construct_scalar(node)
        if isinstance(value, str) and len(value) > MAX_NUMBER_CHARS:
            raise ConstructorError(None, None, f"a number of {len(value):,} characters (at most "
                                   f"{MAX_NUMBER_CHARS}); quote it if it is text", node.start_mark)
        return super().construct_yaml_int(node)


_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)  # type: ignore[type-var]


def _compose(loader: _SafeLoader, name: str, first_line: int) -> Node | None:
    """The document's nodes, or a CodebookError for a refused construct (at its line in ``name``)."""
    try:
        return loader.get_single_node()
    except _Refused as exc:
        line = exc.mark.line + first_line if exc.mark is not None else None
        raise CodebookError(f"{name}:{line}: {exc.problem}.", path=name, line=line) from None


def load_yaml_safely(text: str, *, name: str, first_line: int = 1, budget: YamlBudget | None = None) -> Any:
    """Read YAML ``text`` with PyYAML's safe loader, refusing what could exhaust memory or time.

    Anchors and aliases (``&a`` / ``*a``: the "billion laughs" of YAML), more than
    :data:`MAX_YAML_NODES` values, nesting deeper than :data:`MAX_YAML_DEPTH` and
    integers longer than :data:`MAX_NUMBER_CHARS` are refused before they are built.

    Parameters
    ----------
    text : str
        The YAML text.
    name : str
        The file it comes from, named in errors.
    first_line : int
        The line of ``name`` on which ``text`` starts (YAML embedded in another file).
    budget : YamlBudget, optional
        Shared by every part of one codebook; a fresh one by default.

    Returns
    -------
    object
        The document, as ``yaml.safe_load`` returns it.

    Raises
    ------
    CodebookError
        For a refused construct, with the file and line.
    yaml.YAMLError
        For a syntax error (the caller decides what it means in its format).

    Examples
    --------
    >>> load_yaml_safely("id: x\\nkeywords: [a, b]", name="x.yaml")
    {'id': 'x', 'keywords': ['a', 'b']}
    >>> load_yaml_safely("a: &x [1]\\nb: *x", name="x.yaml")
    Traceback (most recent call last):
    ...
    qualcode.errors.CodebookError: x.yaml:1: YAML anchor &x refused: ...
    """
    budget = budget if budget is not None else YamlBudget()
    loader = _SafeLoader(text, budget, lines=False)
    try:
        node = _compose(loader, name, first_line)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _load(text: str, name: str, budget: YamlBudget) -> tuple[dict, list[tuple[str, int]], list[int | None]]:
    """The codebook mapping (with ``__line__`` per mapping), its repeated keys, and the line of each include."""
    loader = _SafeLoader(text, budget, lines=True)
    try:
        node = _compose(loader, name, 1)
        include_lines: list[int | None] = []
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == "include":
                    items = value.value if isinstance(value, SequenceNode) else [value]
                    include_lines = [item.start_mark.line + 1 for item in items]
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "syntax error"
        context = ""
        if exc.context and exc.problem:
            started = exc.context_mark.line + 1 if exc.context_mark else None
            context = f" ({exc.context}" + (f" started at line {started}" if started and started != line else "") + ")"
        fix = ("Check the indentation, brackets and quoting there (strings with ':' or '#' need quotes)."
               if isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError)) else
               "Write plain text, lists and mappings there.")
        raise CodebookError(
            f"{name}:{line}:{column}: YAML syntax error: {problem}{context}. {fix}",
            path=name, line=line, column=column,
        ) from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"{name}: YAML error: {exc}", path=name) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise CodebookError(f"{name}: a codebook file must be a mapping with 'id' and 'codes'.", path=name)
    return data, loader.duplicates, include_lines


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _entries(items: object, parent: str | None, out: list[dict], unknown: list, name: str) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        raise CodebookError(f"{name}: 'codes' must be a list of codes (each starting with '- id: ...').", path=name)
    for item in items:
        if not isinstance(item, dict):
            raise CodebookError(f"{name}: every entry under 'codes' must be a mapping with an 'id'.", path=name)
        line = item.get("__line__")
        entry = {k: _strip_lines(v) for k, v in item.items() if k not in ("__line__", "codes")}
        entry["line"] = line
        if parent is not None or "." not in str(item.get("id", "")):
            entry["parent"] = parent
        for key in item:
            if key not in CODE_FIELDS and key != "__line__":
                unknown.append((item.get("id"), key, f"line {line}"))
        out.append(entry)
        _entries(item.get("codes"), item.get("id"), out, unknown, name)


def read_yaml_codebook(path: str | Path, *, include_root: str | Path | None = None) -> Codebook:
    """Read a YAML codebook, following ``include:`` entries.

    Parameters
    ----------
    path : str or Path
        The codebook file.
    include_root : str or Path, optional
        A folder ``include:`` entries may reach anywhere under (``../shared/x.yaml``). By default each
        file includes only files in its own folder and the folders below it.

    Raises
    ------
    CodebookError
        For a YAML syntax error (with line and column), a refused construct (anchors, aliases, too many
        values), an include that is missing, outside the allowed folder, not a regular file, too large,
        too deep, circular or repeated (with the line of the include), or any validation problem (all of
        them, with their lines).
    """
    path = Path(path)
    root = Path(include_root).resolve() if include_root is not None else None
    return _build(path, _collect(path, (), YamlBudget(), root=root))


def parse_yaml_codebook(text: str, *, name: str = "codebook.yaml", stored: bool = False) -> Codebook:
    """Read a YAML codebook from its text, as :func:`read_yaml_codebook` reads the same text from a file.

    For codebooks held as text (a project's stored versions, written by :func:`dump_yaml`): no file is
    written or read. ``include:`` entries are refused, since there is no folder to find them in.

    Parameters
    ----------
    text : str
        The YAML text.
    name : str
        The file name it stands for: named in messages, and its stem is the id of a codebook without one.
    stored : bool, default False
        A version a project holds: see :func:`~qualcode.codebook.validate.build_codebook` (keywords an older
        qualcode accepted never stop a project from opening).

    Raises
    ------
    CodebookError
        As :func:`read_yaml_codebook`; also for an ``include:`` entry.

    Examples
    --------
    >>> from qualcode.codebook import load_codebook
    >>> codebook = load_codebook("leadership")
    >>> parse_yaml_codebook(dump_yaml(codebook)) == codebook
    True
    """
    # What writing the text to a file and reading it back with read_text(encoding="utf-8-sig") gives.
    text = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff")
    path = Path(name)
    if len(text) > MAX_CODEBOOK_BYTES:
        raise CodebookError(f"{name}: {len(text):,} characters; a codebook is at most {MAX_CODEBOOK_BYTES:,} "
                            "bytes. Split it, or check what produced it.", path=name)
    return _build(path, _collect(path, (), YamlBudget(), text=text), stored=stored)


def _build(path: Path, collected: tuple[list[dict], dict, list, list], stored: bool = False) -> Codebook:
    entries, meta, unknown, duplicates = collected
    for key, line in duplicates:
        unknown.append((None, f"{key} (repeated key)", f"line {line}"))
    return build_codebook(meta, entries, source=str(path), unknown_fields=unknown, stored=stored)


def _read_codebook_file(path: Path, name: str, budget: YamlBudget, at: str) -> str:
    """The text of one codebook file: a regular file, within what is left of the size budget.

    ``at`` is where the file is named (``main.yaml:4: include 'x.yaml'``, or the file itself), the start of
    every message. Opened without blocking and checked on the open descriptor, so a pipe, device or folder
    (or a file swapped for one after a check) is refused instead of read forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise CodebookError(f"{at}: no such codebook file.", path=name) from None
    except OSError as exc:
        raise CodebookError(f"{at}: cannot be read ({exc.strerror}).", path=name) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else "a device or socket"
            raise CodebookError(f"{at}: is {kind}, not a codebook file; name a .yaml file.", path=name)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        try:
            data = handle.read(budget.bytes + 1)
        except OSError as exc:
            raise CodebookError(f"{at}: cannot be read ({exc.strerror}).", path=name) from None
    if len(data) > budget.bytes:
        raise CodebookError(f"{at}: too large: a codebook and the files it includes hold at most "
                            f"{MAX_CODEBOOK_BYTES:,} bytes together. Split it, or check what produced it.",
                            path=name)
    budget.bytes -= len(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodebookError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.",
                            path=name) from None


def _include_target(entry: object, parent: Path, name: str, at: str, root: Path | None) -> Path:
    """The file an ``include:`` entry names, if it is one a codebook may include."""
    if not isinstance(entry, str) or not entry.strip() or any(c in entry for c in "\x00\n\r"):
        # A NUL cannot be in a file name (the system refuses it with a ValueError, not an OSError).
        raise CodebookError(f"{at}: include entries are file names, like 'leadership.yaml'; got {entry!r}.",
                            path=name)
    folder = parent.resolve()
    allowed = root if root is not None else folder
    target = (folder / entry.strip()).resolve()
    if not target.is_relative_to(allowed):
        where = (f"under {allowed}, the folder given as include_root" if root is not None else
                 f"in the folder of {name} ({folder}) or below it")
        raise CodebookError(
            f"{at}: {entry!r} is outside the allowed folder: included codebooks must be {where}. Copy the file "
            "there, or allow its folder with load_codebook(path, include_root=FOLDER).", path=name)
    return target


def _collect(path: Path, chain: tuple[Path, ...], budget: YamlBudget, *, text: str | None = None,
             root: Path | None = None, at: str | None = None, real: Path | None = None,
             ) -> tuple[list[dict], dict, list, list]:
    """Entries, metadata, unknown fields and repeated keys of ``path`` and the files it includes.

    ``chain`` holds the files including this one (outermost first), ``at`` where it was included and
    ``real`` the checked file to open (``path`` is the name it is included by).
    """
    name = str(path)
    in_memory = text is not None
    if text is None:
        text = _read_codebook_file(real or path, name, budget, at or name)
    data, duplicates, include_lines = _load(text, name, budget)
    meta = {k: _strip_lines(data.get(k)) for k in ("id", "title", "description", "references")}
    meta["id"] = meta["id"] or path.stem
    unknown = [(None, k, f"line {data.get('__line__', 1)}") for k in data
               if k not in _META_FIELDS and k != "__line__"]
    entries: list[dict] = []
    includes = data.get("include") or []
    if in_memory and includes:
        raise CodebookError(f"{name}: include: needs the codebook's folder; read it from its file with "
                            "read_yaml_codebook(path).", path=name)
    if not isinstance(includes, list):
        includes = [includes]
    here = path.resolve()
    for i, include in enumerate(includes):
        line = include_lines[i] if i < len(include_lines) else data.get("__line__")
        where = f"{name}:{line}: include {include!r}"
        child = _include_target(include, path.parent, name, where, root)
        if child == here or child in chain:
            raise CodebookError(f"{where}: includes itself (directly or through another file); remove the "
                                "include that closes the circle.", path=name, line=line)
        if child in budget.read:
            raise CodebookError(f"{where}: already included ({budget.read[child]}); its codes would be there "
                                "twice. Include each file once.", path=name, line=line)
        if len(chain) + 1 > MAX_INCLUDE_DEPTH:
            raise CodebookError(f"{where}: includes nest more than {MAX_INCLUDE_DEPTH} files deep; include the "
                                "files from fewer levels.", path=name, line=line)
        budget.files -= 1
        if budget.files < 0:
            raise CodebookError(f"{where}: more than {MAX_INCLUDED_FILES} included files; combine some of "
                                "them.", path=name, line=line)
        budget.read[child] = f"by {name}:{line}"
        child_name = path.parent / str(include).strip()
        sub_entries, sub_meta, sub_unknown, sub_dups = _collect(child_name, (*chain, here), budget, root=root,
                                                                at=where, real=child)
        entries += sub_entries
        unknown += sub_unknown
        duplicates += sub_dups
        meta["references"] = list(meta.get("references") or []) + [
            r for r in sub_meta.get("references") or [] if r not in (meta.get("references") or [])]
    _entries(data.get("codes"), None, entries, unknown, name)
    return entries, meta, unknown, duplicates


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        # Never write anchors and aliases: the reader refuses them (they can make a small file a bomb).
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 80 and "\n" not in value else ('|' if "\n" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(codebook: Codebook) -> str:
    """The codebook as YAML text (the layout of ``codebooks/*.yaml``)."""
    header = (f"# qualcode codebook {codebook.id!r}, version {codebook.version}.\n"
              "# Edit freely; keep ids stable once data is coded with them.\n")
    return header + yaml.dump(codebook.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_yaml_codebook(codebook: Codebook, target: str | Path | IO[str], *, overwrite: bool = False) -> None:
    """Write ``codebook`` as YAML to a path or a text file object.

    A path is written atomically, and an existing file is replaced only with ``overwrite``.
    """
    text = dump_yaml(codebook)
    if isinstance(target, (str, Path)):
        atomic_write_text(Path(target), text, overwrite=overwrite)
    else:
        target.write(text)
