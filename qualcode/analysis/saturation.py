"""Code saturation: when did new interviews stop adding new codes?

Pure functions over any codings table with ``doc_id`` and ``code_id`` (one
row per coded occurrence; only presence counts; a ``count`` column, if any,
counts a code as present when above zero).

This measures *code* saturation (no new codes), not meaning saturation (no
new nuance within a code; Hennink, Kaiser & Marconi 2017), and it is one lens
on a study, not proof: reflexive thematic analysis rejects the idea (Braun &
Clarke 2019). Results always say which method and parameters they used.

References
----------
Guest, G., Namey, E., & Chen, M. (2020). A simple method to assess and report thematic saturation in
qualitative research. PLOS ONE, 15(5), e0232076.
Francis, J. J., et al. (2010). What is an adequate sample size? Operationalising data saturation for
theory-based interview studies. Psychology & Health, 25(10), 1229–1245.
Chao, A. (1987). Estimating the population size for capture-recapture data with unequal catchability.
Biometrics, 43(4), 783–791.
Gotelli, N. J., & Chao, A. (2013). Measuring and estimating species richness, species diversity, and biotic
similarity from sampling data. In Encyclopedia of Biodiversity (2nd ed., Vol. 5, pp. 195–211). Academic Press.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..io.dates import is_slashed_date, read_dates
from ..io.roles import role_column
from ..messages import say
from ..schemas import check_lang, coded, returns, takes

__all__ = ["first_appearance", "saturation", "saturation_orderings", "unseen_codes"]




def _present(codings: pd.DataFrame) -> pd.DataFrame:
    if "count" in codings.columns:
        codings = codings[pd.to_numeric(codings["count"], errors="coerce").fillna(0) > 0]
    return coded(codings)


def _doc_order(codings: pd.DataFrame, order: str | Sequence[str] | None, lang: str = "en") -> tuple[list[str], str]:
    """The documents in analysis order, and that order in words (for the verdict: which order, and why)."""
    if order is None:
        return list(dict.fromkeys(codings["doc_id"])), say("order.appearance", lang)
    if isinstance(order, str):
        order = role_column(codings, order) or order  # a role (date, round): the study's column for it
        if order not in codings.columns:
            raise ParameterError(f"order {order!r} is not a column of the codings table; give a column "
                                 f"(date, stage, round, …) or the list of document ids in order.")
        firsts = codings.groupby("doc_id", sort=False)[order].first()
        frame = pd.DataFrame({"doc_id": firsts.index, "key": firsts.to_numpy()})
        missing = int(frame["key"].map(lambda v: v is None or (isinstance(v, str) and not v.strip())
                                       or (not isinstance(v, str) and bool(pd.isna(v)))).sum())
        how = say("order.by", lang, column=order)
        # Dates written as dd/mm/yyyy sort wrongly as text (02/04/2024 before 09/12/2023): order by the date.
        dates = read_dates(frame["key"])
        if dates is not None:
            frame["key"] = dates.dates.to_numpy()
            reading = say({"iso": "order.iso", "day first": "order.day_first",
                           "month first": "order.month_first"}[dates.order], lang)
            if dates.guessed:
                reading += "; " + say("order.guessed", lang, values=", ".join(dates.ambiguous[:3]))
            if dates.unreadable:  # ordered last, and said: never a silent fall back to text order
                reading += "; " + say("order.unreadable", lang, n=len(dates.unreadable),
                                      values=", ".join(repr(v) for v in dates.unreadable[:3]))
            how += f" ({reading})"
        elif frame["key"].map(is_slashed_date).any():
            how += f" ({say('order.text', lang)})"  # dates the column cannot be read as (day and month mixed)
        if missing:
            how += "; " + say("order.missing", lang, n=missing, column=order)
        ordered = frame.sort_values(["key", "doc_id"], kind="stable", na_position="last")
        return list(ordered["doc_id"]), how
    listed = list(order)
    unknown = sorted(set(codings["doc_id"]) - set(listed))
    if unknown:
        raise ParameterError(f"the order does not list document(s) {unknown[:5]}; list every coded document.")
    if len(set(listed)) != len(listed):
        raise ParameterError("the order lists a document twice.")
    return listed, say("order.given", lang)


@returns("first_appearance")
@takes(codings="codings[doc_id, code_id]")
def first_appearance(codings: pd.DataFrame, order: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Per document in analysis order: the codes it has, the codes new to the study, the running total.

    Parameters
    ----------
    codings : DataFrame
        ``doc_id``, ``code_id`` (e.g. :func:`qualcode.coded_quotes`).
    order : column name or list of doc ids, optional
        ``"date"``, ``"round"``, … (documents sorted by it, ties by id), an
        explicit list (documents without codes may be listed), or ``None``
        for the order documents first appear in the table.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> c = pd.DataFrame({"doc_id": ["a", "a", "b", "c"], "code_id": ["x", "y", "x", "z"]})
    >>> first_appearance(c)[["doc_id", "n_new", "cumulative"]].values.tolist()
    [['a', 2, 2], ['b', 0, 2], ['c', 1, 3]]
    """
    codings = _present(codings)
    docs, _ = _doc_order(codings, order)
    by_doc = codings.groupby("doc_id")["code_id"].agg(lambda s: sorted(set(s))).to_dict()
    seen: set[str] = set()
    rows = []
    for position, doc in enumerate(docs, 1):
        codes = by_doc.get(doc, [])
        new = [c for c in codes if c not in seen]
        seen.update(new)
        rows.append({"position": position, "doc_id": doc, "n_codes": len(codes), "n_new": len(new),
                     "cumulative": len(seen), "new_codes": new})
    return pd.DataFrame(rows, columns=["position", "doc_id", "n_codes", "n_new", "cumulative", "new_codes"])


def _guest(new: list[int], base: int, run: int, threshold: float, lang: str) -> dict:
    n = len(new)
    if n < base + run:
        return {"saturated": False, "point": None, "notation": say("verdict.too_few", lang, n=n, base=base, run=run),
                "base_codes": sum(new[:base]), "windows": ""}
    base_codes = sum(new[:base])
    if base_codes == 0:
        raise ParameterError(f"no codes in the first {base} documents: the new-information ratio is undefined. "
                             "Start the base later (order) or check the codings.")
    windows = []
    for s in range(base + 1, n - run + 2):  # 1-based window start
        k = sum(new[s - 1:s - 1 + run])
        windows.append(f"{s}–{s + run - 1}: {k}/{base_codes}")
        if k / base_codes <= threshold:
            return {"saturated": True, "point": s - 1, "notation": say("verdict.saturated", lang, point=s - 1, run=run),
                    "base_codes": base_codes, "windows": ", ".join(windows)}
    return {"saturated": False, "point": None, "notation": say("verdict.not_saturated", lang, n=n),
            "base_codes": base_codes, "windows": ", ".join(windows)}


def _francis(new: list[int], init: int, stop: int, lang: str) -> dict:
    n = len(new)
    if n < init + stop:
        return {"saturated": False, "point": None,
                "notation": say("verdict.francis_too_few", lang, n=n, init=init, stop=stop),
                "base_codes": sum(new[:init]), "windows": ""}
    for end in range(init + stop, n + 1):
        if sum(new[end - stop:end]) == 0:
            return {"saturated": True, "point": end,
                    "notation": say("verdict.francis_saturated", lang, point=end, init=init, stop=stop),
                    "base_codes": sum(new[:init]), "windows": ""}
    return {"saturated": False, "point": None,
            "notation": say("verdict.francis_not_saturated", lang, init=init, stop=stop, n=n),
            "base_codes": sum(new[:init]), "windows": ""}


def _groups(codings: pd.DataFrame, by: str | None) -> list[tuple[str, pd.DataFrame]]:
    if by is None:
        return [("all", codings)]
    if not isinstance(by, str):
        raise ParameterError(f"by={by!r}: give one column name (or 'dimension'); to group by several, join them "
                             "into one column first, e.g. codings.assign(group=codings['site'] + ' ' + "
                             "codings['stage']).")
    by = role_column(codings, by) or by  # a role (site, stage): the study's column for it
    if by == "dimension" and "dimension" not in codings.columns:
        codings = codings.assign(dimension=codings["code_id"].str.split(".").str[0])
    if by not in codings.columns:
        raise ParameterError(f"by={by!r} is not a column of the codings table (or 'dimension').")
    return [(str(key), group) for key, group in codings.groupby(by, sort=True)]


@returns("saturation")
@takes(codings="codings[doc_id, code_id]")
def saturation(codings: pd.DataFrame, order: str | Sequence[str] | None = None, *,
               method: Literal["guest", "francis"] = "guest", base: int = 4, run: int = 2,
               threshold: float = 0.05, init: int = 10, stop: int = 3, by: str | None = None,
               lang: str = "en") -> pd.DataFrame:
    """Was code saturation reached, and where? In the notation of the method.

    Parameters
    ----------
    codings : DataFrame
        ``doc_id``, ``code_id``.
    order : column name or list of doc ids, optional
        Analysis order (see :func:`first_appearance`).
    method : {"guest", "francis"}
        Guest, Namey & Chen (2020): base ``base``, run ``run``, new-information
        ``threshold`` (≤, against the codes of the base). Francis et al.
        (2010): initial sample ``init``, stopping criterion ``stop``.
    by : str, optional
        ``"dimension"`` (codes grouped by the first part of their id) or a
        column (``round``, ``district``…): each group computed on its own; a
        group with no codes in its base is reported as ``undefined: …``
        (without ``by`` that case raises).
    lang : {"en", "es"}, default "en"
        Language of the ``notation`` verdict: ``8+2`` / ``saturación 8+2``,
        ``not saturated at 15`` / ``no saturado a los 15``
        (:mod:`qualcode.messages`).

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> new = [5, 4, 3, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    >>> rows = [(f"d{i:02d}", f"c{sum(new[:i]) + j}") for i, n in enumerate(new) for j in range(n)]
    >>> c = pd.DataFrame(rows, columns=["doc_id", "code_id"])
    >>> saturation(c, [f"d{i:02d}" for i in range(15)])["notation"].iloc[0]
    '8+2'
    """
    if method not in ("guest", "francis"):
        raise ParameterError(f"method must be 'guest' or 'francis', got {method!r}.")
    check_lang(lang)
    if method == "guest" and (base < 1 or run < 1 or not 0 <= threshold < 1):
        raise ParameterError("base and run must be at least 1 and threshold in [0, 1).")
    codings = _present(codings)
    rows = []
    order_list, how = _doc_order(codings, order, lang)
    for group, part in _groups(codings, by):
        if by is not None and by != "dimension" and by in codings.columns:
            docs = [d for d in order_list if d in set(part["doc_id"])]
        else:
            docs = order_list
        table = first_appearance(part, docs)
        new = table["n_new"].tolist()
        if method == "guest":
            parameters = say("params.guest", lang, base=base, run=run, threshold=threshold)
            try:
                result = _guest(new, base, run, threshold, lang)
            except ParameterError:
                if by is None:
                    raise
                # One group without codes in its base must not hide the verdicts of the others.
                result = {"saturated": False, "point": None, "notation": say("verdict.undefined", lang, base=base),
                          "base_codes": 0, "windows": ""}
        else:
            result = _francis(new, init, stop, lang)
            parameters = say("params.francis", lang, init=init, stop=stop)
        rows.append({"group": group, "method": method, "parameters": parameters, "order": how,
                     "n_documents": len(docs),
                     "n_codes": int(table["cumulative"].iloc[-1]) if len(table) else 0, **result})
    frame = pd.DataFrame(rows, columns=["group", "method", "parameters", "order", "n_documents", "n_codes",
                                        "base_codes", "saturated", "point", "notation", "windows"])
    frame["point"] = frame["point"].astype("Int64")
    return frame


@returns("saturation_orderings")
@takes(codings="codings[doc_id, code_id]")
def saturation_orderings(codings: pd.DataFrame, *, n_orderings: int = 1000, seed: int = 0,
                         method: Literal["guest", "francis"] = "guest", base: int = 4, run: int = 2,
                         threshold: float = 0.05, init: int = 10, stop: int = 3,
                         by: str | None = None) -> pd.DataFrame:
    """Order-robust saturation: the saturation point over many random orderings of the documents.

    Returns
    -------
    DataFrame
        {columns}
    """
    codings = _present(codings)
    rng = np.random.default_rng(seed)
    docs = list(dict.fromkeys(codings["doc_id"]))
    results: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for _ in range(n_orderings):
        order = [docs[i] for i in rng.permutation(len(docs))]
        table = saturation(codings, order, method=method, base=base, run=run, threshold=threshold, init=init,
                           stop=stop, by=by)
        for group, saturated, point in zip(table["group"], table["saturated"], table["point"], strict=True):
            counts[group] = counts.get(group, 0) + 1
            if saturated:
                results.setdefault(group, []).append(float(point))
    rows = []
    for group, total in counts.items():
        points = np.array(results.get(group, []))
        rows.append({"group": group, "n_orderings": total, "share_saturated": len(points) / total,
                     "median": float(np.median(points)) if len(points) else float("nan"),
                     "q25": float(np.percentile(points, 25)) if len(points) else float("nan"),
                     "q75": float(np.percentile(points, 75)) if len(points) else float("nan")})
    return pd.DataFrame(rows, columns=["group", "n_orderings", "share_saturated", "median", "q25", "q75"])


@returns("unseen_codes")
@takes(codings="codings[doc_id, code_id]")
def unseen_codes(codings: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """How many codes are still unseen? The Chao2 estimator from the code × document incidence matrix.

    Chao2 is the *incidence-based* estimator (Chao 1987): it counts in how many
    documents each code appears, not how often it was coded, which suits
    interviews (a talkative participant does not make a code "common").
    Chao1 is its abundance-based sibling and is not what this computes.
    With the small-sample factor ``(m−1)/m`` and the bias-corrected form when
    no code is in exactly two documents (Gotelli & Chao 2013):

    ``T̂ = K + ((m−1)/m) · Q1² / (2·Q2)`` when ``Q2 > 0``, else
    ``K + ((m−1)/m) · Q1·(Q1−1)/2``, with ``K`` codes observed over ``m``
    documents, ``Q1`` codes in exactly one document and ``Q2`` in exactly two.

    Returns
    -------
    DataFrame
        {columns}
    """
    codings = _present(codings)
    rows = []
    for group, part in _groups(codings, by):
        m = part["doc_id"].nunique()
        incidence = part.drop_duplicates(["doc_id", "code_id"]).groupby("code_id").size()
        k = len(incidence)
        q1 = int((incidence == 1).sum())
        q2 = int((incidence == 2).sum())
        factor = (m - 1) / m if m else 0.0
        total = k + factor * (q1 * q1 / (2 * q2) if q2 > 0 else q1 * (q1 - 1) / 2)
        rows.append({"group": group, "n_documents": m, "observed": k, "q1": q1, "q2": q2,
                     "estimated_total": total, "share_observed": k / total if total else float("nan")})
    return pd.DataFrame(rows, columns=["group", "n_documents", "observed", "q1", "q2", "estimated_total",
                                       "share_observed"])
