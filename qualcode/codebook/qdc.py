"""REFI-QDA codebook exchange (``.qdc``): read files from ATLAS.ti, NVivo, MAXQDA, Taguette …; write valid ones.

A ``.qdc`` code has only a name, a colour and a free-text description. So
that qualcode → ``.qdc`` → qualcode loses nothing, the description of each
code qualcode writes is a short, readable YAML block (id, labels, definition,
criteria, examples, keywords), and the codebook's own metadata travels in a
code group (``Set``) holding the dimensions. Files from other tools have
plain descriptions: their codes get ids made from their names, their name as
label in both languages, and their description as definition.

Every written file is validated against the official schema shipped with
qualcode; reading refuses DTDs and entities (case C6).
"""

from __future__ import annotations

import uuid
import warnings
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml

from ..errors import CodebookWarning, ExchangeFileError
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

__all__ = ["code_description", "code_guid", "qdc_bytes", "read_qdc", "refi_schema", "validate_qdc", "write_qdc"]

NS = "urn:QDA-XML:codebook:1.0"
_GUID_NAMESPACE = uuid.UUID("6f1f3b1e-3c55-4d2e-9a59-9c1de0a6b0a1")
_MARK = "qualcode:"
_SCHEMA_DIR = Path(__file__).resolve().parents[1] / "_data" / "refi"


def code_guid(code_id: str) -> str:
    """The REFI-QDA GUID of a code: stable for the same id in every export.

    Examples
    --------
    >>> code_guid("collaboration.trust") == code_guid("collaboration.trust")
    True
    """
    return str(uuid.uuid5(_GUID_NAMESPACE, code_id)).upper()


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


def code_description(code: Code) -> str:
    """A code's REFI-QDA ``Description`` text: a ``qualcode:`` marker line, then the code's fields as YAML.

    Other tools show it as the code's memo; :func:`read_qdc` reads the fields back from it, so a codebook
    survives a round trip through them.
    """
    block = {"id": code.id, **{k: v for k, v in code.to_dict().items() if k not in ("id", "color")}}
    # Characters XML cannot hold would reach the file as YAML escapes ("\\uD800") that the reader refuses:
    # replaced here as in every other written field (and counted), so the block always reads back.
    return _MARK + "\n" + _dump(_clean(block, "code descriptions"))


def _clean(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return clean_text(value, where)
    if isinstance(value, dict):
        return {k: _clean(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, where) for v in value]
    return value


def qdc_bytes(codebook: Codebook, *, lang: str = "es") -> bytes:
    """The codebook as ``.qdc`` bytes (UTF-8), code names in ``lang``."""
    from lxml import etree

    check_lang(lang)
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
        el.set("isCodable", "true")
        if code.color:
            el.set("color", code.color)
        desc = etree.SubElement(el, f"{{{NS}}}Description")
        desc.text = clean_text(code_description(code), "code descriptions")
        elements[code.id] = el
    sets = etree.SubElement(root, f"{{{NS}}}Sets")
    group = etree.SubElement(sets, f"{{{NS}}}Set")
    group.set("guid", str(uuid.uuid5(_GUID_NAMESPACE, "codebook:" + codebook.id)).upper())
    group.set("name", clean_text(codebook.title[lang] or codebook.id, "the codebook title"))
    meta = {"codebook": codebook.id, "title": dict(codebook.title), "description": dict(codebook.description),
            "references": list(codebook.references)}
    block = _dump(_clean(meta, "the codebook description"))
    etree.SubElement(group, f"{{{NS}}}Description").text = clean_text(_MARK + "\n" + block,
                                                                 "the codebook description")
    for dimension in codebook.dimensions:
        etree.SubElement(group, f"{{{NS}}}MemberCode").set("guid", code_guid(dimension))
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
    errors = validate_qdc(data)
    if errors:  # pragma: no cover - a bug in this writer, never the user's input
        raise ExchangeFileError(f"internal error: the written .qdc does not validate: {errors[:3]}")
    return data


def write_qdc(codebook: Codebook, target: str | Path | IO[bytes], *, lang: str = "es", overwrite: bool = False) -> None:
    """Write ``codebook`` as a REFI-QDA ``.qdc`` file.

    The file is validated, written atomically for paths, and an existing file is replaced only with ``overwrite``.
    """
    with reporting(target, "XML (.qdc)"):
        data = qdc_bytes(codebook, lang=lang)
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
    an empty ``<Sets/>``, upper- or lower-case GUIDs.

    Raises
    ------
    ExchangeFileError
        For unsafe (DTD/entities) or damaged XML, with the line.
    CodebookError
        If the codes do not make a valid codebook.
    """
    path = Path(path)
    name = str(path)
    raw = path.read_bytes() if data is None else data
    root = parse_xml_safely(raw, name=name)
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
            block, description = _parse_block(desc_el, name, budget)
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
            entry["line"] = el.sourceline
            guid_to_id[(el.get("guid") or "").strip("{}").upper()] = code_id
            entries.append(entry)
            walk(el, code_id)

    if codes_el is not None:
        walk(codes_el, None)
    meta: dict = {"id": path.stem}
    ignored_sets = []
    for set_el in codebook_el.iter():
        if not isinstance(set_el.tag, str) or _local(set_el) != "Set":
            continue
        desc_el = next((d for d in set_el if isinstance(d.tag, str) and _local(d) == "Description"), None)
        block, _ = _parse_block(desc_el, name, budget)
        if block and "codebook" in block:
            meta = {"id": block["codebook"], "title": block.get("title"), "description": block.get("description"),
                    "references": block.get("references")}
        else:
            ignored_sets.append(set_el.get("name"))
    if ignored_sets:
        warnings.warn(f"{name}: code groups (sets) {ignored_sets} are not part of a qualcode codebook and were "
                      "not imported; the codes in them were.", CodebookWarning, stacklevel=2)
    if foreign and meta.get("title") is None:
        origin = codebook_el.get("origin") or root.get("origin")
        meta["title"] = dict.fromkeys(LANGS, f"{path.stem}" + (f" ({origin})" if origin else ""))
    return build_codebook(meta, entries, source=name)
