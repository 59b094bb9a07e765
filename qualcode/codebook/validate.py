"""Lazy codebook validation: every problem at once, each with its code, field and line or row.

Readers turn their format into *entries* (plain dicts: ``id``, ``parent``,
the code fields, and ``line`` or ``row``); :func:`build_codebook` checks them
all and either returns a :class:`Codebook` or raises one
:class:`~qualcode.errors.CodebookError` whose ``issues`` table lists every
problem (cases C2 and C3 of the bad-input catalogue).
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable, Sequence

import pandas as pd

from ..errors import CodebookError, CodebookWarning
from ..nlp.normalize import fold
from ..nlp.words import stemmer, stop_words
from .model import ID_PATTERN, LANGS, LIST_FIELDS, TEXT_FIELDS, Code, Codebook
from .regex import KeywordRegexError, compile_keyword_regex

__all__ = ["CODE_FIELDS", "build_codebook", "check_keyword", "content_note", "describe", "language_gaps",
           "warn_language_gaps"]

CODE_FIELDS = ("id", "label", "color", "codable", *TEXT_FIELDS[1:], *LIST_FIELDS, "codes")
_COLOR = re.compile(r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_WORD = re.compile(r"[^\W_]+(?:\*)?|\*", re.UNICODE)


def check_keyword(keyword: object, lang: str, *, name: Iterable[str] = ()) -> str | None:
    """Return what is wrong with one keyword, or ``None`` if it is usable.

    ``name`` is the code's own name (its id and labels): spaCy's stop-word lists hold content words too
    (``acuerdo``, ``trabajo``, ``verdad``; ``serious``, ``amount``), and a code named by one of them may
    have it as a keyword.

    Examples
    --------
    >>> check_keyword("de la", "es")
    "keyword 'de la' is made only of stop words and would match almost every segment"
    >>> check_keyword("colabor*", "es") is None
    True
    >>> check_keyword("acuerdo", "es", name=["acuerdos", "Acuerdos del equipo"]) is None
    True
    >>> check_keyword("acuerdo", "es", name=["liderazgo", "Liderazgo"])
    "keyword 'acuerdo' is made only of stop words and would match almost every segment"
    """
    if not isinstance(keyword, str):
        return f"keyword {keyword!r} is not text"
    text = keyword.strip()
    if not text:
        return "empty keyword"
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        # Compiled as the keyword coder will run it: on RE2, in time linear in the text (a backtracking
        # engine took days on /(a|aa)+$/ and a "jajaja…" turn); what RE2 cannot run is refused here.
        try:
            compile_keyword_regex(text)
        except KeywordRegexError as exc:
            return str(exc)
        return None
    words = _WORD.findall(text)
    if not words:
        return f"keyword {text!r} has no letters or digits"
    for i, word in enumerate(words):
        if "*" in word and (word == "*" or i != len(words) - 1 or len(word) < 4):
            return (f"invalid pattern {text!r}: '*' may only end the last word, after at least "
                    "three letters (colabor*)")
    if all(fold(w.rstrip("*")) in stop_words(lang) for w in words):
        # Compared by Snowball root, so the code "acuerdos" may have the keyword "acuerdo".
        root = stemmer(lang).stemWord
        own = {root(fold(w)) for part in name for w in _WORD.findall(str(part).replace("_", " ")) if w != "*"}
        if not own & {root(fold(w.rstrip("*"))) for w in words}:
            return f"keyword {text!r} is made only of stop words and would match almost every segment"
    return None


def _is_regex(keyword: object) -> bool:
    text = str(keyword).strip()
    return len(text) > 2 and text.startswith("/") and text.endswith("/")


def _place(where: str | None) -> str:
    """How a problem's place follows the file name: ``:12`` for a YAML line, ``, row 4`` for a sheet row."""
    if where and where.startswith("line"):
        return ":" + where.split()[-1]
    return ", " + where if where else ""


def _unknown_language(key: object, value: object) -> str:
    """The problem of a key that is not a language; a text cut at a comma says so, with the fix."""
    message = f"unknown language {key!r} (use {' / '.join(LANGS)})"
    if value is None:
        # {es: a, b, en: c} in YAML is es: "a", "b": (nothing), en: "c": the comma cut the text.
        message += ("; a comma inside {es: ..., en: ...} ends the text there: put the whole text in quotes, "
                    'like {es: "..., ...", en: "..."}')
    return message


def _issue(issues: list[dict], code_id: object, field: str | None, where: str | None, problem: str) -> None:
    issues.append({"code_id": code_id, "field": field, "where": where, "problem": problem})


def _where(entry: dict) -> str | None:
    if entry.get("line") is not None:
        return f"line {entry['line']}"
    if entry.get("row") is not None:
        return f"row {entry['row']}"
    return None


def build_codebook(meta: dict, entries: Sequence[dict], *, source: str | None = None,
                   unknown_fields: Iterable[tuple[str, str, str | None]] = (), stored: bool = False) -> Codebook:
    """Validate raw entries and build the Codebook, or raise one error listing every problem.

    Parameters
    ----------
    meta : dict
        ``id``, ``title``, ``description``, ``references``.
    entries : sequence of dict
        One per code: ``id``, optional explicit ``parent`` (``None`` for
        top-level codes), the code fields, ``line`` or ``row`` for messages.
    unknown_fields : iterable of (code_id, field, where)
        Fields the reader met and does not know (typos are reported).
    stored : bool, default False
        A version a project already holds (its decisions may refer to it):
        a ``/regex/`` keyword that this version of qualcode cannot run (a
        lookaround or backreference, accepted before keywords ran on RE2) is
        not an error then, so the project still opens; a
        :class:`~qualcode.errors.CodebookWarning` names it, and the keyword
        coder skips it.

    Raises
    ------
    CodebookError
        With ``issues`` (``code_id``, ``field``, ``where``, ``problem``).
    """
    issues: list[dict] = []
    for owner, name, where in unknown_fields:
        hint = difflib.get_close_matches(name, CODE_FIELDS, n=1, cutoff=0.7)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        _issue(issues, owner, name, where, f"unknown field {name!r}{suggestion}")

    seen: dict[str, dict] = {}
    for entry in entries:
        code_id = entry.get("id")
        where = _where(entry)
        if code_id is None or (isinstance(code_id, str) and not code_id.strip()):
            _issue(issues, None, "id", where, "missing required field 'id'")
            continue
        if not isinstance(code_id, str) or not ID_PATTERN.match(code_id):
            _issue(issues, code_id, "id", where,
                   f"invalid id {code_id!r}: use dotted lowercase ASCII segments like 'collaboration.trust'")
            continue
        if code_id in seen:
            _issue(issues, code_id, "id", where, f"duplicate code id (first at {_where(seen[code_id]) or 'above'})")
            continue
        seen[code_id] = entry

    # Parents: an explicit parent column (spreadsheets, nesting) or the id's prefix.
    parents = {cid: (e.get("parent") if "parent" in e else (cid.rsplit(".", 1)[0] if "." in cid else None))
               for cid, e in seen.items()}
    for cid, parent in parents.items():
        if parent is None:
            continue
        if parent not in seen:
            _issue(issues, cid, "parent", _where(seen[cid]), f"unknown parent {parent!r}")
    cyclic: set[str] = set()
    for start in parents:
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parents:
            if node in path:
                loop = path[path.index(node):]
                if not cyclic.intersection(loop):
                    cyclic.update(loop)
                    _issue(issues, loop[0], "parent", _where(seen[loop[0]]),
                           f"cycle in the hierarchy: {' -> '.join([*loop, loop[0]])}")
                break
            path.append(node)
            node = parents[node]
    for cid, parent in parents.items():
        if cid in cyclic:
            continue
        expected = cid.rsplit(".", 1)[0] if "." in cid else None
        if parent != expected and parent in seen:
            _issue(issues, cid, "id", _where(seen[cid]),
                   f"id {cid!r} does not extend its parent {parent!r}: name it {parent}.{cid.rsplit('.', 1)[-1]}")

    unrunnable: list[str] = []
    codes: list[Code] = []
    for cid, entry in seen.items():
        where = _where(entry)
        values: dict = {}
        for name in TEXT_FIELDS:
            value = entry.get(name) or {}
            if not isinstance(value, dict):
                _issue(issues, cid, name, where, f"{name} must map languages to text, like {{es: ..., en: ...}}")
                value = {}
            for lang in value:
                if lang not in LANGS:
                    _issue(issues, cid, name, where, _unknown_language(lang, value[lang]))
            values[name] = {lang: str(value.get(lang) or "").strip() for lang in LANGS}
        if not any(values["label"].values()):
            _issue(issues, cid, "label", where, "missing required field 'label' (give at least one language)")
        for name in LIST_FIELDS:
            value = entry.get(name) or {}
            if not isinstance(value, dict):
                _issue(issues, cid, name, where, f"{name} must map languages to lists, like {{es: [...], en: [...]}}")
                value = {}
            lists: dict[str, list[str]] = {}
            for lang, items in value.items():
                if lang not in LANGS:
                    _issue(issues, cid, name, where, _unknown_language(lang, items))
                    continue
                if isinstance(items, str) or not isinstance(items, list):
                    items = [items]
                if name != "examples":
                    for item in items:
                        problem = check_keyword(item, lang, name=[cid, *values["label"].values()])
                        if problem and stored and _is_regex(item):
                            unrunnable.append(f"{cid} {name}.{lang} {str(item).strip()!r}")
                        elif problem:
                            _issue(issues, cid, f"{name}.{lang}", where, problem)
                    keyed = [fold(str(i).strip()) for i in items if isinstance(i, str)]
                    dups = sorted({k for k in keyed if keyed.count(k) > 1})
                    if dups:
                        _issue(issues, cid, f"{name}.{lang}", where, f"repeated keyword(s) {dups}")
                lists[lang] = [str(i).strip() for i in items if i is not None and str(i).strip()]
            values[name] = lists
        color = entry.get("color")
        if color is not None and (not isinstance(color, str) or not _COLOR.match(color)):
            _issue(issues, cid, "color", where, f"color {color!r} is not '#rrggbb'")
            color = None
        codable = entry.get("codable", True)
        if not isinstance(codable, bool):
            _issue(issues, cid, "codable", where, f"codable {codable!r} is not true or false")
            codable = True
        codes.append(Code(cid, color=color, codable=codable, line=entry.get("line") or entry.get("row"), **values))

    if not seen and not issues:
        _issue(issues, None, "codes", None, "the codebook has no codes")
    if not meta.get("id") or not isinstance(meta.get("id"), str):
        _issue(issues, None, "id", None, "the codebook needs an 'id' (for example the file name)")
    if issues:
        table = pd.DataFrame(issues, columns=["code_id", "field", "where", "problem"])
        name = source or "codebook"
        lines = "\n".join(f"  {name}{_place(r.where)} [{r.code_id or '-'}] {r.problem}" for r in table.itertuples())
        raise CodebookError(f"{name}: the codebook has {len(table)} problem(s):\n{lines}\nFix them and load again.",
                            path=source, issues=table)
    if unrunnable:
        warnings.warn(CodebookWarning(
            f"{source or 'codebook'}: {len(unrunnable)} stored regular-expression keyword(s) use lookaround or "
            f"backreferences, which keywords no longer run (they run on RE2, in linear time): "
            f"{'; '.join(unrunnable[:5])}. Suggestions skip them; the decisions are untouched. Rewrite them and "
            "set the new version: qualcode codebook set PROJECT CODEBOOK."), stacklevel=2)
    ordered = _tree_order(codes)
    return Codebook(meta["id"], title=meta.get("title") or {}, description=meta.get("description") or {},
                    references=list(meta.get("references") or []), codes=ordered, source=source)


def _tree_order(codes: list[Code]) -> list[Code]:
    """Parents before children, siblings in their given order."""
    by_parent: dict[str | None, list[Code]] = {}
    for code in codes:
        by_parent.setdefault(code.parent_id, []).append(code)
    out: list[Code] = []

    def walk(parent: str | None) -> None:
        for code in by_parent.get(parent, []):
            out.append(code)
            walk(code.id)

    walk(None)
    return out


def language_gaps(codebook: Codebook, languages: Iterable[str]) -> pd.DataFrame:
    """Codes with no keywords in a language the corpus uses (case C4).

    Returns
    -------
    DataFrame
        ``code_id``, ``language``, ``has_keywords_in`` (the languages it does have).
    """
    rows = []
    for lang in sorted(set(languages)):
        for code in codebook:
            if not code.keywords.get(lang):
                have = [other for other in LANGS if code.keywords.get(other)]
                if have:
                    rows.append({"code_id": code.id, "language": lang, "has_keywords_in": ",".join(have)})
    return pd.DataFrame(rows, columns=["code_id", "language", "has_keywords_in"])


def warn_language_gaps(codebook: Codebook, languages: Iterable[str]) -> pd.DataFrame:
    """Warn (:class:`CodebookWarning`) when codes have keywords only in another language than the corpus."""
    gaps = language_gaps(codebook, languages)
    for lang, group in gaps.groupby("language"):
        other = sorted(set(",".join(group["has_keywords_in"]).split(",")))
        warnings.warn(
            f"codebook {codebook.id!r}: {len(group)} code(s) have keywords only in {'/'.join(other)} but the corpus "
            f"has {lang!r} documents, so keyword suggestions will miss them there (e.g. {list(group['code_id'][:3])}). "
            f"Add keywords_{lang} to those codes.",
            CodebookWarning, stacklevel=2,
        )
    return gaps


def describe(codebook: Codebook) -> str:
    """How many codes, in what tree: the summary ``qualcode codebook validate`` prints.

    A flat codebook (no code has sub-codes) is said to be one: its top-level codes are not dimensions.

    Examples
    --------
    >>> flat = Codebook(id="f", title={}, codes=[Code("a", label={"es": "A"}), Code("b", label={"es": "B"})])
    >>> describe(flat)
    '2 codes, flat (no dimensions or sub-codes)'
    """
    depth = max((c.depth for c in codebook.codes), default=0)
    if depth == 0:
        return f"{len(codebook)} code{'' if len(codebook) == 1 else 's'}, flat (no dimensions or sub-codes)"
    dimensions = codebook.dimensions
    return (f"{len(codebook)} codes in {len(dimensions)} dimension(s) ({', '.join(dimensions)}); "
            f"depth up to {depth}")


def content_note(codebook: Codebook) -> str | None:
    """What the embedding coder has to go on when no code has example quotes (``None`` when some have).

    Said from what the codebook really holds: labels and definitions, or labels only (keywords help the
    keyword method, not the embedding), so a keywords-only codebook is not said to have definitions.
    """
    def has(field: str) -> bool:
        return any(any(v for v in getattr(c, field).values()) for c in codebook.codes)

    if has("examples"):
        return None
    described = [name for name, field in (("definitions", "definition"), ("inclusion criteria", "inclusion"))
                 if has(field)]
    basis = "labels and " + " and ".join(described) if described else "labels only (no definitions)"
    extra = "; keywords are used by the keyword method, not here" if has("keywords") else ""
    return (f"no code has example quotes: embedding scores are calibrated on {basis}{extra}; a few examples per "
            "code make them better.")
