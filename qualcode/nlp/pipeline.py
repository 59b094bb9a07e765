"""Blank spaCy pipelines for Spanish and English, built once per language.

No trained model is needed (none for Spanish installs with spaCy 3.8): a
blank pipeline with a sentencizer and the lookup lemmatizer from
``spacy-lookups-data``. Two small fixes make them fit interview Spanish:
``¿``/``¡`` start a sentence instead of ending the previous one, and the
case-sensitive lemma table is asked again in lower case, so ``COLABORAMOS``
lemmatises like ``colaboramos``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, cast

from ..schemas import LANGS, check_lang

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.lookups import Table
    from spacy.pipeline import Lemmatizer
    from spacy.tokens import Doc

__all__ = ["LANGUAGES", "get_nlp", "lookup_table", "sentence_spans"]

LANGUAGES = LANGS
# spaCy refuses texts longer than nlp.max_length; longer turns are split at
# white space into windows of this size before sentence splitting.
_WINDOW = 200_000


def _check_lang(lang: str) -> None:
    check_lang(lang)


def _register_components() -> None:
    from spacy.language import Language

    if "qc_inverted_punct" in Language.factories:
        return

    @Language.component("qc_inverted_punct")
    def inverted_punct(doc: Doc) -> Doc:
        for i, tok in enumerate(doc[:-1]):
            if tok.text in ("¿", "¡") and i > 0 and doc[i - 1].text in (".", "?", "!", "…"):
                tok.is_sent_start = True
                doc[i + 1].is_sent_start = False
        return doc

    @Language.factory("qc_lowercase_lemma")
    def lowercase_lemma(nlp: Language, name: str) -> Callable[[Doc], Doc]:
        table = lookup_table(nlp, "lemma_lookup")

        def component(doc: Doc) -> Doc:
            for tok in doc:
                if tok.lemma_ == tok.text and not tok.is_lower:
                    tok.lemma_ = table.get(tok.lower_, tok.lower_)
            return doc

        return component


@cache
def _sentencizer(lang: str) -> Language:
    import spacy

    _register_components()
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    if lang == "es":
        nlp.add_pipe("qc_inverted_punct")
    nlp.max_length = _WINDOW + 10
    return nlp


@cache
def get_nlp(lang: str) -> Language:
    """The full blank pipeline for ``lang``: sentencizer and lookup lemmas.

    Built on first use and cached; needs ``spacy-lookups-data`` (a core
    dependency) and no download.

    Examples
    --------
    >>> [t.lemma_ for t in get_nlp("es")("COLABORAMOS con las Directoras")]
    ['colaborar', 'con', 'los', 'director']
    """
    import spacy

    _check_lang(lang)
    _register_components()
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    if lang == "es":
        nlp.add_pipe("qc_inverted_punct")
    # Without mode="lookup" the blank lemmatizer silently returns surface forms.
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.add_pipe("qc_lowercase_lemma")
    nlp.max_length = _WINDOW + 10
    return nlp


def lookup_table(nlp: Language, name: str) -> Table:
    """A lookup table of the lemmatizer in a pipeline built by :func:`get_nlp`.

    Parameters
    ----------
    nlp : Language
        A pipeline from :func:`get_nlp` (it has spaCy's lookup ``lemmatizer``).
    name : str
        The table, e.g. ``"lemma_lookup"`` (from ``spacy-lookups-data``).

    Returns
    -------
    spacy.lookups.Table
        Surface form → lemma, case-sensitive.

    Examples
    --------
    >>> lookup_table(get_nlp("es"), "lemma_lookup").get("colaboramos")
    'colaborar'
    """
    # get_nlp adds spaCy's lookup Lemmatizer under this name; get_pipe is typed for any pipe.
    lemmatizer = cast("Lemmatizer", nlp.get_pipe("lemmatizer"))
    return lemmatizer.lookups.get_table(name)


def _windows(text: str) -> list[tuple[int, str]]:
    if len(text) <= _WINDOW:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(start + _WINDOW, len(text))
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(". ", start, end), text.rfind(" ", start, end))
            if cut > start:
                end = cut + 1
        out.append((start, text[start:end]))
        start = end
    return out


def sentence_spans(texts: list[str], lang: str) -> list[list[tuple[int, int]]]:
    """Sentence ``(start, end)`` offsets within each text, white space trimmed.

    Examples
    --------
    >>> sentence_spans(["Hace falta. ¿Usted me entiende?"], "es")
    [[(0, 11), (12, 31)]]
    """
    _check_lang(lang)
    nlp = _sentencizer(lang)
    out: list[list[tuple[int, int]]] = []
    for text in texts:
        spans: list[tuple[int, int]] = []
        for base, window in _windows(text):
            for sent in nlp(window).sents:
                start = base + sent.start_char
                end = base + sent.end_char
                chunk = text[start:end]
                stripped = chunk.strip()
                if not stripped:
                    continue
                start += len(chunk) - len(chunk.lstrip())
                spans.append((start, start + len(stripped)))
        out.append(spans)
    return out
