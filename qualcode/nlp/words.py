"""Word lists and stemmers per language, built once and cached (shared by codebook checks, coders and analysis)."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from .normalize import fold

__all__ = ["stemmer", "stop_words"]


@cache
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words for ``lang`` (``"es"``; anything else reads as ``"en"``), folded (:func:`fold`).

    Built once per language. Used to refuse keywords made only of stop words, to leave them out of
    keyword phrases, emergent themes and pseudonym candidates.

    Examples
    --------
    >>> "tambien" in stop_words("es"), "the" in stop_words("en")
    (True, True)
    """
    if lang == "es":
        from spacy.lang.es.stop_words import STOP_WORDS
    else:
        from spacy.lang.en.stop_words import STOP_WORDS
    return frozenset(fold(w) for w in STOP_WORDS)


@lru_cache(maxsize=2)
def stemmer(lang: str) -> Any:
    """The Snowball stemmer for ``lang`` (``"es"``: Spanish; anything else: English), made once per language.

    Its ``stemWord(word)`` gives the root the keyword coder, the TF-IDF embedder and emergent themes
    compare (Porter 1980; Snowball: https://snowballstem.org).

    Examples
    --------
    >>> stemmer("es").stemWord("colaboracion")
    'colabor'
    """
    import snowballstemmer

    return snowballstemmer.stemmer("spanish" if lang == "es" else "english")
