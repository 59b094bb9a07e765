"""What changed between two versions of a codebook: codes added, removed, renamed, relabelled, redefined.

A team revises its codebook between rounds (deductive coding is iterative:
codes are split, merged, renamed and redefined until saturation). Before a
new version becomes current, the team needs to see what it changes and what
happens to the decisions already taken on codes that go away; this module
computes the first, :func:`qualcode.cli` and :mod:`qualcode.workflow` report
the second.

A *rename* is a code id that disappears while a new id appears with the same
label (in either language, ignoring case and spacing) or the same
definition: the code is the same, its id changed.
"""

from __future__ import annotations

import pandas as pd

from ..schemas import returns
from .model import Code, Codebook

__all__ = ["codebook_changes"]

_CHANGES = ("added", "removed", "renamed", "relabelled", "redefined", "keywords")


def _norm(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _identity(code: Code) -> set[str]:
    """What makes two ids the same code: its labels and definitions, normalised."""
    keys = {f"label:{_norm(v)}" for v in code.label.values() if _norm(v)}
    return keys | {f"definition:{_norm(v)}" for v in code.definition.values() if _norm(v)}


def _label(code: Code | None) -> str:
    if code is None:
        return ""
    return code.label.get("es") or code.label.get("en") or ""


@returns("codebook_changes")
def codebook_changes(old: Codebook, new: Codebook) -> pd.DataFrame:
    """Every code-level difference between ``old`` and ``new``, one row per change.

    Parameters
    ----------
    old, new : Codebook
        The current version and the one about to replace it.

    Returns
    -------
    DataFrame
        {columns}

        ``change`` is one of ``added``, ``removed``, ``renamed`` (``old_code_id``
        → ``code_id``, same label or definition), ``relabelled``, ``redefined``
        (definition, inclusion or exclusion criteria) or ``keywords`` (keywords
        or examples: suggestions will differ). A code can have several rows.

    Examples
    --------
    >>> from qualcode.codebook import Code, Codebook
    >>> old = Codebook("s", codes=[Code("a", label={"es": "Confianza"}), Code("b", label={"es": "Tiempo"})])
    >>> new = Codebook("s", codes=[Code("a", label={"es": "Confianza mutua"}), Code("c", label={"es": "Tiempo"})])
    >>> codebook_changes(old, new)[["code_id", "change", "old_code_id"]].values.tolist()
    [['c', 'renamed', 'b'], ['a', 'relabelled', 'a']]
    """
    before = {code.id: code for code in old}
    after = {code.id: code for code in new}
    rows: list[dict[str, str]] = []

    def row(code_id: str, change: str, was: Code | None, now: Code | None, old_id: str = "") -> None:
        rows.append({"code_id": code_id, "change": change, "old_code_id": old_id,
                     "old_label": _label(was), "new_label": _label(now)})

    gone = [c for c in before if c not in after]
    came = [c for c in after if c not in before]
    renamed: dict[str, str] = {}
    for old_id in gone:
        same = [new_id for new_id in came if new_id not in renamed.values()
                and _identity(before[old_id]) & _identity(after[new_id])]
        if len(same) == 1:  # two candidates would be a guess: report removed + added instead
            renamed[old_id] = same[0]
    for code_id, code in after.items():
        was = before.get(code_id)
        if was is None:
            old_id = next((o for o, n in renamed.items() if n == code_id), "")
            row(code_id, "renamed" if old_id else "added", before.get(old_id), code, old_id)
            continue
        if code.label != was.label:
            row(code_id, "relabelled", was, code, code_id)
        if (code.definition, code.inclusion, code.exclusion) != (was.definition, was.inclusion, was.exclusion):
            row(code_id, "redefined", was, code, code_id)
        if (code.keywords, code.negative_keywords, code.examples) != (
                was.keywords, was.negative_keywords, was.examples):
            row(code_id, "keywords", was, code, code_id)
    for old_id in gone:
        if old_id not in renamed:
            row("", "removed", before[old_id], None, old_id)
    frame = pd.DataFrame(rows, columns=["code_id", "change", "old_code_id", "old_label", "new_label"])
    order = {change: i for i, change in enumerate(_CHANGES)}
    return frame.sort_values(["change", "code_id", "old_code_id"], key=lambda s: s.map(order) if s.name == "change"
                             else s, kind="stable").reset_index(drop=True)
