"""Spanish-or-English detection from function words.

Only two languages matter here, and function words separate them reliably on
anything longer than a sentence, with no model to download.
"""

from __future__ import annotations

import re

__all__ = ["detect_language"]

# Frequent function words that belong to one language only (``no``, ``me``,
# ``a``, ``he`` are in both and left out).
_ES = frozenset(
    ["de", "la", "que", "el", "en", "y", "los", "se", "del", "las", "un", "por", "con", "una", "su", "para", "es",
     "al", "lo", "como", "más", "pero", "sus", "le", "ya", "este", "sí", "porque", "esta", "entre", "cuando", "muy",
     "sin", "sobre", "también", "hasta", "hay", "donde", "desde", "todo", "nos", "durante", "todos", "uno", "les",
     "ni", "contra", "otros", "ese", "eso", "ante", "ellos", "esto", "mí", "antes", "algunos", "qué", "unos", "yo",
     "otro", "otras", "otra", "él", "tanto", "esa", "estos", "mucho", "nada", "muchos", "cual", "poco", "ella",
     "estar", "estas", "algunas", "algo", "nosotros", "mis", "tú", "te", "ti", "tus", "ellas", "nosotras", "igual",
     "entonces", "pues", "bueno", "harto", "acá", "allá", "cómo", "están", "era", "fue", "ser", "han", "hemos",
     "tengo", "tiene", "tenemos", "hacer", "cuando", "aquí", "también", "porque"]
)
_EN = frozenset(
    ["the", "and", "of", "to", "is", "in", "that", "it", "was", "for", "on", "are", "with", "as", "his", "they", "be",
     "at", "have", "this", "from", "or", "had", "by", "but", "what", "we", "can", "out", "other", "were", "all",
     "there", "when", "up", "your", "how", "said", "an", "each", "she", "which", "do", "their", "if", "will", "about",
     "many", "then", "them", "would", "so", "these", "her", "him", "has", "been", "than", "its", "who", "did", "my",
     "our", "just", "really", "because", "you", "don't", "i'm", "it's", "know", "think", "we're", "they're", "there's",
     "lot", "kind", "really", "those", "could", "should", "been", "being", "into", "over", "after", "also"]
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect_language(text: str, *, sample: int = 20000) -> str | None:
    """Return ``"es"`` or ``"en"`` for ``text``, or ``None`` when there is no signal.

    Only the first ``sample`` characters are read; that is plenty for a
    transcript and keeps detection fast on very large files.

    Examples
    --------
    >>> detect_language("Yo creo que la red nos ayudó harto"), detect_language("We felt alone at first")
    ('es', 'en')
    """
    es = en = 0
    for word in _WORD.findall(text[:sample].lower()):
        if word in _ES:
            es += 1
        elif word in _EN:
            en += 1
    if es == en:
        return None
    return "es" if es > en else "en"
