"""Accent and case folding shared by speaker detection, language detection and matching."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["fold", "fold_label"]

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase ``text`` and strip accents (``Acción`` → ``accion``); ``ñ`` becomes ``n``.

    Examples
    --------
    >>> fold("COLABORACIÓN en Ñuñoa")
    'colaboracion en nunoa'
    """
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=8192)
def fold_label(label: str) -> str:
    """Fold a speaker label and collapse inner white space (``Directora  3`` → ``directora 3``)."""
    return _SPACES.sub(" ", fold(label)).strip()
