"""Theme frequencies: how often each code comes up, for whom, and together with what.

Every function takes a codings table with ``segment_id``, ``doc_id`` and
``code_id`` (such as :func:`qualcode.coded_quotes`; attribute columns such
as ``role`` or ``district`` are used when asked for) and returns a tidy table.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal

import pandas as pd

from ..errors import ParameterError
from ..io.roles import role_column
from ..schemas import NOT_ATTRIBUTES, check, coded, returns, takes

__all__ = ["code_by_attribute", "code_frequencies", "cooccurrence", "participant_keys", "rollup"]


def participant_keys(table: pd.DataFrame) -> pd.Series:
    """Who said it: the ``participant`` attribute, and in focus groups the speaker within it.

    A document with several participant speakers (a focus group) counts each
    speaker as a participant; otherwise the document's ``participant``
    attribute (or its id) identifies the person, so one person interviewed
    twice counts once.
    """
    column = role_column(table, "participant")  # the study's own header, declared or usual (Participante)
    base = table[column].astype("string") if column is not None else table["doc_id"].astype("string")
    if "speaker" not in table.columns:
        return base
    speakers = table.groupby("doc_id")["speaker"].transform("nunique")
    return base.where(speakers <= 1, base + ":" + table["speaker"].astype("string"))


@returns("codings")
@takes(codings="codings")
def rollup(codings: pd.DataFrame, *, to: Literal["dimension", "parent"] = "dimension") -> pd.DataFrame:
    """Codings with each code replaced by its dimension or parent (one row per segment and code).

    Examples
    --------
    >>> c = pd.DataFrame({"segment_id": ["s", "s"], "doc_id": "d", "code_id": ["a.x", "a.y"]})
    >>> rollup(c)["code_id"].tolist()
    ['a']
    """
    codings = coded(codings)
    if to == "dimension":
        mapped = codings["code_id"].str.split(".").str[0]
    elif to == "parent":
        ids = codings["code_id"]
        mapped = ids.where(~ids.str.contains(r"\."), ids.str.rsplit(".", n=1).str[0])
    else:
        raise ParameterError(f"to must be 'dimension' or 'parent', got {to!r}.")
    return codings.assign(code_id=mapped).drop_duplicates(["segment_id", "code_id"]).reset_index(drop=True)


@returns("frequencies")
@takes(codings="codings", segments="segments[doc_id]")
def code_frequencies(codings: pd.DataFrame, *, segments: pd.DataFrame | None = None,
                     include_ancestors: bool = False) -> pd.DataFrame:
    """Per code: coded segments, documents and participants, and the share of participants.

    Parameters
    ----------
    codings : DataFrame
        ``segment_id``, ``doc_id``, ``code_id`` (+ ``participant``, ``speaker`` when known).
    segments : DataFrame, optional
        All participant segments, so that the share of participants counts
        those who never got a code; by default the participants in ``codings``.
    include_ancestors : bool
        Also count each parent and dimension over the segments of its sub-codes.

    Returns
    -------
    DataFrame
        Sorted by dimension and frequency:

        {columns}
    """
    codings = coded(codings)
    if segments is not None and segments.attrs.get("roles") and not codings.attrs.get("roles"):
        # A table the user merged or built lost the declared roles pandas carries in attrs; the project's
        # segments still have them, and the study is the same.
        codings = codings.copy()
        codings.attrs["roles"] = dict(segments.attrs["roles"])
    codings = codings.assign(_who=participant_keys(codings))
    if include_ancestors:
        parts = [codings]
        levels = codings["code_id"].str.count(r"\.")
        for depth in range(int(levels.max()) if len(codings) else 0):
            up = codings[levels > depth]
            parts.append(up.assign(code_id=up["code_id"].str.split(".").str[: depth + 1].str.join(".")))
        codings = pd.concat(parts, ignore_index=True).drop_duplicates(["segment_id", "code_id"])
    if segments is not None:
        population = participant_keys(segments[segments["speaker_role"] == "participant"]
                                      if "speaker_role" in segments.columns else segments).nunique()
    else:
        population = codings["_who"].nunique()
    grouped = codings.groupby("code_id")
    out = pd.DataFrame({
        "n_segments": grouped["segment_id"].nunique(),
        "n_documents": grouped["doc_id"].nunique(),
        "n_participants": grouped["_who"].nunique(),
    }).reset_index()
    out["pct_participants"] = (100 * out["n_participants"] / population).round(1) if population else 0.0
    out.insert(1, "dimension", out["code_id"].str.split(".").str[0])
    out.insert(2, "depth", out["code_id"].str.count(r"\."))
    return out.sort_values(["dimension", "n_segments", "code_id"], ascending=[True, False, True]).reset_index(drop=True)


@returns("code_by_attribute")
def code_by_attribute(codings: pd.DataFrame, by: str | Sequence[str], *,
                      count: Literal["segments", "participants"] = "segments") -> pd.DataFrame:
    """Code × attribute: counts with row and column percentages (a long table; pivot it to read).

    Parameters
    ----------
    by : str or list of str
        Attribute column(s): ``district``, ``role``, ``stage``, ``round`` …
    count : {"segments", "participants"}
        What is counted in each cell.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> c = pd.DataFrame({"segment_id": ["1", "2", "3"], "doc_id": "d", "code_id": ["x", "x", "y"],
    ...                   "district": ["A", "B", "A"]})
    >>> table = code_by_attribute(c, "district")
    >>> table.pivot(index="code_id", columns="district", values="n").fillna(0).values.tolist()
    [[1.0, 1.0], [1.0, 0.0]]
    """
    by = [by] if isinstance(by, str) else list(by)
    by = [b if b in codings.columns else (role_column(codings, b) or b) for b in by]  # a role: its column
    unknown = [b for b in by if b not in codings.columns]
    if unknown:
        own = NOT_ATTRIBUTES
        present = [str(c) for c in codings.columns if c not in own]
        raise ParameterError(f"{', '.join(map(repr, unknown))}: not a column of these codings; their attribute "
                             f"columns are {', '.join(present) or '(none)'} (a role such as 'stage' or 'site' "
                             "works too, when a column plays it).")
    codings = coded(check(codings, "codings", columns=["segment_id", "doc_id", "code_id", *by], values=False,
                          where="codings, given to code_by_attribute()"))
    key = "segment_id" if count == "segments" else "_who"
    if count == "participants":
        codings = codings.assign(_who=participant_keys(codings))
    elif count != "segments":
        raise ParameterError(f"count must be 'segments' or 'participants', got {count!r}.")
    if codings.empty:  # nothing coded yet: an empty table, not an error deep in pandas
        return pd.DataFrame({"code_id": pd.Series(dtype="string"), **{b: codings[b] for b in by},
                             "n": pd.Series(dtype="int64"), "pct_of_code": pd.Series(dtype="float64"),
                             "pct_of_group": pd.Series(dtype="float64")})
    cells = codings.groupby(["code_id", *by], dropna=False)[key].nunique().rename("n").reset_index()
    code_total = codings.groupby("code_id")[key].nunique()
    group_total = codings.groupby(by, dropna=False)[key].nunique()
    cells["pct_of_code"] = (100 * cells["n"] / cells["code_id"].map(code_total)).round(1)
    index = pd.MultiIndex.from_frame(cells[by]) if len(by) > 1 else cells[by[0]]
    cells["pct_of_group"] = (100 * cells["n"].to_numpy() / group_total.reindex(index).to_numpy()).round(1)
    return cells.sort_values(["code_id", *by]).reset_index(drop=True)


@returns("cooccurrence")
@takes(codings="codings")
def cooccurrence(codings: pd.DataFrame, *, level: Literal["segment", "document"] = "segment") -> pd.DataFrame:
    """Pairs of codes applied to the same segment (or document), with counts and Jaccard similarity.

    Returns
    -------
    DataFrame
        Sorted by ``n``:

        {columns}

    Examples
    --------
    >>> c = pd.DataFrame({"segment_id": ["1", "1", "2"], "doc_id": "d", "code_id": ["x", "y", "x"]})
    >>> cooccurrence(c)[["code_a", "code_b", "n", "jaccard"]].values.tolist()
    [['x', 'y', 1, 0.5]]
    """
    codings = coded(codings)
    if level not in ("segment", "document"):
        raise ParameterError(f"level must be 'segment' or 'document', got {level!r}.")
    unit = "segment_id" if level == "segment" else "doc_id"
    sets = codings.groupby(unit)["code_id"].agg(lambda s: sorted(set(s)))
    counts: dict[tuple[str, str], int] = {}
    for codes in sets:
        for pair in combinations(codes, 2):
            counts[pair] = counts.get(pair, 0) + 1
    units_per_code = codings.groupby("code_id")[unit].nunique()
    rows = [{"code_a": a, "code_b": b, "n": n,
             "jaccard": round(n / (units_per_code[a] + units_per_code[b] - n), 4)} for (a, b), n in counts.items()]
    frame = pd.DataFrame(rows, columns=["code_a", "code_b", "n", "jaccard"])
    return frame.sort_values(["n", "code_a", "code_b"], ascending=[False, True, True]).reset_index(drop=True)
