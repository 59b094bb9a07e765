"""The coder contract (scikit-learn estimators): ``fit(codebook, decisions=None)`` → self, ``suggest(segments)``.

Constructor arguments are stored unchanged; ``fit`` does the work and sets
learned state ending in ``_``; ``suggest`` before ``fit`` raises
``NotFittedError``. Subclassing :class:`sklearn.base.BaseEstimator` gives
``get_params``, ``clone`` and a notebook repr. Every coder returns the
suggestions table declared in :data:`qualcode.schemas.SUGGESTIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
from pandas.api.types import pandas_dtype
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ..schemas import SUGGESTIONS, check, empty_table

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..codebook import Codebook

__all__ = ["SUGGESTION_COLUMNS", "BaseCoder", "NotFittedError", "empty_suggestions", "participant_units"]

SUGGESTION_COLUMNS = [c.name for c in SUGGESTIONS]
#: The segment columns every coder reads.
UNIT_COLUMNS = ["segment_id", "doc_id", "text", "start", "speaker_role", "language"]
#: The :func:`qualcode.schemas.takes` spec of a coder's ``segments`` argument.
SEGMENTS_IN = f"segments[{', '.join(UNIT_COLUMNS)}]"


def empty_suggestions() -> pd.DataFrame:
    """An empty suggestions table with the declared columns and dtypes."""
    return empty_table("suggestions")


def typed_suggestions(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    """Rows → the suggestions table, columns in the declared order and dtypes."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    if frame.empty:
        return empty_suggestions()
    for column in SUGGESTIONS:
        if column.name not in frame.columns:
            frame[column.name] = None
        if column.dtype != "object":
            frame[column.name] = frame[column.name].astype(pandas_dtype(column.dtype))
    extra = [c for c in frame.columns if c not in SUGGESTION_COLUMNS]
    return frame[SUGGESTION_COLUMNS + extra].reset_index(drop=True)


def participant_units(segments: pd.DataFrame, skip_roles: Sequence[str]) -> pd.DataFrame:
    """The segments a coder may suggest for: every role but ``skip_roles`` (interviewers by default).

    Raises
    ------
    ParameterError
        If ``segments`` lacks the columns coders need.
    """
    check(segments, "segments", columns=UNIT_COLUMNS, values=False, where="segments")
    units = segments[~segments["speaker_role"].isin(list(skip_roles))]
    return units.reset_index(drop=True)


class BaseCoder(BaseEstimator):
    """Base class of qualcode's coders; see the module docstring for the contract."""

    method = "base"

    def _check_fitted(self) -> None:
        if not hasattr(self, "codebook_version_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call .fit(codebook) first.")

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> Self:
        raise NotImplementedError  # pragma: no cover

    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError  # pragma: no cover
