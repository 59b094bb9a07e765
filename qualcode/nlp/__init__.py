"""Language machinery shared by the loaders and the coders (no file I/O, cached)."""

from __future__ import annotations

from .language import detect_language
from .normalize import fold, fold_fast, fold_label
from .pipeline import get_nlp, sentence_spans
from .words import stemmer, stop_words

__all__ = ["detect_language", "fold", "fold_fast", "fold_label", "get_nlp", "sentence_spans", "stemmer", "stop_words"]
