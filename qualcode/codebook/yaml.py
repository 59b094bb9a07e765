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
(paths relative to the file), optionally with codes of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import yaml

from ..errors import CodebookError
from ..io.atomic import atomic_write_text
from .model import Codebook
from .validate import CODE_FIELDS, build_codebook

__all__ = ["dump_yaml", "parse_yaml_codebook", "read_yaml_codebook", "write_yaml_codebook"]

_META_FIELDS = ("qualcode_codebook", "id", "title", "description", "references", "codes", "include")


# libyaml's parser when the wheel has it (it does on the usual platforms): 5-10x faster.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader that records each mapping's line and refuses duplicate keys."""

    duplicates: list[tuple[str, int]]

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        keys = [self.construct_object(k, deep=True) for k, _ in node.value]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                self.duplicates.append((str(key), node.value[i][0].start_mark.line + 1))
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _load(text: str, name: str) -> tuple[dict, list[tuple[str, int]]]:
    loader = _LineLoader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or exc.context or "syntax error"
        context = ""
        if exc.context and exc.problem:
            started = exc.context_mark.line + 1 if exc.context_mark else None
            context = f" ({exc.context}" + (f" started at line {started}" if started and started != line else "") + ")"
        raise CodebookError(
            f"{name}:{line}:{column}: YAML syntax error: {problem}{context}. "
            "Check the indentation, brackets and quoting there (strings with ':' or '#' need quotes).",
            path=name, line=line, column=column,
        ) from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"{name}: YAML error: {exc}", path=name) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise CodebookError(f"{name}: a codebook file must be a mapping with 'id' and 'codes'.", path=name)
    return data, loader.duplicates


def _strip_lines(value):  # type: ignore[no-untyped-def]
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


def read_yaml_codebook(path: str | Path) -> Codebook:
    """Read a YAML codebook, following ``include:`` entries.

    Raises
    ------
    CodebookError
        For a YAML syntax error (with line and column), a missing include,
        or any validation problem (all of them, with their lines).
    """
    path = Path(path)
    return _build(path, _collect(path, set()))


def parse_yaml_codebook(text: str, *, name: str = "codebook.yaml") -> Codebook:
    """Read a YAML codebook from its text, as :func:`read_yaml_codebook` reads the same text from a file.

    For codebooks held as text (a project's stored versions, written by :func:`dump_yaml`): no file is
    written or read. ``include:`` entries are refused, since there is no folder to find them in.

    Parameters
    ----------
    text : str
        The YAML text.
    name : str
        The file name it stands for: named in messages, and its stem is the id of a codebook without one.

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
    return _build(path, _collect(path, set(), text=text))


def _build(path: Path, collected: tuple[list[dict], dict, list, list]) -> Codebook:
    entries, meta, unknown, duplicates = collected
    for key, line in duplicates:
        unknown.append((None, f"{key} (repeated key)", f"line {line}"))
    return build_codebook(meta, entries, source=str(path), unknown_fields=unknown)


def _collect(path: Path, visiting: set[Path], text: str | None = None) -> tuple[list[dict], dict, list, list]:
    name = str(path)
    if path.resolve() in visiting:
        raise CodebookError(f"{name}: includes itself (directly or through another file).", path=name)
    visiting = visiting | {path.resolve()}
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CodebookError(f"{name}: no such codebook file.", path=name) from None
        except UnicodeDecodeError as exc:
            raise CodebookError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.",
                                path=name) from None
        in_memory = False
    else:
        in_memory = True
    data, duplicates = _load(text, name)
    meta = {k: _strip_lines(data.get(k)) for k in ("id", "title", "description", "references")}
    meta["id"] = meta["id"] or path.stem
    unknown = [(None, k, f"line {data.get('__line__', 1)}") for k in data
               if k not in _META_FIELDS and k != "__line__"]
    entries: list[dict] = []
    if in_memory and data.get("include"):
        raise CodebookError(f"{name}: include: needs the codebook's folder; read it from its file with "
                            "read_yaml_codebook(path).", path=name)
    for include in data.get("include") or []:
        child = (path.parent / str(include))
        sub_entries, sub_meta, sub_unknown, sub_dups = _collect(child, visiting)
        entries += sub_entries
        unknown += sub_unknown
        duplicates += sub_dups
        meta["references"] = list(meta.get("references") or []) + [
            r for r in sub_meta.get("references") or [] if r not in (meta.get("references") or [])]
    _entries(data.get("codes"), None, entries, unknown, name)
    return entries, meta, unknown, duplicates


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):  # type: ignore[no-untyped-def]
    style = ">" if len(value) > 80 and "\n" not in value else ('|' if "\n" in value else None)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(codebook: Codebook) -> str:
    """The codebook as YAML text (the layout of ``codebooks/*.yaml``)."""
    header = (f"# qualcode codebook {codebook.id!r}, version {codebook.version}.\n"
              "# Edit freely; keep ids stable once data is coded with them.\n")
    return header + yaml.dump(codebook.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_yaml_codebook(codebook: Codebook, target: str | Path | IO[str], *, overwrite: bool = False) -> None:
    """Write ``codebook`` as YAML to a path (atomically; an existing file only with ``overwrite``) or a text file object."""
    text = dump_yaml(codebook)
    if isinstance(target, (str, Path)):
        atomic_write_text(Path(target), text, overwrite=overwrite)
    else:
        target.write(text)
