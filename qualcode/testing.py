"""Shared checks for coders, public so that a coder written outside qualcode can be held to the same contract.

Examples
--------
>>> from qualcode.testing import check_coder  # doctest: +SKIP
>>> check_coder(MyCoder(), codebook, segments)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from sklearn.base import clone

from .codebook import Codebook
from .coders.base import NotFittedError
from .errors import QualcodeError
from .nlp.normalize import fold_fast
from .schemas import check

if TYPE_CHECKING:
    import numpy as np

__all__ = ["HashingEmbedder", "check_coder"]


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
    """Assert the coder contract; return the fitted coder's suggestions.

    Checks: parameters survive ``get_params``/``clone``; ``suggest`` before
    ``fit`` raises ``NotFittedError``; ``fit`` returns the coder; the
    suggestions table has the declared columns, scores in [0, 1], the
    codebook's version and codes, and never an interviewer segment; suggesting
    twice gives the same table.
    """
    params = coder.get_params()
    twin = clone(coder)
    if twin.get_params().keys() != params.keys():
        raise QualcodeError(f"{type(coder).__name__}: clone() changed the parameters")
    try:
        clone(coder).suggest(segments)
    except NotFittedError:
        pass
    else:
        raise QualcodeError(f"{type(coder).__name__}: suggest() before fit() must raise NotFittedError")
    fitted = coder.fit(codebook, decisions)
    if fitted is not coder:
        raise QualcodeError(f"{type(coder).__name__}: fit() must return self")
    out = coder.suggest(segments)
    check(out, "suggestions", values=False, where=f"{type(coder).__name__}.suggest()")
    if len(out):
        if not out["score"].between(0, 1).all():
            raise QualcodeError(f"{type(coder).__name__}: scores outside [0, 1]")
        if set(out["codebook_version"]) != {codebook.version}:
            raise QualcodeError(f"{type(coder).__name__}: suggestions must record the codebook version")
        if not set(out["code_id"]) <= {c.id for c in codebook}:
            raise QualcodeError(f"{type(coder).__name__}: suggested codes that are not in the codebook")
        roles = segments.set_index("segment_id").loc[out["segment_id"], "speaker_role"]
        if (roles == "interviewer").any():
            raise QualcodeError(f"{type(coder).__name__}: suggested codes for interviewer turns")
    again = coder.suggest(segments)
    if not again[["segment_id", "code_id", "score"]].equals(out[["segment_id", "code_id", "score"]]):
        raise QualcodeError(f"{type(coder).__name__}: suggest() is not deterministic")
    return out
