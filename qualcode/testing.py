"""Shared checks for coders, public so that a coder written outside qualcode can be held to the same contract.

:func:`coder_checks` yields the contract's named checks, one by one, for
``pytest.mark.parametrize`` (as scikit-learn's ``parametrize_with_checks``);
:func:`check_coder` runs them all at once and returns the fitted coder's suggestions.

Examples
--------
>>> import pytest  # doctest: +SKIP
>>> from qualcode.testing import coder_checks  # doctest: +SKIP
>>> @pytest.mark.parametrize("name, check", list(coder_checks(MyCoder())))  # doctest: +SKIP
... def test_my_coder(name, check):
...     check(codebook, segments)
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
from sklearn.base import clone

# The invalid value scikit-learn's own estimator checks try for a declared constraint.
from sklearn.utils._param_validation import generate_invalid_param_val, make_constraint

from .codebook import Codebook
from .coders.base import BaseCoder, CoderTags, NotFittedError, available_coders, get_coder
from .errors import ParameterError, QualcodeError
from .nlp.normalize import fold_fast
from .schemas import check

if TYPE_CHECKING:
    import numpy as np

__all__ = ["HashingEmbedder", "check_coder", "coder_checks"]

#: A contract check: ``check(codebook, segments, decisions=None)``; raises QualcodeError when the coder breaks it.
Check = Callable[..., None]


class HashingEmbedder:
    """A tiny deterministic embedder for tests: hashed word counts, L2-normalised (no model, no download)."""

    name = "hashing-test-1"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        import hashlib
        import re

        import numpy as np

        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w{4,}", fold_fast(text)):
                h = int(hashlib.md5(word[:6].encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def check_coder(coder, codebook: Codebook, segments: pd.DataFrame,
                decisions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Run every named check of the coder contract (:func:`coder_checks`); return the fitted coder's suggestions.

    The checks work on clones of ``coder``; then ``coder`` itself is fitted, and its suggestions (the same
    when asked twice, in the declared table) are returned, for a test to look at what it suggested.

    Raises
    ------
    QualcodeError
        From the first check the coder breaks, saying what it breaks.
    """
    for _, check_named in coder_checks(coder):
        check_named(codebook, segments, decisions)
    if coder.fit(codebook, decisions) is not coder:
        raise _fail(coder, "fit() must return self")
    out = coder.suggest(segments)
    _check_table(coder, out, codebook, segments)
    again = coder.suggest(segments)
    if not again[["segment_id", "code_id", "score"]].equals(out[["segment_id", "code_id", "score"]]):
        raise _fail(coder, "suggest() is not deterministic")
    return out


# -- the named checks ------------------------------------------------------------------------------------------------


def _fail(coder: BaseCoder, what: str) -> QualcodeError:
    return QualcodeError(f"{type(coder).__name__}: {what}")


def check_parameters_declared(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                              decisions: pd.DataFrame | None = None) -> None:
    """Every constructor parameter has a declared constraint (``_parameter_constraints``), and no other."""
    params = set(coder.get_params(deep=False))
    declared = set(getattr(coder, "_parameter_constraints", {}))
    if params != declared:
        raise _fail(coder, f"parameters without a constraint {sorted(params - declared)}, constraints without a "
                           f"parameter {sorted(declared - params)}")


def check_clone_keeps_parameters(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                                 decisions: pd.DataFrame | None = None) -> None:
    """``clone`` gives an unfitted coder with the same parameters (``get_params``)."""
    twin = clone(coder)
    if twin.get_params(deep=False).keys() != coder.get_params(deep=False).keys():
        raise _fail(coder, "clone() changed the parameters")


def check_invalid_parameters_refused(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                                     decisions: pd.DataFrame | None = None) -> None:
    """``fit`` refuses a value outside each declared constraint with a ParameterError naming the parameter."""
    for name, constraints in getattr(coder, "_parameter_constraints", {}).items():
        tries: list[object] = [object()]  # of no type any parameter takes
        for constraint in constraints:
            try:
                tries.append(generate_invalid_param_val(make_constraint(constraint)))
            except NotImplementedError:  # a type or a protocol: the bare object stands for those
                continue
        for value in tries:
            bad = clone(coder).set_params(**{name: value})
            try:
                bad.fit(codebook, decisions)
            except ParameterError as exc:
                if not re.search(rf"\b{re.escape(name)}\b", str(exc)):
                    raise _fail(coder, f"the error for {name}={value!r} does not name the parameter: {exc}") from None
            except Exception as exc:  # a crash deep in fit is what the declared constraints exist to prevent
                raise _fail(coder, f"fit() with {name}={value!r} raised {type(exc).__name__} instead of a "
                                   f"ParameterError naming {name}: {exc}") from exc
            else:
                if not any(make_constraint(c).is_satisfied_by(value) for c in constraints):
                    raise _fail(coder, f"fit() accepted {name}={value!r}, outside its declared constraints")


def check_not_fitted(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                     decisions: pd.DataFrame | None = None) -> None:
    """``suggest`` before ``fit`` raises ``NotFittedError``."""
    try:
        clone(coder).suggest(segments)
    except NotFittedError:
        return
    raise _fail(coder, "suggest() before fit() must raise NotFittedError")


def _state(value: object) -> object:
    """What must not change in a parameter during ``fit``: plain data and learning objects by content, others by id.

    An embedding cache is shared on purpose, and an encoder that only counts its calls has no fitted state.
    """
    if value is None or isinstance(value, (bool, int, float, str, tuple, list, dict)) or hasattr(value, "fit"):
        return hashlib.sha256(pickle.dumps(value)).hexdigest()
    return id(value)


def check_fit_keeps_parameters(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                               decisions: pd.DataFrame | None = None) -> None:
    """``fit`` returns the coder and changes no parameter (an embedder it fits is its own copy)."""
    fresh = clone(coder)
    before = {k: _state(v) for k, v in fresh.get_params(deep=False).items()}
    if fresh.fit(codebook, decisions) is not fresh:
        raise _fail(coder, "fit() must return self")
    after = {k: _state(v) for k, v in fresh.get_params(deep=False).items()}
    changed = sorted(k for k in before if before[k] != after[k])
    if changed:
        raise _fail(coder, f"fit() changed the parameter(s) {changed}; fit a copy instead")


def check_suggestions_table(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                            decisions: pd.DataFrame | None = None) -> None:
    """The declared suggestions table: scores in [0, 1], the codebook's version and codes, no interviewer turn."""
    out = clone(coder).fit(codebook, decisions).suggest(segments)
    _check_table(coder, out, codebook, segments)


def _check_table(coder: BaseCoder, out: pd.DataFrame, codebook: Codebook, segments: pd.DataFrame,
                 skip: tuple[str, ...] = ("interviewer",)) -> None:
    check(out, "suggestions", values=False, where=f"{type(coder).__name__}.suggest()")
    if not len(out):
        return
    if not out["score"].between(0, 1).all():
        raise _fail(coder, "scores outside [0, 1]")
    if set(out["codebook_version"]) != {codebook.version}:
        raise _fail(coder, "suggestions must record the codebook version")
    if not set(out["code_id"]) <= {c.id for c in codebook}:
        raise _fail(coder, "suggested codes that are not in the codebook")
    roles = segments.set_index("segment_id").loc[out["segment_id"], "speaker_role"]
    if roles.isin(skip).any():
        raise _fail(coder, f"suggested codes for {sorted(set(roles) & set(skip))} turns")


def check_deterministic(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                        decisions: pd.DataFrame | None = None) -> None:
    """Suggesting twice gives the same table, and a refitted clone the same again."""
    first = clone(coder).fit(codebook, decisions)
    out = first.suggest(segments)
    again = first.suggest(segments)
    other = clone(coder).fit(codebook, decisions).suggest(segments)
    key = ["segment_id", "code_id", "score"]
    if not (again[key].equals(out[key]) and other[key].equals(out[key])):
        raise _fail(coder, "suggest() is not deterministic")


def check_no_segments(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                      decisions: pd.DataFrame | None = None) -> None:
    """No segments (or only interviewer turns) give the empty declared table, not an error."""
    fitted = clone(coder).fit(codebook, decisions)
    for part in (segments.iloc[:0], segments[segments["speaker_role"] == "interviewer"]):
        out = fitted.suggest(part)
        check(out, "suggestions", values=False, where=f"{type(coder).__name__}.suggest()")
        if len(out):
            raise _fail(coder, "suggested codes for segments no participant said")


def check_one_role_as_text(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                           decisions: pd.DataFrame | None = None) -> None:
    """``skip_roles="interviewer"`` is that one role, not its letters: no interviewer turn is suggested for."""
    if "skip_roles" not in coder.get_params(deep=False):
        return
    out = clone(coder).set_params(skip_roles="interviewer").fit(codebook, decisions).suggest(segments)
    _check_table(coder, out, codebook, segments, skip=("interviewer",))


def check_tags(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
               decisions: pd.DataFrame | None = None) -> None:
    """The tags are :class:`CoderTags` and true: what learns gives nothing without decisions; parts add up."""
    tags = coder.coder_tags()
    if not isinstance(tags, CoderTags):
        raise _fail(coder, "coder_tags() must return a CoderTags")
    if tags.needs_decisions and len(clone(coder).fit(codebook, None).suggest(segments)):
        raise _fail(coder, "tagged needs_decisions but suggests without any")
    if tags.suggests_in_parts:
        fitted: Any = clone(coder).fit(codebook, decisions)
        whole = fitted.suggest(segments)
        half = segments[segments["doc_id"].isin(list(dict.fromkeys(segments["doc_id"]))[::2])]
        fitted.prepare(segments)
        part = fitted.suggest_part(half).reset_index(drop=True)
        expected = whole[whole["segment_id"].isin(set(half["segment_id"]))].reset_index(drop=True)
        key = ["segment_id", "code_id", "score"]
        if not part[key].equals(expected[key]):
            raise _fail(coder, "suggest_part() differs from suggest() for the same segments")


def check_registered(coder: BaseCoder, codebook: Codebook, segments: pd.DataFrame,
                     decisions: pd.DataFrame | None = None) -> None:
    """A registered method name gives this class back through ``get_coder`` with the same parameters."""
    name = getattr(coder, "method", "")
    if name not in available_coders():
        return
    made = get_coder(name, **coder.get_params(deep=False))
    if type(made) is not type(coder):
        raise _fail(coder, f"get_coder({name!r}) gives a {type(made).__name__}")


_CHECKS: tuple[Callable[..., None], ...] = (
    check_parameters_declared, check_clone_keeps_parameters, check_invalid_parameters_refused, check_not_fitted,
    check_fit_keeps_parameters, check_suggestions_table, check_deterministic, check_no_segments,
    check_one_role_as_text, check_tags, check_registered,
)


def coder_checks(coder: BaseCoder) -> Iterator[tuple[str, Check]]:
    """The coder contract's checks for ``coder``, as ``(name, check)`` pairs (scikit-learn's ``check_estimator``).

    Each ``check(codebook, segments, decisions=None)`` works on clones of ``coder`` and raises a
    :class:`~qualcode.errors.QualcodeError` saying what the coder breaks.

    Examples
    --------
    >>> from qualcode.coders import KeywordCoder
    >>> [name for name, _ in coder_checks(KeywordCoder())][:3]
    ['check_parameters_declared', 'check_clone_keeps_parameters', 'check_invalid_parameters_refused']
    """
    for fn in _CHECKS:
        yield fn.__name__, functools.partial(fn, coder)
