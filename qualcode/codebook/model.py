"""Code and Codebook: the deductive codebook in memory (no file I/O here).

A codebook is a tree of codes whose ids are dotted paths: the first segment
is the dimension (``collaboration``), each further segment a sub-code
(``collaboration.building_blocks.trust``). Every code carries its labels,
definition, inclusion and exclusion criteria, example quotes and keywords
per language.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ..errors import ParameterError
from ..schemas import LANGS, check_lang, returns

__all__ = ["ID_PATTERN", "LANGS", "LIST_FIELDS", "TEXT_FIELDS", "Code", "Codebook"]

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
TEXT_FIELDS = ("label", "definition", "inclusion", "exclusion")
LIST_FIELDS = ("examples", "keywords", "negative_keywords")


def _lang_dict(value: dict[str, str] | None) -> dict[str, str]:
    return {lang: (value or {}).get(lang, "") or "" for lang in LANGS}


def _lang_lists(value: dict[str, list[str]] | None) -> dict[str, list[str]]:
    return {lang: list((value or {}).get(lang, []) or []) for lang in LANGS}


@dataclass
class Code:
    """One code of the codebook.

    Parameters
    ----------
    id : str
        Dotted lowercase path, e.g. ``"collaboration.trust"``; its parent is
        the path without the last segment.
    label, definition, inclusion, exclusion : dict
        Text per language: ``{"es": ..., "en": ...}``.
    examples, keywords, negative_keywords : dict
        Lists per language. Keywords are words in dictionary form or phrases;
        a trailing ``*`` matches a word family, ``/.../`` is a regular expression.
    color : str, optional
        ``#rrggbb``.
    codable : bool, default True
        False for a category that only groups codes (REFI-QDA ``isCodable="false"``): kept so through
        ``.qdc``/``.qdpx`` and YAML (written there only when false).

    Examples
    --------
    >>> Code("collaboration.trust", label={"es": "Confianza", "en": "Trust"}).parent_id
    'collaboration'
    """

    id: str
    label: dict[str, str] = field(default_factory=dict)
    definition: dict[str, str] = field(default_factory=dict)
    inclusion: dict[str, str] = field(default_factory=dict)
    exclusion: dict[str, str] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    negative_keywords: dict[str, list[str]] = field(default_factory=dict)
    color: str | None = None
    codable: bool = True
    line: int | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in TEXT_FIELDS:
            setattr(self, name, _lang_dict(getattr(self, name)))
        for name in LIST_FIELDS:
            setattr(self, name, _lang_lists(getattr(self, name)))

    @property
    def parent_id(self) -> str | None:
        """The id without its last segment, or ``None`` for a dimension."""
        return self.id.rsplit(".", 1)[0] if "." in self.id else None

    @property
    def dimension(self) -> str:
        """The first segment of the id."""
        return self.id.split(".", 1)[0]

    @property
    def depth(self) -> int:
        """0 for a dimension, 1 for its codes, 2 for sub-codes …"""
        return self.id.count(".")

    def to_dict(self) -> dict:
        """The code as plain data (the YAML layout, without children)."""
        out: dict = {"id": self.id, "label": dict(self.label)}
        if self.color:
            out["color"] = self.color
        if not self.codable:
            out["codable"] = False
        for name in TEXT_FIELDS[1:]:
            out[name] = dict(self.definition if name == "definition" else getattr(self, name))
        for name in LIST_FIELDS:
            values = getattr(self, name)
            if name == "negative_keywords" and not any(values.values()):
                continue
            out[name] = {lang: list(values[lang]) for lang in LANGS}
        return out


@dataclass
class Codebook:
    """A deductive codebook: metadata and codes, parents before children.

    Build one with :func:`qualcode.load_codebook`. ``version`` is a content
    hash that every suggestion records, so a result can always be traced to
    the exact codebook that produced it.

    Examples
    --------
    >>> cb = Codebook("demo", codes=[Code("trust", label={"es": "Confianza", "en": "Trust"})])
    >>> cb.to_frame()[["code_id", "parent_id", "label_es"]].values.tolist()
    [['trust', None, 'Confianza']]
    """

    id: str
    title: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    languages: tuple[str, ...] = LANGS
    source: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.title = _lang_dict(self.title)
        self.description = _lang_dict(self.description)
        self._index = {code.id: code for code in self.codes}

    # -- access ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __contains__(self, code_id: object) -> bool:
        return code_id in self._index

    def __getitem__(self, code_id: str) -> Code:
        try:
            return self._index[code_id]
        except KeyError:
            raise ParameterError(
                f"no code {code_id!r} in codebook {self.id!r}; see codebook.to_frame()['code_id']."
            ) from None

    def __repr__(self) -> str:
        return (f"Codebook({self.id!r}, {len(self.codes)} codes, dimensions={self.dimensions}, "
                f"version={self.version!r})")

    @property
    def dimensions(self) -> list[str]:
        """Top-level code ids, in order."""
        return [c.id for c in self.codes if c.depth == 0]

    def children(self, code_id: str) -> list[Code]:
        """The direct sub-codes of ``code_id``."""
        return [c for c in self.codes if c.parent_id == code_id]

    def descendants(self, code_id: str) -> list[Code]:
        """Every code below ``code_id``."""
        prefix = code_id + "."
        return [c for c in self.codes if c.id.startswith(prefix)]

    # -- identity ---------------------------------------------------------------
    def to_dict(self) -> dict:
        """The codebook as plain data: the YAML layout with nested ``codes``."""
        # Codes grouped by parent once: scanning every code for each code's children took minutes for a
        # codebook of thousands of codes (the version, which every coder's fit reads, is a hash of this).
        children: dict[str | None, list[Code]] = {}
        for code in self.codes:
            children.setdefault(code.parent_id, []).append(code)

        def nest(parent: str | None) -> list[dict]:
            out = []
            for code in children.get(parent, []):
                item = code.to_dict()
                kids = nest(code.id)
                if kids:
                    item["codes"] = kids
                out.append(item)
            return out

        return {
            "qualcode_codebook": 1,
            "id": self.id,
            "title": dict(self.title),
            "description": dict(self.description),
            "references": list(self.references),
            "codes": nest(None),
        }

    @property
    def version(self) -> str:
        """12 hex digits of SHA-256 over the codebook's content (not its file's layout)."""
        payload = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(payload).hexdigest()[:12]

    # -- views ------------------------------------------------------------------
    @returns("codes")
    def to_frame(self) -> pd.DataFrame:
        """The codes table, one row per code.

        Returns
        -------
        DataFrame
            {columns}
        """
        rows = []
        for code in self.codes:
            row: dict = {"code_id": code.id, "parent_id": code.parent_id, "dimension": code.dimension,
                         "depth": code.depth, "color": code.color}
            for lang in self.languages:
                for name in TEXT_FIELDS:
                    row[f"{name}_{lang}"] = getattr(code, name)[lang]
                for name in LIST_FIELDS:
                    row[f"{name}_{lang}"] = list(getattr(code, name)[lang])
            rows.append(row)
        columns = ["code_id", "parent_id", "dimension", "depth", "color"] + [
            f"{name}_{lang}" for lang in self.languages for name in (*TEXT_FIELDS, *LIST_FIELDS)]
        return pd.DataFrame(rows, columns=columns)

    def filter(self, *, dimension: str | Sequence[str] | None = None, lang: str | None = None) -> Codebook:
        """A codebook with only some dimensions, or only one language's fields.

        Examples
        --------
        >>> cb = Codebook("d", codes=[Code("a"), Code("a.b"), Code("c")])
        >>> [c.id for c in cb.filter(dimension="a")]
        ['a', 'a.b']
        """
        codes = list(self.codes)
        if dimension is not None:
            wanted = [dimension] if isinstance(dimension, str) else list(dimension)
            unknown = [d for d in wanted if d not in self.dimensions]
            if unknown:
                raise ParameterError(f"unknown dimension(s) {unknown}; the codebook has {self.dimensions}.")
            codes = [c for c in codes if c.dimension in wanted]
        languages = self.languages
        if lang is not None:
            check_lang(lang)
            languages = (lang,)
            codes = [_only(c, lang) for c in codes]
        return replace(self, codes=codes, languages=languages)


def _only(code: Code, lang: str) -> Code:
    # Field name -> its one-language mapping: the values are the text and list fields' own types.
    kept: dict[str, Any] = {name: {lang: getattr(code, name)[lang]} for name in (*TEXT_FIELDS, *LIST_FIELDS)}
    return replace(code, **kept)
