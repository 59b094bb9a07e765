"""The coder contract (scikit-learn estimators): ``fit(codebook, decisions=None)`` → self, ``suggest(segments)``.

Constructor arguments are stored unchanged; ``fit`` checks them against the
coder's declared ``_parameter_constraints`` (scikit-learn's declarations,
:class:`~qualcode.errors.ParameterError` naming the parameter, its value and
what is allowed), does the work and sets learned state ending in ``_``, and
never changes a parameter (an embedder object it fits is copied first);
``suggest`` before ``fit`` raises ``NotFittedError``. Subclassing
:class:`sklearn.base.BaseEstimator` gives ``get_params``, ``clone`` and a
notebook repr. Every coder returns the suggestions table declared in
:data:`qualcode.schemas.SUGGESTIONS`.

What a coder needs and how it may be run is declared by its
:meth:`BaseCoder.coder_tags` (:class:`CoderTags`), read instead of testing
its class; :meth:`BaseCoder.unsupported` says why a codebook gives it
nothing to work with. Coders register under their ``method`` name:
:func:`get_coder` and :func:`available_coders` are what ``suggest``, the
command line and :class:`~qualcode.coders.EnsembleCoder` use. The named
checks of the contract are in :mod:`qualcode.testing`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pandas as pd
from pandas.api.types import pandas_dtype
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

# scikit-learn's own parameter declarations (Interval, StrOptions, HasMethods …) and their checker: the
# mechanism behind every sklearn estimator's `_parameter_constraints`, kept by sklearn since 1.2 (our
# floor is 1.3), so qualcode's coders declare their parameters the way sklearn's estimators do.
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from ..errors import ParameterError
from ..schemas import SUGGESTIONS, check, empty_table

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..codebook import Codebook

__all__ = ["SUGGESTION_COLUMNS", "BaseCoder", "CoderTags", "NotFittedError", "available_coders", "coder_params",
           "empty_suggestions", "get_coder", "method_support", "participant_units", "register_coder",
           "skipped_roles"]

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
        # Extra columns (an ensemble's rank) stay, empty: a caller reading them must not meet a KeyError.
        empty = empty_suggestions()
        for name in frame.columns:
            if name not in empty.columns:
                empty[name] = frame[name].iloc[:0]
        return empty
    for column in SUGGESTIONS:
        if column.name not in frame.columns:
            frame[column.name] = None
        if column.dtype != "object":
            frame[column.name] = frame[column.name].astype(pandas_dtype(column.dtype))
    extra = [c for c in frame.columns if c not in SUGGESTION_COLUMNS]
    return frame[SUGGESTION_COLUMNS + extra].reset_index(drop=True)


def skipped_roles(skip_roles: str | Sequence[str]) -> list[str]:
    """The roles a ``skip_roles`` parameter names: one string is one role (``"interviewer"``), not its letters.

    Examples
    --------
    >>> skipped_roles("interviewer"), skipped_roles(("interviewer", "unknown"))
    (['interviewer'], ['interviewer', 'unknown'])
    """
    return [skip_roles] if isinstance(skip_roles, str) else list(skip_roles)


def participant_units(segments: pd.DataFrame, skip_roles: str | Sequence[str]) -> pd.DataFrame:
    """The segments a coder may suggest for: every role but ``skip_roles`` (interviewers by default).

    Raises
    ------
    ParameterError
        If ``segments`` lacks the columns coders need.
    """
    check(segments, "segments", columns=UNIT_COLUMNS, values=False, where="segments")
    units = segments[~segments["speaker_role"].isin(skipped_roles(skip_roles))]
    return units.reset_index(drop=True)


@dataclass(frozen=True)
class CoderTags:
    """What a coder needs and how it may be run, read instead of ``isinstance`` (scikit-learn's tags, for coders).

    Attributes
    ----------
    needs_keywords : bool
        Suggests only from the codebook's keywords: a codebook without any gives it nothing.
    needs_examples : bool
        Suggests only from the codebook's example quotes.
    needs_decisions : bool
        Learns from accepted and rejected decisions: nothing before the first ones.
    language_aware : bool
        Reads each segment's ``language`` (matches words of that language).
    uses_embedder : bool
        Encodes texts with an embedder (a model to load; vectors go to the cache) held as ``embedder_`` (a
        :class:`~qualcode.coders.embedders.CachedEmbedder` once fitted), and lists them with
        ``texts_to_encode(segments)`` (so a round by parts can encode them as one call would).
    per_segment : bool
        A segment's suggestions depend on that segment only, so the segments may be suggested by chunks of
        documents in worker processes and the parts joined.
    suggests_in_parts : bool
        Has ``prepare(segments)`` and ``suggest_part(segments)``: encodes a whole batch once, then scores it
        part by part with the same result (how an ensemble bounds memory on a large codebook).
    remote : bool
        Sends segments to a server (the LLM coder) and has ``answered(segments)``: the scores of segments it
        has answered before, without a request. An ensemble fits its fusion on those for decided segments
        instead of asking the server about every decided segment again.
    """

    needs_keywords: bool = False
    needs_examples: bool = False
    needs_decisions: bool = False
    language_aware: bool = False
    uses_embedder: bool = False
    per_segment: bool = True
    suggests_in_parts: bool = False
    remote: bool = False


_REGISTRY: dict[str, type[BaseCoder]] = {}
_C = TypeVar("_C", bound="type[BaseCoder]")


def register_coder(cls: _C) -> _C:
    """Register a coder class under its ``method`` name (a class decorator), for :func:`get_coder`.

    Examples
    --------
    >>> @register_coder  # doctest: +SKIP
    ... class RegexCoder(BaseCoder):
    ...     method = "regex"
    """
    name = getattr(cls, "method", "")
    if not isinstance(name, str) or not name or name == BaseCoder.method:
        raise ParameterError(f"{cls.__name__} needs a 'method' name of its own to be registered.")
    _REGISTRY[name] = cls
    return cls


def available_coders() -> list[str]:
    """The names :func:`get_coder` (``qc.suggest(methods=...)``, ``qualcode suggest --methods``) knows, sorted.

    Examples
    --------
    >>> from qualcode.coders import available_coders
    >>> available_coders()
    ['embedding', 'ensemble', 'keyword', 'learned', 'llm']
    """
    return sorted(_REGISTRY)


def get_coder(name: str, **params: Any) -> BaseCoder:
    """A new, unfitted coder of the method ``name`` with ``params`` (each checked when it is fitted).

    Raises
    ------
    ParameterError
        For an unknown name (the valid ones are listed) or a parameter the coder does not take.

    Examples
    --------
    >>> from qualcode.coders import get_coder
    >>> get_coder("keyword", window=2)
    KeywordCoder(window=2)
    """
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        near = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ParameterError(f"unknown coder {name!r}{hint}; choose from {available_coders()}.")
    allowed = sorted(cls._get_param_names())
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParameterError(f"the {name} coder takes no parameter {unknown}; its parameters are {allowed}.")
    return cls(**params)


def method_support(codebook: Codebook) -> dict[str, str | None]:
    """Per registered method (the ensemble aside): ``None`` when the codebook gives it something to suggest
    from, else why not and what to add.

    Examples
    --------
    >>> import qualcode as qc
    >>> support = method_support(qc.load_codebook("nic_study"))
    >>> support["embedding"], support["learned"]
    (None, 'learns from decisions: review some suggestions first')
    >>> support["llm"].split(":")[0]
    'needs your own OpenAI-compatible server'
    """
    out: dict[str, str | None] = {}
    for name in available_coders():
        coder = get_coder(name)
        if "coders" not in coder.get_params(deep=False):  # a coder of coders (the ensemble) is no method
            reason = coder.unsupported(codebook)
            if reason is None and coder.coder_tags().needs_decisions:
                reason = "learns from decisions: review some suggestions first"
            out[name] = reason
    return out


def coder_params(coders: Sequence[BaseCoder]) -> tuple[str, str]:
    """The coders' names and parameters as stable JSON, and a 16-hex-digit SHA-256 of it (provenance).

    Objects (an embedder, a cache) are written as their class and ``name``; the same settings give the same
    hash in every session.

    Examples
    --------
    >>> from qualcode.coders import KeywordCoder
    >>> text, digest = coder_params([KeywordCoder(window=2, skip_roles="interviewer")])
    >>> text
    '[{"method": "keyword", "params": {"lang": null, "min_score": 0.0, "skip_roles": "interviewer", "window": 2}}]'
    >>> len(digest)
    16
    """
    described = [{"method": getattr(c, "method", type(c).__name__),
                  "params": _params(c)} for c in coders]
    text = json.dumps(described, sort_keys=True, ensure_ascii=False)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# A parameter holding a credential (an LLM server's api_key …) is recorded as set, never its value: the run's
# parameters are stored in the project file, which is shared.
_SECRET = "***"


def _params(estimator: BaseEstimator) -> dict[str, object]:
    """An estimator's parameters as JSON data, credentials masked."""
    return {k: _SECRET if v and any(w in k.lower() for w in ("key", "token", "secret", "password")) else _plain(v)
            for k, v in sorted(estimator.get_params(deep=False).items())}


def _plain(value: object) -> object:
    """A parameter as JSON data: numbers and text as they are, coders by their parameters, objects by class."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, BaseEstimator):
        return {"class": type(value).__name__, "params": _params(value)}
    name = getattr(value, "name", None)
    described: dict[str, object] = {"class": type(value).__name__}
    if isinstance(name, str):
        described["name"] = name
    return described


class BaseCoder(BaseEstimator):
    """Base class of qualcode's coders; see the module docstring for the contract.

    A subclass declares ``_parameter_constraints`` (as scikit-learn's estimators do) and calls
    :meth:`_validate_params` first thing in ``fit``.
    """

    method = "base"
    _parameter_constraints: ClassVar[dict[str, list]] = {}
    #: How to fix a refused parameter, said after what is allowed (defaults cover the shared parameters).
    _parameter_hints: ClassVar[dict[str, str]] = {
        "cache": "pass project.embedding_cache() (with qualcode.Project.open(path) as project: ...) or "
                 "qualcode.coders.MemoryEmbeddingCache(), not a path",
        "embedder": "use 'use', 'tfidf', 'st:<model path>' or an object with name and encode()",
        "skip_roles": "give one role ('interviewer') or a tuple of roles (('interviewer', 'unknown'))",
    }

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``.

        Raises
        ------
        ParameterError
            Naming the parameter, its value and what is allowed.
        """
        try:
            validate_parameter_constraints(self._parameter_constraints, self.get_params(deep=False),
                                           caller_name=type(self).__name__)
        except InvalidParameterError as exc:
            name = next((n for n in self._parameter_constraints if f"'{n}' parameter" in str(exc)), "")
            hint = self._parameter_hints.get(name, f"give {type(self).__name__} a value of that kind")
            raise ParameterError(f"{exc} To fix it, {hint}.") from None

    def coder_tags(self) -> CoderTags:
        """What this coder needs and how it may be run (see :class:`CoderTags`)."""
        return CoderTags()

    def unsupported(self, codebook: Codebook) -> str | None:
        """Why ``codebook`` gives this coder nothing to suggest from (what to add to it), or ``None``."""
        tags = self.coder_tags()
        if tags.needs_keywords and not any(any(c.keywords.values()) for c in codebook):
            return "no code has keywords: add keywords to the codes (keywords: {es: [...], en: [...]})"
        if tags.needs_examples and not any(any(c.examples.values()) for c in codebook):
            return "no code has examples: add example quotes to the codes (examples: {es: [...], en: [...]})"
        return None

    def _check_fitted(self) -> None:
        if not hasattr(self, "codebook_version_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call .fit(codebook) first.")

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> Self:
        raise NotImplementedError  # pragma: no cover

    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError  # pragma: no cover

    def texts_to_encode(self, segments: pd.DataFrame) -> list[str]:
        """The texts ``suggest(segments)`` hands its embedder, in that order (a text may repeat).

        Empty for a coder without an embedder; a coder tagged ``uses_embedder`` lists them, encoding nothing.
        """
        return []
