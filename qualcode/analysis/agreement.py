"""Intercoder agreement: percent agreement, Cohen's κ per code, Krippendorff's α, and what to discuss.

Codings are turned into a yes/no decision per (segment, code, coder) over
the segments each coder reviewed: a coder who reviewed a segment and did not
give a code said "no"; a coder who never reviewed it is missing data (α
handles that, κ compares only segments both reviewed). The machine can be a
coder too: pass suggestions with a ``coder`` column.

Implementations: scikit-learn's ``cohen_kappa_score`` and the
``krippendorff`` package.

References
----------
Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological
Measurement, 20(1), 37–46.
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for Communication.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..schemas import coded, returns, takes

__all__ = ["agreement_matrix", "cohen_kappa", "disagreements", "krippendorff_alpha", "percent_agreement"]


def _reviewed(codings: pd.DataFrame, coders: Sequence[str],
              reviewed: Mapping[str, Sequence[str]] | Sequence[str] | None) -> dict[str, set[str]]:
    if reviewed is None:
        every = set(codings["segment_id"])
        return dict.fromkeys(coders, every)
    if isinstance(reviewed, Mapping):
        return {c: set(reviewed.get(c, ())) for c in coders}
    every = set(reviewed)
    return dict.fromkeys(coders, every)


@takes(codings="codings[segment_id, code_id, coder]")
def agreement_matrix(codings: pd.DataFrame, *, coders: Sequence[str] | None = None,
                     reviewed: Mapping[str, Sequence[str]] | Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (segment, code), one column per coder: 1 (coded), 0 (reviewed, not coded), NaN (not reviewed).

    Parameters
    ----------
    codings : DataFrame
        ``segment_id``, ``code_id``, ``coder`` (rows with a ``decision`` other
        than accept/manual are ignored).
    reviewed : list of segment ids, or coder → list, optional
        The segments each coder reviewed; default: every segment in the table.

    Raises
    ------
    ParameterError
        If a coder named in ``coders`` coded nothing in the table and
        ``reviewed`` does not say what they reviewed: their column would be
        all zeros, and κ a silent 0 (a misspelt name, or the wrong table).
    """
    codings = coded(codings)
    coders = list(coders) if coders is not None else sorted(codings["coder"].unique())
    present = set(codings["coder"])
    absent = [c for c in coders if c not in present and (reviewed is None or (isinstance(reviewed, Mapping)
                                                                              and c not in reviewed))]
    if absent:
        raise ParameterError(f"coder(s) {', '.join(map(repr, absent))} coded nothing in this table (its coders: "
                             f"{', '.join(map(repr, sorted(present))) or 'none'}); check the name, or, if they "
                             "reviewed segments and coded none, give those segments with reviewed=.")
    seen = _reviewed(codings, coders, reviewed)
    units = sorted(set().union(*seen.values()))
    codes = sorted(codings["code_id"].unique())
    index = pd.MultiIndex.from_product([units, codes], names=["segment_id", "code_id"])
    frame = pd.DataFrame(index=index)
    for coder in coders:
        given = set(zip(*codings.loc[codings["coder"] == coder, ["segment_id", "code_id"]].T.values, strict=True))
        values = np.array([1.0 if (s, c) in given else 0.0 for s, c in index], dtype=float)
        in_review = np.array([s in seen[coder] for s, _ in index])
        values[~in_review] = np.nan
        frame[coder] = values
    return frame


@takes(codings="codings[segment_id, code_id, coder]")
def percent_agreement(codings: pd.DataFrame, coder_a: str, coder_b: str, *,
                      reviewed: Mapping[str, Sequence[str]] | Sequence[str] | None = None) -> float:
    """Share of (segment, code) decisions on which two coders agree (over segments both reviewed)."""
    matrix = agreement_matrix(codings, coders=[coder_a, coder_b], reviewed=reviewed).dropna()
    return float((matrix[coder_a] == matrix[coder_b]).mean()) if len(matrix) else float("nan")


@returns("agreement")
@takes(codings="codings[segment_id, code_id, coder]")
def cohen_kappa(codings: pd.DataFrame, coder_a: str, coder_b: str, *,
                reviewed: Mapping[str, Sequence[str]] | Sequence[str] | None = None) -> pd.DataFrame:
    """Cohen's κ per code and overall (all codes pooled) between two coders.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> a = [1, 1, 0, 0, 1, 0, 1, 0, 0, 0]; b = [1, 0, 0, 0, 1, 0, 1, 1, 0, 0]
    >>> rows = [(str(i), "x", who) for who, v in (("ana", a), ("luis", b)) for i, y in enumerate(v) if y]
    >>> c = pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"])
    >>> float(round(cohen_kappa(c, "ana", "luis", reviewed=[str(i) for i in range(10)])["kappa"].iloc[0], 4))
    0.5833
    """
    from sklearn.metrics import cohen_kappa_score

    matrix = agreement_matrix(codings, coders=[coder_a, coder_b], reviewed=reviewed).dropna()
    rows = []
    groups = [(code, part) for code, part in matrix.groupby(level="code_id")] + [("all", matrix)]
    for code, part in groups:
        a, b = part[coder_a].to_numpy(), part[coder_b].to_numpy()
        defined = len(set(a) | set(b)) > 1
        kappa = float(cohen_kappa_score(a, b)) if defined else float("nan")
        rows.append({"code_id": code, "n_units": len(part), "n_a": int(a.sum()), "n_b": int(b.sum()),
                     "n_both": int((a * b).sum()), "agreement": float((a == b).mean()) if len(a) else float("nan"),
                     "kappa": kappa})
    return pd.DataFrame(rows, columns=["code_id", "n_units", "n_a", "n_b", "n_both", "agreement", "kappa"])


@returns("alpha")
@takes(codings="codings[segment_id, code_id, coder]")
def krippendorff_alpha(codings: pd.DataFrame, *, coders: Sequence[str] | None = None,
                       reviewed: Mapping[str, Sequence[str]] | Sequence[str] | None = None) -> pd.DataFrame:
    """Krippendorff's α (nominal) per code and overall, for any number of coders and missing data.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> a = [1, 1, 0, 0, 1, 0, 1, 0, 0, 0]; b = [1, 0, 0, 0, 1, 0, 1, 1, 0, 0]
    >>> rows = [(str(i), "x", who) for who, v in (("ana", a), ("luis", b)) for i, y in enumerate(v) if y]
    >>> c = pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"])
    >>> float(round(krippendorff_alpha(c, reviewed=[str(i) for i in range(10)])["alpha"].iloc[0], 4))
    0.6042
    """
    import krippendorff

    matrix = agreement_matrix(codings, coders=coders, reviewed=reviewed)
    rows = []
    groups = [(code, part) for code, part in matrix.groupby(level="code_id")] + [("all", matrix)]
    for code, part in groups:
        data = part.to_numpy().T  # coders × units
        values = data[~np.isnan(data)]
        if len(set(values.tolist())) < 2:
            alpha = float("nan")
        else:
            alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
        rows.append({"code_id": code, "n_units": part.shape[0], "n_coders": part.shape[1], "alpha": alpha})
    return pd.DataFrame(rows, columns=["code_id", "n_units", "n_coders", "alpha"])


@returns("disagreements")
@takes(codings="codings[segment_id, code_id, coder]", segments="segments[segment_id, doc_id, text]")
def disagreements(codings: pd.DataFrame, coder_a: str, coder_b: str, *, segments: pd.DataFrame | None = None,
                  reviewed: Mapping[str, Sequence[str]] | Sequence[str] | None = None) -> pd.DataFrame:
    """The (segment, code) pairs one coder gave and the other did not: what to discuss.

    Returns
    -------
    DataFrame
        Sorted by code so a meeting can go code by code:

        {columns}
    """
    matrix = agreement_matrix(codings, coders=[coder_a, coder_b], reviewed=reviewed).dropna()
    differ = matrix[matrix[coder_a] != matrix[coder_b]].reset_index()
    differ["coded_by"] = np.where(differ[coder_a] == 1, coder_a, coder_b)
    differ["not_by"] = np.where(differ[coder_a] == 1, coder_b, coder_a)
    out = differ[["segment_id", "code_id", "coded_by", "not_by"]]
    if segments is not None:
        out = out.merge(segments[["segment_id", "doc_id", "text"]], on="segment_id", how="left")
    return out.sort_values(["code_id", "segment_id"]).reset_index(drop=True)
